//! The `preflight` step (phase 0): the host checks of [`crate::host_checks`]
//! and the container engine's of [`crate::docker`] for the target, then the
//! git source decided and every upstream artifact resolved.

use crate::cluster::{client_for, Target};
use crate::docker::{container_engine, kind_binaries, CGROUP_V1};
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::host_checks::{binaries, disk, inotify, kind_version, ports, verdict, Verdict};
use crate::upstream::Upstream;

/// The `preflight` step (phase 0): the checks above for the target, the git
/// source decided (when a phase publishes), every upstream artifact resolved
/// and checksummed, and, with `--context`, the cluster connected.
pub(crate) async fn preflight_step(ctx: &mut StepCtx<'_>) -> StepResult {
    let settings = ctx.settings;
    let mut checks = Vec::new();
    match &settings.target {
        Target::Kind { name } => {
            checks.extend(container_engine().await);
            checks.extend(binaries(&kind_binaries()));
            if verdict(&checks).is_ok() {
                checks.extend(kind_version().await);
            }
            ctx.run.cgroup_v1 = checks.iter().any(|c| c.name == CGROUP_V1);
            if verdict(&checks).is_ok() && !super::create_cluster::kind_cluster_exists(ctx, name).await? {
                checks.extend(ports(&[settings.ui_port]));
            }
        }
        Target::Context { .. } => {
            checks.extend(binaries(&["kubectl", "git"]));
        }
    }
    checks.extend(
        inotify()
            .into_iter()
            .filter(|_| matches!(settings.target, Target::Kind { .. })),
    );
    checks.extend(disk(&settings.data_dir));
    for c in &checks {
        ctx.say(c.line());
    }
    if let Err(c) = verdict(&checks) {
        return Err(StepError::new(c.detail).object(c.name).hint_if(c.hint));
    }
    // The git source must be decidable before anything is created (only
    // phases that publish need one).
    let publishes = ctx.plan.publishes(settings.upto);
    settings
        .git_source()
        .map(|_| ())
        .or_else(|e| if publishes { Err(e) } else { Ok(()) })
        .map_err(|e| {
            StepError::new(format!("{e:#}"))
                .object("--repo-url")
                .hint("pass --repo-url URL")
        })?;
    // Every upstream artifact, checksums checked, before anything is applied.
    let up = Upstream {
        mirror: settings.mirror.clone(),
        cache_dir: settings.cache_dir.clone(),
    };
    let progress = ctx.progress();
    let resolved = up
        .resolve_all_reporting(&crate::upstream::pins(), &progress)
        .await
        .map_err(|e| {
            StepError::new(format!("{e:#}")).object("upstream artifacts").hint(
                "fix the mirror or the cache, or run `kindops fetch --into DIR` where there is internet and pass --mirror DIR",
            )
        })?;
    for r in &resolved {
        ctx.say(format!(
            "ok      upstream  {} {} {} (sha256 {}…, {})",
            r.pin.name,
            r.pin.version,
            r.pin.file,
            &r.sha256[..12],
            r.origin
        ));
    }
    ctx.run.upstream = resolved;
    if let Target::Context { context } = &settings.target {
        let client = match ctx.run.given_client.take() {
            Some(c) => c,
            None => client_for(context).await.map_err(|e| {
                StepError::new(format!("{e:#}"))
                    .object(format!("context {context}"))
                    .hint("check `kubectl --context CONTEXT get nodes`")
            })?,
        };
        let v = client.apiserver_version().await.map_err(anyhow::Error::from)?;
        ctx.say(format!(
            "ok      cluster   context {context}: Kubernetes {}",
            v.git_version
        ));
        ctx.set_client(client, context.clone());
    }
    let warnings = checks.iter().filter(|c| c.verdict == Verdict::Warn).count();
    Ok(Done::unchanged(format!(
        "{} checks passed, {warnings} warnings; {} upstream artifacts verified",
        checks.len() - warnings,
        ctx.run.upstream.len()
    )))
}
