//! The kind node container as the container engine sees it: its state
//! (and starting it when it is stopped), the host port mapped to the Argo CD
//! UI, and whether it mounts kindops's git folder. Used by `create-cluster`
//! ([`super::provider`]) and the commands that name the UI's URL.

use super::provider::{container_cli, exit};
use super::step::{StepCtx, StepError};
use super::git_source;
use crate::proc;

/// The node port of the Argo CD UI that kindops's kind config maps to a
/// host port (`manifests/kind/cluster.yaml`, `extraPortMappings` containerPort 30080).
pub const UI_NODE_PORT: &str = "30080/tcp";

/// The host port kind maps to node port 30080 on the control-plane node
/// container `<name>-control-plane` (kind's node naming), from the
/// container engine's port bindings. Errors say why it could not be read.
pub async fn kind_ui_port(name: &str) -> std::result::Result<u16, String> {
    let node = format!("{name}-control-plane");
    let (docker, at) = crate::engine::container_engine::connect()
        .map_err(|e| e.unwrap_or_else(|| "the container engine is not reachable through its API".into()))?;
    let info = docker
        .inspect_container(&node, None)
        .await
        .map_err(|e| format!("cannot read kind node {node} from the container engine at {at}: {e}"))?;
    info.host_config
        .and_then(|h| h.port_bindings)
        .and_then(|mut m| m.remove(UI_NODE_PORT).flatten())
        .and_then(|b| b.into_iter().find_map(|b| b.host_port))
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("kind node {node} maps no host port to node port {UI_NODE_PORT}"))
}

/// What the container engine says of a node container: its state
/// (`created`, `running`, `paused`, `restarting`, `exited`, `dead`: Docker
/// Engine API v1.53 `ContainerState.Status`; podman and nerdctl use the same
/// words) and its mounts as (source on the engine's host, destination in the
/// node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeContainer {
    pub status: String,
    pub mounts: Vec<(String, String)>,
}

