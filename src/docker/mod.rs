//! The container engine kind will use, found as kind finds it: the Docker
//! engine at the endpoint the docker CLI resolves (`DOCKER_HOST`, docker
//! contexts), or the podman/nerdctl CLI kind picks instead
//! ([`container_cli`]); its version,
//! resources, storage and cgroup version, as preflight [`Check`]s.

mod cli;
pub mod files;
pub mod kind_node;

pub use cli::{container_cli, detect_container_cli, kind_binaries};

use crate::host_checks::{free_gib, Check};
use std::path::Path;
use std::time::Duration;

/// Where the Docker engine is, resolved as the docker CLI resolves it (and
/// so as kind, which drives the docker CLI, reaches it). Checked against
/// docker/cli `cli/command/cli.go` (`resolveContextName`) and
/// `cli/context/store/store.go` (`contextdirOf`):
/// 1. `DOCKER_HOST` (context "default");
/// 2. else the context named by `DOCKER_CONTEXT`, else `currentContext` of
///    `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`);
/// 3. a context other than "default" is read from
///    `$DOCKER_CONFIG/contexts/meta/<sha256 hex of its name>/meta.json`,
///    field `Endpoints.docker.Host`;
/// 4. "default" without `DOCKER_HOST` is `unix:///var/run/docker.sock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerEndpoint {
    /// e.g. `unix:///var/run/docker.sock`, `unix:///Users/me/.colima/default/docker.sock`, `tcp://1.2.3.4:2375`.
    pub host: String,
    /// How it was chosen, for messages: `DOCKER_HOST`, `context colima`, `default socket`.
    pub source: String,
}

/// Name of the check that warns about a cgroup v1 container host; the engine
/// reads it to add the kubelet patch to the kind config.
pub const CGROUP_V1: &str = "cgroup";

/// The default Docker socket (docker/cli `opts.DefaultUnixSocket`).
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Resolves the endpoint from an environment lookup and the docker config
/// directory (see [`DockerEndpoint`]).
///
/// Errors: a context is named but its metadata is missing or unreadable
/// (naming the context, the file and the next step).
pub fn resolve_docker_endpoint(
    env: &dyn Fn(&str) -> Option<String>,
    config_dir: &Path,
) -> Result<DockerEndpoint, String> {
    if let Some(h) = env("DOCKER_HOST").filter(|h| !h.is_empty()) {
        return Ok(DockerEndpoint {
            host: h,
            source: "DOCKER_HOST".into(),
        });
    }
    let (context, from) = match env("DOCKER_CONTEXT").filter(|c| !c.is_empty()) {
        Some(c) => (c, "DOCKER_CONTEXT"),
        None => {
            let cfg = config_dir.join("config.json");
            let current = std::fs::read_to_string(&cfg)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v.get("currentContext").and_then(|c| c.as_str()).map(str::to_string))
                .unwrap_or_default();
            (current, "currentContext in config.json")
        }
    };
    if context.is_empty() || context == "default" {
        return Ok(DockerEndpoint {
            host: DEFAULT_DOCKER_HOST.into(),
            source: "default socket".into(),
        });
    }
    use sha2::Digest;
    let meta = config_dir
        .join("contexts/meta")
        .join(hex::encode(sha2::Sha256::digest(context.as_bytes())))
        .join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|e| {
        format!(
            "docker context {context:?} ({from}) has no metadata at {}: {e}; run `docker context ls` and `docker context use NAME`",
            meta.display()
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", meta.display()))?;
    // docker/cli writes the keys capitalised and reads them case-insensitively.
    let host = ["Endpoints", "docker", "Host"]
        .iter()
        .try_fold(&v, |cur, key| {
            cur.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            format!(
                "docker context {context:?}: {} has no Endpoints.docker.Host",
                meta.display()
            )
        })?;
    Ok(DockerEndpoint {
        host: host.to_string(),
        source: format!("context {context}"),
    })
}

/// The docker CLI's config directory: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> std::path::PathBuf {
    std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker")))
        .unwrap_or_else(|| std::path::PathBuf::from(".docker"))
}

