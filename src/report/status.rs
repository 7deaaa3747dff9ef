//! `kindops status`: recorded phase progress and every Application's state,
//! as text or JSON.

use super::Format;
use crate::argocd::AppSummary;
use crate::cluster::Target;
use crate::delivery::{Delivery, RunState};
use crate::engine::state::PhaseRecord;
use crate::format::or_dash;
use anyhow::Result;
use std::collections::BTreeMap;

/// How many PipelineRuns the text output lists (newest first).
pub const RUNS_SHOWN: usize = 10;

pub fn print(
    target: &Target,
    phases: &BTreeMap<u8, PhaseRecord>,
    apps: &[AppSummary],
    delivery: &Delivery,
    format: Format,
) -> Result<()> {
    match format {
        Format::Json | Format::Yaml => {
            let v = serde_json::json!({
                "target": target.describe(),
                "phases": phases,
                "applications": apps,
                "pipeline_runs": delivery.pipeline_runs,
                "rollouts": delivery.rollouts,
                "failed_step_logs": delivery.failed_step_logs,
                // What to do about each failed run kindops has advice for
                // (PipelineRunSummary::next_step), by run name.
                "next_steps": delivery
                    .pipeline_runs
                    .iter()
                    .filter_map(|r| delivery.next_step(r).map(|n| (r.name.clone(), n)))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            });
            println!("{}", super::document(format, &v)?);
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
            for line in delivery_lines(delivery) {
                println!("{line}");
            }
        }
    }
    Ok(())
}

/// The PipelineRuns (newest [`RUNS_SHOWN`]) and Rollouts as text; nothing
/// when there are none.
pub fn delivery_lines(d: &Delivery) -> Vec<String> {
    let secs = |s: Option<f64>| s.map(|s| format!("{s:.0}s")).unwrap_or_else(|| "-".into());
    let mut out = vec![];
    if !d.pipeline_runs.is_empty() {
        out.push(format!(
            "{:<28} {:<22} {:<8} {:<10} {:<6} STEPS",
            "PIPELINERUN", "MODULE", "COMMIT", "STATE", "TIME"
        ));
        for r in d.pipeline_runs.iter().take(RUNS_SHOWN) {
            let steps: Vec<String> = r
                .task_runs
                .iter()
                .flat_map(|t| &t.steps)
                .map(|s| match (s.state, s.exit_code) {
                    (RunState::Succeeded, _) => format!("{} ✓ {}", s.name, secs(s.seconds)),
                    (RunState::Failed, Some(code)) => format!("{} ✗ (exit {code})", s.name),
                    (state, _) => format!("{} {}", s.name, state.word().to_lowercase()),
                })
                .collect();
            out.push(format!(
                "{:<28} {:<22} {:<8} {:<10} {:<6} {}",
                r.name,
                or_dash(&r.module),
                or_dash(r.short_revision()),
                r.state.word(),
                secs(r.seconds),
                if steps.is_empty() {
                    or_dash(&r.reason).to_string()
                } else {
                    steps.join(", ")
                }
            ));
            if !r.failed_tests.is_empty() {
                out.push(format!(
                    "  failed tests: {} (nothing was built or deployed)",
                    r.failed_tests
                ));
            }
            if let Some((task, step)) = r.failure() {
                out.push(format!(
                    "  {}: step {} failed: {} (kubectl -n {} logs {} -c step-{})",
                    task.task,
                    step.name,
                    or_dash(&task.message),
                    r.namespace,
                    task.pod.as_deref().unwrap_or("POD"),
                    step.name
                ));
                for l in d.failed_step_logs.get(&r.name).into_iter().flatten() {
                    out.push(format!("  | {l}"));
                }
            }
            if let Some(next) = d.next_step(r) {
                out.push(format!("  next: {next}"));
            }
        }
    }
    if !d.rollouts.is_empty() {
        out.push(format!(
            "{:<24} {:<12} {:<5} {:<7} {:<8} IMAGE",
            "ROLLOUT", "PHASE", "STEP", "WEIGHT", "READY"
        ));
        for r in &d.rollouts {
            let image = match &r.stable_image {
                Some(stable) => format!("{} (stable: {stable})", r.image),
                None => r.image.clone(),
            };
            out.push(format!(
                "{:<24} {:<12} {:<5} {:<7} {:<8} {image}",
                format!("{}/{}", r.namespace, r.name),
                or_dash(&r.phase),
                r.step_text(),
                format!("{}%", r.set_weight),
                format!("{}/{}", r.available, r.replicas),
            ));
            if !r.message.is_empty() {
                out.push(format!("  {}", r.message));
            }
        }
    }
    out
}
