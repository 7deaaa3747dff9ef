//! Lesson 8, rotate a secret: a new value in the team's secret store reaches
//! the product with no commit and no restart. kindops writes a new random
//! value into the store's Secret `team-secrets/coffee-cart` (key `api-key`;
//! phase 3's `seed-secrets` step made it), as a secret manager's rotation
//! would, and times what follows:
//! 1. External Secrets reads the store again (the ExternalSecret's
//!    `refreshInterval`, 15 s in `apps/coffee/cart/externalsecret.yaml`) and
//!    writes the new value into Secret `coffee/cart-secret`;
//! 2. the kubelet rewrites the file the Rollout's pods mount from that
//!    Secret (a Secret volume without `subPath` is updated in place on the
//!    kubelet's periodic sync of each pod, one minute by default), and each
//!    of cart's pods, which reads the file on every request, answers with
//!    the new value's short SHA-256 (`secret_sha256`, asked of each pod
//!    through the API server's pod proxy): no restart, no new ReplicaSet;
//! 3. Application cart stays Synced all along and git's `main` does not
//!    move: git holds the ExternalSecret (where the value comes from), never
//!    the value (seed 002: the cluster's wanted state is in git; a secret's
//!    value is not part of it).
//!
//! The value is never shown: kindops compares bytes in memory and names
//! only the first 12 hex digits of its SHA-256. The rotated value stays
//! (there is nothing to undo: a rotation is the new normal; run the lesson
//! again to rotate again). On the test bed no pod runs: the lesson says so
//! and ends `skipped`.

use super::git_sync::{APP, NAMESPACE, ROLLOUT};
use super::observe::{Observer, Target};
use super::{require_ready, Ended, Fail, LessonCtx};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::ByteString;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::{watcher, WatchStreamExt};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::time::Instant;

/// The store's namespace, its Secret for cart and the key (phase 3's
/// `seed-secrets` step: `namespace: team-secrets`, `prefix: coffee-`,
/// `key: api-key`).
pub const STORE_NAMESPACE: &str = "team-secrets";
pub const STORE_SECRET: &str = "coffee-cart";
pub const KEY: &str = "api-key";
/// The Secret External Secrets writes for cart (`target.name` in
/// `apps/coffee/cart/externalsecret.yaml`), which the Rollout mounts.
pub const TARGET_SECRET: &str = "cart-secret";

/// The first 12 hex digits of the SHA-256 of `value`, as the coffee
/// services report it (`secret_sha256`, `products/coffee/*/server.go`).
pub fn short_sha256(value: &[u8]) -> String {
    hex::encode(Sha256::digest(value))[..12].to_string()
}

/// The answer's `secret_sha256` from a body, or why there is none (not
/// the coffee service's JSON: the placeholder image; no field: a build
/// older than the field).
fn sha_of(body: &str) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|_| {
        format!(
            "cart answers {:?}, not the coffee service's JSON: it runs the placeholder image until CI builds it (lesson 6 does)",
            body.trim()
        )
    })?;
    match v["secret_sha256"].as_str() {
        Some(s) => Ok(s.to_string()),
        None => Err(format!(
            "cart's answer has no secret_sha256 ({v}): its image predates it; push a change to products/coffee/cart (lesson 6 does) so CI builds it"
        )),
    }
}

/// GET `path` through the API server (a service or pod proxy), as text.
async fn get_text(ctx: &LessonCtx, path: &str) -> Result<String, String> {
    let req = http::Request::get(path).body(Vec::new()).map_err(|e| e.to_string())?;
    ctx.client.request_text(req).await.map_err(|e| e.to_string())
}

/// cart's answer through its Service (the API server's service proxy).
async fn answered_sha(ctx: &LessonCtx) -> Result<String, String> {
    sha_of(
        &get_text(
            ctx,
            &format!("/api/v1/namespaces/{NAMESPACE}/services/{ROLLOUT}:http/proxy/"),
        )
        .await?,
    )
}

