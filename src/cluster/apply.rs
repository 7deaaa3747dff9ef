//! Server-side apply of manifest sets (field manager `kindops`).
//!
//! Namespaces and CustomResourceDefinitions go first; the CRDs are waited for
//! until Established so the API server serves their kinds; then every other
//! object is applied concurrently. Kinds are resolved with per-GVK discovery
//! (`kube::discovery::pinned_kind`), retried with backoff while a fresh CRD's
//! group is not yet served. [`apply_step`] is the `apply` step of a phase.

use super::wait;
use super::{outage, unchanged};
use anyhow::{anyhow, Context, Result};
use backon::{ExponentialBuilder, Retryable};
use futures::{stream, StreamExt, TryStreamExt};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use kube::Client;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// The field manager kindops applies with.
pub const FIELD_MANAGER: &str = "kindops";

/// How many apply requests are in flight at once.
const CONCURRENCY: usize = 16;

/// One object read from a manifest, with where it came from.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub object: DynamicObject,
    pub gvk: GroupVersionKind,
    /// e.g. `platform/argo-cd (document 12)`.
    pub source: String,
}

impl Manifest {
    /// `Kind namespace/name` or `Kind name`.
    pub fn display(&self) -> String {
        match &self.object.metadata.namespace {
            Some(ns) => format!(
                "{} {ns}/{}",
                self.gvk.kind,
                self.object.metadata.name.as_deref().unwrap_or("?")
            ),
            None => format!(
                "{} {}",
                self.gvk.kind,
                self.object.metadata.name.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// Parses a multi-document YAML stream into objects. Empty documents are
/// skipped; `kind: List` is flattened. Errors name `source`, the document
/// number and the line.
pub fn parse_manifests(text: &str, source: &str) -> Result<Vec<Manifest>> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value: serde_json::Value = serde::Deserialize::deserialize(doc).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" line {} column {}", l.line(), l.column()))
                .unwrap_or_default();
            anyhow!("{source}: document {}{at}: {}", i + 1, e)
        })?;
        if value.is_null() {
            continue;
        }
        let mut push = |v: serde_json::Value, idx: usize| -> Result<()> {
            let obj: DynamicObject = serde_json::from_value(v)
                .map_err(|e| anyhow!("{source}: document {idx}: not a Kubernetes object: {e}"))?;
            let tm = obj
                .types
                .clone()
                .ok_or_else(|| anyhow!("{source}: document {idx}: no apiVersion/kind"))?;
            let gvk = GroupVersionKind::try_from(&tm).map_err(|e| anyhow!("{source}: document {idx}: {e}"))?;
            if obj.metadata.name.is_none() {
                return Err(anyhow!("{source}: document {idx}: {} has no metadata.name", gvk.kind));
            }
            out.push(Manifest {
                object: obj,
                gvk,
                source: format!("{source} (document {idx})"),
            });
            Ok(())
        };
        if value.get("kind").and_then(|k| k.as_str()) == Some("List") {
            for item in value
                .get("items")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default()
            {
                push(item, i + 1)?;
            }
        } else {
            push(value, i + 1)?;
        }
    }
    Ok(out)
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyReport {
    pub total: usize,
    /// Objects whose live state the apply changed (created or updated).
    pub changed: usize,
    /// Names of the CustomResourceDefinitions applied.
    pub crds: Vec<String>,
}

