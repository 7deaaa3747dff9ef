//! The `local-registry` step (phase 0, after `create-cluster`): the
//! registry container running ([`crate::registry::docker::ensure`]) and
//! answering, the pull-through caches running ([`crate::registry::caches`]),
//! `hosts.toml` for the registry and for every cached upstream in every
//! node of the kind cluster, the KEP-1755 ConfigMap, CI's build base image
//! in the registry ([`crate::registry::build_base`]). A re-run finds
//! everything in place and changes nothing; a stopped or killed registry or
//! cache container is started again.

use crate::cluster::Target;
use crate::docker::container_cli;
use crate::docker::files::{read_file, write_file};
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::registry::caches::{self, UPSTREAMS};
use crate::registry::docker::{ensure, RegistryError, Spec};
use crate::registry::{
    hosts_toml, hosts_toml_path, kind_network, local_registry_hosting, CONTAINER, HOSTING_CONFIGMAP, VOLUME,
};
use bollard::query_parameters::ListContainersOptions;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long the registry may take to answer `GET /v2/` after it starts.
const READY_WITHIN: Duration = Duration::from_secs(60);

fn registry_error(container: &str) -> impl Fn(RegistryError) -> StepError + '_ {
    move |e| {
        let hint = match e {
            RegistryError::MissingImage(_) | RegistryError::ForeignContainer(_) | RegistryError::ForeignVolume(_) => None,
            RegistryError::Engine { .. } => Some("check `docker ps -a` and `docker volume ls`; `kindops down --purge` starts the registry and the caches afresh (their images are lost)".to_string()),
        };
        StepError::new(e.to_string())
            .object(format!("container {container}"))
            .hint_if(hint)
    }
}

pub(crate) async fn local_registry_step(ctx: &mut StepCtx<'_>) -> StepResult {
    let name = match &ctx.settings.target {
        Target::Context { context } => {
            return Ok(Done::unchanged(format!(
                "context {context}: no local registry is created; push to the registry your cluster pulls from (see README, \"Local registry\")"
            )))
        }
        Target::Kind { name } => name.clone(),
    };
    let Some(opts) = ctx.settings.registry.clone() else {
        return Ok(Done::unchanged("--no-registry: no local registry"));
    };
    if container_cli() != "docker" {
        return Ok(Done::unchanged(format!(
            "kind drives {}: the local registry is set up with the Docker engine only; none created",
            container_cli()
        )));
    }
    let (docker, at) = crate::docker::connect().map_err(|e| {
        StepError::new(e.unwrap_or_else(|| "the Docker engine is not reachable through its API".into()))
            .object(format!("container {CONTAINER}"))
    })?;
    let image = crate::upstream::image_pin("registry").image;
    let network = kind_network();
    load_from_mirror(ctx, &docker, &at, &image).await?;
    let ensured = ensure(&docker, &at, &image, &Spec::local_registry(opts.port), &network)
        .await
        .map_err(registry_error(CONTAINER))?;
    for c in &ensured.changes {
        ctx.say(c.clone());
    }
    let port = ensured.port.unwrap_or(opts.port);
    if port != opts.port {
        ctx.say(format!(
            "the registry container {CONTAINER} is published on 127.0.0.1:{port} (the --registry-port it was made with); --registry-port {} applies to a new registry container (`kindops down` removes it, the volume {VOLUME} stays)",
            opts.port
        ));
    }
    if ensured.image != image {
        ctx.say(format!(
            "the registry container runs {} (pinned: {image}); `kindops down` then `kindops up` makes it anew with the pinned image, keeping the images in volume {VOLUME}",
            ensured.image
        ));
    }
    wait_ready(ctx, port).await?;
    let mut changed = !ensured.changes.is_empty();
    changed |= ensure_caches(ctx, &docker, &at, &image, &network, &opts).await?;
    changed |= configure_nodes(ctx, &docker, &at, &name, port).await?;
    changed |= apply_hosting(ctx, port).await?;
    changed |= crate::registry::build_base::ensure(ctx, &docker, &at, port).await?;
    Ok(Done::new(
        changed,
        format!(
            "local registry localhost:{port} (container {CONTAINER}, volume {VOLUME}); push with `docker push localhost:{port}/NAME:TAG`, pods pull `localhost:{port}/NAME:TAG`; {} pull-through caches (kindops-cache-*) in front of {}{}",
            UPSTREAMS.len(),
            UPSTREAMS.iter().map(|u| u.host).collect::<Vec<_>>().join(", "),
            if opts.offline { ", offline: serving only what they hold" } else { "" }
        ),
    ))
}

