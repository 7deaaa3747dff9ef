//! Pull-through caches of the public registries the phases pull from: one
//! registry container per upstream in distribution's proxy mode (its
//! configuration allows one `proxy.remoteurl` each; distribution
//! `docs/content/recipes/mirror.md`), on the kind network, its data in a
//! named volume that outlives the cluster. Every node's containerd tries the
//! cache first and the upstream itself after (`hosts.toml` with the
//! upstream as `server`, containerd `docs/hosts.md`), so a second cluster
//! after `kindops down` pulls what the first one pulled from the caches.
//!
//! The proxy's behaviour this relies on, read in distribution v3.1.2
//! (`registry/proxy/`): a tag is looked up at the remote first and, when the
//! remote does not answer, in the cache (`proxytagservice.go`, `Get`); a
//! manifest or blob by digest is served from the cache once fetched
//! (`proxymanifeststore.go`, `proxyblobstore.go`); content expires after
//! `proxy.ttl`, 168h by default, never when it is 0 (`proxyregistry.go`),
//! which kindops sets. The cache accepts no push.
//!
//! One upstream defect is worked around: a proxy whose remote does not
//! answer `GET /v2/` when it starts panics (`proxyauth.go`,
//! `configureAuth` → `getAuthURLs`; distribution/distribution#4038, open),
//! so after `kindops down` on a laptop with no network the cache of what
//! was pulled would never start. That probe belongs to the username and
//! password path only; a proxy configured with an exec credential helper
//! (`proxy.exec`, `configureExecAuth`) starts without asking the remote.
//! kindops configures [`CREDENTIALS_HELPER`], which answers every request
//! with empty credentials: the same anonymous pulls, and a cache that starts
//! offline (seen on the real-kind lane, `kind_registry.rs`).

use super::docker::Spec;
use super::CONTAINER_PORT;
use std::collections::BTreeMap;

/// One upstream registry: the host image references name and the URL its
/// registry API is served at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upstream {
    /// As image references write it (`docker.io`, `quay.io`).
    pub host: &'static str,
    /// Its registry API (Docker Hub's is `registry-1.docker.io`: distribution
    /// `docs/content/recipes/mirror.md` and containerd `docs/hosts.md`).
    pub server: &'static str,
}

/// The registries the phases' images come from (`kindops images`: the
/// rendered manifests of phases 0–4, checked 2026-12-07), but
/// mcr.microsoft.com, whose one image runs on Windows nodes only.
pub const UPSTREAMS: &[Upstream] = &[
    Upstream {
        host: "cgr.dev",
        server: "https://cgr.dev",
    },
    Upstream {
        host: "docker.io",
        server: "https://registry-1.docker.io",
    },
    Upstream {
        host: "gcr.io",
        server: "https://gcr.io",
    },
    Upstream {
        host: "ghcr.io",
        server: "https://ghcr.io",
    },
    Upstream {
        host: "public.ecr.aws",
        server: "https://public.ecr.aws",
    },
    Upstream {
        host: "quay.io",
        server: "https://quay.io",
    },
    Upstream {
        host: "registry.k8s.io",
        server: "https://registry.k8s.io",
    },
];

/// The exec credential helper kindops writes into each cache container (see
/// the module's note): docker-credential-helpers' protocol, `get` with the
/// server on stdin, answering empty credentials (anonymous pulls).
pub const CREDENTIALS_HELPER: &str = "/kindops/anonymous-credentials";

/// [`CREDENTIALS_HELPER`]'s text (`/bin/sh` is in upstream's Alpine-based
/// `registry` image and in the lane's busybox-based one).
const CREDENTIALS_HELPER_SCRIPT: &str = "#!/bin/sh\n# kindops: anonymous credentials for the pull-through cache (proxy.exec).\ncat >/dev/null\necho '{\"ServerURL\":\"\",\"Username\":\"\",\"Secret\":\"\"}'\n";

/// The label naming the upstream a cache container serves.
pub const UPSTREAM_LABEL: &str = "io.kindops.cache";

/// The cache container of `host`: `kindops-cache-<host, dots as dashes>`
/// (a plain DNS label on the kind network).
pub fn container(host: &str) -> String {
    format!("kindops-cache-{}", host.replace('.', "-"))
}

/// The cache's named volume.
pub fn volume(host: &str) -> String {
    format!("{}-data", container(host))
}

/// The cache container of `upstream`, proxying `remote` (the upstream's own
/// server unless `--upstream-mirror` names another), or, with `None`
/// (`--offline`), the same registry on the same volume without `proxy`: a
/// plain registry serving what the proxy stored there (the proxy keeps
/// manifests, tags and blobs in the registry's own storage layout:
/// `proxymanifeststore.go` and `proxytagservice.go` write through the local
/// repository). It answers a tag at once, where the proxy would first ask a
/// remote that cannot answer (measured on the real-kind lane: about 10 s a
/// lookup there, ~20 s an image).
pub fn spec(upstream: &Upstream, remote: Option<&str>) -> Spec {
    let (env, files) = match remote {
        Some(remote) => (
            vec![
                format!("{REMOTE_ENV}{remote}"),
                // Never expire what was pulled (distribution's default is 7 days).
                "REGISTRY_PROXY_TTL=0s".into(),
                format!("REGISTRY_PROXY_EXEC_COMMAND={CREDENTIALS_HELPER}"),
            ],
            vec![(CREDENTIALS_HELPER.to_string(), CREDENTIALS_HELPER_SCRIPT.to_string())],
        ),
        None => (vec![], vec![]),
    };
    Spec {
        name: container(upstream.host),
        volume: volume(upstream.host),
        port: None,
        env,
        labels: vec![(UPSTREAM_LABEL.to_string(), upstream.host.to_string())],
        files,
    }
}