/// Why an apply failed. `object` names the object the API server rejected
/// (`Deployment argocd/argocd-server`), if that is what failed; `reason` is
/// the whole message (what `Display` prints).
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyError {
    pub object: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ApplyError {}

/// Any other failure (discovery, the CRD wait, a manifest naming no
/// namespace): no single object to blame, the message with its context chain.
impl From<anyhow::Error> for ApplyError {
    fn from(e: anyhow::Error) -> Self {
        ApplyError {
            object: None,
            reason: format!("{e:#}"),
        }
    }
}

/// Resolves kinds to API resources, once per GVK.
#[derive(Clone)]
pub struct Kinds {
    client: Client,
    cache: Arc<Mutex<HashMap<GroupVersionKind, (ApiResource, ApiCapabilities)>>>,
}

impl Kinds {
    pub fn new(client: Client) -> Self {
        Kinds {
            client,
            cache: Arc::default(),
        }
    }

    /// The API resource for `gvk`, retried with backoff for up to ~30 s while
    /// the API server does not serve it yet (a CRD just became Established).
    pub async fn resolve(&self, gvk: &GroupVersionKind) -> Result<(ApiResource, ApiCapabilities)> {
        if let Some(hit) = self.cache.lock().await.get(gvk) {
            return Ok(hit.clone());
        }
        let client = self.client.clone();
        let found = (|| async { kube::discovery::pinned_kind(&client, gvk).await })
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_times(10),
            )
            .when(|e| {
                matches!(e, kube::Error::Discovery(_))
                    || matches!(e, kube::Error::Api(s) if s.code == 404)
                    || outage::transient(e)
            })
            .await
            .map_err(|e| {
                anyhow!(
                    "the API server does not serve {}/{} {}: {e}. Is the CRD that defines it applied and Established?",
                    gvk.group,
                    gvk.version,
                    gvk.kind
                )
            })?;
        self.cache.lock().await.insert(gvk.clone(), found.clone());
        Ok(found)
    }
}

/// Applies `manifests` with server-side apply, forcing conflicts (kindops owns
/// what it applies). `default_ns` is set on namespaced objects that name none.
/// `progress` is called with a short line as groups of objects complete.
///
/// Errors: a rejected object is named, as data ([`ApplyError::object`]) and
/// in the message with the API server's own words, e.g.
/// `Deployment argocd/argocd-server was rejected by the API server: ...`.
pub async fn apply(
    client: &Client,
    kinds: &Kinds,
    mut manifests: Vec<Manifest>,
    default_ns: Option<&str>,
    crd_timeout: Duration,
    progress: &(dyn Fn(String) + Sync),
    sink: &outage::RecoverySink,
) -> Result<ApplyReport, ApplyError> {
    let started = apply_started();
    let (first, rest): (Vec<_>, Vec<_>) = manifests.drain(..).partition(|m| {
        m.gvk.group == "apiextensions.k8s.io" && m.gvk.kind == "CustomResourceDefinition"
            || m.gvk.group.is_empty() && m.gvk.kind == "Namespace"
    });
    let mut report = ApplyReport {
        total: first.len() + rest.len(),
        ..Default::default()
    };
    report.crds = first
        .iter()
        .filter(|m| m.gvk.kind == "CustomResourceDefinition")
        .filter_map(|m| m.object.metadata.name.clone())
        .collect();

    report.changed += apply_all(client, kinds, first, default_ns, &started, sink).await?;
    if !report.crds.is_empty() {
        progress(format!("{} CRDs applied; waiting until Established", report.crds.len()));
        wait::crds_established(client, &report.crds, crd_timeout, sink)
            .await
            .map_err(|e| ApplyError {
                object: e.object,
                reason: e.reason,
            })?;
    }
    let n = rest.len();
    report.changed += apply_all(client, kinds, rest, default_ns, &started, sink).await?;
    progress(format!("{n} more objects applied"));
    Ok(report)
}

/// When this apply started, truncated to whole seconds as managedFields times
/// are. An apply that changes nothing keeps its managedFields entry's old
/// `time`, so an entry at or after this instant means the object changed.
/// (Assumes the API server's clock is within a second of ours; a skewed clock
/// only makes the changed/unchanged count wrong, never the apply.)
fn apply_started() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap_or_else(|_| Timestamp::now())
}

