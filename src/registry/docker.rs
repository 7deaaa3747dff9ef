//! The registry containers and their volumes in the Docker engine (bollard,
//! the engine's API): the local registry and the pull-through caches
//! ([`super::caches`]), each described by a [`Spec`]; made, started,
//! connected, removed, only when they carry kindops's label
//! ([`super::is_ours`]).

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
    #[error("a container named {0} exists but kindops did not make it (no label io.kindops.role=registry); it was left as it is. Remove or rename it (`docker rm -f {0}` if it is yours to remove), or run with --no-registry")]
    ForeignContainer(String),
    #[error("a volume named {0} exists but kindops did not make it (no label io.kindops.role=registry); it was left as it is. Remove it (`docker volume rm {0}`) if it is yours to remove, or run with --no-registry")]
    ForeignVolume(String),
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

/// One registry container kindops runs: its name (also its DNS name on the
/// kind network), its named volume at [`DATA_DIR`], its host port and its
/// environment (distribution's `REGISTRY_*` configuration overrides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub volume: String,
    /// Published on `127.0.0.1:port` (the local registry); `None`: reached
    /// on the kind network only (the caches).
    pub port: Option<u16>,
    pub env: Vec<String>,
    /// Labels beside [`super::our_labels`].
    pub labels: Vec<(String, String)>,
    /// Executable files (absolute path, text) written into the container
    /// when it is made, before it starts.
    pub files: Vec<(String, String)>,
}

impl Spec {
    /// The local registry ([`CONTAINER`], [`VOLUME`]) on host port `port`.
    pub fn local_registry(port: u16) -> Spec {
        Spec {
            name: CONTAINER.into(),
            volume: VOLUME.into(),
            port: Some(port),
            env: vec![],
            labels: vec![],
            files: vec![],
        }
    }
}

/// What [`ensure`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ensured {
    /// Things done (`created volume …`, `started container …`); empty: nothing changed.
    pub changes: Vec<String>,
    /// The host port the container is published on (the one it was made
    /// with, which may differ from the asked one); `None` for a container
    /// published nowhere.
    pub port: Option<u16>,
    /// The image the container runs.
    pub image: String,
    /// The environment it was made with.
    pub env: Vec<String>,
}

/// The registry's state as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub ours: bool,
    pub running: bool,
    pub port: Option<u16>,
    pub networks: Vec<String>,
    pub image: String,
    /// Its environment (distribution's configuration overrides).
    pub env: Vec<String>,
}

/// Inspects container `name`; `Ok(None)`: there is none.
pub async fn inspect(docker: &Docker, at: &str, name: &str) -> Result<Option<Found>, RegistryError> {
    match docker.inspect_container(name, None).await {
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
                env: info.config.as_ref().and_then(|c| c.env.clone()).unwrap_or_default(),
                image: info.config.and_then(|c| c.image).unwrap_or_default(),
            }))
        }
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(engine(at, format!("inspecting container {name}"), e)),
    }
}

fn engine(at: &str, what: String, source: DockerError) -> RegistryError {
    RegistryError::Engine {
        at: at.to_string(),
        what,
        source,
    }
}