/// The environment entry naming a cache's remote (distribution's
/// `proxy.remoteurl` as an environment override).
pub const REMOTE_ENV: &str = "REGISTRY_PROXY_REMOTEURL=";

/// The remote a cache container proxies, read off its environment; `None`
/// for one serving only what it holds (`--offline`).
pub fn proxied(env: &[String]) -> Option<&str> {
    env.iter().find_map(|e| e.strip_prefix(REMOTE_ENV))
}

/// The remote each upstream's cache proxies: its own server, or the mirror
/// `mirrors` names for its host (`--upstream-mirror HOST=URL`).
pub fn remote<'a>(upstream: &'a Upstream, mirrors: &'a BTreeMap<String, String>) -> &'a str {
    mirrors
        .get(upstream.host)
        .map(String::as_str)
        .unwrap_or(upstream.server)
}

/// The `hosts.toml` for `upstream` in every node: the cache first (pull and
/// resolve only: it accepts no push), the upstream's server as containerd's
/// fallback.
pub fn hosts_toml(upstream: &Upstream) -> String {
    let file = super::HostsToml {
        server: Some(upstream.server.to_string()),
        host: BTreeMap::from([(
            format!("http://{}:{CONTAINER_PORT}", container(upstream.host)),
            super::HostConfig {
                capabilities: Some(vec!["pull".into(), "resolve".into()]),
                skip_verify: None,
            },
        )]),
    };
    toml::to_string(&file).expect("a hosts.toml always serializes")
}

/// Where [`hosts_toml`] goes in a node.
pub fn hosts_toml_path(upstream: &Upstream) -> String {
    format!("{}/{}/hosts.toml", super::CERTS_D, upstream.host)
}

/// Parses `--upstream-mirror HOST=URL`: HOST one of [`UPSTREAMS`], URL an
/// http(s) registry base without a path.
///
/// # Errors
/// One line naming the value and the form to write.
pub fn parse_mirror(value: &str) -> Result<(String, String), String> {
    let (host, url) = value
        .split_once('=')
        .ok_or_else(|| format!("`{value}`: write REGISTRY=URL, e.g. docker.io=https://mirror.example.com"))?;
    if !UPSTREAMS.iter().any(|u| u.host == host) {
        let known: Vec<&str> = UPSTREAMS.iter().map(|u| u.host).collect();
        return Err(format!(
            "`{host}` has no cache; the cached registries are {}",
            known.join(", ")
        ));
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}`: {e}; write an http(s) URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || parsed.path() != "/" {
        return Err(format!(
            "`{url}`: write the registry's base URL, http(s)://HOST[:PORT] with no path (distribution's proxy.remoteurl)"
        ));
    }
    Ok((host.to_string(), url.trim_end_matches('/').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cache_is_a_proxy_of_its_upstream_tried_before_it() {
        let docker = UPSTREAMS.iter().find(|u| u.host == "docker.io").unwrap();
        assert_eq!(container("registry.k8s.io"), "kindops-cache-registry-k8s-io");
        let s = spec(docker, Some(remote(docker, &BTreeMap::new())));
        assert_eq!(s.name, "kindops-cache-docker-io");
        assert_eq!(s.volume, "kindops-cache-docker-io-data");
        assert_eq!(s.port, None);
        assert!(s
            .env
            .contains(&"REGISTRY_PROXY_REMOTEURL=https://registry-1.docker.io".to_string()));
        assert_eq!(proxied(&s.env), Some("https://registry-1.docker.io"));
        // Offline: the same container name and volume, no proxy.
        let offline = spec(docker, None);
        assert_eq!(
            (offline.name.as_str(), offline.volume.as_str()),
            (s.name.as_str(), s.volume.as_str())
        );
        assert_eq!(proxied(&offline.env), None);
        assert!(offline.files.is_empty());
        let mirrors = BTreeMap::from([("docker.io".to_string(), "http://standin:5000".to_string())]);
        assert_eq!(remote(docker, &mirrors), "http://standin:5000");
        let toml: toml::Value = toml::from_str(&hosts_toml(docker)).unwrap();
        assert_eq!(toml["server"].as_str(), Some("https://registry-1.docker.io"));
        assert_eq!(
            toml["host"]["http://kindops-cache-docker-io:5000"]["capabilities"],
            toml::Value::Array(vec!["pull".into(), "resolve".into()])
        );
        assert_eq!(hosts_toml_path(docker), "/etc/containerd/certs.d/docker.io/hosts.toml");
    }

    #[test]
    fn upstream_mirrors_name_a_cached_registry_and_a_base_url() {
        assert_eq!(
            parse_mirror("quay.io=http://standin:5000/").unwrap(),
            ("quay.io".to_string(), "http://standin:5000".to_string())
        );
        for (bad, said) in [
            ("quay.io", "write REGISTRY=URL"),
            ("example.com=https://m", "has no cache"),
            ("quay.io=ftp://m", "http(s)://HOST"),
            ("quay.io=https://m/v2", "no path"),
            ("quay.io=not a url", "not a url"),
        ] {
            let e = parse_mirror(bad).unwrap_err();
            assert!(e.contains(said), "{bad}: {e}");
        }
    }
}
