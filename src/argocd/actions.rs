//! What a reader (the TUI's Applications table, `kindops open`) may ask of
//! Argo CD, through the Kubernetes API only (no `argocd login`, no
//! argocd-server: Argo CD's application-controller acts on these fields):
//!
//! - [`sync`]: sets the Application's `operation` field, as argocd-server
//!   does for `argocd app sync`;
//! - [`refresh`]: the `argocd.argoproj.io/refresh: normal|hard` annotation;
//! - [`admin_password`]: the `argocd-initial-admin-secret` Secret's
//!   `password`, as the phase 1 `show-secret` step reads it.
//!
//! Each returns what it did as one line naming the Application and the
//! field it set, for the reader to show (never a secret's value).

use super::application_resource;
use super::{annotate, APP_REFRESH_ANNOTATION};
use anyhow::{anyhow, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::Client;
use serde_json::{json, Value};

/// Who `operation.initiatedBy.username` says started a sync.
pub const INITIATED_BY: &str = "kindops";

/// The Secret Argo CD writes its first admin password into (argo-cd v3.5.1
/// `util/settings/settings.go` `initialPasswordSecretName`), key `password`;
/// the user is `admin`.
pub const ADMIN_SECRET: &str = "argocd-initial-admin-secret";
pub const ADMIN_SECRET_KEY: &str = "password";
pub const ADMIN_USER: &str = "admin";

/// A refresh: `normal` compares the Application with git again; `hard` also
/// drops the repo-server's manifest cache first (argo-cd v3.5.1
/// `pkg/apis/application/v1alpha1/application_annotations.go`
/// `AnnotationKeyRefresh`, `types.go` `RefreshTypeNormal`/`RefreshTypeHard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Normal,
    Hard,
}

impl Refresh {
    /// The annotation's value.
    pub fn value(self) -> &'static str {
        match self {
            Refresh::Normal => "normal",
            Refresh::Hard => "hard",
        }
    }
}

/// The `operation` argocd-server sets for `argocd app sync NAME` with no
/// other flags (argo-cd v3.5.1 `server/application/application.go`
/// `Server.Sync`, with the CLI's default `--strategy hook` from
/// `cmd/argocd/commands/app.go`): a sync to the revision in the spec
/// (`SyncOperation.Revision` omitted: "will use the revision specified in app
/// spec", `pkg/apis/application/v1alpha1/types.go`), the spec's
/// `syncPolicy.syncOptions` and `syncPolicy.retry`, no prune, and who
/// started it in `initiatedBy.username`. `app` is the Application as read.
pub fn sync_operation(app: &Value) -> Value {
    let policy = app.pointer("/spec/syncPolicy");
    let mut sync = json!({"syncStrategy": {"hook": {}}});
    if let Some(opts) = policy.and_then(|p| p.get("syncOptions")).filter(|o| !o.is_null()) {
        sync["syncOptions"] = opts.clone();
    }
    let mut op = json!({
        "sync": sync,
        "initiatedBy": {"username": INITIATED_BY},
    });
    if let Some(retry) = policy.and_then(|p| p.get("retry")).filter(|r| !r.is_null()) {
        op["retry"] = retry.clone();
    }
    op
}

/// Asks Argo CD to sync Application `namespace/name` now, as `argocd app
/// sync` does: sets `operation` ([`sync_operation`]) and clears
/// `status.operationState`, refusing when an operation is already set
/// (argo-cd v3.5.1 `util/argo/argo.go` `SetAppOperation`: "another operation
/// is already in progress"). The write carries the `resourceVersion` read,
/// so a concurrent change makes it fail with a conflict, which is retried
/// on a fresh read, as `SetAppOperation` does.
///
/// Returns what was set (short enough for an 80-column screen), e.g. `sync
/// of Application argocd/cart: set .operation.sync (initiatedBy kindops)`;
/// Argo CD's application-controller then runs the sync. Errors name the Application and
/// the API's answer (not found, forbidden, an operation in progress).
pub async fn sync(client: &Client, namespace: &str, name: &str) -> Result<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    for _ in 0..5 {
        let app = api
            .get_opt(name)
            .await
            .map_err(|e| anyhow!("reading Application {namespace}/{name}: {e}"))?
            .ok_or_else(|| anyhow!("Application {namespace}/{name} does not exist (any more)"))?;
        if app.data.get("operation").is_some_and(|o| !o.is_null()) {
            let phase = app
                .data
                .pointer("/status/operationState/phase")
                .and_then(Value::as_str)
                .unwrap_or("not started");
            return Err(anyhow!(
                "Application {namespace}/{name}: another operation is already in progress (operation phase {phase}); wait for it to finish"
            ));
        }
        let patch = json!({
            "metadata": {"resourceVersion": app.metadata.resource_version},
            "operation": sync_operation(&app.data),
            "status": {"operationState": null},
        });
        match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => {
                return Ok(format!(
                    "sync of Application {namespace}/{name}: set .operation.sync (initiatedBy {INITIATED_BY})"
                ))
            }
            Err(kube::Error::Api(s)) if s.code == 409 => continue,
            Err(e) => return Err(anyhow!("asking Argo CD to sync Application {namespace}/{name}: {e}")),
        }
    }
    Err(anyhow!(
        "Application {namespace}/{name} kept changing while kindops set its operation; try again"
    ))
}