/// Each Ready, not terminating pod of cart (label `app.kubernetes.io/name=cart`,
/// which `apps/coffee/cart`'s `labels` put on the Rollout's selector),
/// asked on its `http` container port through the API server's pod proxy
/// (`pods/NAME:PORT/proxy/`; a Service would answer from any one pod, and
/// the kubelet updates each pod's mounted Secret on that pod's own sync):
/// pod name and its `secret_sha256`, or why none.
async fn pod_answers(ctx: &LessonCtx) -> Result<Vec<(String, Result<String, String>)>, Fail> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    let list = pods
        .list(&ListParams::default().labels(&format!("app.kubernetes.io/name={APP}")))
        .await
        .map_err(|e| Fail::new(format!("listing cart's pods: {e}")))?;
    let mut out = Vec::new();
    for p in list.items {
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if !ready || p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = p.metadata.name.clone().unwrap_or_default();
        let port = p
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.ports.as_ref())
            .and_then(|ps| ps.iter().find(|x| x.name.as_deref() == Some("http")))
            .map(|x| x.container_port);
        let answer = match port {
            Some(port) => get_text(
                ctx,
                &format!("/api/v1/namespaces/{NAMESPACE}/pods/{name}:{port}/proxy/"),
            )
            .await
            .and_then(|b| sha_of(&b)),
            None => Err("no container port named http".to_string()),
        };
        out.push((name, answer));
    }
    Ok(out)
}

/// Watches Secret `coffee/cart-secret` until its `api-key` is `value`
/// (compared in memory). Errors: not within the lesson's `--timeout`, or interrupted.
async fn wait_target_has(ctx: &LessonCtx, value: &[u8]) -> Result<(), Fail> {
    let object = format!("Secret {NAMESPACE}/{TARGET_SECRET}");
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    let by_name = format!("metadata.name={TARGET_SECRET}");
    let mut secrets = watcher(api, watcher::Config::default().fields(&by_name))
        .default_backoff()
        .applied_objects()
        .filter_map(|r| async move { r.ok() })
        .filter(|s| std::future::ready(s.data.as_ref().and_then(|d| d.get(KEY)).is_some_and(|b| b.0 == value)))
        .boxed();
    tokio::select! {
        _ = ctx.cancel.cancelled() => Err(Fail::interrupted()),
        r = tokio::time::timeout(ctx.timeout, secrets.next()) => match r {
            Ok(Some(_)) => Ok(()),
            _ => Err(Fail::new(format!("External Secrets did not write the new value into {object} within {}", humantime::format_duration(ctx.timeout)))
                .object(format!("ExternalSecret {NAMESPACE}/{TARGET_SECRET}"))
                .hint(format!("`kubectl -n {NAMESPACE} describe externalsecret {TARGET_SECRET}` shows External Secrets' condition; `kindops status` names an ExternalSecret that is not Ready"))),
        },
    }
}

