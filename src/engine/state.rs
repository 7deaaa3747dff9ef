//! Phase progress, recorded in the cluster (not only on the laptop).
//!
//! ConfigMap `kube-system/kindops-state`, applied with field manager
//! `kindops`; key `phase-N` holds a JSON [`PhaseRecord`]. A later `up` (from
//! any machine with the kubeconfig) reads it to report what is done.

use anyhow::Result;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "kindops-state";

/// What is recorded when a phase finishes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PhaseRecord {
    /// RFC 3339 time the phase finished.
    pub finished_at: String,
    /// kindops version that ran it.
    pub kindops: String,
    /// The git revision published in that phase, if any.
    #[serde(default)]
    pub revision: Option<String>,
}

/// Reads every recorded phase (phase number → record). A missing ConfigMap is an empty map.
pub async fn read(client: &Client) -> Result<BTreeMap<u8, PhaseRecord>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let Some(cm) = super::outage::retried(|| api.get_opt(NAME)).await? else {
        return Ok(BTreeMap::new());
    };
    Ok(cm
        .data
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("phase-")?.parse().ok()?;
            Some((n, serde_json::from_str(&v).ok()?))
        })
        .collect())
}

/// Records phase `phase` as done.
pub async fn record(client: &Client, phase: u8, rec: &PhaseRecord) -> Result<()> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let cm = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "kindops"}},
        "data": {format!("phase-{phase}"): serde_json::to_string(rec)?},
    });
    // Each phase's key is applied on its own; server-side apply merges map keys
    // owned by the same manager only if they are all sent, so keep the others.
    let mut all = read(client).await?;
    all.insert(phase, rec.clone());
    let mut data = serde_json::Map::new();
    for (n, r) in &all {
        data.insert(
            format!("phase-{n}"),
            serde_json::Value::String(serde_json::to_string(r)?),
        );
    }
    let mut cm = cm;
    cm["data"] = serde_json::Value::Object(data);
    let params = PatchParams::apply(super::apply::FIELD_MANAGER).force();
    let patch = Patch::Apply(&cm);
    super::outage::retried(|| api.patch(NAME, &params, &patch)).await?;
    Ok(())
}