/// The container engine kind will use: when kind picks podman or nerdctl
/// (`KIND_EXPERIMENTAL_PROVIDER`, or no Docker CLI on PATH:
/// [`container_cli`]), that CLI (checked with `<cli> version`); else the Docker
/// engine at [`resolve_docker_endpoint`]'s endpoint, asked for its version,
/// CPUs and memory (`GET /version`, `GET /info`).
pub async fn container_engine() -> Vec<Check> {
    let cli = container_cli();
    if cli != "docker" {
        let ok = crate::proc::output(cli, &["version"]).await;
        return vec![match ok {
            Ok(f) if f.success => Check::ok(
                "engine",
                format!("{cli} (the provider kind picks: {}) answers `{cli} version`", why_not_docker()),
            ),
            Ok(f) => Check::fail(
                "engine",
                format!("`{cli} version` failed: {}", f.tail.join(" / ")),
                "start it (e.g. `podman machine start`), or, to use Docker, install the docker CLI and unset KIND_EXPERIMENTAL_PROVIDER",
            ),
            Err(e) => Check::fail(
                "engine",
                format!("{e:#}"),
                "install it, or, to use Docker, install the docker CLI and unset KIND_EXPERIMENTAL_PROVIDER",
            ),
        }];
    }
    docker().await
}

/// Why kind does not use Docker here, for messages.
fn why_not_docker() -> &'static str {
    if std::env::var_os("KIND_EXPERIMENTAL_PROVIDER").is_some_and(|v| !v.is_empty()) {
        "KIND_EXPERIMENTAL_PROVIDER"
    } else {
        "no Docker CLI on PATH"
    }
}

/// A client of the Docker engine at the endpoint the docker CLI would use
/// ([`resolve_docker_endpoint`]): unix socket or tcp/http. Returns the
/// client and where it points (`host (source)`).
///
/// Errors: the docker context cannot be read; an `ssh://` or other endpoint
/// this client cannot use (`Err(None)`: ask the docker CLI instead); a
/// malformed endpoint.
pub fn connect() -> std::result::Result<(bollard::Docker, String), Option<String>> {
    let endpoint = resolve_docker_endpoint(&|k| std::env::var(k).ok(), &docker_config_dir()).map_err(Some)?;
    let at = format!("{} ({})", endpoint.host, endpoint.source);
    let connected = if endpoint.host.starts_with("unix://") || endpoint.host.starts_with('/') {
        bollard::Docker::connect_with_socket(&endpoint.host, 120, bollard::API_DEFAULT_VERSION)
    } else if endpoint.host.starts_with("tcp://") || endpoint.host.starts_with("http://") {
        bollard::Docker::connect_with_http(&endpoint.host, 120, bollard::API_DEFAULT_VERSION)
    } else {
        return Err(None);
    };
    connected
        .map(|d| (d, at.clone()))
        .map_err(|e| Some(format!("cannot connect to the Docker engine at {at}: {e}")))
}

