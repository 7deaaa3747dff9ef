//! Lesson 1, git → cluster: kindops commits a new replica count for `cart`
//! (a marked JSON 6902 patch in `apps/coffee/cart/kustomization.yaml`), and
//! watches Application `cart` go OutOfSync, sync (operation Running) and come
//! back Synced at the new commit, while Rollout `coffee/cart-app` scales
//! (a replica count is no new pod template, so no canary steps); then it puts the old count back the same way.

use super::observe::{Observer, Target};
use super::{edit, require_ready, Ended, Fail, LessonCtx};

pub const APP: &str = "cart";
pub const NAMESPACE: &str = "coffee";
/// cart's workload: the mini-service base's Rollout `app` with the overlay's
/// `namePrefix`.
pub const ROLLOUT: &str = "cart-app";
pub const FILE: &str = "apps/coffee/cart/kustomization.yaml";

/// Reads cart's kustomization from the clone.
pub(super) fn read_kustomization(ctx: &LessonCtx) -> Result<String, Fail> {
    ctx.repo.read(FILE).ok_or_else(|| {
        Fail::new(format!("{FILE} is not in the git source"))
            .object(format!("git source {}", ctx.repo.push_url))
            .hint("the lessons use the coffee products phase 4 publishes; run `kindops up` first")
    })
}

fn bad_yaml(e: String) -> Fail {
    Fail::new(format!("{FILE}: {e}")).hint("fix the file in git (or `kindops up` publishes it again)")
}

/// Waits until Application cart is Synced+Healthy at `sha` with no sync
/// running, and its Rollout has `replicas` ready.
async fn wait_rolled_out(ctx: &LessonCtx, obs: &mut Observer, sha: &str, replicas: i64) -> Result<(), Fail> {
    obs.until(
        ctx,
        &format!("Application cart Synced/Healthy at {} with {replicas} ready", &sha[..7]),
        |v, _| {
            v.app(APP)
                .is_some_and(|a| a.is_ready() && a.revision == sha && a.operation_phase != "Running")
                && v.rollout(NAMESPACE, ROLLOUT)
                    .is_some_and(|r| r.spec == replicas && r.ready == replicas)
        },
    )
    .await
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("Before changing anything, kindops checks that Application cart is Synced and Healthy, and starts watching it and its Rollout coffee/cart-app.").await?;
    require_ready(ctx, APP).await?;
    ctx.repo.prepare(&ctx.cancel).await?;
    let mut original = read_kustomization(ctx)?;
    // A run interrupted before it put the count back left its patch: start without it.
    if let Some(clean) = edit::strip(&original, 1, None).map_err(bad_yaml)? {
        original = clean;
    }
    let mut obs = Observer::start(
        ctx,
        vec![
            Target::App(APP.into()),
            Target::Rollout(NAMESPACE.into(), ROLLOUT.into()),
        ],
    )
    .await?;
    let before = obs.view().rollout(NAMESPACE, ROLLOUT).ok_or_else(|| {
        Fail::new("Rollout coffee/cart-app does not exist")
            .object("Application argocd/cart")
            .hint("run `kindops up` again")
    })?;
    let more = before.spec + 1;
    ctx.explain(format!(
        "kindops changes cart's replica count from {} to {more} in git (a patch in {FILE}), commits and pushes, as you would. Argo CD reads git (kindops asks it to refresh now rather than at its next poll): it marks Application cart OutOfSync, syncs it (\"Syncing\": its sync operation is Running), and the Rollout starts another pod.",
        before.spec
    ))
    .await?;
    let changed = edit::add_replace_patch(&original, 1, "/spec/replicas", more.into()).map_err(bad_yaml)?;
    ctx.repo.write(FILE, &changed)?;
    let sha = ctx
        .commit_push(&format!("kindops learn 1: cart replicas {} -> {more}", before.spec))
        .await?;
    obs.mark_change();
    ctx.left_changed
        .push(format!("{FILE}: replicas {more} (commit {})", &sha[..7]));
    ctx.changed(
        format!("cart replicas {} → {more} in git", before.spec),
        Some(&sha),
        None,
    );
    ctx.refresh().await?;
    wait_rolled_out(ctx, &mut obs, &sha, more).await?;
    let saw_out_of_sync = obs.saw("Application argocd/cart", "OutOfSync");
    if !saw_out_of_sync {
        ctx.note("Argo CD went from the old commit to the new one without writing OutOfSync in between this time.");
    }

    ctx.explain(format!(
        "Now back: kindops commits the old count ({}) and the same happens the other way. Nothing was changed in the cluster by hand: git said it, Argo CD did it.",
        before.spec
    ))
    .await?;
    ctx.repo.write(FILE, &original)?;
    let sha2 = ctx
        .commit_push(&format!("kindops learn 1: cart replicas {more} -> {}", before.spec))
        .await?;
    obs.mark_change();
    ctx.changed(
        format!("cart replicas {more} → {} in git", before.spec),
        Some(&sha2),
        None,
    );
    ctx.refresh().await?;
    wait_rolled_out(ctx, &mut obs, &sha2, before.spec).await?;
    ctx.left_changed.clear();
    Ok(Ended::Passed)
}

/// Takes back the replica patch a run left (if any).
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain(format!(
        "kindops takes back lesson 1's replica patch in {FILE}, if a run left one."
    ))
    .await?;
    ctx.repo.prepare(&ctx.cancel).await?;
    let text = read_kustomization(ctx)?;
    match edit::strip(&text, 1, None).map_err(bad_yaml)? {
        None => ctx.note("nothing to undo: lesson 1's patch is not in git"),
        Some(clean) => {
            ctx.repo.write(FILE, &clean)?;
            let sha = ctx.commit_push("kindops learn 1 --undo: cart replicas back").await?;
            ctx.changed("lesson 1's replica patch removed from git", Some(&sha), None);
            ctx.refresh().await?;
        }
    }
    Ok(Ended::Undone)
}
