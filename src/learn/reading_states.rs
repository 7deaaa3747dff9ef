//! Lesson 5, reading states: kindops adds a manifest to cart's overlay that
//! does not parse; Argo CD's repo-server cannot render it, and the
//! application-controller writes a `ComparisonError` condition with
//! kustomize's message into Application `cart`'s `status.conditions`
//! (sync status `Unknown`). The lesson reads the condition as the details
//! view shows it, fixes git, and watches cart recover to Synced/Healthy.

use super::git_sync::{read_kustomization, APP, FILE};
use super::observe::{Observer, Target};
use super::{edit, require_ready, Ended, Fail, LessonCtx};

/// The broken manifest's file name, next to cart's kustomization.
pub const BROKEN: &str = "kindops-learn-broken.yaml";

/// A ConfigMap whose last value has no closing quote: YAML that does not parse.
pub const BROKEN_TEXT: &str = "# Broken on purpose by `kindops learn 5`: the quote below is never closed.\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: \"hello\n";

fn broken_path() -> String {
    format!("apps/coffee/cart/{BROKEN}")
}

fn bad_yaml(e: String) -> Fail {
    Fail::new(format!("{FILE}: {e}")).hint("fix the file in git (or `kindops up` publishes it again)")
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("kindops checks that Application cart is Synced and Healthy and starts watching it.")
        .await?;
    require_ready(ctx, APP).await?;
    ctx.repo.prepare(&ctx.cancel).await?;
    let mut original = read_kustomization(ctx)?;
    if let Some(clean) = edit::strip(&original, 5, Some(BROKEN)).map_err(bad_yaml)? {
        original = clean;
    }
    let mut obs = Observer::start(ctx, vec![Target::App(APP.into())]).await?;
    ctx.explain(format!(
        "kindops breaks cart on purpose: it adds {BROKEN}, a manifest whose quote is never closed, to cart's kustomization and pushes. Argo CD cannot render cart any more: it cannot say whether the cluster matches git (sync status Unknown) and writes a ComparisonError condition with the reason. What runs keeps running: health stays as it was."
    ))
    .await?;
    ctx.repo.write(&broken_path(), BROKEN_TEXT)?;
    ctx.repo
        .write(FILE, &edit::add_resource(&original, BROKEN).map_err(bad_yaml)?)?;
    let sha = ctx.commit_push("kindops learn 5: break cart on purpose").await?;
    obs.mark_change();
    ctx.left_changed.push(format!(
        "{} in git: cart does not render (commit {})",
        broken_path(),
        &sha[..7]
    ));
    ctx.changed(format!("{BROKEN} added to cart in git"), Some(&sha), None);
    ctx.refresh().await?;
    obs.until(ctx, "a ComparisonError on Application cart", |v, _| {
        v.app(APP)
            .is_some_and(|a| a.conditions.iter().any(|c| c.kind == "ComparisonError"))
    })
    .await?;
    let app = obs.view().app(APP).unwrap_or_default();
    let cond = app
        .conditions
        .iter()
        .find(|c| c.kind == "ComparisonError")
        .cloned()
        .unwrap_or_default();
    ctx.emit(super::event::LessonEvent::ConditionRead {
        lesson: ctx.lesson,
        object: format!("Application argocd/{APP}"),
        condition: cond.kind.clone(),
        message: cond.message.clone(),
    });
    ctx.explain(format!(
        "Read it: the condition is ComparisonError (Argo CD could not build the desired state), and its message names the file and the line: this is where to look. Sync status is {}, health {}. In the TUI, the details view of cart (Enter on its row) shows the same.",
        app.sync, app.health
    ))
    .await?;
    if !cond.message.contains(BROKEN) {
        ctx.note("Argo CD's message does not name the broken file this time; it is shown as Argo CD wrote it.");
    }

    ctx.explain("kindops fixes it in git (removes the broken manifest) and pushes: Argo CD renders cart again and it comes back Synced/Healthy.").await?;
    ctx.repo.remove(&broken_path())?;
    ctx.repo.write(FILE, &original)?;
    let sha2 = ctx.commit_push("kindops learn 5: fix cart").await?;
    obs.mark_change();
    ctx.changed("cart fixed in git", Some(&sha2), None);
    ctx.refresh().await?;
    obs.until(
        ctx,
        "Application cart Synced/Healthy again, no ComparisonError",
        |v, _| {
            v.app(APP).is_some_and(|a| {
                a.is_ready() && a.revision == sha2 && a.conditions.iter().all(|c| c.kind != "ComparisonError")
            })
        },
    )
    .await?;
    ctx.left_changed.clear();
    Ok(Ended::Passed)
}

/// Takes the broken manifest back out of git, if a run left it.
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain(format!(
        "kindops removes {BROKEN} from cart in git, if lesson 5 left it."
    ))
    .await?;
    ctx.repo.prepare(&ctx.cancel).await?;
    let text = read_kustomization(ctx)?;
    let stripped = edit::strip(&text, 5, Some(BROKEN)).map_err(bad_yaml)?;
    if stripped.is_none() && !ctx.repo.exists(&broken_path()) {
        ctx.note("nothing to undo: cart is not broken by lesson 5 in git");
        return Ok(Ended::Undone);
    }
    if let Some(clean) = stripped {
        ctx.repo.write(FILE, &clean)?;
    }
    ctx.repo.remove(&broken_path())?;
    let sha = ctx.commit_push("kindops learn 5 --undo: fix cart").await?;
    ctx.changed("cart fixed in git", Some(&sha), None);
    ctx.refresh().await?;
    Ok(Ended::Undone)
}