/// The Docker engine at the endpoint the docker CLI would use (see
/// [`resolve_docker_endpoint`]): reachable, its version, CPUs and memory.
pub async fn docker() -> Vec<Check> {
    let endpoint = match resolve_docker_endpoint(&|k| std::env::var(k).ok(), &docker_config_dir()) {
        Ok(e) => e,
        Err(m) => return vec![Check::fail("docker", m, "fix the docker context, or set DOCKER_HOST")],
    };
    let at = format!("{} ({})", endpoint.host, endpoint.source);
    let connected = match connect() {
        Ok((d, _)) => Ok(d),
        Err(Some(m)) => Err(m),
        Err(None) => {
            // ssh:// and others: the docker CLI can, kindops's client cannot; ask the CLI.
            let ok = crate::proc::output("docker", &["version"]).await;
            return vec![match ok {
                Ok(f) if f.success => Check::ok("docker", format!("Docker engine at {at} answers `docker version`")),
                _ => Check::fail(
                    "docker",
                    format!("the Docker engine at {at} does not answer `docker version`"),
                    "start it, or check the docker context",
                ),
            }];
        }
    };
    let docker = match connected {
        Ok(d) => d,
        Err(e) => {
            return vec![Check::fail(
                "docker",
                e,
                "start Docker (Linux: `sudo systemctl start docker`; macOS/Windows: start Docker Desktop, Colima or Rancher Desktop) and run again",
            )]
        }
    };
    let version = tokio::time::timeout(Duration::from_secs(5), docker.version()).await;
    let version = match version {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return vec![Check::fail(
                "docker",
                format!("the Docker engine at {at} does not answer: {e}"),
                "start Docker (Linux: `sudo systemctl start docker`; macOS/Windows: start Docker Desktop); if it runs, check that you may use its socket (group `docker`)",
            )]
        }
        Err(_) => {
            return vec![Check::fail(
                "docker",
                "the Docker engine did not answer within 5s".into(),
                "restart Docker and run again",
            )]
        }
    };
    let mut out = vec![Check::ok(
        "docker",
        format!(
            "Docker engine {} (API {}) at {at}",
            version.version.unwrap_or_default(),
            version.api_version.unwrap_or_default()
        ),
    )];
    if let Ok(Ok(info)) = tokio::time::timeout(Duration::from_secs(5), docker.info()).await {
        let cpus = info.ncpu.unwrap_or(0);
        let mem_gib = info.mem_total.unwrap_or(0) as f64 / (1u64 << 30) as f64;
        let detail = format!("{cpus} CPUs, {mem_gib:.1} GiB memory for containers");
        let memory_fix = EngineProduct::from_info(
            info.operating_system.as_deref().unwrap_or_default(),
            info.name.as_deref().unwrap_or_default(),
            &endpoint.host,
        )
        .memory_fix();
        out.push(if mem_gib < 2.0 {
            Check::fail(
                "resources",
                detail,
                &format!(
                    "kind with Argo CD and Tekton needs at least 2 GiB (4 GiB recommended): {}",
                    memory_fix
                ),
            )
        } else if mem_gib < 4.0 || cpus < 2 {
            Check::warn(
                "resources",
                detail,
                &format!("4 GiB and 2 CPUs are recommended; phases may be slow: {}", memory_fix),
            )
        } else {
            Check::ok("resources", detail)
        });
        out.extend(docker_storage(info.docker_root_dir.as_deref().unwrap_or_default()));
        if info.cgroup_version.as_ref().map(|v| v.to_string()).as_deref() == Some("1") {
            out.push(Check::warn(
                CGROUP_V1,
                "the Docker host runs cgroup v1: kubelet 1.35+ exits there by default (KEP-5573)".into(),
                "kindops adds `failCgroupV1: false` to the kubelet through the kind config; cgroup v1 support is deprecated, so move the host to cgroup v2 when you can",
            ));
        }
    }
    out
}

/// Which product runs the container engine, for hints that name its own
/// settings. Read from `docker info`'s `OperatingSystem` and `Name`
/// (`GET /info`) and the endpoint ([`resolve_docker_endpoint`]): Docker
/// Desktop reports OperatingSystem "Docker Desktop"; Colima names its VM
/// "colima" (or "colima-PROFILE") and its socket lives under `~/.colima`;
/// Podman's Docker API socket path holds "podman"; Rancher Desktop's socket
/// is `~/.rd/docker.sock` and its VM is named "lima-rancher-desktop".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineProduct {
    DockerDesktop,
    /// `profile`: None for the default profile.
    Colima {
        profile: Option<String>,
    },
    Podman,
    RancherDesktop,
    /// Docker Engine on this machine (or one kindops cannot name).
    Local,
}

impl EngineProduct {
    pub fn from_info(os: &str, name: &str, host: &str) -> Self {
        if os == "Docker Desktop" {
            EngineProduct::DockerDesktop
        } else if name.starts_with("colima") || host.contains("/.colima/") {
            EngineProduct::Colima {
                profile: name.strip_prefix("colima-").map(str::to_string),
            }
        } else if host.contains("podman") {
            EngineProduct::Podman
        } else if host.contains("/.rd/") || name.contains("rancher-desktop") {
            EngineProduct::RancherDesktop
        } else {
            EngineProduct::Local
        }
    }

    /// The product behind a container CLI kind drives other than docker.
    pub fn from_cli(cli: &str) -> Self {
        if cli == "podman" {
            EngineProduct::Podman
        } else {
            EngineProduct::Local
        }
    }

    /// How to give the engine more memory.
    pub fn memory_fix(&self) -> String {
        match self {
            EngineProduct::DockerDesktop => "give Docker Desktop more memory (Settings → Resources → Advanced → Memory limit, then Apply & restart)".into(),
            EngineProduct::Colima { profile } => {
                let p = profile.as_ref().map(|p| format!(" --profile {p}")).unwrap_or_default();
                format!("restart Colima with more memory: `colima stop{p}`, then `colima start{p} --memory 4 --cpu 2`")
            }
            EngineProduct::Podman => "give the Podman machine more memory: `podman machine stop`, `podman machine set --memory 4096`, `podman machine start`".into(),
            EngineProduct::RancherDesktop => "give Rancher Desktop more memory (Preferences → Virtual Machine → Memory)".into(),
            EngineProduct::Local => "free memory on this machine (containers share the host's memory here), or use a larger machine".into(),
        }
    }

