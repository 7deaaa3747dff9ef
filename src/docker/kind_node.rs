//! The kind node container as the container engine sees it: its state, its
//! mounts and the host port mapped to the Argo CD UI. Used by the
//! `create-cluster` step (`engine::steps::create_cluster`, which starts a
//! stopped node and checks the git mount) and the commands that name the
//! UI's URL.

use super::container_cli;
use crate::proc;

/// The node port of the Argo CD UI that kindops's kind config maps to a
/// host port (`manifests/kind/cluster.yaml`, `extraPortMappings` containerPort 30080).
pub const UI_NODE_PORT: &str = "30080/tcp";

/// The host port kind maps to node port 30080 on the control-plane node
/// container `<name>-control-plane` (kind's node naming), from the
/// container engine's port bindings. Errors say why it could not be read.
pub async fn kind_ui_port(name: &str) -> std::result::Result<u16, String> {
    let node = format!("{name}-control-plane");
    let (docker, at) = super::connect()
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
        if let Ok((docker, at)) = super::connect() {
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