/// With `--mirror DIR` holding `image`'s archive (`kindops fetch --images`)
/// and the engine lacking it: `docker load` it (into the Docker engine,
/// where the container runs; not into the nodes).
async fn load_from_mirror(ctx: &StepCtx<'_>, docker: &bollard::Docker, at: &str, image: &str) -> Result<(), StepError> {
    if crate::registry::docker::has_image(docker, image).await {
        return Ok(());
    }
    let Some(crate::upstream::Mirror::Dir(dir)) = &ctx.settings.mirror else {
        return Ok(());
    };
    let Some(path) = crate::images::ImageIndex::archive_of(dir, image)? else {
        return Ok(());
    };
    ctx.say(format!(
        "loading {image} from {} into the Docker engine",
        path.display()
    ));
    crate::registry::docker::load_archive(docker, at, &path)
        .await
        .map_err(registry_error(CONTAINER))
}

/// Makes sure every upstream's pull-through cache runs (the same registry
/// image in proxy mode, or serving only what it holds with `--offline`,
/// [`caches::spec`]). A cache container made for another remote or mode is
/// made again (kindops's container; the cached images stay in its volume),
/// and the run says so. Returns whether anything changed.
async fn ensure_caches(
    ctx: &StepCtx<'_>,
    docker: &bollard::Docker,
    at: &str,
    image: &str,
    network: &str,
    opts: &crate::registry::RegistryOptions,
) -> Result<bool, StepError> {
    let mut changed = false;
    for upstream in UPSTREAMS {
        let remote = (!opts.offline).then(|| caches::remote(upstream, &opts.upstream_mirrors));
        let spec = caches::spec(upstream, remote);
        let mut ensured = ensure(docker, at, image, &spec, network)
            .await
            .map_err(registry_error(&spec.name))?;
        let had = caches::proxied(&ensured.env).map(str::to_string);
        if had.as_deref() != remote {
            let what =
                |r: Option<&str>| r.map_or("only what it holds (offline)".to_string(), |r| format!("proxying {r}"));
            ctx.say(format!(
                "the cache {} served {}; made again serving {} (its cached images stay in volume {})",
                spec.name,
                what(had.as_deref()),
                what(remote),
                spec.volume
            ));
            crate::registry::docker::remove_container(docker, at, &spec.name)
                .await
                .map_err(registry_error(&spec.name))?;
            ensured = ensure(docker, at, image, &spec, network)
                .await
                .map_err(registry_error(&spec.name))?;
            changed = true;
        }
        for c in &ensured.changes {
            ctx.say(format!("cache of {}: {c}", upstream.host));
        }
        changed |= !ensured.changes.is_empty();
    }
    Ok(changed)
}

/// Waits until `GET http://127.0.0.1:<port>/v2/` answers 200 (the
/// distribution API's version check), up to [`READY_WITHIN`].
async fn wait_ready(ctx: &StepCtx<'_>, port: u16) -> Result<(), StepError> {
    let url = format!("http://127.0.0.1:{port}/v2/");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(anyhow::Error::from)?;
    let deadline = Instant::now() + READY_WITHIN;
    let mut last = String::new();
    while Instant::now() < deadline && !ctx.cancel.is_cancelled() {
        match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = format!("{e}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StepError::new(format!(
        "the registry at {url} did not answer within {}s ({last})",
        READY_WITHIN.as_secs()
    ))
    .object(format!("container {CONTAINER}"))
    .hint(format!(
        "`docker logs {CONTAINER}` tells why; a full or damaged volume: `kindops down --purge` empties it (its images are lost)"
    )))
}

