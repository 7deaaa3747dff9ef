//! The `seed-secrets` step ([`seed_secrets_step`]): the team's secret store
//! seeded with one Secret per product (phase 3).

use crate::engine::event::Event;
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use anyhow::anyhow;

/// The `seed-secrets` step: one Secret per directory under `apps` in the
/// team's secret store ([`crate::secret_store::seed`]); says which it
/// created and which it kept, and shows the values only with
/// `--show-secrets` ([`Event::SecretShown`]).
pub(crate) async fn seed_secrets_step(
    ctx: &mut StepCtx<'_>,
    namespace: &str,
    apps: &str,
    prefix: &str,
    key: &str,
) -> StepResult {
    let dir = ctx.tree_dir()?.join(apps);
    let mut services: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| anyhow!("reading {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("kustomization.yaml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    services.sort();
    let part_of = apps.rsplit('/').next().unwrap_or(apps);
    let seeded = crate::secret_store::seed(&ctx.client()?, namespace, &services, prefix, key, part_of)
        .await
        .map_err(|e| {
            StepError::new(e.to_string())
                .object(format!("namespace {namespace}"))
                .hint("run `kindops up` again once the secret-store Application is Synced and Healthy")
        })?;
    let names = |created: bool| {
        seeded
            .iter()
            .filter(|s| s.created == created)
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (made, kept) = (names(true), names(false));
    if ctx.settings.show_secrets {
        for s in &seeded {
            if let Some(v) = &s.value {
                ctx.events.emit(Event::SecretShown {
                    phase: ctx.phase,
                    step: ctx.step,
                    label: format!("{namespace}/{} {key}", s.name),
                    value: v.clone(),
                });
            }
        }
    }
    let mut parts = Vec::new();
    if !made.is_empty() {
        parts.push(format!("created {made} (random {key})"));
    }
    if !kept.is_empty() {
        parts.push(format!("kept {kept} (existing values untouched)"));
    }
    let how = format!("kubectl -n {namespace} get secret NAME -o jsonpath='{{.data.{key}}}' | base64 -d");
    let tail = if ctx.settings.show_secrets {
        String::new()
    } else {
        format!("; values not shown (--show-secrets prints them, or: {how})")
    };
    Ok(Done::new(
        !made.is_empty(),
        format!("secret store {namespace}: {}{tail}", parts.join("; ")),
    ))
}
