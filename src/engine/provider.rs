//! Where the cluster comes from: a kind cluster kindops creates, or an
//! existing kubeconfig context.

use anyhow::{anyhow, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// The cluster kindops works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A kind cluster named `name`, context `kind-<name>`.
    Kind { name: String },
    /// An existing cluster: this kubeconfig context.
    Context { context: String },
}

impl Target {
    /// The kubeconfig context kindops uses.
    pub fn context(&self) -> String {
        match self {
            Target::Kind { name } => format!("kind-{name}"),
            Target::Context { context } => context.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Kind { name } => format!("kind cluster {name} (context kind-{name})"),
            Target::Context { context } => format!("existing cluster, context {context}"),
        }
    }
}

/// The container CLI kind drives, as kind picks its provider
/// (`KIND_EXPERIMENTAL_PROVIDER`, kind v0.32 `pkg/internal/runtime/runtime.go`):
/// `podman`, `nerdctl` (also `finch`, `nerdctl.lima`), else `docker`.
pub fn container_cli() -> &'static str {
    match std::env::var("KIND_EXPERIMENTAL_PROVIDER").as_deref() {
        Ok("podman") => "podman",
        Ok("nerdctl") => "nerdctl",
        Ok("finch") => "finch",
        Ok("nerdctl.lima") => "nerdctl.lima",
        _ => "docker",
    }
}

/// A client for `context` from the default kubeconfig (`$KUBECONFIG` or
/// `~/.kube/config`), checked with a `/version` call.
///
/// Errors: no such context (listing the ones there are), or the API server
/// does not answer (naming its URL).
pub async fn client_for(context: &str) -> Result<Client> {
    let kubeconfig =
        Kubeconfig::read().map_err(|e| anyhow!("cannot read the kubeconfig ($KUBECONFIG or ~/.kube/config): {e}"))?;
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(anyhow!(
            "no context {context:?} in the kubeconfig; contexts there: {}. Pass --context with one of them",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let opts = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &opts)
        .await
        .map_err(|e| anyhow!("context {context}: cannot build a client: {e}"))?;
    let url = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| anyhow!("context {context}: {e}"))?;
    match tokio::time::timeout(std::time::Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => Err(anyhow!(
            "the API server of context {context} at {url} does not answer: {e}. Is the cluster running? (kind: `docker ps`; then `kubectl --context {context} get nodes`)"
        )),
        Err(_) => Err(anyhow!(
            "the API server of context {context} at {url} did not answer within 10s. Is the cluster running? (`kubectl --context {context} get nodes`)"
        )),
    }
}