/// Writes the `hosts.toml` for `localhost:<port>` into every node of kind
/// cluster `name` where it differs, and checks that each node's containerd
/// reads that directory. Returns whether a file was written.
async fn configure_nodes(
    ctx: &StepCtx<'_>,
    docker: &bollard::Docker,
    at: &str,
    name: &str,
    port: u16,
) -> Result<bool, StepError> {
    let filters = HashMap::from([("label".to_string(), vec![format!("io.x-k8s.kind.cluster={name}")])]);
    let nodes: Vec<String> = docker
        .list_containers(Some(ListContainersOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(|e| {
            StepError::new(format!(
                "the Docker engine at {at}: listing the nodes of kind cluster {name}: {e}"
            ))
        })?
        .into_iter()
        .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
        .map(|n| n.trim_start_matches('/').to_string())
        .collect();
    if nodes.is_empty() {
        return Err(
            StepError::new(format!("kind cluster {name} has no running node container"))
                .object(format!("kind cluster {name}"))
                .hint("run `kindops up` again: it starts a stopped node"),
        );
    }
    let files: Vec<(String, String)> = std::iter::once((hosts_toml_path(port), hosts_toml()))
        .chain(
            UPSTREAMS
                .iter()
                .map(|u| (caches::hosts_toml_path(u), caches::hosts_toml(u))),
        )
        .collect();
    let mut changed = false;
    for node in &nodes {
        let mut written = Vec::new();
        for (path, want) in &files {
            if read_file(docker, node, path).await.as_deref() != Some(want.as_str()) {
                write_file(docker, node, path, want, 0o644).await.map_err(|e| {
                    StepError::new(format!("writing {path} in node {node}: {e}")).object(format!("node {node}"))
                })?;
                written.push(path.as_str());
            }
        }
        if !written.is_empty() {
            ctx.say(format!("wrote in node {node}: {}", written.join(", ")));
            changed = true;
        }
        check_config_path(ctx, node).await;
    }
    Ok(changed)
}

/// Says so when a node's containerd does not read `/etc/containerd/certs.d`
/// (`containerd config dump` shows no such `config_path`): pods there cannot
/// pull `localhost:<port>/…`. A cluster made before kindops set the patch
/// ([`crate::registry::CONTAINERD_CONFIG_PATCH`]) needs to be made again.
async fn check_config_path(ctx: &StepCtx<'_>, node: &str) {
    let args: Vec<String> = ["exec", node, "containerd", "config", "dump"]
        .map(str::to_string)
        .into();
    let Ok(fin) = crate::proc::run(container_cli(), &args, None, &[], ctx.cancel, |_, _| {}).await else {
        return;
    };
    let reads = fin
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("config_path"))
        .any(|l| l.contains(crate::registry::CERTS_D));
    if fin.success && !reads {
        ctx.say(format!(
            "warning: node {node}'s containerd does not read {} (no registry config_path): its pods cannot pull localhost:PORT/… images. The cluster was made without kindops's containerd patch: `kindops down` then `kindops up` makes it anew",
            crate::registry::CERTS_D
        ));
    }
}

/// Server-side applies the `local-registry-hosting` ConfigMap (field
/// manager `kindops`) unless it already says the same. Returns whether it
/// changed.
async fn apply_hosting(ctx: &StepCtx<'_>, port: u16) -> Result<bool, StepError> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};
    let client = ctx.client()?;
    let want = local_registry_hosting(port);
    let api: Api<ConfigMap> = Api::namespaced(client, HOSTING_CONFIGMAP.1);
    let object = format!("ConfigMap {}/{}", HOSTING_CONFIGMAP.1, HOSTING_CONFIGMAP.0);
    let have = api
        .get_opt(HOSTING_CONFIGMAP.0)
        .await
        .map_err(|e| StepError::new(format!("reading {object}: {e}")).object(object.clone()))?;
    if have.as_ref().and_then(|c| c.data.as_ref()) == want.data.as_ref() {
        return Ok(false);
    }
    let mut body = serde_json::to_value(&want).map_err(anyhow::Error::from)?;
    body["apiVersion"] = "v1".into();
    body["kind"] = "ConfigMap".into();
    api.patch(
        HOSTING_CONFIGMAP.0,
        &PatchParams::apply("kindops").force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| StepError::new(format!("applying {object}: {e}")).object(object.clone()))?;
    ctx.say(format!("applied {object} (KEP-1755: host localhost:{port})"));
    Ok(true)
}