    /// How to share host folder `dir` into the engine's VM, so that a bind
    /// mount of it shows its files (where the engine runs in a VM, a folder
    /// the VM does not share is created empty inside the VM instead).
    pub fn share_fix(&self, dir: &std::path::Path) -> String {
        let d = dir.display();
        match self {
            EngineProduct::DockerDesktop => format!("add {d} (or a folder above it) in Docker Desktop's Settings → Resources → File sharing, then Apply & restart"),
            EngineProduct::Colima { profile } => {
                let (p, file) = match profile {
                    Some(p) => (format!(" --profile {p}"), format!("~/.colima/{p}/colima.yaml")),
                    None => (String::new(), "~/.colima/default/colima.yaml".into()),
                };
                format!("add `- location: {d}` with `writable: true` under `mounts:` in {file} (or `colima start{p} --edit`), then `colima restart{p}`")
            }
            EngineProduct::Podman => format!("the Podman machine shares only the folders given to `podman machine init --volume`: share {d} (e.g. `podman machine init --volume {d}:{d}` on a new machine), or keep kindops's data under your home folder (unset XDG_DATA_HOME)"),
            EngineProduct::RancherDesktop => format!("Rancher Desktop shares your home folder only: keep kindops's data under it (unset XDG_DATA_HOME), or add {d} to Lima's `mounts:` in Rancher Desktop's override.yaml"),
            EngineProduct::Local => format!("the container engine does not see {d} as this process does (a remote engine, or one in another mount namespace or VM): make {d} visible to it, or keep kindops's data under your home folder (unset XDG_DATA_HOME)"),
        }
    }
}

/// The product of the engine kind drives ([`EngineProduct`]): asks the
/// Docker engine (`GET /info`) when kind drives docker; `Local` when it
/// cannot tell.
pub async fn engine_product() -> EngineProduct {
    let cli = container_cli();
    if cli != "docker" {
        return EngineProduct::from_cli(cli);
    }
    let Ok(endpoint) = resolve_docker_endpoint(&|k| std::env::var(k).ok(), &docker_config_dir()) else {
        return EngineProduct::Local;
    };
    let Ok((docker, _)) = connect() else {
        return EngineProduct::Local;
    };
    match tokio::time::timeout(Duration::from_secs(5), docker.info()).await {
        Ok(Ok(info)) => EngineProduct::from_info(
            info.operating_system.as_deref().unwrap_or_default(),
            info.name.as_deref().unwrap_or_default(),
            &endpoint.host,
        ),
        _ => EngineProduct::Local,
    }
}

