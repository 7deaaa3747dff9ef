//! Lesson 2, drift and self-heal: kindops scales Rollout `coffee/cart-app`
//! by hand (a merge patch on its `scale` subresource, as `kubectl scale`
//! does), and watches Argo CD mark Application `cart` OutOfSync and, with
//! `spec.syncPolicy.automated.selfHeal: true` (the coffee ApplicationSet's
//! template), put `spec.replicas` back to what git says.

use super::git_sync::{APP, NAMESPACE, ROLLOUT};
use super::observe::{Observer, Target};
use super::{require_ready, Ended, Fail, LessonCtx};
use kube::api::{Api, DynamicObject, Patch, PatchParams};

/// Field manager of the hand-made change (what `kubectl scale` would be).
pub const FIELD_MANAGER: &str = "kindops-learn";

async fn self_heal_on(ctx: &LessonCtx) -> Result<bool, Fail> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        crate::argocd::ARGOCD_NAMESPACE,
        &crate::argocd::application_resource(),
    );
    let o = api
        .get(APP)
        .await
        .map_err(|e| Fail::new(format!("reading Application argocd/{APP}: {e}")))?;
    Ok(o.data
        .pointer("/spec/syncPolicy/automated/selfHeal")
        .and_then(serde_json::Value::as_bool)
        == Some(true))
}

async fn scale(ctx: &LessonCtx, replicas: i64) -> Result<(), Fail> {
    // The Rollout CRD has a scale subresource (spec.replicas), as a Deployment does.
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        NAMESPACE,
        &crate::delivery::rollouts::rollout_resource(),
    );
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    api.patch_scale(
        ROLLOUT,
        &pp,
        &Patch::Merge(serde_json::json!({"spec": {"replicas": replicas}})),
    )
    .await
    .map(|_| ())
    .map_err(|e| Fail::new(format!("scaling it: {e}")).object(format!("Rollout {NAMESPACE}/{ROLLOUT}")))
}

pub async fn run(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("kindops checks that Application cart is Synced and Healthy with self-heal on, and starts watching it and Rollout coffee/cart-app.").await?;
    require_ready(ctx, APP).await?;
    if !self_heal_on(ctx).await? {
        return Err(Fail::new("self-heal is off (spec.syncPolicy.automated.selfHeal), so Argo CD would only report the drift, not put it back")
            .object(format!("Application argocd/{APP}"))
            .hint("the coffee ApplicationSet's template turns it on; run `kindops up` again"));
    }
    let mut obs = Observer::start(
        ctx,
        vec![
            Target::App(APP.into()),
            Target::Rollout(NAMESPACE.into(), ROLLOUT.into()),
        ],
    )
    .await?;
    let before = obs
        .view()
        .rollout(NAMESPACE, ROLLOUT)
        .ok_or_else(|| Fail::new("Rollout coffee/cart-app does not exist").hint("run `kindops up` again"))?;
    let by_hand = before.spec + 2;
    ctx.explain(format!(
        "kindops scales Rollout coffee/cart-app from {} to {by_hand} by hand, in the cluster, as `kubectl scale` does. Git still says {}: the cluster has drifted. Argo CD watches what it manages, compares again, marks Application cart OutOfSync, and self-heal syncs it back.",
        before.spec, before.spec
    ))
    .await?;
    scale(ctx, by_hand).await?;
    obs.mark_change();
    ctx.changed(
        format!("replicas {} → {by_hand} by hand", before.spec),
        None,
        Some(format!("Rollout {NAMESPACE}/{ROLLOUT}")),
    );
    let app_label = Target::App(APP.into()).label();
    let mut scaled = false;
    let result = obs
        .until(
            ctx,
            "Argo CD to put cart-app's replicas back after marking cart OutOfSync",
            |v, seen| {
                let d = v.rollout(NAMESPACE, ROLLOUT);
                scaled |= d.is_some_and(|r| r.spec == by_hand);
                let drifted = seen
                    .iter()
                    .any(|(o, _, to)| o == &app_label && to.starts_with("OutOfSync"));
                scaled
                    && drifted
                    && v.app(APP)
                        .is_some_and(|a| a.is_ready() && a.operation_phase != "Running")
                    && d.is_some_and(|r| r.spec == before.spec && r.ready == before.spec)
            },
        )
        .await;
    if let Err(f) = result {
        ctx.left_changed.push(format!(
            "Rollout {NAMESPACE}/{ROLLOUT}: replicas may still be {by_hand} (set by hand)"
        ));
        return Err(f);
    }
    ctx.note("Self-heal undid the hand-made change: in a GitOps setup, change git, not the cluster.");
    Ok(Ended::Passed)
}

/// Lesson 2 changes nothing in git: self-heal undoes its change. `--undo`
/// asks Argo CD to compare cart again, so it heals now if a run was stopped.
pub async fn undo(ctx: &mut LessonCtx) -> Result<Ended, Fail> {
    ctx.explain("Lesson 2 changes nothing in git; Argo CD's self-heal takes back its hand-made change. kindops asks Argo CD to compare again now.").await?;
    ctx.refresh().await?;
    Ok(Ended::Undone)
}
