//! One module per step kind of `phases/*.yaml`, named as the step is
//! (`create-cluster` → `create_cluster`), each with its body
//! `<step>_step(ctx, ..)`; [`run`] dispatches a [`Step`] to it and
//! [`cancel_grace`] says how long a cancelled step may take to clean up.
//! Steps use the services (`crate::cluster`, `crate::docker`,
//! `crate::gitsource`, ...); no service imports a step (`just arch`).

pub(crate) mod apply;
pub(crate) mod create_cluster;
pub(crate) mod load_images;
pub(crate) mod local_registry;
pub(crate) mod note;
pub(crate) mod preflight;
pub(crate) mod publish_repo;
pub(crate) mod seed_secrets;
pub(crate) mod show_secret;
pub(crate) mod wait_applications;
pub(crate) mod wait_rollouts;

use super::step::{StepCtx, StepResult};
use crate::plan::Step;
use std::time::Duration;

/// Runs `step`'s body with `ctx`.
pub(crate) async fn run(ctx: &mut StepCtx<'_>, step: &Step) -> StepResult {
    match step {
        Step::Preflight {} => preflight::preflight_step(ctx).await,
        Step::CreateCluster {} => create_cluster::create_cluster_step(ctx).await,
        Step::LoadImages {} => load_images::load_images_step(ctx).await,
        Step::LocalRegistry {} => local_registry::local_registry_step(ctx).await,
        Step::Apply { path, namespace } => apply::apply_step(ctx, path, namespace.as_deref()).await,
        Step::WaitRollouts { namespaces, timeout } => {
            wait_rollouts::wait_rollouts_step(ctx, namespaces, *timeout).await
        }
        Step::PublishRepo {} => publish_repo::publish_repo_step(ctx).await,
        Step::WaitApplications {
            applications,
            applicationsets,
            timeout,
        } => wait_applications::wait_applications_step(ctx, applications, applicationsets, *timeout).await,
        Step::ShowSecret {
            namespace,
            name,
            key,
            label,
        } => show_secret::show_secret_step(ctx, namespace, name, key, label).await,
        Step::SeedSecrets {
            namespace,
            apps,
            prefix,
            key,
        } => seed_secrets::seed_secrets_step(ctx, namespace, apps, prefix, key).await,
        Step::Note { text } => note::note_step(ctx, text).await,
    }
}

/// How long a cancelled `step` may take to stop its children and clean up
/// what this run made, as each step module declares it (`CANCEL_GRACE`);
/// the others (API calls, watches, preflight's downloads) stop at once.
pub(crate) fn cancel_grace(step: &Step) -> Duration {
    match step {
        Step::CreateCluster {} => create_cluster::CANCEL_GRACE,
        Step::PublishRepo {} => publish_repo::CANCEL_GRACE,
        _ => Duration::ZERO,
    }
}
