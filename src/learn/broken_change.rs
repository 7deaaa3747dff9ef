//! Lesson 7, what stops a broken change: two broken pushes of cart and the
//! safeguard that stops each, then the learner's fix.
//! 1. A commit adding a failing test (`products/coffee/cart/kindops_learn7_test.go`):
//!    cart's PipelineRun fails in its test step; its TaskRun's
//!    `failed-tests` result names the test; nothing is built or written
//!    back, and cart keeps answering with the version it had.
//! 2. The test reverted, and a commit moving cart's server to port 8081
//!    while the pod's readiness probe asks 8080 (the mini-service base's
//!    `http` port): every test passes, CI builds and writes it back, Argo CD
//!    syncs it, but the Rollout's canary pod never turns Ready. After the
//!    Rollout's `progressDeadlineSeconds` (60 s) with `progressDeadlineAbort`,
//!    the Rollout aborts the update (`status.abort`), scales the canary down
//!    and turns Degraded; the stable pods keep answering.
//! 3. The fix: `git revert` of the port change, pushed; it rolls out like
//!    any change and cart answers with the revert's commit.
//!
//! Field names: Tekton v1 `status.conditions` (`Succeeded`),
//! `status.childReferences`, TaskRun `status.results`; Argo Rollouts v1.9.1
//! `status.abort`, `status.phase`. On the test bed no pod runs: skipped.

use super::code_to_cluster::{answer_version, ci_can_run, run_for};
use super::git_sync::{APP, NAMESPACE, ROLLOUT};
use super::observe::{Observer, Target};
use super::{ci_by_path, require_ready, Ended, Fail, LessonCtx};

/// The failing test the lesson adds.
pub const TEST_FILE: &str = "products/coffee/cart/kindops_learn7_test.go";
/// The file whose listen address the lesson changes.
pub const MAIN_FILE: &str = "products/coffee/cart/main.go";
const GOOD_ADDR: &str = "addr := \":8080\"";
const BAD_ADDR: &str = "addr := \":8081\"";
const TEST_NAME: &str = "TestKindopsLearn7BrokenOnPurpose";
const SUBJECT_TEST: &str = "kindops learn 7: a change whose test fails";
const SUBJECT_PORT: &str = "kindops learn 7: cart listens on 8081";

fn failing_test() -> String {
    format!(
        "package main\n\nimport \"testing\"\n\n// Added by `kindops learn 7`: a test that fails, so CI stops before it builds.\nfunc {TEST_NAME}(t *testing.T) {{\n\tt.Fatal(\"broken on purpose by kindops learn 7\")\n}}\n"
    )
}

