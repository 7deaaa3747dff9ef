//! The container engine kind will use, found as kind finds it: the Docker
//! engine at the endpoint the docker CLI resolves (`DOCKER_HOST`, docker
//! contexts), or the CLI `KIND_EXPERIMENTAL_PROVIDER` names; its version,
//! resources, storage and cgroup version, as preflight [`Check`]s.

use super::preflight::{free_gib, Check};
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

/// The container engine kind will use: with `KIND_EXPERIMENTAL_PROVIDER`
/// podman or nerdctl, that CLI (checked with `<cli> version`); else the Docker
/// engine at [`resolve_docker_endpoint`]'s endpoint, asked for its version,
/// CPUs and memory (`GET /version`, `GET /info`).
pub async fn container_engine() -> Vec<Check> {
    let cli = super::provider::container_cli();
    if cli != "docker" {
        let ok = super::proc::output(cli, &["version"]).await;
        return vec![match ok {
            Ok(f) if f.success => Check::ok(
                "engine",
                format!("{cli} (KIND_EXPERIMENTAL_PROVIDER) answers `{cli} version`"),
            ),
            Ok(f) => Check::fail(
                "engine",
                format!("`{cli} version` failed: {}", f.tail.join(" / ")),
                "start it (e.g. `podman machine start`), or unset KIND_EXPERIMENTAL_PROVIDER to use Docker",
            ),
            Err(e) => Check::fail(
                "engine",
                format!("{e:#}"),
                "install it, or unset KIND_EXPERIMENTAL_PROVIDER to use Docker",
            ),
        }];
    }
    docker().await
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
            let ok = super::proc::output("docker", &["version"]).await;
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
        out.push(if mem_gib < 2.0 {
            Check::fail(
                "resources",
                detail,
                "kind with Argo CD and Tekton needs at least 2 GiB (4 GiB recommended); give Docker more memory",
            )
        } else if mem_gib < 4.0 || cpus < 2 {
            Check::warn(
                "resources",
                detail,
                "4 GiB and 2 CPUs are recommended; phases may be slow",
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
