//! The registry's container and volume in the Docker engine (bollard, the
//! engine's API): made, started, connected, removed, only when they carry
//! kindops's label ([`super::is_ours`]).

use super::{is_ours, our_labels, CONTAINER, CONTAINER_PORT, DATA_DIR, VOLUME};
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerCreateBody, HostConfig, NetworkConnectRequest, PortBinding, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions, RemoveVolumeOptions};
use bollard::Docker;
use std::collections::HashMap;

/// Why the registry could not be set up or removed; every message names the
/// object and the next step.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a container named {CONTAINER} exists but kindops did not make it (no label io.kindops.role=registry); it was left as it is. Remove or rename it (`docker rm -f {CONTAINER}` if it is yours to remove), or run with --no-registry")]
    ForeignContainer,
    #[error("a volume named {VOLUME} exists but kindops did not make it (no label io.kindops.role=registry); it was left as it is. Remove it (`docker volume rm {VOLUME}`) if it is yours to remove, or run with --no-registry")]
    ForeignVolume,
    #[error("the registry image {0} is not in the Docker engine. With internet: `docker pull {0}`; offline: `kindops fetch --images --into DIR` where there is internet, then `kindops up --mirror DIR`; or run with --no-registry")]
    MissingImage(String),
    #[error("the Docker engine at {at}: {what}: {source}")]
    Engine {
        at: String,
        what: String,
        #[source]
        source: DockerError,
    },
}

fn not_found(e: &DockerError) -> bool {
    matches!(e, DockerError::DockerResponseServerError { status_code: 404, .. })
}

/// What [`ensure`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ensured {
    /// Things done (`created volume …`, `started container …`); empty: nothing changed.
    pub changes: Vec<String>,
    /// The host port the container is published on (the one it was made
    /// with, which may differ from the asked one).
    pub port: u16,
    /// The image the container runs.
    pub image: String,
}

/// The registry's state as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub ours: bool,
    pub running: bool,
    pub port: Option<u16>,
    pub networks: Vec<String>,
    pub image: String,
}

/// Inspects [`CONTAINER`]; `Ok(None)`: there is none.
pub async fn inspect(docker: &Docker, at: &str) -> Result<Option<Found>, RegistryError> {
    match docker.inspect_container(CONTAINER, None).await {
        Ok(info) => {
            let labels = info.config.as_ref().and_then(|c| c.labels.as_ref());
            let port = info
                .host_config
                .as_ref()
                .and_then(|h| h.port_bindings.as_ref())
                .and_then(|m| m.get(&format!("{CONTAINER_PORT}/tcp")).cloned().flatten())
                .and_then(|b| b.into_iter().find_map(|b| b.host_port))
                .and_then(|p| p.parse().ok());
            Ok(Some(Found {
                ours: is_ours(labels),
                running: info.state.as_ref().and_then(|s| s.running).unwrap_or(false),
                port,
                networks: info
                    .network_settings
                    .and_then(|n| n.networks)
                    .map(|n| n.into_keys().collect())
                    .unwrap_or_default(),
                image: info.config.and_then(|c| c.image).unwrap_or_default(),
            }))
        }
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(engine(at, format!("inspecting container {CONTAINER}"), e)),
    }
}

fn engine(at: &str, what: String, source: DockerError) -> RegistryError {
    RegistryError::Engine {
        at: at.to_string(),
        what,
        source,
    }
}

