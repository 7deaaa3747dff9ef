//! Phase progress, recorded in the cluster (not only on the laptop).
//!
//! ConfigMap `kube-system/kindops-state`, applied with field manager
//! `kindops`; key `phase-N` holds a JSON [`PhaseRecord`] (and `lesson-<name>`
//! a lesson's progress, `crate::learn::progress`). A later `up` (from
//! any machine with the kubeconfig) reads it to report what is done.

use anyhow::Result;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "kindops-state";

/// Key holding the namespaces there were when kindops's first run here
/// finished phase 0 (a JSON array of names), before it applied anything
/// else: `kindops uninstall` never deletes one of them.
pub const NAMESPACES_BEFORE: &str = "namespaces-before";

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
    let Some(cm) =
        crate::cluster::outage::retried(&crate::cluster::outage::RecoverySink::none(), || api.get_opt(NAME)).await?
    else {
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

/// Records phase `phase` as done. The first time phase 0 is recorded in
/// this cluster (no `phase-0` key yet), the namespaces there are then are
/// recorded too, as [`NAMESPACES_BEFORE`]: phase 0 creates none (it makes
/// the kind cluster itself, or uses the `--context` one as it is).
pub async fn record(client: &Client, phase: u8, rec: &PhaseRecord) -> Result<()> {
    let mut data = read_data(client).await?;
    if phase == 0 && !data.contains_key("phase-0") && !data.contains_key(NAMESPACES_BEFORE) {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        let lp = kube::api::ListParams::default();
        let names: Vec<String> =
            crate::cluster::outage::retried(&crate::cluster::outage::RecoverySink::none(), || api.list_metadata(&lp))
                .await?
                .items
                .into_iter()
                .filter_map(|n| n.metadata.name)
                .collect();
        data.insert(NAMESPACES_BEFORE.to_string(), serde_json::to_string(&names)?);
    }
    data.insert(format!("phase-{phase}"), serde_json::to_string(rec)?);
    apply_data(client, &data).await
}

/// The namespaces recorded as there before kindops's first run
/// ([`NAMESPACES_BEFORE`]); `None` when that run predates the record (or
/// the value does not parse).
pub fn namespaces_before(data: &BTreeMap<String, String>) -> Option<std::collections::BTreeSet<String>> {
    serde_json::from_str(data.get(NAMESPACES_BEFORE)?).ok()
}

/// Every key of the ConfigMap's `data` (phases, and `lesson-<name>` keys of
/// `kindops learn`). A missing ConfigMap is an empty map.
pub async fn read_data(client: &Client) -> Result<BTreeMap<String, String>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    Ok(
        crate::cluster::outage::retried(&crate::cluster::outage::RecoverySink::none(), || api.get_opt(NAME))
            .await?
            .and_then(|cm| cm.data)
            .unwrap_or_default(),
    )
}

/// Sets one key of the ConfigMap's `data` (server-side apply, field manager
/// `kindops`), keeping every other key.
pub async fn record_key(client: &Client, key: &str, value: &str) -> Result<()> {
    let mut data = read_data(client).await?;
    data.insert(key.to_string(), value.to_string());
    apply_data(client, &data).await
}

/// The ConfigMap with `data` as its whole `data` (server-side apply, field
/// manager `kindops`). Server-side apply removes the keys this manager owned
/// and no longer sends, so callers send every key (read first).
async fn apply_data(client: &Client, data: &BTreeMap<String, String>) -> Result<()> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let cm = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "kindops"}},
        "data": data,
    });
    let params = PatchParams::apply(crate::cluster::apply::FIELD_MANAGER).force();
    let patch = Patch::Apply(&cm);
    crate::cluster::outage::retried(&crate::cluster::outage::RecoverySink::none(), || {
        api.patch(NAME, &params, &patch)
    })
    .await?;
    Ok(())
}
