//! Lesson progress per cluster: key `lesson-<name>` of the state ConfigMap
//! (`kube-system/kindops-state`, [`crate::engine::state`]) holds a JSON
//! [`LessonRecord`], so progress follows the cluster, not the laptop.

use super::event::LessonOutcome;
use anyhow::Result;
use kube::Client;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last outcome of one lesson on this cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LessonRecord {
    /// `passed` | `failed` | `skipped` | `undone`.
    pub outcome: String,
    /// RFC 3339 time it ended.
    pub finished_at: String,
    /// kindops version that ran it.
    pub kindops: String,
}

/// Records `outcome` for lesson `name`.
pub async fn record(client: &Client, name: &str, outcome: LessonOutcome) -> Result<()> {
    let outcome = serde_json::to_value(outcome)?.as_str().unwrap_or_default().to_string();
    let rec = LessonRecord {
        outcome,
        finished_at: k8s_openapi::jiff::Timestamp::now().to_string(),
        kindops: env!("CARGO_PKG_VERSION").to_string(),
    };
    crate::engine::state::record_key(client, &format!("lesson-{name}"), &serde_json::to_string(&rec)?).await
}

/// Every lesson's record on this cluster (lesson name → record).
pub async fn read(client: &Client) -> Result<BTreeMap<String, LessonRecord>> {
    Ok(crate::engine::state::read_data(client)
        .await?
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("lesson-")?.to_string(), serde_json::from_str(&v).ok()?)))
        .collect())
}