async fn apply_all(
    client: &Client,
    kinds: &Kinds,
    manifests: Vec<Manifest>,
    default_ns: Option<&str>,
    started: &Timestamp,
    sink: &outage::RecoverySink,
) -> Result<usize, ApplyError> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let changed = stream::iter(manifests.into_iter().map(|m| {
        let params = params.clone();
        async move {
            let (ar, caps) = kinds.resolve(&m.gvk).await.with_context(|| m.source.clone())?;
            let mut obj = m.object.clone();
            let api: Api<DynamicObject> = match caps.scope {
                Scope::Cluster => {
                    obj.metadata.namespace = None;
                    Api::all_with(client.clone(), &ar)
                }
                Scope::Namespaced => {
                    let ns = obj
                        .metadata
                        .namespace
                        .clone()
                        .or_else(|| default_ns.map(str::to_string))
                        .ok_or_else(|| {
                            anyhow!(
                                "{} ({}) is namespaced but names no namespace, and the step gives none",
                                m.display(),
                                m.source
                            )
                        })?;
                    obj.metadata.namespace = Some(ns.clone());
                    Api::namespaced_with(client.clone(), &ns, &ar)
                }
            };
            let name = obj.metadata.name.clone().unwrap_or_default();
            // A large CRD applied before with this same configuration and
            // written by no one since: the apply would change nothing.
            if unchanged::fingerprinted(&m.gvk) {
                let digest = unchanged::stamp(&mut obj);
                if let Ok(live) = api.get_metadata(&name).await {
                    if unchanged::still_applied(&live.metadata, FIELD_MANAGER, &digest) {
                        return Ok(false);
                    }
                }
            }
            let shown = Manifest {
                object: obj.clone(),
                ..m.clone()
            }
            .display();
            // Sent again while the API server is away (restarting).
            let patch = Patch::Apply(&obj);
            let applied = outage::retried(sink, || api.patch(&name, &params, &patch))
                .await
                .map_err(|e| match e {
                    kube::Error::Api(s) => ApplyError {
                        reason: format!(
                            "{shown} was rejected by the API server: {} ({}, HTTP {})",
                            s.message, s.reason, s.code
                        ),
                        object: Some(shown.clone()),
                    },
                    other if outage::transient(&other) => ApplyError {
                        reason: format!(
                            "applying {shown}: the API server did not answer for {}: {other}",
                            humantime::format_duration(outage::RETRY_FOR)
                        ),
                        object: Some(outage::API_SERVER.to_string()),
                    },
                    other => anyhow!("{shown}: {other}").into(),
                })?;
            let mine = applied
                .metadata
                .managed_fields
                .as_ref()
                .and_then(|mf| {
                    mf.iter().find(|f| {
                        f.manager.as_deref() == Some(FIELD_MANAGER) && f.operation.as_deref() == Some("Apply")
                    })
                })
                .and_then(|f| f.time.as_ref())
                .map(|t| t.0);
            // An object whose applied config sets no fields beyond its name (a bare
            // Namespace) gets no managedFields entry: it changed only if created now.
            let created_now = applied
                .metadata
                .creation_timestamp
                .as_ref()
                .is_none_or(|t| t.0 >= *started);
            let changed = mine.map(|t| t >= *started).unwrap_or(created_now);
            if changed {
                tracing::info!(object = %shown, "server-side apply changed the object");
            }
            Ok::<bool, ApplyError>(changed)
        }
    }))
    .buffer_unordered(CONCURRENCY)
    .try_fold(0usize, |acc, changed| async move { Ok(acc + usize::from(changed)) })
    .await?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_skips_empty_documents_and_flattens_lists() {
        let text = "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n";
        let m = parse_manifests(text, "t").unwrap();
        assert_eq!(
            m.iter().map(|m| m.display()).collect::<Vec<_>>(),
            vec!["ConfigMap a", "Secret b"]
        );
    }

    #[test]
    fn parse_errors_name_source_and_document() {
        let e = parse_manifests(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: [\n",
            "x.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("x.yaml: document 2"), "{e}");
        let e = parse_manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no metadata.name"), "{e}");
    }
}