/// Free disk in the Docker engine's own storage (`docker info` →
/// `DockerRootDir`), where the node image and every image go: fails under
/// 2 GiB, warns under 10 GiB. Where that folder is not on this machine (Docker
/// Desktop, Colima, a remote engine: it lives in a VM), says it was not checked.
pub fn docker_storage(root_dir: &str) -> Vec<Check> {
    let dir = Path::new(root_dir);
    if root_dir.is_empty() || !dir.is_dir() {
        return vec![Check::ok(
            "disk",
            format!("Docker's storage ({root_dir}) is not on this machine (a VM or a remote engine): not checked; it needs ~10 GiB free"),
        )];
    }
    match free_gib(dir) {
        Some((gib, at)) => {
            let detail = format!("{gib:.1} GiB free at {} (Docker's storage)", at.display());
            if gib < 2.0 {
                vec![Check::fail("disk", detail, "free some disk space: kind's node image and the images need several GiB (`docker system prune` removes unused ones)")]
            } else if gib < 10.0 {
                vec![Check::warn(
                    "disk",
                    detail,
                    "10 GiB free is recommended for the node image and the images",
                )]
            } else {
                vec![Check::ok("disk", detail)]
            }
        }
        None => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    /// A docker config dir as `docker context create NAME --docker host=HOST`
    /// and `docker context use NAME` leave it (docker/cli's context store).
    fn config_with_context(name: &str, host: &str, current: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir
            .path()
            .join("contexts/meta")
            .join(hex::encode(sha2::Sha256::digest(name.as_bytes())));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
        )
        .unwrap();
        if current {
            std::fs::write(
                dir.path().join("config.json"),
                format!(r#"{{"auths":{{}},"currentContext":"{name}"}}"#),
            )
            .unwrap();
        }
        dir
    }

    #[test]
    fn the_memory_fix_is_named_for_each_engine() {
        let cases = [
            (
                (
                    "Docker Desktop",
                    "docker-desktop",
                    "unix:///Users/me/.docker/run/docker.sock",
                ),
                "Settings → Resources",
            ),
            (
                (
                    "Ubuntu 24.04.1 LTS",
                    "colima",
                    "unix:///Users/me/.colima/default/docker.sock",
                ),
                "colima start --memory 4",
            ),
            (
                (
                    "Ubuntu 24.04.1 LTS",
                    "colima-work",
                    "unix:///Users/me/.colima/work/docker.sock",
                ),
                "colima start --profile work --memory 4",
            ),
            (
                (
                    "fedora",
                    "localhost.localdomain",
                    "unix:///var/folders/x/T/podman/podman-machine-default-api.sock",
                ),
                "podman machine set --memory",
            ),
            (
                (
                    "Alpine Linux v3.20",
                    "lima-rancher-desktop",
                    "unix:///Users/me/.rd/docker.sock",
                ),
                "Rancher Desktop",
            ),
            (
                ("Debian GNU/Linux 13 (trixie)", "laptop", DEFAULT_DOCKER_HOST),
                "free memory on this machine",
            ),
        ];
        for ((os, name, host), want) in cases {
            let fix = EngineProduct::from_info(os, name, host).memory_fix();
            assert!(fix.contains(want), "{os} {name} {host}: {fix}");
        }
    }

    #[test]
    fn the_folder_to_share_is_named_with_where_to_share_it() {
        let dir = std::path::Path::new("/data/me/kindops/kindops/git");
        let cases = [
            (
                EngineProduct::DockerDesktop,
                "Docker Desktop's Settings → Resources → File sharing",
            ),
            (
                EngineProduct::Colima { profile: None },
                "under `mounts:` in ~/.colima/default/colima.yaml",
            ),
            (
                EngineProduct::Colima {
                    profile: Some("work".into()),
                },
                "`colima restart --profile work`",
            ),
            (
                EngineProduct::Podman,
                "podman machine init --volume /data/me/kindops/kindops/git:",
            ),
            (EngineProduct::Local, "make /data/me/kindops/kindops/git visible to it"),
        ];
        for (product, want) in cases {
            let fix = product.share_fix(dir);
            assert!(
                fix.contains(want) && fix.contains(&dir.display().to_string()),
                "{product:?}: {fix}"
            );
        }
    }

    #[test]
    fn docker_endpoint_follows_the_docker_cli_order() {
        let colima = config_with_context("colima", "unix:///Users/me/.colima/default/docker.sock", true);
        // currentContext from config.json.
        let e = resolve_docker_endpoint(&env(&[]), colima.path()).unwrap();
        assert_eq!(e.host, "unix:///Users/me/.colima/default/docker.sock");
        assert_eq!(e.source, "context colima");
        // DOCKER_HOST wins over everything.
        let e = resolve_docker_endpoint(&env(&[("DOCKER_HOST", "tcp://127.0.0.1:2375")]), colima.path()).unwrap();
        assert_eq!(
            (e.host.as_str(), e.source.as_str()),
            ("tcp://127.0.0.1:2375", "DOCKER_HOST")
        );
        // DOCKER_CONTEXT wins over currentContext; "default" is the default socket.
        let e = resolve_docker_endpoint(&env(&[("DOCKER_CONTEXT", "default")]), colima.path()).unwrap();
        assert_eq!(e.host, DEFAULT_DOCKER_HOST);
        // Nothing configured: the default socket.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            resolve_docker_endpoint(&env(&[]), empty.path()).unwrap().host,
            DEFAULT_DOCKER_HOST
        );
        // A context that does not exist is named, with the next step.
        let err = resolve_docker_endpoint(&env(&[("DOCKER_CONTEXT", "rancher-desktop")]), empty.path()).unwrap_err();
        assert!(
            err.contains("rancher-desktop") && err.contains("docker context use"),
            "{err}"
        );
    }
}