/// Makes sure the container `spec` describes runs: its volume (created
/// when missing), the container from `image` (created when missing, with
/// restart policy `always` as kind's guide runs the registry; started when
/// stopped), attached to `network`. A container or volume of that name
/// without kindops's label is never touched
/// ([`RegistryError::ForeignContainer`], [`RegistryError::ForeignVolume`]).
/// An existing container keeps the port, image and environment it was made
/// with ([`Ensured`] tells them).
pub async fn ensure(
    docker: &Docker,
    at: &str,
    image: &str,
    spec: &Spec,
    network: &str,
) -> Result<Ensured, RegistryError> {
    let name = spec.name.as_str();
    let mut changes = Vec::new();
    let found = match inspect(docker, at, name).await? {
        Some(f) if !f.ours => return Err(RegistryError::ForeignContainer(name.into())),
        Some(f) => f,
        None => {
            ensure_volume(docker, at, spec, &mut changes).await?;
            if let Err(e) = docker.inspect_image(image).await {
                return Err(if not_found(&e) {
                    RegistryError::MissingImage(image.to_string())
                } else {
                    engine(at, format!("inspecting image {image}"), e)
                });
            }
            let mut labels = our_labels();
            labels.extend(spec.labels.iter().cloned());
            let body = ContainerCreateBody {
                image: Some(image.to_string()),
                labels: Some(labels),
                env: (!spec.env.is_empty()).then(|| spec.env.clone()),
                exposed_ports: Some(vec![format!("{CONTAINER_PORT}/tcp")]),
                host_config: Some(HostConfig {
                    port_bindings: spec.port.map(|port| {
                        HashMap::from([(
                            format!("{CONTAINER_PORT}/tcp"),
                            Some(vec![PortBinding {
                                host_ip: Some("127.0.0.1".into()),
                                host_port: Some(port.to_string()),
                            }]),
                        )])
                    }),
                    binds: Some(vec![format!("{}:{DATA_DIR}", spec.volume)]),
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
                name: Some(name.into()),
                ..Default::default()
            };
            docker
                .create_container(Some(opts), body)
                .await
                .map_err(|e| engine(at, format!("creating container {name}"), e))?;
            for (path, text) in &spec.files {
                crate::docker::files::write_file(docker, name, path, text, 0o755)
                    .await
                    .map_err(|e| RegistryError::Engine {
                        at: at.to_string(),
                        what: format!("writing {path} into container {name}"),
                        source: DockerError::IOError {
                            err: std::io::Error::other(format!("{e:#}")),
                        },
                    })?;
            }
            let published = match spec.port {
                Some(port) => format!("127.0.0.1:{port} → {CONTAINER_PORT}"),
                None => format!("{name}:{CONTAINER_PORT} on network {network}"),
            };
            changes.push(format!(
                "created container {name} ({image}, {published}, volume {})",
                spec.volume
            ));
            inspect(docker, at, name).await?.ok_or_else(|| {
                engine(
                    at,
                    format!("container {name} vanished after it was created"),
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
                    container: name.into(),
                    endpoint_config: None,
                },
            )
            .await
            .map_err(|e| engine(at, format!("connecting container {name} to network {network}"), e))?;
        changes.push(format!("connected container {name} to network {network}"));
    }
    if !found.running {
        docker
            .start_container(name, None)
            .await
            .map_err(|e| engine(at, format!("starting container {name}"), e))?;
        if !changes.iter().any(|c| c.starts_with("created")) {
            changes.push(format!("started the stopped container {name}"));
        }
    }
    Ok(Ensured {
        changes,
        port: found.port.or(spec.port),
        image: found.image,
        env: found.env,
    })
}

/// Makes sure `spec`'s volume exists, labelled as its container is.
async fn ensure_volume(docker: &Docker, at: &str, spec: &Spec, changes: &mut Vec<String>) -> Result<(), RegistryError> {
    let volume = spec.volume.as_str();
    match docker.inspect_volume(volume).await {
        Ok(v) if is_ours(Some(&v.labels)) => Ok(()),
        Ok(_) => Err(RegistryError::ForeignVolume(volume.into())),
        Err(e) if not_found(&e) => {
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(volume.into()),
                    labels: Some(our_labels().into_iter().chain(spec.labels.iter().cloned()).collect()),
                    ..Default::default()
                })
                .await
                .map_err(|e| engine(at, format!("creating volume {volume}"), e))?;
            changes.push(format!("created volume {volume}"));
            Ok(())
        }
        Err(e) => Err(engine(at, format!("inspecting volume {volume}"), e)),
    }
}

/// Removes container `name` if it is kindops's; `Ok(false)`: there was none.
pub async fn remove_container(docker: &Docker, at: &str, name: &str) -> Result<bool, RegistryError> {
    match inspect(docker, at, name).await? {
        None => Ok(false),
        Some(f) if !f.ours => Err(RegistryError::ForeignContainer(name.into())),
        Some(_) => {
            let opts = RemoveContainerOptions {
                force: true,
                ..Default::default()
            };
            docker
                .remove_container(name, Some(opts))
                .await
                .map_err(|e| engine(at, format!("removing container {name}"), e))?;
            Ok(true)
        }
    }
}

/// Removes volume `volume` if it is kindops's; `Ok(false)`: there was none.
pub async fn remove_volume(docker: &Docker, at: &str, volume: &str) -> Result<bool, RegistryError> {
    match docker.inspect_volume(volume).await {
        Ok(v) if is_ours(Some(&v.labels)) => {
            docker
                .remove_volume(volume, None::<RemoveVolumeOptions>)
                .await
                .map_err(|e| engine(at, format!("removing volume {volume}"), e))?;
            Ok(true)
        }
        Ok(_) => Err(RegistryError::ForeignVolume(volume.into())),
        Err(e) if not_found(&e) => Ok(false),
        Err(e) => Err(engine(at, format!("inspecting volume {volume}"), e)),
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
    match inspect(docker, at, CONTAINER).await {
        Ok(Some(f)) if f.ours && f.running => f.port,
        _ => None,
    }
}