/// Asks each of cart's pods ([`pod_answers`]) every second until every one
/// answers with `want` as `secret_sha256`. Returns how many pods answered.
/// Errors: not within the lesson's `--timeout` (what each pod answered
/// last), or interrupted.
async fn wait_answer(ctx: &LessonCtx, want: &str) -> Result<usize, Fail> {
    let deadline = Instant::now() + ctx.timeout;
    loop {
        let answers = pod_answers(ctx).await?;
        if !answers.is_empty() && answers.iter().all(|(_, a)| a.as_deref() == Ok(want)) {
            return Ok(answers.len());
        }
        if Instant::now() > deadline {
            let last: Vec<String> = answers
                .iter()
                .map(|(p, a)| match a {
                    Ok(s) => format!("pod {p}: secret_sha256 {s}"),
                    Err(e) => format!("pod {p}: {e}"),
                })
                .collect();
            return Err(Fail::new(format!(
                "cart's pods did not all answer with the new value's secret_sha256 {want} within {}; last: {}",
                humantime::format_duration(ctx.timeout),
                if last.is_empty() { "no Ready pod".to_string() } else { last.join("; ") }
            ))
            .object(format!("Rollout {NAMESPACE}/{ROLLOUT}"))
            .hint("the kubelet updates a mounted Secret on its next sync of each pod (about a minute); `kindops open cart` asks again"));
        }
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(Fail::interrupted()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("kindops checks that Application cart is Synced and Healthy and that cart answers with its secret's short SHA-256.")
        .await?;
    require_ready(ctx, APP).await?;
    if super::ci_by_path::pods_run_nothing(ctx).await? {
        ctx.note("What this lesson cannot show here: this cluster's nodes are KWOK's (the test bed), so no pod of External Secrets or cart runs. On a real cluster kindops writes a new value into the team's secret store; External Secrets copies it into Secret coffee/cart-secret, cart reads it with no restart, and Application cart stays Synced.");
        return Ok(Ended::Skipped(
            "needs a real cluster: this cluster's nodes are KWOK's (the test bed)".into(),
        ));
    }
    let before = answered_sha(ctx).await.map_err(|e| {
        Fail::new(format!("cart does not report its secret: {e}"))
            .object(format!("Service {NAMESPACE}/{ROLLOUT}"))
            .hint("`kindops learn 6` builds cart from its code; then run this lesson again")
    })?;
    let store: Api<Secret> = Api::namespaced(ctx.client.clone(), STORE_NAMESPACE);
    let object = format!("Secret {STORE_NAMESPACE}/{STORE_SECRET}");
    if store
        .get_opt(STORE_SECRET)
        .await
        .map_err(|e| Fail::new(format!("reading {object}: {e}")).object(object.clone()))?
        .is_none()
    {
        return Err(Fail::new(format!("{object} does not exist"))
            .object(object)
            .hint("`kindops up --phase 3` seeds the team's secret store"));
    }
    let head = ctx.repo_head().await?;
    let mut obs = Observer::start(ctx, vec![Target::App(APP.into())]).await?;
    ctx.explain(format!(
        "cart answers secret_sha256 {before}: the first 12 hex digits of the SHA-256 of the value it reads, never the value. Its value lives in the team's secret store ({object}, key {KEY}), not in git: git holds only the ExternalSecret that says where to read it. kindops now rotates it: a new random value in the store, as your secret manager would. Nothing is committed."
    ))
    .await?;
    let value = crate::secret_store::new_value().map_err(|e| Fail::new(e.to_string()))?;
    let want = short_sha256(value.as_bytes());
    let patch = serde_json::json!({"data": {KEY: ByteString(value.clone().into_bytes())}});
    store
        .patch(STORE_SECRET, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Fail::new(format!("writing the new value into {object}: {e}")).object(object.clone()))?;
    let rotated = Instant::now();
    obs.mark_change();
    ctx.changed(
        format!("{object}: key {KEY} has a new random value (secret_sha256 {want}; the value is not shown)"),
        None,
        Some(object.clone()),
    );

    ctx.explain(format!(
        "External Secrets reads the store again on the ExternalSecret's refreshInterval (15 s here) and writes the value into Secret {NAMESPACE}/{TARGET_SECRET}."
    ))
    .await?;
    wait_target_has(ctx, value.as_bytes()).await?;
    let eso = rotated.elapsed().as_secs_f64();
    ctx.note(format!(
        "Secret {NAMESPACE}/{TARGET_SECRET} has the new value {eso:.1} s after the rotation (External Secrets' refresh)"
    ));

    ctx.explain("The kubelet rewrites the file cart's pods mount from that Secret on its next pod sync (about a minute; a Secret mounted with subPath would never be updated). cart reads the file on every request, so no restart and no new Rollout revision are needed.").await?;
    let pods = wait_answer(ctx, &want).await?;
    let seen = rotated.elapsed().as_secs_f64();
    ctx.note(format!(
        "cart answers secret_sha256 {want} {seen:.1} s after the rotation ({:.1} s after the Secret changed), from each of its {pods} pods: it reads the new value, with no restart",
        seen - eso
    ));

    obs.catch_up(ctx);
    let app = obs.view().app(APP);
    let synced = app.as_ref().is_some_and(|a| a.sync == "Synced");
    let moved = obs.saw(&format!("Application argocd/{APP}"), "OutOfSync");
    let now = ctx.repo_head().await?;
    if !synced || moved || now != head {
        return Err(Fail::new(format!(
            "Application {APP} is {} and git main {}: a rotation should change neither",
            super::observe::app_state(app.as_ref()),
            if now == head { "did not move" } else { "moved" }
        ))
        .object(format!("Application argocd/{APP}")));
    }
    ctx.note(format!(
        "Application {APP} stayed Synced and git main is still {}: the value changed in the store, not in git. That is the GitOps way for secrets: git says where a secret comes from (the ExternalSecret); the store holds the value, and rotating it needs no commit and no sync.",
        &head[..7.min(head.len())]
    ));
    Ok(Ended::Passed)
}

/// Nothing to take back: the rotated value is the store's value now (the
/// products read it), and putting an old value back would be another
/// rotation. Says so.
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("A rotated secret stays rotated: the new value is the store's value, and cart already reads it. There is nothing to take back; `kindops learn 8` rotates it again.")
        .await?;
    Ok(Ended::Undone)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same digits the coffee services' own test expects
    /// (`products/coffee/cart/server_test.go`: sha256("s3cr3t") starts 4e738ca5563c).
    #[test]
    fn short_sha256_is_what_the_services_report() {
        assert_eq!(short_sha256(b"s3cr3t"), "4e738ca5563c");
        assert_eq!(short_sha256(b"r0tated"), "f6fad136fd9e");
    }
}
