//! `kindops down`: delete the kind cluster kindops created, and its data;
//! then the local registry container when no other kindops cluster is left
//! (with `--purge`, its volume too). A kind cluster kindops did not create
//! is refused (exit 2) unless `--force`: kindops changes only what it made.

use super::{init_tracing_stderr, target, Error, Result};
use crate::cli::ClusterArgs;
use crate::cluster::Target;
use crate::engine;

/// Whether kindops created kind cluster `name`: the `create-cluster` step
/// writes the kind config it creates a cluster with to `<data
/// dir>/<name>/kind-config.yaml` (`engine::steps::create_cluster`'s
/// `create_kind_cluster`), and only when it creates one; an existing cluster
/// it merely uses gets none.
fn created_by_kindops(name: &str) -> bool {
    engine::default_data_dir().join(name).join("kind-config.yaml").is_file()
}

/// `kind get clusters`: the names of the kind clusters on this engine.
async fn kind_clusters() -> Result<Vec<String>> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let args = ["get".to_string(), "clusters".to_string()];
    let fin = crate::proc::run("kind", &args, None, &[], &cancel, |_, _| {}).await?;
    if !fin.success {
        return Err(Error::Failed(anyhow::anyhow!(
            "`kind get clusters` failed: {}",
            fin.tail.join(" / ")
        )));
    }
    Ok(fin
        .stdout
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect())
}

/// `kindops down`. Exit 0 once the cluster is gone (or was not there);
/// [`Error::Bad`] (exit 2) for a `--context` cluster, or a kind cluster
/// kindops did not create without `force`; [`Error::Failed`] when `kind`
/// or the engine fails.
pub async fn run(cluster: &ClusterArgs, purge: bool, force: bool) -> Result<u8> {
    init_tracing_stderr();
    match target(cluster)? {
        Target::Context { context } => Err(Error::Bad(format!(
            "kindops does not delete clusters it did not create (context {context}); remove what it installed there with `kindops uninstall --context {context}` (`--dry-run` first shows what goes)"
        ))),
        Target::Kind { name } => {
            if !force && !created_by_kindops(&name) && kind_clusters().await?.contains(&name) {
                return Err(Error::Bad(format!(
                    "kind cluster {name} was not created by kindops (no {} of `kindops up`), so kindops leaves it as it is; delete it with `kind delete cluster --name {name}`, or `kindops down --cluster {name} --force`",
                    engine::default_data_dir().join(&name).join("kind-config.yaml").display()
                )));
            }
            let args = ["delete", "cluster", "--name", &name].map(str::to_string);
            let cancel = tokio_util::sync::CancellationToken::new();
            let fin = crate::proc::run("kind", &args, None, &[], &cancel, |_, line| eprintln!("{line}")).await?;
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

/// The kind clusters left that kindops made ([`created_by_kindops`]).
async fn kindops_clusters_left() -> Result<Vec<String>> {
    Ok(kind_clusters()
        .await?
        .into_iter()
        .filter(|n| created_by_kindops(n))
        .collect())
}

/// The registry after a cluster is gone. Rule: its container is removed
/// once no kindops cluster is left (clusters share one registry); its
/// volume (the pushed images) stays unless `purge`. Nothing without
/// kindops's label is touched: a foreign container or volume of that name
/// is named and left.
async fn registry_down(purge: bool) -> Result<()> {
    use crate::registry::{docker, CONTAINER, VOLUME};
    if crate::docker::container_cli() != "docker" {
        return Ok(());
    }
    let Ok((client, at)) = crate::docker::connect() else {
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
