//! The `note` step: text for the learner, one log line per line.
//!
//! Tokens filled from the run's settings:
//! - `${KINDOPS_ARGOCD_UI}`: how to reach the Argo CD UI: on a kind cluster
//!   kindops created, `http://localhost:<port>` where `<port>` is the host
//!   port the node really maps to the argocd-server NodePort (read from the
//!   container engine: a cluster made by an earlier run keeps the `--ui-port`
//!   it was made with); `--ui-port` when that cannot be read. On
//!   `--context`, a `kubectl port-forward` to `--ui-port` (nothing of
//!   kindops's listens on it then).

use crate::cluster::Target;
use crate::engine::step::{Done, StepCtx, StepResult};

/// `text` with its tokens filled in for this run (see the module docs).
pub fn fill_note(text: &str, target: &Target, ui_port: u16) -> String {
    let ui = match target {
        Target::Kind { .. } => format!("http://localhost:{ui_port} (user admin)"),
        Target::Context { .. } => format!(
            "`kubectl -n argocd port-forward svc/argocd-server {ui_port}:80`, then http://localhost:{ui_port} (user admin)"
        ),
    };
    text.replace("${KINDOPS_ARGOCD_UI}", &ui)
}

pub(crate) async fn note_step(ctx: &mut StepCtx<'_>, text: &str) -> StepResult {
    let mut port = ctx.settings.ui_port;
    if let (Target::Kind { name }, true) = (&ctx.settings.target, text.contains("${KINDOPS_ARGOCD_UI}")) {
        match crate::docker::kind_node::kind_ui_port(name).await {
            Ok(mapped) => port = mapped,
            Err(why) => ctx.say(format!("{why}; the UI port below is --ui-port {port}")),
        }
    }
    let text = fill_note(text, &ctx.settings.target, port);
    for line in text.lines() {
        ctx.say(line);
    }
    Ok(Done::unchanged(text.lines().next().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_note_follows_ui_port_and_the_target() {
        let phase_1 =
            crate::plan::Plan::load(&crate::plan::phase_source(None), &crate::content::Content::embedded()).unwrap();
        let text = phase_1.phases[1]
            .steps
            .iter()
            .find_map(|s| match s {
                crate::plan::Step::Note { text } => Some(text.clone()),
                _ => None,
            })
            .expect("phase 1 has a note");
        let kind = fill_note(&text, &Target::Kind { name: "kindops".into() }, 9090);
        assert!(
            kind.contains("http://localhost:9090") && !kind.contains("8080"),
            "{kind}"
        );
        let ctx = fill_note(&text, &Target::Context { context: "prod".into() }, 9090);
        assert!(ctx.contains("port-forward svc/argocd-server 9090:80"), "{ctx}");
    }
}