/// Makes sure the registry runs: the volume [`VOLUME`] (created when
/// missing), the container [`CONTAINER`] from `image` published on
/// `127.0.0.1:port` (created when missing, started when stopped), attached
/// to `network`. A container or volume of that name without kindops's label
/// is never touched ([`RegistryError::ForeignContainer`],
/// [`RegistryError::ForeignVolume`]).
pub async fn ensure(
    docker: &Docker,
    at: &str,
    image: &str,
    port: u16,
    network: &str,
) -> Result<Ensured, RegistryError> {
    let mut changes = Vec::new();
    let found = match inspect(docker, at).await? {
        Some(f) if !f.ours => return Err(RegistryError::ForeignContainer),
        Some(f) => f,
        None => {
            ensure_volume(docker, at, &mut changes).await?;
            if let Err(e) = docker.inspect_image(image).await {
                return Err(if not_found(&e) {
                    RegistryError::MissingImage(image.to_string())
                } else {
                    engine(at, format!("inspecting image {image}"), e)
                });
            }
            let body = ContainerCreateBody {
                image: Some(image.to_string()),
                labels: Some(our_labels()),
                exposed_ports: Some(vec![format!("{CONTAINER_PORT}/tcp")]),
                host_config: Some(HostConfig {
                    port_bindings: Some(HashMap::from([(
                        format!("{CONTAINER_PORT}/tcp"),
                        Some(vec![PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some(port.to_string()),
                        }]),
                    )])),
                    binds: Some(vec![format!("{VOLUME}:{DATA_DIR}")]),
                    // kind's guide runs it with --restart=always.
                    restart_policy: Some(RestartPolicy {
                        name: Some(RestartPolicyNameEnum::ALWAYS),
                        maximum_retry_count: None,
                    }),
                    network_mode: Some(network.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let opts = CreateContainerOptions {
                name: Some(CONTAINER.into()),
                ..Default::default()
            };
            docker
                .create_container(Some(opts), body)
                .await
                .map_err(|e| engine(at, format!("creating container {CONTAINER}"), e))?;
            changes.push(format!(
                "created container {CONTAINER} ({image}, 127.0.0.1:{port} → {CONTAINER_PORT}, volume {VOLUME})"
            ));
            inspect(docker, at).await?.ok_or_else(|| {
                engine(
                    at,
                    format!("container {CONTAINER} vanished after it was created"),
                    DockerError::DockerResponseServerError {
                        status_code: 404,
                        message: "no such container".into(),
                    },
                )
            })?
        }
    };
    if !found.networks.iter().any(|n| n == network) {
        docker
            .connect_network(
                network,
                NetworkConnectRequest {
                    container: CONTAINER.into(),
                    endpoint_config: None,
                },
            )
            .await
            .map_err(|e| engine(at, format!("connecting container {CONTAINER} to network {network}"), e))?;
        changes.push(format!("connected container {CONTAINER} to network {network}"));
    }
    if !found.running {
        docker
            .start_container(CONTAINER, None)
            .await
            .map_err(|e| engine(at, format!("starting container {CONTAINER}"), e))?;
        if !changes.iter().any(|c| c.starts_with("created")) {
            changes.push(format!("started the stopped container {CONTAINER}"));
        }
    }
    Ok(Ensured {
        changes,
        port: found.port.unwrap_or(port),
        image: found.image,
    })
}

async fn ensure_volume(docker: &Docker, at: &str, changes: &mut Vec<String>) -> Result<(), RegistryError> {
    match docker.inspect_volume(VOLUME).await {
        Ok(v) if is_ours(Some(&v.labels)) => Ok(()),
        Ok(_) => Err(RegistryError::ForeignVolume),
        Err(e) if not_found(&e) => {
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(VOLUME.into()),
                    labels: Some(our_labels()),
                    ..Default::default()
                })
                .await
                .map_err(|e| engine(at, format!("creating volume {VOLUME}"), e))?;
            changes.push(format!("created volume {VOLUME}"));
            Ok(())
        }
        Err(e) => Err(engine(at, format!("inspecting volume {VOLUME}"), e)),
    }
}

/// Removes [`CONTAINER`] if it is kindops's; `Ok(false)`: there was none.
pub async fn remove_container(docker: &Docker, at: &str) -> Result<bool, RegistryError> {
    match inspect(docker, at).await? {
        None => Ok(false),
        Some(f) if !f.ours => Err(RegistryError::ForeignContainer),
        Some(_) => {
            let opts = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            docker
                .remove_container(CONTAINER, Some(opts))
                .await
                .map_err(|e| engine(at, format!("removing container {CONTAINER}"), e))?;
            Ok(true)
        }
    }
}

/// Removes [`VOLUME`] if it is kindops's; `Ok(false)`: there was none.
pub async fn remove_volume(docker: &Docker, at: &str) -> Result<bool, RegistryError> {
    match docker.inspect_volume(VOLUME).await {
        Ok(v) if is_ours(Some(&v.labels)) => {
            docker
                .remove_volume(VOLUME, None::<RemoveVolumeOptions>)
                .await
                .map_err(|e| engine(at, format!("removing volume {VOLUME}"), e))?;
            Ok(true)
        }
        Ok(_) => Err(RegistryError::ForeignVolume),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(engine(at, format!("inspecting volume {VOLUME}"), e)),
    }
}

/// Whether the engine has `image`.
pub async fn has_image(docker: &Docker, image: &str) -> bool {
    docker.inspect_image(image).await.is_ok()
}

/// `docker load` of an archive (`docker save` format) into the engine
/// (`POST /images/load`).
pub async fn load_archive(docker: &Docker, at: &str, path: &std::path::Path) -> Result<(), RegistryError> {
    use futures::TryStreamExt;
    let data = std::fs::read(path).map_err(|e| RegistryError::Engine {
        at: at.to_string(),
        what: format!("reading {}", path.display()),
        source: DockerError::IOError { err: e },
    })?;
    docker
        .import_image(
            bollard::query_parameters::ImportImageOptions::default(),
            bollard::body_full(data.into()),
            None,
        )
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| engine(at, format!("loading {} (docker load)", path.display()), e))?;
    Ok(())
}

/// The host port of a running kindops registry container, if there is one
/// (preflight: a port held by our own registry is not "taken").
pub async fn our_port(docker: &Docker, at: &str) -> Option<u16> {
    match inspect(docker, at).await {
        Ok(Some(f)) if f.ours && f.running => f.port,
        _ => None,
    }
}
