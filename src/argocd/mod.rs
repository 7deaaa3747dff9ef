//! Argo CD's Application and ApplicationSet, read as the fields kindops shows;
//! [`actions`] (sync, refresh, the admin password) and [`refresh`] (asking
//! Argo CD to look at git again) act on them through the Kubernetes API.
//!
//! Field names and values follow Argo CD v3.5's
//! `pkg/apis/application/v1alpha1/types.go` (Application has no status
//! subresource; everything is under `.status`) and `applicationset_types.go`;
//! health codes from gitops-engine `pkg/health/health.go`.

pub mod actions;
pub mod refresh;

/// Namespace Argo CD runs in (Argo CD v3.5.1's `manifests/install.yaml`
/// expects `argocd`: its ClusterRoleBindings name ServiceAccounts there).
pub const ARGOCD_NAMESPACE: &str = "argocd";

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde::Serialize;
use serde_json::Value;

/// `argoproj.io/v1alpha1` `Application`, plural `applications`.
pub fn application_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    )
}

/// `argoproj.io/v1alpha1` `ApplicationSet`, plural `applicationsets`.
pub fn applicationset_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "ApplicationSet"),
        "applicationsets",
    )
}

/// One per-resource entry of `status.resources[]`.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ResourceStatus {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `Synced` | `OutOfSync` | `Unknown` (empty when not reported).
    pub status: String,
    /// Per-resource health; empty unless `controller.resource.health.persist` is on.
    pub health: String,
    pub requires_pruning: bool,
    /// `health.message`: why it is not Healthy, as the resource's health
    /// check says (e.g. an ExternalSecret's `Ready` condition message, Argo
    /// CD v3.5.1 resource_customizations/external-secrets.io/ExternalSecret/health.lua).
    pub health_message: String,
}

impl ResourceStatus {
    /// `namespace/name`, or `name` for cluster-scoped resources.
    pub fn qualified_name(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }
}

/// One `status.conditions[]` entry (`ComparisonError`, `SyncError`, ...).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AppCondition {
    pub kind: String,
    pub message: String,
}

/// What kindops shows of one Application.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AppSummary {
    pub namespace: String,
    pub name: String,
    /// `spec.project`.
    pub project: String,
    /// `status.sync.status`: `Synced` | `OutOfSync` | `Unknown`; empty before the first reconcile.
    pub sync: String,
    /// `status.sync.revision` (full SHA; shorten for display).
    pub revision: String,
    /// `status.health.status`: `Healthy` | `Progressing` | `Degraded` | `Suspended` | `Missing` | `Unknown`.
    pub health: String,
    /// `status.health.message`.
    pub health_message: String,
    /// `status.operationState.phase`: `Running` | `Terminating` | `Failed` | `Error` | `Succeeded`.
    pub operation_phase: String,
    /// `status.operationState.message`.
    pub operation_message: String,
    /// The revisions the last sync operation synced to:
    /// `status.operationState.syncResult.revisions` (multi-source), else
    /// `[syncResult.revision]`; empty before any sync.
    #[serde(skip)]
    pub operation_revisions: Vec<String>,
    /// `operation` is set: a sync someone asked for (kindops's re-run, the
    /// TUI, `argocd app sync`) that the controller has not finished; it
    /// removes the field when the operation completes (v3.5.1
    /// controller/appcontroller.go, `setOperationState` patches
    /// `"operation": null` once the phase is completed).
    #[serde(skip)]
    pub operation_requested: bool,
    /// The revisions Argo CD compared last: `status.sync.revisions`
    /// (multi-source), else `[status.sync.revision]`.
    #[serde(skip)]
    pub compared_revisions: Vec<String>,
    /// `status.operationState.finishedAt` (RFC 3339), or `status.reconciledAt` when no sync ran.
    pub last_sync: String,
    pub conditions: Vec<AppCondition>,
    pub resources: Vec<ResourceStatus>,
    /// Name of the ApplicationSet that owns it (from `metadata.ownerReferences`).
    pub owner_appset: Option<String>,
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    cur.as_str().unwrap_or_default().to_string()
}

/// Maps every element of the array at JSON `pointer` (none when absent).
fn each<T>(v: &Value, pointer: &str, f: impl Fn(&Value) -> T) -> Vec<T> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(f).collect())
        .unwrap_or_default()
}

