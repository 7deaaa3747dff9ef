//! `kindops status`: recorded phase progress and every Application's state,
//! as text or JSON.

use super::Format;
use crate::argo::AppSummary;
use crate::engine::provider::Target;
use crate::engine::state::PhaseRecord;
use crate::format::or_dash;
use anyhow::Result;
use std::collections::BTreeMap;

pub fn print(target: &Target, phases: &BTreeMap<u8, PhaseRecord>, apps: &[AppSummary], format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let v = serde_json::json!({"target": target.describe(), "phases": phases, "applications": apps});
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
        }
    }
    Ok(())
}