/// Waits for PipelineRun `name` to end ([`ci_by_path::wait_ended`]) and
/// reads it as `kindops status` does ([`crate::delivery::read`]): whether it
/// succeeded, and its `failed-tests` result (empty when none).
async fn outcome(ctx: &LessonCtx, name: &str) -> Result<(bool, String), Fail> {
    let ns = ci_by_path::NAMESPACE;
    let object = format!("PipelineRun {ns}/{name}");
    ci_by_path::wait_ended(ctx, name).await?;
    let delivery = crate::delivery::read(&ctx.client, 0)
        .await
        .map_err(|e| Fail::new(format!("reading {object} and its TaskRuns: {e:#}")).object(object.clone()))?;
    let run = delivery
        .pipeline_runs
        .into_iter()
        .find(|r| r.namespace == ns && r.name == name)
        .ok_or_else(|| Fail::new(format!("{object} is gone")).object(object))?;
    Ok((run.state == crate::delivery::RunState::Succeeded, run.failed_tests))
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("kindops checks that Application cart is Synced and Healthy and that CI can run on this cluster.")
        .await?;
    require_ready(ctx, APP).await?;
    if let Some(skipped) = ci_can_run(
        ctx,
        "kindops pushes a change whose test fails (CI stops it before anything is built), then a change whose tests pass but whose pods never turn Ready (the Rollout aborts it after its progress deadline and the old version keeps serving), then reverts it",
    )
    .await?
    {
        return Ok(skipped);
    }
    ctx.repo.prepare(&ctx.cancel).await?;
    let main_go = ctx.repo.read(MAIN_FILE).ok_or_else(|| {
        Fail::new(format!("{MAIN_FILE} is not in the git source"))
            .hint("the lesson changes the coffee products' code phase 4 publishes; run `kindops up` first")
    })?;
    if !main_go.contains(GOOD_ADDR) {
        return Err(Fail::new(format!(
            "{MAIN_FILE} has no `{GOOD_ADDR}`: the lesson changes that line, and it was changed"
        ))
        .hint("put the line back (or `kindops learn 7 --undo`), then run the lesson again"));
    }
    let serving = answer_version(ctx).await.map_err(|e| {
        Fail::new(format!("cart does not answer: {e}"))
            .object(format!("Service {NAMESPACE}/{ROLLOUT}"))
            .hint("`kindops open cart` says why; the lesson needs a serving version to protect")
    })?;
    let serving_short = serving[..7.min(serving.len())].to_string();

    // 1. A failing test.
    ctx.explain(format!(
        "cart answers with version {serving_short}. First break: kindops adds a test that fails ({TEST_FILE}), commits and pushes. CI runs the tests before it builds anything."
    ))
    .await?;
    ctx.repo.write(TEST_FILE, &failing_test())?;
    let broken = ctx.commit_push(SUBJECT_TEST).await?;
    ctx.changed(format!("{TEST_FILE} added (its test fails)"), Some(&broken), None);
    ctx.left_changed.push(format!(
        "{TEST_FILE} (commit {}); `kindops learn 7 --undo` takes it back",
        &broken[..7]
    ));
    let run = run_for(ctx, &broken).await?;
    let (ok, failed) = outcome(ctx, &run).await?;
    if ok {
        return Err(Fail::new(format!(
            "PipelineRun {run} Succeeded although {TEST_NAME} fails: the pipeline's test step did not stop it"
        ))
        .object(format!("PipelineRun {}/{run}", ci_by_path::NAMESPACE)));
    }
    if !failed.contains(TEST_NAME) {
        return Err(Fail::new(format!(
            "PipelineRun {run} failed, but its failed-tests result is {failed:?}, not {TEST_NAME}"
        ))
        .object(format!("PipelineRun {}/{run}", ci_by_path::NAMESPACE))
        .hint("`kindops status` shows the failing step's log"));
    }
    let now = answer_version(ctx).await.unwrap_or_default();
    if now != serving {
        return Err(Fail::new(format!(
            "cart answers with {now} after a failed run, not {serving}"
        )));
    }
    ctx.note(format!(
        "PipelineRun {run} failed in its test step: failed tests {failed}. Nothing was built or written back; cart still answers with {serving_short}."
    ));

    // 2. Tests pass, readiness never does.
    ctx.explain(format!(
        "Second break: kindops reverts the failing test and moves cart's server to port 8081 ({MAIN_FILE}), while its pods' readiness probe asks port 8080. Every test passes, so CI builds it and writes it back, and Argo CD syncs it. The Rollout starts one canary pod of it, which never turns Ready: after its progress deadline (60 s) the Rollout aborts the update, and the stable pods keep serving."
    ))
    .await?;
    ctx.repo.revert(&broken, &ctx.cancel).await?;
    ctx.repo.write(MAIN_FILE, &main_go.replacen(GOOD_ADDR, BAD_ADDR, 1))?;
    let unready = ctx.commit_push(SUBJECT_PORT).await?;
    ctx.changed(format!("{MAIN_FILE}: listens on 8081"), Some(&unready), None);
    ctx.left_changed.clear();
    ctx.left_changed.push(format!(
        "{MAIN_FILE}: port 8081 (commit {}); `kindops learn 7 --undo` reverts it",
        &unready[..7]
    ));
    let run = run_for(ctx, &unready).await?;
    ci_by_path::wait_succeeded(ctx, &run).await?;
    ctx.note(format!(
        "PipelineRun {run} Succeeded: its tests pass, the image is built and written back"
    ));
    ctx.refresh().await?;
    let mut obs = Observer::start(
        ctx,
        vec![
            Target::App(APP.into()),
            Target::Rollout(NAMESPACE.into(), ROLLOUT.into()),
        ],
    )
    .await?;
    obs.mark_change();
    let tag = format!(":{unready}");
    obs.until(
        ctx,
        &format!("Rollout {NAMESPACE}/{ROLLOUT} to abort {}", &unready[..7]),
        |v, _| {
            v.rollout_object(NAMESPACE, ROLLOUT).is_some_and(|o| {
                o.data["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(&tag))
                    && o.data["status"]["abort"] == true
            })
        },
    )
    .await?;
    let now = answer_version(ctx).await.unwrap_or_default();
    if now != serving {
        return Err(Fail::new(format!(
            "cart answers with {now} after the Rollout aborted, not {serving}"
        ))
        .object(format!("Rollout {NAMESPACE}/{ROLLOUT}")));
    }
    let app_health = obs.view().app(APP).map(|a| a.health).unwrap_or_default();
    ctx.note(format!(
        "Rollout {NAMESPACE}/{ROLLOUT} aborted the update; Application cart's health is {app_health}. cart still answers with {serving_short}: a broken version never replaced the working one."
    ));

    // 3. The fix.
    ctx.explain("The fix is a commit, like everything in GitOps: kindops reverts the port change (`git revert`) and pushes. CI builds the revert, Argo CD syncs it, and the Rollout rolls it out (a new pod template clears the abort).").await?;
    // CI's write-back moved main since the lesson's last push: start from it.
    ctx.repo.prepare(&ctx.cancel).await?;
    let fixed = ctx.repo.revert_push(&unready, &ctx.cancel).await?;
    ctx.changed(format!("reverted {}", &unready[..7]), Some(&fixed), None);
    let run = run_for(ctx, &fixed).await?;
    ci_by_path::wait_succeeded(ctx, &run).await?;
    ctx.refresh().await?;
    obs.mark_change();
    let tag = format!(":{fixed}");
    obs.until(
        ctx,
        &format!("Rollout {NAMESPACE}/{ROLLOUT} promoted to {}", &fixed[..7]),
        |v, _| {
            let r = v.rollout_object(NAMESPACE, ROLLOUT);
            r.is_some_and(|o| {
                let s = crate::delivery::rollouts::RolloutSummary::from_object(o);
                o.data["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(&tag))
                    && !s.aborted
                    && !s.in_progress()
                    && s.phase == "Healthy"
            }) && v
                .app(APP)
                .is_some_and(|a| a.is_ready() && a.operation_phase != "Running")
        },
    )
    .await?;
    let now = answer_version(ctx).await.unwrap_or_default();
    if now != fixed {
        return Err(Fail::new(format!("cart answers with {now}, not the revert {fixed}")));
    }
    ctx.left_changed.clear();
    ctx.note(format!(
        "cart answers with {}: the fix rolled out. In git: the failing test and its revert, the port change and its revert.",
        &fixed[..7]
    ));
    Ok(Ended::Passed)
}

/// Takes back what an interrupted run left: the failing test file, and the
/// port change (when the last commit that touched main.go is the lesson's).
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain(format!(
        "kindops takes back what an interrupted lesson 7 left: {TEST_FILE}, and the port change in {MAIN_FILE} (a revert commit)."
    ))
    .await?;
    ctx.repo.prepare(&ctx.cancel).await?;
    let mut did = false;
    if ctx.repo.exists(TEST_FILE) {
        ctx.repo.remove(TEST_FILE)?;
        let sha = ctx
            .commit_push("kindops learn 7 --undo: remove the failing test")
            .await?;
        ctx.changed(format!("{TEST_FILE} removed"), Some(&sha), None);
        did = true;
    }
    if ctx.repo.read(MAIN_FILE).is_some_and(|t| t.contains(BAD_ADDR)) {
        match ctx
            .repo
            .last_commit_with_subject(SUBJECT_PORT, MAIN_FILE, &ctx.cancel)
            .await?
        {
            Some(c) => {
                let sha = ctx.repo.revert_push(&c, &ctx.cancel).await?;
                ctx.changed(format!("reverted {} (port 8081)", &c[..7]), Some(&sha), None);
                did = true;
            }
            None => ctx.note(format!(
                "{MAIN_FILE} has port 8081, but not from a lesson 7 commit: left alone"
            )),
        }
    }
    if did {
        ctx.refresh().await?;
    } else {
        ctx.note("nothing to undo: no change of lesson 7 is in git");
    }
    Ok(Ended::Undone)
}
