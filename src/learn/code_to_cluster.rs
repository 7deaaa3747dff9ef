//! Lesson 6, code to cluster: the whole GitOps loop from one code change.
//! kindops changes cart's code (a comment line in
//! `products/coffee/cart/server.go`), commits and pushes it as a learner
//! would, and watches every transition that follows with nothing else done:
//! the git source's `post-receive` hook sends the EventListener a push
//! event → cart's PipelineRun (clone, `go test`, ko build and push to the
//! cluster's registry, write-back of the new tag into `apps/coffee/cart`)
//! Succeeds → Argo CD syncs Application cart → Rollout `coffee/cart-app`
//! runs the new version as a canary (50 %, a pause, 100 %) → cart answers
//! with the new commit. The change stays (the new version serves); `--undo`
//! reverts the lesson's commit with `git revert`, itself a push that goes
//! through the same loop: a GitOps rollback is a new commit.
//!
//! The PipelineRun is found by its `REVISION` param (the pushed commit) among
//! those labelled `triggers.tekton.dev/trigger=cart` (tektoncd/triggers
//! v0.37 labels what a trigger creates with it). On the test bed no
//! EventListener or task pod runs: the lesson says so and ends `skipped`.

use super::ci_by_path::{self, Reach};
use super::git_sync::{APP, NAMESPACE, ROLLOUT};
use super::observe::{Observer, Target};
use super::{require_ready, Ended, Fail, LessonCtx};
use kube::api::{Api, DynamicObject, ListParams};
use std::time::Duration;
use tokio::time::Instant;

/// The file the lesson changes.
pub const FILE: &str = "products/coffee/cart/server.go";
/// The comment line the lesson writes (one, replaced on each run).
const MARK: &str = "// kindops learn 6:";
/// Commit messages of the lesson's changes start with this (`--undo` finds them by it).
const SUBJECT: &str = "kindops learn 6: a change to cart's code";
/// How long the push event may take to start a PipelineRun (the hook sends
/// it within 1 s; the listener creates the run in the background).
const RUN_APPEARS: Duration = Duration::from_secs(60);