/// `revisions` (multi-source) or `[revision]` of the object at `pointer`,
/// as Argo CD's `SyncStatus` and `SyncOperationResult` carry them; empty
/// when neither is set.
fn revisions(v: &Value, pointer: &str) -> Vec<String> {
    let Some(at) = v.pointer(pointer) else {
        return Vec::new();
    };
    let many: Vec<String> = each(at, "/revisions", |r| r.as_str().unwrap_or_default().to_string());
    if !many.is_empty() {
        return many;
    }
    let one = s(at, &["revision"]);
    if one.is_empty() {
        Vec::new()
    } else {
        vec![one]
    }
}

impl AppSummary {
    /// Reads an Application object. Missing fields become empty strings: a
    /// fresh Application has no `.status` until the controller reconciles it.
    pub fn from_object(obj: &DynamicObject) -> Self {
        let d = &obj.data;
        let conditions = each(d, "/status/conditions", |c| AppCondition {
            kind: s(c, &["type"]),
            message: s(c, &["message"]),
        });
        let resources = each(d, "/status/resources", |r| ResourceStatus {
            group: s(r, &["group"]),
            kind: s(r, &["kind"]),
            namespace: s(r, &["namespace"]),
            name: s(r, &["name"]),
            status: s(r, &["status"]),
            health: s(r, &["health", "status"]),
            requires_pruning: r.get("requiresPruning").and_then(Value::as_bool).unwrap_or(false),
            health_message: s(r, &["health", "message"]),
        });
        let owner_appset = obj
            .metadata
            .owner_references
            .as_ref()
            .and_then(|o| o.iter().find(|r| r.kind == "ApplicationSet").map(|r| r.name.clone()));
        let mut last_sync = s(d, &["status", "operationState", "finishedAt"]);
        if last_sync.is_empty() {
            last_sync = s(d, &["status", "reconciledAt"]);
        }
        AppSummary {
            namespace: obj.metadata.namespace.clone().unwrap_or_default(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            project: s(d, &["spec", "project"]),
            sync: s(d, &["status", "sync", "status"]),
            revision: s(d, &["status", "sync", "revision"]),
            health: s(d, &["status", "health", "status"]),
            health_message: s(d, &["status", "health", "message"]),
            operation_phase: s(d, &["status", "operationState", "phase"]),
            operation_message: s(d, &["status", "operationState", "message"]),
            operation_revisions: revisions(d, "/status/operationState/syncResult"),
            compared_revisions: revisions(d, "/status/sync"),
            operation_requested: d.get("operation").is_some_and(|o| !o.is_null()),
            last_sync,
            conditions,
            resources,
            owner_appset,
        }
    }

    /// Synced and Healthy: what every wait for Applications waits for.
    pub fn is_ready(&self) -> bool {
        self.sync == "Synced" && self.health == "Healthy"
    }

    /// Argo CD gave up on this revision: its automated sync failed (after the
    /// Application's `syncPolicy.retry`) and the controller will not auto-sync
    /// the same revision again. Returns the `SyncError` condition's message
    /// (v3.5.1: "Failed last sync attempt to [<revisions>]: <operation
    /// message>"; before v3.2.0 "Failed sync attempt to ...").
    ///
    /// Read from the structure the controller decides by, not from that
    /// prose (argo-cd v3.5.1 controller/appcontroller.go: `autoSync` sets a
    /// `SyncError` condition when `alreadyAttemptedSync` finds that the last
    /// operation's `syncResult.revision(s)` equal the revision(s) it compared,
    /// `status.sync.revision(s)`, and that operation's phase was not
    /// successful): a `SyncError` condition, an operation in phase `Failed`
    /// or `Error`, and its sync result at the revision Argo CD compares now.
    /// A newer commit, a retry under way, or a sync asked for and not yet
    /// finished (`operation` set: the failed state shown is the one before
    /// it) is not given up.
    pub fn sync_given_up(&self) -> Option<&str> {
        let failed_op = matches!(self.operation_phase.as_str(), "Failed" | "Error") && !self.operation_requested;
        let same_revision = !self.operation_revisions.is_empty() && self.operation_revisions == self.compared_revisions;
        self.conditions
            .iter()
            .find(|c| c.kind == "SyncError")
            .filter(|_| failed_op && same_revision)
            .map(|c| c.message.as_str())
    }

    /// The condition or operation message that explains a failure, if any:
    /// `ComparisonError`/`SyncError`/`InvalidSpecError` conditions first, then a
    /// Failed/Error operation.
    pub fn error(&self) -> Option<String> {
        if let Some(c) = self.conditions.iter().find(|c| c.kind.ends_with("Error")) {
            if repo_server_unreachable(&c.message) {
                return Some(format!("{}: {} ({REPO_SERVER_AWAY})", c.kind, c.message));
            }
            return Some(format!("{}: {}", c.kind, with_webhook_note(&c.message)));
        }
        if matches!(self.operation_phase.as_str(), "Failed" | "Error") {
            return Some(format!(
                "sync {}: {}",
                self.operation_phase,
                with_webhook_note(&self.operation_message)
            ));
        }
        None
    }

    /// First 7 characters of the synced revision.
    pub fn short_revision(&self) -> &str {
        &self.revision[..self.revision.len().min(7)]
    }
}

/// `message`, followed by what to do when it says an admission webhook did
/// not answer ([`crate::admission::webhook_away`]).
fn with_webhook_note(message: &str) -> String {
    match crate::admission::webhook_away(message) {
        Some(w) => format!("{message} ({})", w.explain()),
        None => message.to_string(),
    }
}

/// What [`AppSummary::error`] adds when the repo-server does not answer.
pub const REPO_SERVER_AWAY: &str = "Argo CD's repo-server does not answer: is it restarting? Argo CD compares again by itself once it is back (kubectl -n argocd get pods -l app.kubernetes.io/name=argocd-repo-server)";

/// Whether a ComparisonError says the application-controller could not
/// reach the repo-server: its `GenerateManifest` gRPC call failed with code
/// `Unavailable` (argo-cd v3.5.1 controller/state.go wraps it as `failed
/// to generate manifest for source N of M: rpc error: code = Unavailable
/// ...`; gRPC's code for a connection that cannot be made).
pub fn repo_server_unreachable(message: &str) -> bool {
    message.contains("failed to generate manifest") && message.contains("code = Unavailable")
}

impl AppSummary {
    /// Why it is not (yet) Synced and Healthy, in one line (empty when nothing
    /// says): an error condition or a failed sync, else the health message,
    /// else a running sync's message, else the first resource not Synced or
    /// not Healthy (`Deployment coffee/cart: OutOfSync Missing`). The
    /// one answer the table, `kindops status` and the timeouts give.
    pub fn why(&self) -> String {
        if let Some(e) = self.error() {
            return e;
        }
        if !self.health_message.is_empty() {
            return self.health_message.clone();
        }
        if self.operation_phase == "Running" && !self.operation_message.is_empty() {
            // Argo CD retrying a failed apply says so here ("Retrying attempt #N ...").
            return with_webhook_note(&self.operation_message);
        }
        self.resources
            .iter()
            .find(|r| r.status == "OutOfSync" || (!r.health.is_empty() && r.health != "Healthy"))
            .map(|r| {
                let line = format!("{} {}: {} {}", r.kind, r.qualified_name(), r.status, r.health)
                    .trim_end()
                    .to_string();
                if r.health_message.is_empty() || r.health == "Healthy" {
                    line
                } else {
                    format!("{line}: {}", r.health_message)
                }
            })
            .unwrap_or_default()
    }

