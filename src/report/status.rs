//! `kindops status`: recorded phase progress and every Application's state,
//! as text or JSON.

use super::Format;
use crate::argo::AppSummary;
use crate::ci::runs::RunSummary;
use crate::engine::provider::Target;
use crate::engine::state::PhaseRecord;
use crate::format::or_dash;
use anyhow::Result;
use std::collections::BTreeMap;

pub fn print(
    target: &Target,
    phases: &BTreeMap<u8, PhaseRecord>,
    apps: &[AppSummary],
    runs: &[RunSummary],
    format: Format,
) -> Result<()> {
    match format {
        Format::Json => {
            let v = serde_json::json!({"target": target.describe(), "phases": phases, "applications": apps, "pipeline_runs": runs});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Text => {
            println!("{}", target.describe());
            for n in 0..=crate::plan::MAX_PHASE {
                match phases.get(&n) {
                    Some(r) => println!("  phase {n}: done at {}", r.finished_at),
                    None => println!("  phase {n}: not done"),
                }
            }
            if apps.is_empty() {
                println!("no Applications (is Argo CD installed? phase 2 registers the first)");
            } else {
                println!(
                    "{:<20} {:<10} {:<10} {:<12} {:<12} {:<8} MESSAGE",
                    "NAME", "PROJECT", "SYNC", "HEALTH", "OPERATION", "REV"
                );
                for a in apps {
                    println!(
                        "{:<20} {:<10} {:<10} {:<12} {:<12} {:<8} {}",
                        a.name,
                        a.project,
                        or_dash(&a.sync),
                        or_dash(&a.health),
                        or_dash(&a.operation_phase),
                        or_dash(a.short_revision()),
                        a.why()
                    );
                }
            }
            print_runs(runs);
        }
    }
    Ok(())
}

/// The coffee CI's PipelineRuns (`ci::runs`), newest last; nothing when
/// there are none.
fn print_runs(runs: &[RunSummary]) {
    if runs.is_empty() {
        return;
    }
    println!(
        "pipeline runs in {} (a push touching products/ starts one):",
        crate::ci::NAMESPACE
    );
    println!(
        "{:<20} {:<22} {:<8} {:<10} {:<6} STEPS",
        "NAME", "MODULE", "COMMIT", "STATE", "TIME"
    );
    for r in runs {
        let time = r.seconds.map(|s| format!("{s}s")).unwrap_or_else(|| "-".into());
        println!(
            "{:<20} {:<22} {:<8} {:<10} {:<6} {}",
            r.name,
            r.module,
            r.revision.get(..7).unwrap_or(&r.revision),
            r.state,
            time,
            r.steps_line()
        );
        if !r.failed_tests.is_empty() {
            println!("  failed tests: {} (nothing was built or deployed)", r.failed_tests);
        } else if r.state == "Failed" {
            println!(
                "  {}; logs: kubectl -n {} logs -l tekton.dev/pipelineRun={} --all-containers",
                r.message,
                crate::ci::NAMESPACE,
                r.name
            );
        }
    }
}