/// `text` with the lesson's comment line set to `stamp` (replacing an
/// earlier one, or appended).
pub fn with_mark(text: &str, stamp: &str) -> String {
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(MARK)).collect();
    let line = format!("{MARK} {stamp}");
    lines.push(&line);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whether CI can run on this cluster (the EventListener serves; waits
/// for it when it is still starting). `Some(Skipped)` on a cluster whose
/// pods run nothing (the test bed), after a note saying what the lesson
/// would show there (`would`).
pub(super) async fn ci_can_run(ctx: &LessonCtx, would: &str) -> Result<Option<Ended>, Fail> {
    match ci_by_path::reach(ctx).await? {
        Reach::Serving => Ok(None),
        Reach::Never(why) => {
            ctx.note(format!(
                "What this lesson cannot show here: {why}. On a real cluster {would}."
            ));
            Ok(Some(Ended::Skipped(format!("needs a real cluster: {why}"))))
        }
        Reach::NotYet(why) => {
            ctx.note(format!("{why}; waiting for it to serve"));
            ci_by_path::wait_serving(ctx).await?;
            Ok(None)
        }
    }
}

/// The PipelineRun for `revision` among cart's, polling once a second.
///
/// Errors: none within [`RUN_APPEARS`] (with why a push may not reach CI);
/// cancelled.
pub(super) async fn run_for(ctx: &LessonCtx, revision: &str) -> Result<String, Fail> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        ci_by_path::NAMESPACE,
        &ci_by_path::pipelinerun_resource(),
    );
    let lp = ListParams::default().labels(&format!("triggers.tekton.dev/trigger={APP}"));
    let deadline = Instant::now() + RUN_APPEARS;
    loop {
        let list = api
            .list(&lp)
            .await
            .map_err(|e| Fail::new(format!("listing PipelineRuns in {}: {e}", ci_by_path::NAMESPACE)))?;
        let found = list.items.iter().find(|r| {
            r.data["spec"]["params"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "REVISION" && p["value"] == revision))
        });
        if let Some(r) = found {
            return Ok(r.metadata.name.clone().unwrap_or_default());
        }
        if Instant::now() > deadline {
            return Err(Fail::new(format!(
                "no PipelineRun for commit {} within {} s of the push",
                &revision[..7.min(revision.len())],
                RUN_APPEARS.as_secs()
            ))
            .object(format!("EventListener {}/{}", ci_by_path::NAMESPACE, ci_by_path::LISTENER))
            .hint("a push reaches CI through the git source's post-receive hook (kindops's built-in git source); with your own --repo-url, point your git host's push webhook at the EventListener"));
        }
        tokio::select! {
            _ = ctx.cancel.cancelled() => return Err(Fail::interrupted()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// cart's answer (`GET /` through the API server's service proxy to Service
/// `coffee/cart-app`, port `http`): its `version`, or the error.
pub(super) async fn answer_version(ctx: &LessonCtx) -> Result<String, String> {
    let path = format!("/api/v1/namespaces/{NAMESPACE}/services/{ROLLOUT}:http/proxy/");
    let req = http::Request::get(&path).body(Vec::new()).map_err(|e| e.to_string())?;
    let body = ctx.client.request_text(req).await.map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|_| body.trim().to_string())?;
    Ok(v["version"].as_str().unwrap_or_default().to_string())
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("kindops checks that Application cart is Synced and Healthy and that CI can run on this cluster (the EventListener serves).").await?;
    require_ready(ctx, APP).await?;
    if let Some(skipped) = ci_can_run(ctx, &format!("kindops pushes a change to {FILE}; cart's PipelineRun tests it, builds the image, pushes it to the cluster's registry and writes the new tag back to git; Argo CD syncs cart and its Rollout runs the new version as a canary until cart answers with the new commit")).await? {
        return Ok(skipped);
    }
    ctx.repo.prepare(&ctx.cancel).await?;
    let text = ctx.repo.read(FILE).ok_or_else(|| {
        Fail::new(format!("{FILE} is not in the git source"))
            .object(format!("git source {}", ctx.repo.push_url))
            .hint("the lesson changes the coffee products' code phase 4 publishes; run `kindops up` first")
    })?;
    let mut obs = Observer::start(
        ctx,
        vec![
            Target::App(APP.into()),
            Target::Rollout(NAMESPACE.into(), ROLLOUT.into()),
        ],
    )
    .await?;
    let before = answer_version(ctx).await.unwrap_or_else(|e| format!("no answer ({e})"));
    ctx.explain(format!(
        "cart now answers with version {before}: the commit its image was built from. kindops changes cart's code (a comment line in {FILE}), commits and pushes it, as you would. Nothing else: the push starts everything that follows."
    ))
    .await?;
    let stamp = format!(
        "a change at {}",
        k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    ctx.repo.write(FILE, &with_mark(&text, &stamp))?;
    let pushed = Instant::now();
    let sha = ctx.commit_push(SUBJECT).await?;
    obs.mark_change();
    ctx.changed(format!("{FILE}: {stamp}"), Some(&sha), None);
    let short = sha[..7].to_string();

    ctx.explain("The git source's post-receive hook sends the EventListener a push event (the changed files are under products/coffee/cart/), and its CEL filter starts cart's PipelineRun: clone → go test → ko builds the image and pushes it to the cluster's registry, tagged with the commit → write-back of the new tag into apps/coffee/cart.").await?;
    let run = run_for(ctx, &sha).await?;
    ctx.note(format!(
        "PipelineRun {}/{run} started for {short}, {:.1} s after the push",
        ci_by_path::NAMESPACE,
        pushed.elapsed().as_secs_f64()
    ));
    ci_by_path::wait_succeeded(ctx, &run).await.map_err(|f| {
        f.hint(format!(
            "`kindops status` names the failing step and test; the old version keeps serving. Fix the code and push again, or `kindops learn 6 --undo` (commit {short} is in git)"
        ))
    })?;
    ctx.note(format!(
        "PipelineRun {run} Succeeded {:.1} s after the push: tests passed, image localhost:5001/coffee/cart:{short}… pushed, new tag written back",
        pushed.elapsed().as_secs_f64()
    ));
    ctx.left_changed.push(format!(
        "{FILE}: the lesson's change (commit {short}); `kindops learn 6 --undo` reverts it"
    ));

    ctx.explain("Argo CD sees CI's write-back commit and syncs Application cart. The Rollout's pod template has a new image: it starts one pod of the new version beside one of the old (50 %), pauses 10 s, then replaces the rest (100 %).").await?;
    ctx.refresh().await?;
    let tag = format!(":{sha}");
    let image_is_new = |o: &DynamicObject| {
        o.data["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .is_some_and(|i| i.ends_with(&tag))
    };
    let mut canary_seen = false;
    obs.until(
        ctx,
        &format!("Rollout {NAMESPACE}/{ROLLOUT} promoted to {short}"),
        |v, _| {
            let r = v.rollout_object(NAMESPACE, ROLLOUT);
            let summary = r.map(crate::delivery::rollouts::RolloutSummary::from_object);
            canary_seen |= r.is_some_and(&image_is_new) && summary.as_ref().is_some_and(|s| s.in_progress());
            r.is_some_and(&image_is_new)
                && summary.is_some_and(|s| !s.in_progress() && !s.aborted && s.phase == "Healthy")
                && v.app(APP)
                    .is_some_and(|a| a.is_ready() && a.operation_phase != "Running")
        },
    )
    .await?;
    if !canary_seen {
        ctx.note("The Rollout went from the old version to the new one between two watch events: its canary steps were not seen this time.");
    }
    let answered = answer_version(ctx).await.map_err(|e| {
        Fail::new(format!("cart did not answer after the rollout: {e}"))
            .object(format!("Service {NAMESPACE}/{ROLLOUT}"))
            .hint("`kindops open cart` asks it again; `kindops status` shows the Rollout")
    })?;
    if answered != sha {
        return Err(Fail::new(format!("cart answers with version {answered}, not {sha}"))
            .object(format!("Service {NAMESPACE}/{ROLLOUT}")));
    }
    ctx.left_changed.clear();
    ctx.note(format!(
        "cart answers with version {short}… {:.1} s after the push: code → test → image → registry → git → Argo CD → Rollout. The change stays in git; `kindops learn 6 --undo` reverts it (a revert commit, which goes through the same loop).",
        pushed.elapsed().as_secs_f64()
    ));
    Ok(Ended::Passed)
}

/// Reverts the lesson's newest change still in git (`git revert`, pushed):
/// a GitOps rollback is a new commit, so CI builds it and the Rollout rolls
/// it out like any change.
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain(format!(
        "kindops reverts lesson 6's change to {FILE} with `git revert` and pushes: the revert is a new commit, built and rolled out like any other."
    ))
    .await?;
    ctx.repo.prepare(&ctx.cancel).await?;
    let text = ctx.repo.read(FILE).unwrap_or_default();
    if !text.lines().any(|l| l.starts_with(MARK)) {
        ctx.note(format!("nothing to undo: {FILE} has no change of lesson 6"));
        return Ok(Ended::Undone);
    }
    let commit = ctx
        .repo
        .last_commit_with_subject(SUBJECT, FILE, &ctx.cancel)
        .await?
        .ok_or_else(|| {
            Fail::new(format!(
                "{FILE} has lesson 6's line, but no commit \"{SUBJECT}\" made it"
            ))
            .hint(format!("remove the line starting with `{MARK}` yourself and push"))
        })?;
    let sha = ctx.repo.revert_push(&commit, &ctx.cancel).await?;
    ctx.changed(
        format!("reverted {} (lesson 6's change)", &commit[..7]),
        Some(&sha),
        None,
    );
    ctx.refresh().await?;
    ctx.note("CI builds the revert and the Rollout rolls it out; `kindops status` shows both.");
    Ok(Ended::Undone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_one_line_replaced_each_run() {
        let src = "package main\n\nfunc f() {}\n";
        let once = with_mark(src, "a");
        assert_eq!(once, "package main\n\nfunc f() {}\n// kindops learn 6: a\n");
        let twice = with_mark(&once, "b");
        assert_eq!(twice, "package main\n\nfunc f() {}\n// kindops learn 6: b\n");
    }
}