    /// One line: where it stands and [`why`](Self::why), for timeouts.
    pub fn describe(&self) -> String {
        // No status at all: the application-controller has never reconciled
        // it (it writes `status.sync` and `status.health` on its first
        // comparison, argo-cd v3.5.1 controller/appcontroller.go
        // `persistAppStatus`), so it is down, or not there yet.
        if self.sync.is_empty() && self.health.is_empty() && self.why().is_empty() {
            return "no sync status or health yet: Argo CD's application-controller has not reconciled it; if that lasts, is it running? \
                    (kubectl -n argocd get pods; kubectl -n argocd logs statefulset/argocd-application-controller)"
                .to_string();
        }
        let sync = if self.sync.is_empty() {
            "sync=<none>"
        } else {
            &self.sync
        };
        let health = if self.health.is_empty() {
            "health=<none>"
        } else {
            &self.health
        };
        match self.why() {
            why if why.is_empty() => format!("{sync}/{health}"),
            why => format!("{sync}/{health}; {why}"),
        }
    }
}

/// One `status.conditions[]` entry of an ApplicationSet.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct SetCondition {
    pub kind: String,
    pub status: String,
    pub message: String,
}

/// What the TUI shows of one ApplicationSet.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AppSetSummary {
    pub namespace: String,
    pub name: String,
    pub conditions: Vec<SetCondition>,
    /// `status.resources[].name`: the Applications it generated.
    pub generated: Vec<String>,
}