/// Inspects node container `node`: through the Docker engine's API (bollard)
/// when kind drives docker and the endpoint is one bollard reaches, else with
/// `<cli> inspect` (podman, nerdctl, or a docker `ssh://` endpoint).
/// `Ok(None)`: no such container.
///
/// Errors: the engine does not answer (its message).
pub(crate) async fn inspect_node(node: &str) -> std::result::Result<Option<NodeContainer>, String> {
    let cli = container_cli();
    if cli == "docker" {
        if let Ok((docker, at)) = super::container_engine::connect() {
            return match docker.inspect_container(node, None).await {
                Ok(info) => Ok(Some(NodeContainer {
                    status: info
                        .state
                        .and_then(|s| s.status)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    mounts: info
                        .mounts
                        .unwrap_or_default()
                        .into_iter()
                        .map(|m| (m.source.unwrap_or_default(), m.destination.unwrap_or_default()))
                        .collect(),
                })),
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
                Err(e) => Err(format!(
                    "the Docker engine at {at} cannot inspect container {node}: {e}"
                )),
            };
        }
    }
    let fin = proc::output(cli, &["inspect", "--format", "{{json .}}", node])
        .await
        .map_err(|e| format!("{e:#}"))?;
    if !fin.success {
        let text = fin.tail.join(" / ");
        if text.to_lowercase().contains("no such") || text.contains("not found") {
            return Ok(None);
        }
        return Err(format!("`{cli} inspect {node}` failed: {text}"));
    }
    let v: serde_json::Value =
        serde_json::from_str(fin.stdout.trim()).map_err(|e| format!("`{cli} inspect {node}`: {e}"))?;
    let field = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    Ok(Some(NodeContainer {
        status: v.get("State").map(|s| field(s, "Status")).unwrap_or_default(),
        mounts: v
            .get("Mounts")
            .and_then(|m| m.as_array())
            .map(|a| {
                a.iter()
                    .map(|m| (field(m, "Source"), field(m, "Destination")))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// kind's control-plane node container of cluster `name`
/// (kind v0.32.0 `pkg/cluster/internal/create/actions/config`: `<cluster>-control-plane`).
pub(crate) fn node_name(name: &str) -> String {
    format!("{name}-control-plane")
}

/// A kind cluster's node must run before anything else can: after `docker
/// stop`, or a reboot with Podman (kind sets no restart policy there; with
/// Docker it sets `--restart=on-failure:1`, kind v0.32.0
/// `pkg/cluster/internal/providers/podman/provision.go` and `docker/provision.go`),
/// the node is `exited` and `kind get clusters` still lists the cluster.
/// kindops starts it (its cluster, and `kindops up` is how a learner
/// resumes), says so, and returns true; running: false.
///
/// Errors: the node is missing (another node of the cluster only), paused,
/// or will not start, each naming the node and what to do.
pub(crate) async fn ensure_node_running(ctx: &StepCtx<'_>, name: &str) -> std::result::Result<bool, StepError> {
    let node = node_name(name);
    let cli = container_cli();
    let object = format!("kind node {node}");
    let state = inspect_node(&node).await.map_err(|e| {
        StepError::new(e)
            .object(object.clone())
            .hint("check that the container engine runs")
    })?;
    let Some(state) = state else {
        return Err(StepError::new(format!(
            "kind lists cluster {name}, but its node container {node} does not exist (removed by hand?)"
        ))
        .object(object)
        .hint(format!(
            "`kindops down --cluster {name}` removes what is left, then `kindops up` makes it again"
        )));
    };
    match state.status.as_str() {
        "running" => Ok(false),
        "paused" => Err(StepError::new(format!("kind node {node} is paused"))
            .object(object)
            .hint(format!("`{cli} unpause {node}`, then run again"))),
        status => {
            ctx.say(format!(
                "kind node {node} is not running ({status}: stopped with `{cli} stop`, or not restarted after the engine or the machine restarted); starting it"
            ));
            ctx.say(format!("$ {cli} start {node}"));
            let args = ["start".to_string(), node.clone()];
            let fin = proc::run(cli, &args, None, &[], ctx.cancel, |_, _| {}).await?;
            if !fin.success {
                return Err(StepError::new(format!(
                    "kind node {node} was {status} and `{cli} start {node}` failed (exit {})",
                    exit(fin.code)
                ))
                .object(object)
                .hint(format!(
                    "read the engine's message below; `{cli} logs {node}` shows why the node stops. If it cannot be started, `kindops down --cluster {name}` and `kindops up` make the cluster again (what is only in the cluster is lost; your git source stays)"
                ))
                .tail(fin.tail));
            }
            ctx.say(format!("ok      node {node} started; waiting for its API server"));
            Ok(true)
        }
    }
}

/// The node (`<name>-control-plane`) must see kindops's git source: a
/// canary file written on the host must be visible at
/// [`git_source::IN_CLUSTER_GIT_DIR`] in the node (`<cli> exec NODE test
/// -f`); the node's mounts come from [`inspect_node`]. Checked on an
/// existing cluster and right after `kind create cluster` (`fresh`).
///
/// Errors, each naming the folder and what to do:
/// - the node mounts nothing there: made by hand or by an older kindops;
/// - it mounts the folder but does not see the canary: on a fresh cluster,
///   the engine's VM does not share the folder (the engine made an empty
///   one: Docker Desktop's file sharing, Colima's `mounts:`, Podman
///   machine volumes); on an existing one, also the folder re-made since
///   the cluster was created (a bind mount keeps the old folder).
pub(crate) async fn check_git_mount(ctx: &StepCtx<'_>, name: &str, fresh: bool) -> std::result::Result<(), StepError> {
    let git_dir = ctx.settings.cluster_dir().join("git");
    git_source::prepare_builtin_dirs(&git_dir, None)?;
    let canary = format!(".kindops-canary-{}", std::process::id());
    let host_file = git_dir.join(&canary);
    std::fs::write(&host_file, b"kindops mount check\n").map_err(anyhow::Error::from)?;
    let cli = container_cli();
    let node = node_name(name);
    let args = [
        "exec",
        &node,
        "test",
        "-f",
        &format!("{}/{canary}", git_source::IN_CLUSTER_GIT_DIR),
    ]
    .map(str::to_string);
    ctx.say(format!("$ {cli} {}", args.join(" ")));
    let fin = proc::run(cli, &args, None, &[], ctx.cancel, |_, _| {}).await;
    let _ = std::fs::remove_file(&host_file);
    let fin = fin?;
    if fin.success {
        ctx.say(format!(
            "ok      git mount {} is mounted in node {node}",
            git_dir.display()
        ));
        return Ok(());
    }
    let object = format!("kind cluster {name}");
    let mount = inspect_node(&node).await.ok().flatten().and_then(|n| {
        n.mounts
            .into_iter()
            .find(|(_, dest)| dest == git_source::IN_CLUSTER_GIT_DIR)
    });
    let Some((source, _)) = mount else {
        return Err(StepError::new(format!(
            "kind cluster {name} does not mount kindops's git source ({} at {} in node {node}): it was made by hand or by an older kindops. Argo CD would read an empty folder",
            git_dir.display(),
            git_source::IN_CLUSTER_GIT_DIR
        ))
        .object(object)
        .hint(format!(
            "recreate it with kindops (`kindops down --cluster {name}`, then `kindops up`), or keep it and pass --repo-url with a git remote Argo CD can reach"
        ))
        .tail(fin.tail));
    };
    let share = super::container_engine::engine_product().await.share_fix(&git_dir);
    if fresh {
        return Err(StepError::new(format!(
            "the new kind node {node} mounts {source} at {}, but sees an empty folder there: the container engine does not share {} with this machine, so it made an empty folder of its own. Argo CD would read nothing",
            git_source::IN_CLUSTER_GIT_DIR,
            git_dir.display()
        ))
        .object(format!("folder {}", git_dir.display()))
        .hint(format!(
            "{share}; then `kindops down --cluster {name}` and `kindops up` (or keep the cluster and pass --repo-url with a git remote Argo CD can reach)"
        ))
        .tail(fin.tail));
    }
    Err(StepError::new(format!(
        "kind node {node} mounts {source} at {}, but does not see kindops's files there: the folder {} was deleted and made again since the cluster was created (the node still holds the old one), or the container engine does not share it. Argo CD would read an empty folder",
        git_source::IN_CLUSTER_GIT_DIR,
        git_dir.display()
    ))
    .object(object)
    .hint(format!(
        "recreate the cluster so that it mounts the folder again (`kindops down --cluster {name}`, then `kindops up`); if the folder was not re-made: {share}"
    ))
    .tail(fin.tail))
}
