//! Phase 0's checks: Docker engine, binaries, host ports, inotify, disk, memory.
//!
//! Each check gives a [`Check`] with a verdict; a failed check stops the run
//! with what to do next. Warnings are reported and the run goes on.
//! [`preflight_step`] is phase 0's `preflight` step; `kindops doctor` runs the
//! checks alone.

use super::provider::{self, Target};
use super::step::{Done, StepCtx, StepError, StepResult};
use crate::upstream::Upstream;
use anyhow::Result;
use std::path::Path;
use std::time::Duration;

/// Verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One preflight check's outcome: `name` (e.g. `docker`), what was found, and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub verdict: Verdict,
    pub detail: String,
    pub hint: Option<String>,
}

impl Check {
    /// The check as one line, the same for `kindops doctor` and phase 0's log:
    /// `{verdict:7} {name:9} {detail} ({hint})`, verdict `ok`, `warning` or `FAILED`,
    /// e.g. `ok      docker    Docker engine 28.5.1 (API 1.51)`.
    pub fn line(&self) -> String {
        let word = match self.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "warning",
            Verdict::Fail => "FAILED",
        };
        let hint = self.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
        format!("{word:7} {:9} {}{hint}", self.name, self.detail)
    }

    fn ok(name: &str, detail: String) -> Self {
        Check {
            name: name.into(),
            verdict: Verdict::Ok,
            detail,
            hint: None,
        }
    }
    fn warn(name: &str, detail: String, hint: &str) -> Self {
        Check {
            name: name.into(),
            verdict: Verdict::Warn,
            detail,
            hint: Some(hint.into()),
        }
    }
    fn fail(name: &str, detail: String, hint: &str) -> Self {
        Check {
            name: name.into(),
            verdict: Verdict::Fail,
            detail,
            hint: Some(hint.into()),
        }
    }
}

