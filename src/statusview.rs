//! `kindops status`: recorded phase progress and every Application's state.

use crate::argo::{application_resource, AppSummary};
use crate::engine::provider::Target;
use crate::engine::{state, ARGOCD_NAMESPACE};
use crate::report::Format;
use anyhow::Result;
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;

/// Lists Applications in the Argo CD namespace; a cluster without Argo CD's
/// CRDs gives an empty list.
pub async fn applications(client: &Client) -> Result<Vec<AppSummary>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ARGOCD_NAMESPACE, &application_resource());
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let mut v: Vec<AppSummary> = list.items.iter().map(AppSummary::from_object).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(v)
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

pub async fn print(client: &Client, target: &Target, format: Format) -> Result<()> {
    let phases = state::read(client).await?;
    let apps = applications(client).await?;
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
                for a in &apps {
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

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}