/// Asks Argo CD to compare Application `namespace/name` with git now:
/// annotation `argocd.argoproj.io/refresh: normal|hard`, which the
/// application-controller reads (`Application.IsRefreshRequested`) and
/// removes once it has compared, updating `status.reconciledAt` (argo-cd
/// v3.5.1 `controller/appcontroller.go` `needRefreshAppStatus`,
/// `persistReconciliationStatus`).
///
/// Returns what was set, e.g. `hard refresh of Application argocd/cart: set
/// argocd.argoproj.io/refresh=hard` (an annotation).
pub async fn refresh(client: &Client, namespace: &str, name: &str, kind: Refresh) -> Result<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &application_resource());
    let what = match kind {
        Refresh::Normal => "refresh",
        Refresh::Hard => "hard refresh",
    };
    match annotate(&api, name, APP_REFRESH_ANNOTATION, kind.value()).await {
        Ok(true) => Ok(format!(
            "{what} of Application {namespace}/{name}: set {APP_REFRESH_ANNOTATION}={}",
            kind.value()
        )),
        Ok(false) => Err(anyhow!("Application {namespace}/{name} does not exist (any more)")),
        Err(e) => Err(anyhow!(
            "asking Argo CD for a {what} of Application {namespace}/{name}: {e}"
        )),
    }
}

/// The Argo CD admin password from Secret `namespace/argocd-initial-admin-secret`
/// (key `password`), or `None` when the Secret is gone (Argo CD creates it at
/// first start; users may delete it after changing the password).
///
/// Errors: the API call fails, or the Secret lacks the key (both named).
pub async fn admin_password(client: &Client, namespace: &str) -> Result<Option<String>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let Some(secret) = api
        .get_opt(ADMIN_SECRET)
        .await
        .map_err(|e| anyhow!("reading Secret {namespace}/{ADMIN_SECRET}: {e}"))?
    else {
        return Ok(None);
    };
    secret
        .data
        .and_then(|d| {
            d.get(ADMIN_SECRET_KEY)
                .map(|b| String::from_utf8_lossy(&b.0).to_string())
        })
        .map(Some)
        .ok_or_else(|| anyhow!("Secret {namespace}/{ADMIN_SECRET} has no key {ADMIN_SECRET_KEY}"))
}

/// How to read the password by hand, for messages.
pub fn admin_password_command(namespace: &str) -> String {
    format!("kubectl -n {namespace} get secret {ADMIN_SECRET} -o jsonpath='{{.data.{ADMIN_SECRET_KEY}}}' | base64 -d")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_operation_is_argocd_app_sync_s_default() {
        let app = json!({
            "spec": {"syncPolicy": {
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["ServerSideApply=true", "ApplyOutOfSyncOnly=true"],
                "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "1m"}}
            }}
        });
        assert_eq!(
            sync_operation(&app),
            json!({
                "sync": {"syncStrategy": {"hook": {}}, "syncOptions": ["ServerSideApply=true", "ApplyOutOfSyncOnly=true"]},
                "initiatedBy": {"username": "kindops"},
                "retry": {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "1m"}},
            })
        );
        // No sync policy: no options, no retry, and never a revision (the spec's).
        let bare = sync_operation(&json!({"spec": {"project": "default"}}));
        assert_eq!(
            bare,
            json!({"sync": {"syncStrategy": {"hook": {}}}, "initiatedBy": {"username": "kindops"}})
        );
        assert!(bare.pointer("/sync/revision").is_none());
    }

    #[test]
    fn refresh_values_are_argo_cd_s() {
        assert_eq!(Refresh::Normal.value(), "normal");
        assert_eq!(Refresh::Hard.value(), "hard");
        assert_eq!(APP_REFRESH_ANNOTATION, "argocd.argoproj.io/refresh");
    }
}
