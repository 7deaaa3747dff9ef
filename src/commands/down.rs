//! `kindops down`: delete the kind cluster kindops created, and its data;
//! then the local registry container when no other kindops cluster is left
//! (with `--purge`, its volume too).

use super::{init_tracing_stderr, target, Error, Result};
use crate::cli::ClusterArgs;
use crate::engine;
use crate::engine::provider::Target;

pub async fn run(cluster: &ClusterArgs, purge: bool) -> Result<u8> {
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
            registry_down(purge).await?;
            Ok(0)
        }
    }
}

/// The kind clusters left that kindops made: `kind get clusters` that have
/// a kindops data folder (`<data dir>/<name>`, written by `kindops up`).
async fn kindops_clusters_left() -> Result<Vec<String>> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let fin = engine::proc::run(
        "kind",
        &["get".to_string(), "clusters".to_string()],
        None,
        &[],
        &cancel,
        |_, _| {},
    )
    .await?;
    if !fin.success {
        return Err(Error::Failed(anyhow::anyhow!(
            "`kind get clusters` failed: {}",
            fin.tail.join(" / ")
        )));
    }
    let data = engine::default_data_dir();
    Ok(fin
        .stdout
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && data.join(n).is_dir())
        .map(str::to_string)
        .collect())
}

/// The registry after a cluster is gone. Rule: its container is removed
/// once no kindops cluster is left (clusters share one registry); its
/// volume (the pushed images) stays unless `purge`. Nothing without
/// kindops's label is touched: a foreign container or volume of that name
/// is named and left.
async fn registry_down(purge: bool) -> Result<()> {
    use crate::registry::{docker, CONTAINER, VOLUME};
    if engine::provider::container_cli() != "docker" {
        return Ok(());
    }
    let Ok((client, at)) = engine::container_engine::connect() else {
        return Ok(());
    };
    let left = kindops_clusters_left().await?;
    if !left.is_empty() {
        println!(
            "kept the registry container {CONTAINER}: kindops cluster(s) {} still use it",
            left.join(", ")
        );
        if purge {
            println!("kept the volume {VOLUME} (--purge removes it with the last kindops cluster)");
        }
        return Ok(());
    }
    match docker::remove_container(&client, &at).await {
        Ok(true) => println!("removed the registry container {CONTAINER}"),
        Ok(false) => {}
        Err(e) => return Err(Error::Failed(anyhow::anyhow!("{e}"))),
    }
    if purge {
        match docker::remove_volume(&client, &at).await {
            Ok(true) => println!("removed the registry volume {VOLUME} (its images are gone)"),
            Ok(false) => {}
            Err(e) => return Err(Error::Failed(anyhow::anyhow!("{e}"))),
        }
    } else if client.inspect_volume(VOLUME).await.is_ok() {
        println!("kept the registry volume {VOLUME} (the pushed images); `kindops down --purge` removes it");
    }
    Ok(())
}
