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

/// The registry and the pull-through caches after a cluster is gone. Rule:
/// their containers are removed once no kindops cluster is left (clusters
/// share them); their volumes (the pushed images, the cached pulls) stay
/// unless `purge`. Nothing without kindops's label is touched: a foreign
/// container or volume of such a name is named and left.
async fn registry_down(purge: bool) -> Result<()> {
    use crate::registry::{caches, docker, CONTAINER, VOLUME};
    if crate::docker::container_cli() != "docker" {
        return Ok(());
    }
    let Ok((client, at)) = crate::docker::connect() else {
        return Ok(());
    };
    let left = kindops_clusters_left().await?;
    if !left.is_empty() {
        println!(
            "kept the registry container {CONTAINER} and the pull-through caches: kindops cluster(s) {} still use them",
            left.join(", ")
        );
        if purge {
            println!("kept their volumes (--purge removes them with the last kindops cluster)");
        }
        return Ok(());
    }
    let failed = |e: docker::RegistryError| Error::Failed(anyhow::anyhow!("{e}"));
    if docker::remove_container(&client, &at, CONTAINER)
        .await
        .map_err(failed)?
    {
        println!("removed the registry container {CONTAINER}");
    }
    let caches_removed = for_each_cache(|u| {
        let name = caches::container(u.host);
        let (client, at) = (&client, &at);
        async move { docker::remove_container(client, at, &name).await }
    })
    .await
    .map_err(failed)?;
    if caches_removed > 0 {
        println!("removed the {caches_removed} pull-through cache containers (kindops-cache-*)");
    }
    if purge {
        if docker::remove_volume(&client, &at, VOLUME).await.map_err(failed)? {
            println!("removed the registry volume {VOLUME} (its images are gone)");
        }
        let purged = for_each_cache(|u| {
            let name = caches::volume(u.host);
            let (client, at) = (&client, &at);
            async move { docker::remove_volume(client, at, &name).await }
        })
        .await
        .map_err(failed)?;
        if purged > 0 {
            println!("removed the {purged} pull-through cache volumes (what they cached is gone)");
        }
    } else {
        if client.inspect_volume(VOLUME).await.is_ok() {
            println!("kept the registry volume {VOLUME} (the pushed images); `kindops down --purge` removes it");
        }
        let kept = for_each_cache(|u| {
            let name = caches::volume(u.host);
            let client = &client;
            async move { Ok::<_, docker::RegistryError>(client.inspect_volume(&name).await.is_ok()) }
        })
        .await
        .map_err(failed)?;
        if kept > 0 {
            println!("kept the {kept} pull-through cache volumes (kindops-cache-*-data: the next cluster pulls from them); `kindops down --purge` removes them");
        }
    }
    Ok(())
}

/// How many of the pull-through caches `ask` answered `true` for (removed,
/// or present), asking for all of them at once; the first error stops it.
async fn for_each_cache<F, Fut>(ask: F) -> std::result::Result<usize, crate::registry::docker::RegistryError>
where
    F: Fn(&'static crate::registry::caches::Upstream) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<bool, crate::registry::docker::RegistryError>>,
{
    let answers = futures::future::try_join_all(crate::registry::caches::UPSTREAMS.iter().map(ask)).await?;
    Ok(answers.into_iter().filter(|yes| *yes).count())
}
