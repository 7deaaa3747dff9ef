//! The `show-secret` step: where a Secret's value is (e.g. Argo CD's initial
//! admin password), or the value itself with `--show-secrets`
//! ([`Event::SecretShown`], never logged).

use crate::engine::event::Event;
use crate::engine::step::{Done, StepCtx, StepResult};
use anyhow::anyhow;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

pub(crate) async fn show_secret_step(
    ctx: &mut StepCtx<'_>,
    namespace: &str,
    name: &str,
    key: &str,
    label: &str,
) -> StepResult {
    let api: Api<Secret> = Api::namespaced(ctx.client()?, namespace);
    let how = format!("kubectl -n {namespace} get secret {name} -o jsonpath='{{.data.{key}}}' | base64 -d");
    let Some(secret) = api
        .get_opt(name)
        .await
        .map_err(|e| anyhow!("reading Secret {namespace}/{name}: {e}"))?
    else {
        return Ok(Done::unchanged(format!(
            "Secret {namespace}/{name} does not exist (yet): {label} is not there; Argo CD creates it at first start and you may delete it after changing the password"
        )));
    };
    let value = secret
        .data
        .and_then(|d| d.get(key).map(|b| String::from_utf8_lossy(&b.0).to_string()))
        .ok_or_else(|| anyhow!("Secret {namespace}/{name} has no key {key}"))?;
    if ctx.settings.show_secrets {
        ctx.events.emit(Event::SecretShown {
            phase: ctx.phase,
            step: ctx.step,
            label: label.to_string(),
            value,
        });
        Ok(Done::unchanged(format!("{label} shown (--show-secrets)")))
    } else {
        ctx.say(format!("to read {label}: {how}"));
        Ok(Done::unchanged(format!(
            "{label} is in Secret {namespace}/{name}; run with --show-secrets to print it, or: {how}"
        )))
    }
}