/// The Docker engine: reachable (bollard, local defaults: `DOCKER_HOST` or
/// `/var/run/docker.sock`), its version, CPUs and memory (`GET /info`).
pub async fn docker() -> Vec<Check> {
    let docker = match bollard::Docker::connect_with_local_defaults() {
        Ok(d) => d,
        Err(e) => {
            return vec![Check::fail(
            "docker",
            format!("cannot connect to the Docker engine: {e}"),
            "start Docker (Linux: `sudo systemctl start docker`; macOS/Windows: start Docker Desktop) and run again",
        )]
        }
    };
    let version = tokio::time::timeout(Duration::from_secs(5), docker.version()).await;
    let version = match version {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return vec![Check::fail(
                "docker",
                format!("the Docker engine does not answer: {e}"),
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
            "Docker engine {} (API {})",
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
    }
    out
}

/// The binaries kindops runs, found on PATH with `which`.
pub fn binaries(names: &[&str]) -> Vec<Check> {
    names
        .iter()
        .map(|name| match which::which(name) {
            Ok(p) => Check::ok(name, format!("{name} at {}", p.display())),
            Err(_) => Check::fail(name, format!("`{name}` is not on PATH"), install_hint(name)),
        })
        .collect()
}

fn install_hint(name: &str) -> &'static str {
    match name {
        "kind" => "install kind v0.32: `go install sigs.k8s.io/kind@v0.32.0` or see https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
        "kubectl" => "install kubectl: https://kubernetes.io/docs/tasks/tools/ (or your package manager: apt install kubectl, brew install kubectl)",
        "git" => "install git (apt install git, brew install git)",
        _ => "install it and make sure it is on PATH",
    }
}

/// Host TCP ports kindops maps (bound on 127.0.0.1 to check they are free).
pub fn ports(ports: &[u16]) -> Vec<Check> {
    ports
        .iter()
        .map(|&p| match std::net::TcpListener::bind(("127.0.0.1", p)) {
            Ok(_) => Check::ok("ports", format!("127.0.0.1:{p} is free")),
            Err(e) => Check::fail(
                "ports",
                format!("127.0.0.1:{p} is in use ({e})"),
                "stop what listens there (`ss -ltnp` shows it), or pass --ui-port with another port",
            ),
        })
        .collect()
}

/// inotify limits (Linux): kind's known issue "too many open files" comes from
/// low `fs.inotify.max_user_watches` / `max_user_instances`
/// (kind docs, Known Issues: 524288 and 512 recommended).
pub fn inotify() -> Vec<Check> {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let (Some(watches), Some(instances)) = (
        read("/proc/sys/fs/inotify/max_user_watches"),
        read("/proc/sys/fs/inotify/max_user_instances"),
    ) else {
        return vec![];
    };
    let detail = format!("inotify max_user_watches={watches}, max_user_instances={instances}");
    if watches < 524_288 || instances < 512 {
        vec![Check::warn(
            "inotify",
            detail,
            "kind may fail with \"too many open files\": sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512",
        )]
    } else {
        vec![Check::ok("inotify", detail)]
    }
}

/// Free disk where kindops keeps its data and cache.
pub fn disk(dir: &Path) -> Vec<Check> {
    let probe = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    match nix::sys::statvfs::statvfs(probe) {
        Ok(s) => {
            let free_gib = (s.blocks_available() as f64 * s.fragment_size() as f64) / (1u64 << 30) as f64;
            let detail = format!("{free_gib:.1} GiB free at {}", probe.display());
            if free_gib < 2.0 {
                vec![Check::fail(
                    "disk",
                    detail,
                    "free some disk space: kind's node image and the images need several GiB",
                )]
            } else if free_gib < 10.0 {
                vec![Check::warn(
                    "disk",
                    detail,
                    "10 GiB free is recommended for the node image and the images",
                )]
            } else {
                vec![Check::ok("disk", detail)]
            }
        }
        Err(_) => vec![],
    }
}

/// `Ok(())` unless a check failed; then the first failure as an error.
pub fn verdict(checks: &[Check]) -> Result<(), Check> {
    match checks.iter().find(|c| c.verdict == Verdict::Fail) {
        Some(c) => Err(c.clone()),
        None => Ok(()),
    }
}

/// The `preflight` step (phase 0): the checks above for the target, the git
/// source decided (when a phase publishes), every upstream artifact resolved
/// and checksummed, and, with `--context`, the cluster connected.
pub(crate) async fn preflight_step(ctx: &mut StepCtx<'_>) -> StepResult {
    let settings = ctx.settings;
    let mut checks = Vec::new();
    match &settings.target {
        Target::Kind { name } => {
            checks.extend(docker().await);
            checks.extend(binaries(&["kind", "kubectl", "git"]));
            if verdict(&checks).is_ok() && !provider::kind_cluster_exists(ctx, name).await? {
                checks.extend(ports(&[settings.ui_port]));
            }
        }
        Target::Context { .. } => {
            checks.extend(binaries(&["kubectl", "git"]));
        }
    }
    checks.extend(
        inotify()
            .into_iter()
            .filter(|_| matches!(settings.target, Target::Kind { .. })),
    );
    checks.extend(disk(&settings.data_dir));
    for c in &checks {
        ctx.say(c.line());
    }
    if let Err(c) = verdict(&checks) {
        return Err(StepError::new(c.detail).object(c.name).hint_if(c.hint));
    }
    // The git source must be decidable before anything is created (only
    // phases that publish need one).
    let publishes = ctx.plan.publishes(settings.upto);
    settings
        .git_source()
        .map(|_| ())
        .or_else(|e| if publishes { Err(e) } else { Ok(()) })
        .map_err(|e| {
            StepError::new(format!("{e:#}"))
                .object("--repo-url")
                .hint("pass --repo-url URL")
        })?;
    // Every upstream artifact, checksums checked, before anything is applied.
    let up = Upstream {
        mirror: settings.mirror.clone(),
        cache_dir: settings.cache_dir.clone(),
    };
    let progress = ctx.progress();
    let resolved = up
        .resolve_all_reporting(&crate::upstream::pins(), &progress)
        .await
        .map_err(|e| {
            StepError::new(format!("{e:#}")).object("upstream artifacts").hint(
                "fix the mirror or the cache, or run `kindops fetch --into DIR` where there is internet and pass --mirror DIR",
            )
        })?;
    for r in &resolved {
        ctx.say(format!(
            "ok      upstream  {} {} {} (sha256 {}…, {})",
            r.pin.name,
            r.pin.version,
            r.pin.file,
            &r.sha256[..12],
            r.origin
        ));
    }
    ctx.run.upstream = resolved;
    if let Target::Context { context } = &settings.target {
        let client = provider::client_for(context).await.map_err(|e| {
            StepError::new(format!("{e:#}"))
                .object(format!("context {context}"))
                .hint("check `kubectl --context CONTEXT get nodes`")
        })?;
        let v = client.apiserver_version().await.map_err(anyhow::Error::from)?;
        ctx.say(format!(
            "ok      cluster   context {context}: Kubernetes {}",
            v.git_version
        ));
        ctx.set_client(client, context.clone());
    }
    let warnings = checks.iter().filter(|c| c.verdict == Verdict::Warn).count();
    Ok(Done::unchanged(format!(
        "{} checks passed, {warnings} warnings; {} upstream artifacts verified",
        checks.len() - warnings,
        ctx.run.upstream.len()
    )))
}
