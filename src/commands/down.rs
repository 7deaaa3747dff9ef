//! `kindops down`: delete the kind cluster kindops created, and its data.

use super::{init_tracing_stderr, target, Error, Result};
use crate::cli::ClusterArgs;
use crate::engine;
use crate::engine::provider::Target;

pub async fn run(cluster: &ClusterArgs) -> Result<u8> {
    init_tracing_stderr();
    match target(cluster)? {
        Target::Context { context } => Err(Error::Bad(format!(
            "kindops does not delete clusters it did not create (context {context}); remove what it installed with `kubectl delete -n argocd applicationsets,applications --all`, then the namespaces"
        ))),
        Target::Kind { name } => {
            let args = ["delete", "cluster", "--name", &name].map(str::to_string);
            let cancel = tokio_util::sync::CancellationToken::new();
            let fin = engine::proc::run("kind", &args, None, &[], &cancel, |_, line| eprintln!("{line}")).await?;
            if !fin.success {
                return Err(Error::Failed(anyhow::anyhow!(
                    "`kind delete cluster --name {name}` failed: {}",
                    fin.tail.join(" / ")
                )));
            }
            let dir = engine::default_data_dir().join(&name);
            let _ = std::fs::remove_dir_all(&dir);
            println!("deleted kind cluster {name} and {}", dir.display());
            Ok(0)
        }
    }
}