impl AppSetSummary {
    /// Reads an ApplicationSet object (`status` is its subresource; empty before
    /// the applicationset-controller first reconciles it).
    pub fn from_object(obj: &DynamicObject) -> Self {
        let d = &obj.data;
        let conditions = each(d, "/status/conditions", |c| SetCondition {
            kind: s(c, &["type"]),
            status: s(c, &["status"]),
            message: s(c, &["message"]),
        });
        let mut generated = each(d, "/status/resources", |r| s(r, &["name"]));
        generated.retain(|n| !n.is_empty());
        AppSetSummary {
            namespace: obj.metadata.namespace.clone().unwrap_or_default(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            conditions,
            generated,
        }
    }

    /// The `ErrorOccurred=True` condition's message, if any.
    pub fn error(&self) -> Option<&str> {
        self.conditions
            .iter()
            .find(|c| c.kind == "ErrorOccurred" && c.status == "True")
            .map(|c| c.message.as_str())
    }

    /// `ResourcesUpToDate=True`.
    pub fn up_to_date(&self) -> bool {
        self.conditions
            .iter()
            .any(|c| c.kind == "ResourcesUpToDate" && c.status == "True")
    }
}

/// The annotation that asks Argo CD's application-controller to compare an
/// Application again now (it removes it once done).
pub const APP_REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// Sets annotation `key: value` on object `name` (a merge patch). `Ok(false)`
/// when the object does not exist (any more).
pub async fn annotate(api: &kube::Api<DynamicObject>, name: &str, key: &str, value: &str) -> Result<bool, kube::Error> {
    let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
    match api
        .patch(
            name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message the test bed's application-controller wrote while the
    /// repo-server was down (faults_argocd, 2026-12-06), and one that is
    /// not about it.
    #[test]
    fn a_repo_server_that_does_not_answer_is_named() {
        let down = r#"Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:8081: connect: connection refused""#;
        assert!(repo_server_unreachable(down));
        assert!(!repo_server_unreachable(
            "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = kustomize build failed"
        ));
        let app = AppSummary {
            conditions: vec![AppCondition {
                kind: "ComparisonError".into(),
                message: down.into(),
            }],
            ..Default::default()
        };
        assert!(app.why().ends_with(&format!("({REPO_SERVER_AWAY})")), "{}", app.why());
    }

    /// A sync whose apply an admission webhook did not answer: while Argo CD
    /// retries (operation Running), once it failed, and in its SyncError
    /// condition, the reason names the webhook's Service and what to do.
    #[test]
    fn a_webhook_that_does_not_answer_is_named() {
        let call = r#"one or more objects failed to apply, reason: Internal error occurred: failed calling webhook "validate.externalsecret.external-secrets.io": failed to call webhook: Post "https://external-secrets-webhook.external-secrets.svc:443/validate-external-secrets-io-v1-externalsecret?timeout=5s": no endpoints available for service "external-secrets-webhook""#;
        let note = "Service external-secrets/external-secrets-webhook";
        let retrying = AppSummary {
            operation_phase: "Running".into(),
            operation_message: format!("Retrying attempt #2 at 11:02AM: {call}"),
            ..Default::default()
        };
        assert!(retrying.why().contains(note), "{}", retrying.why());
        let failed = AppSummary {
            operation_phase: "Failed".into(),
            operation_message: call.into(),
            ..Default::default()
        };
        assert!(failed.why().starts_with("sync Failed: one or more"), "{}", failed.why());
        assert!(failed.why().contains(note), "{}", failed.why());
        let given_up = AppSummary {
            conditions: vec![AppCondition {
                kind: "SyncError".into(),
                message: format!("Failed last sync attempt to [4f2c1d0]: {call}"),
            }],
            ..Default::default()
        };
        assert!(given_up.why().contains(note), "{}", given_up.why());
        let other = AppSummary {
            operation_phase: "Failed".into(),
            operation_message: "one or more objects failed to apply, reason: namespaces \"x\" not found".into(),
            ..Default::default()
        };
        assert!(!other.why().contains("webhook"), "{}", other.why());
    }

    fn obj(v: serde_json::Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn application_fields_are_read_as_argo_cd_writes_them() {
        let a = AppSummary::from_object(&obj(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "cart", "namespace": "argocd",
                "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "coffee", "uid": "u"}]},
            "spec": {"project": "default"},
            "status": {
                "sync": {"status": "OutOfSync", "revision": "0123456789abcdef"},
                "health": {"status": "Healthy"},
                "operationState": {"phase": "Succeeded", "finishedAt": "2026-11-21T06:00:00Z"},
                "conditions": [{"type": "SharedResourceWarning", "message": "shared"}],
                "resources": [
                    {"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition", "name": "x.example.io", "status": "Synced", "health": {"status": "Healthy"}},
                    {"group": "apps", "kind": "Deployment", "namespace": "coffee", "name": "cart-app", "status": "OutOfSync", "health": {"status": "Missing"}}
                ]
            }
        })));
        assert_eq!(
            (a.sync.as_str(), a.health.as_str(), a.project.as_str()),
            ("OutOfSync", "Healthy", "default")
        );
        assert_eq!(a.short_revision(), "0123456");
        assert_eq!(a.owner_appset.as_deref(), Some("coffee"));
        assert_eq!(a.resources.len(), 2);
        assert_eq!(a.resources[0].qualified_name(), "x.example.io");
        assert_eq!(a.error(), None, "a warning is not an error");
        assert_eq!(
            a.describe(),
            "OutOfSync/Healthy; Deployment coffee/cart-app: OutOfSync Missing"
        );
        assert!(!a.is_ready());
    }

    #[test]
    fn a_sync_argo_cd_gave_up_on_is_told_apart_from_one_still_retrying() {
        let rev = "0123abc4567890def0123abc4567890def012345";
        // As argo-cd v3.5.1 controller/appcontroller.go autoSync words it:
        // fmt.Sprintf("Failed last sync attempt to %s: %s", lastAttemptedRevisions, ...),
        // the revisions a Go []string, so "[<sha>]".
        let message =
            format!("Failed last sync attempt to [{rev}]: one or more objects failed to apply (retried 5 times).");
        let app = |phase: &str, synced_at: &str, compared: &str| {
            AppSummary::from_object(&obj(serde_json::json!({
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                "metadata": {"name": "external-secrets", "namespace": "argocd"},
                "status": {
                    "sync": {"status": "OutOfSync", "revision": compared},
                    "operationState": {"phase": phase, "message": "one or more objects failed to apply (retried 5 times).",
                        "operation": {"sync": {"revision": synced_at}},
                        "syncResult": {"revision": synced_at}},
                    "conditions": [{"type": "SyncError", "message": message}]
                }
            })))
        };
        assert_eq!(app("Failed", rev, rev).sync_given_up(), Some(message.as_str()));
        assert_eq!(app("Error", rev, rev).sync_given_up(), Some(message.as_str()));
        assert_eq!(app("Running", rev, rev).sync_given_up(), None, "a retry is under way");
        assert_eq!(
            app("Failed", rev, "fedcba9876543210fedcba9876543210fedcba98").sync_given_up(),
            None,
            "a newer commit: Argo CD's automated sync tries it"
        );
        let mut asked = app("Failed", rev, rev);
        asked.operation_requested = true;
        assert_eq!(asked.sync_given_up(), None, "a sync asked for and not started yet");
    }

    #[test]
    fn a_fresh_application_and_an_applicationset() {
        let fresh = AppSummary::from_object(&obj(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "new"}, "spec": {}
        })));
        assert!(
            fresh
                .describe()
                .starts_with("no sync status or health yet: Argo CD's application-controller has not reconciled it"),
            "{}",
            fresh.describe()
        );
        let set = AppSetSummary::from_object(&obj(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "coffee", "namespace": "argocd"},
            "status": {"conditions": [{"type": "ErrorOccurred", "status": "True", "message": "boom"}],
                       "resources": [{"name": "cart"}, {"name": ""}, {"name": "order"}]}
        })));
        assert_eq!(set.generated, vec!["cart", "order"]);
        assert_eq!(set.error(), Some("boom"));
    }
}
