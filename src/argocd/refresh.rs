//! Asking Argo CD to look again: refresh annotations on Applications and
//! ApplicationSets (after a publish, from the git source's post-receive hook,
//! in waits), and a new sync of every Application whose automated sync Argo
//! CD gave up on.

use super::{annotate, APP_REFRESH_ANNOTATION};
use anyhow::{anyhow, Result};
use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;

/// Asks Argo CD to sync again every Application whose automated sync it gave
/// up on ([`super::AppSummary::sync_given_up`]): Argo CD never auto-syncs
/// a revision again once its sync failed, so a re-run of `kindops up` (which
/// may publish nothing new) would otherwise wait for nothing. Asks as `argocd
/// app sync` does ([`super::actions::sync`]: the Application's
/// own `syncPolicy.syncOptions` and `retry`, and `status.operationState`
/// cleared). Clearing it matters: Argo CD writes a new operation's state
/// with a JSON merge patch in which a zero `retryCount` is omitted (argo-cd
/// v3.5.1 `controller/appcontroller.go` `setOperationState`;
/// `OperationState.RetryCount` is `omitempty`), so the old state's
/// `retryCount` (the limit, after a sync it gave up on) would stay, and the
/// new sync would get no retries: seen on the real kind cluster, where a
/// re-run's sync asked for before phase 3 had restored an admission webhook
/// failed once and was given up again.
/// Returns the names it asked; one it could not ask is logged and left to
/// the wait that follows.
pub async fn resync_given_up(client: &Client, namespace: &str) -> Result<Vec<String>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &super::application_resource());
    let list = match api.list(&ListParams::default()).await {
        Ok(l) => l,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(vec![]),
        Err(e) => return Err(anyhow!("listing Applications in {namespace}: {e}")),
    };
    let mut asked = vec![];
    for o in &list.items {
        let app = super::AppSummary::from_object(o);
        if app.sync_given_up().is_none() {
            continue;
        }
        // Deleted, or an operation started since the list: the wait that
        // follows says where the Application stands.
        match super::actions::sync(client, namespace, &app.name).await {
            Ok(_) => asked.push(app.name),
            Err(e) => tracing::warn!("{e:#}"),
        }
    }
    Ok(asked)
}

/// Asks Argo CD to look at git now instead of at its next poll: annotates every
/// Application with `argocd.argoproj.io/refresh: normal` and every
/// ApplicationSet with `argocd.argoproj.io/application-set-refresh: "true"`
/// (Argo CD removes both once handled). Returns how many objects were annotated.
/// A cluster without Argo CD's CRDs yet counts as zero.
pub async fn refresh_argo(client: &Client, namespace: &str) -> Result<usize> {
    refresh(client, namespace, None).await
}

/// As [`refresh_argo`], but leaves alone every Application Argo CD has
/// already compared at `revision` (a full commit SHA) and found Synced and
/// Healthy (`status.sync.revision`, `status.sync.status`,
/// `status.health.status`): asking it again changes nothing, and the wait
/// that follows would have to sit out the comparison. ApplicationSets are
/// always asked (their git generator's last revision is not in their status).
pub async fn refresh_argo_not_at(client: &Client, namespace: &str, revision: &str) -> Result<usize> {
    refresh(client, namespace, Some(revision)).await
}

async fn refresh(client: &Client, namespace: &str, skip_compared_at: Option<&str>) -> Result<usize> {
    let mut n = 0;
    for (ar, key, value) in [
        (super::application_resource(), APP_REFRESH_ANNOTATION, "normal"),
        (
            super::applicationset_resource(),
            "argocd.argoproj.io/application-set-refresh",
            "true",
        ),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let not_found = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404);
        let listing = |e: kube::Error| anyhow!("listing {} in {namespace}: {e}", ar.plural);
        let names: Vec<String> = match skip_compared_at.filter(|_| ar.kind == "Application") {
            None => match api.list_metadata(&ListParams::default()).await {
                Ok(l) => l.items.into_iter().filter_map(|o| o.metadata.name).collect(),
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(listing(e)),
            },
            Some(rev) => match api.list(&ListParams::default()).await {
                Ok(l) => l
                    .items
                    .iter()
                    .map(super::AppSummary::from_object)
                    .filter(|a| !(a.revision == rev && a.is_ready()))
                    .map(|a| a.name)
                    .collect(),
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(listing(e)),
            },
        };
        // All at once: a push's hook waits for this.
        let api = &api;
        let done: Vec<(String, Result<bool, kube::Error>)> = futures::stream::iter(names)
            .map(|name| async move {
                let r = annotate(api, &name, key, value).await;
                (name, r)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for (name, r) in done {
            match r {
                Ok(true) => n += 1,
                // Deleted since the list (an ApplicationSet just removed it): nothing to refresh.
                Ok(false) => {}
                Err(e) => return Err(anyhow!("asking Argo CD to refresh {} {namespace}/{name}: {e}", ar.kind)),
            }
        }
    }
    Ok(n)
}
