//! The host's checks: binaries, host ports, inotify, disk (the container
//! engine's are in [`crate::docker`]).
//!
//! Each check gives a [`Check`] with a verdict; a failed check stops the run
//! with what to do next. Warnings are reported and the run goes on. Phase 0's
//! `preflight` step (`engine::steps::preflight`) runs them; so does
//! `kindops doctor`.

use anyhow::Result;
use std::path::Path;

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

    pub(super) fn ok(name: &str, detail: String) -> Self {
        Check {
            name: name.into(),
            verdict: Verdict::Ok,
            detail,
            hint: None,
        }
    }
    pub(super) fn warn(name: &str, detail: String, hint: &str) -> Self {
        Check {
            name: name.into(),
            verdict: Verdict::Warn,
            detail,
            hint: Some(hint.into()),
        }
    }
    pub(super) fn fail(name: &str, detail: String, hint: &str) -> Self {
        Check {
            name: name.into(),
            verdict: Verdict::Fail,
            detail,
            hint: Some(hint.into()),
        }
    }
}

/// `kind version` against the kind release kindops is made for
/// (`manifests/kind/versions.yaml`): a different minor release warns, with
/// what to do (kind's config, flags and default node image change between
/// minor releases).
pub async fn kind_version() -> Vec<Check> {
    let want = crate::content::kind_versions().kind;
    let fin = crate::proc::output("kind", &["version"]).await;
    let Ok(fin) = fin else { return vec![] };
    // "kind v0.32.0 go1.26.8 linux/amd64"
    let got = fin.stdout.split_whitespace().nth(1).unwrap_or_default().to_string();
    let minor = |v: &str| {
        v.trim_start_matches('v')
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    };
    if fin.success && minor(&got) == minor(&want) {
        vec![Check::ok("kind", format!("kind {got} (kindops is made for {want})"))]
    } else {
        vec![Check::warn(
            "kind",
            format!("kind {} is not the release kindops is made for ({want})", if got.is_empty() { "?" } else { &got }),
            "install kind v0.32.0 (`go install sigs.k8s.io/kind@v0.32.0`, then `$(go env GOPATH)/bin` first on PATH; or `brew install kind`), or pass --node-image with a node image built for your kind release",
        )]
    }
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

/// How to install a missing tool on this OS (macOS: Homebrew; Linux: the
/// upstream's own instructions, which work without a distribution package).
fn install_hint(name: &str) -> &'static str {
    let mac = cfg!(target_os = "macos");
    match (name, mac) {
        ("kind", true) => "install kind v0.32: `brew install kind` (or `go install sigs.k8s.io/kind@v0.32.0`, then add `$(go env GOPATH)/bin` to PATH)",
        ("kind", false) => "install kind v0.32: `go install sigs.k8s.io/kind@v0.32.0` (no root needed; it lands in `$(go env GOPATH)/bin`, ~/go/bin by default: add that to PATH, e.g. `export PATH=\"$(go env GOPATH)/bin:$PATH\"` in your shell's rc file), or the release binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
        ("kubectl", true) => "install kubectl: `brew install kubectl`",
        ("kubectl", false) => "install kubectl: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ (a single binary in ~/.local/bin works without root), or your package manager",
        ("git", true) => "install git: `xcode-select --install` or `brew install git`",
        ("git", false) => "install git with your package manager (`sudo apt install git`, `sudo dnf install git`)",
        ("docker", true) => "kind drives the docker CLI: install Docker Desktop, or `brew install docker` for Colima",
        ("docker", false) => "kind drives the docker CLI: install it with Docker Engine (docs.docker.com/engine/install) or your package manager",
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

/// Free disk at `dir` (its nearest existing ancestor), in GiB; `None` when it cannot be read.
pub(crate) fn free_gib(dir: &Path) -> Option<(f64, std::path::PathBuf)> {
    let probe = dir.ancestors().find(|p| p.exists()).unwrap_or(Path::new("/"));
    let s = nix::sys::statvfs::statvfs(probe).ok()?;
    Some((
        (s.blocks_available() as f64 * s.fragment_size() as f64) / (1u64 << 30) as f64,
        probe.to_path_buf(),
    ))
}

/// Free disk where kindops keeps its data, cache and git source (small: the
/// pinned artifacts are ~10 MiB): fails under 0.5 GiB.
pub fn disk(dir: &Path) -> Vec<Check> {
    match free_gib(dir) {
        Some((gib, at)) if gib < 0.5 => vec![Check::fail(
            "disk",
            format!("{gib:.1} GiB free at {} (kindops's data and cache)", at.display()),
            "free some disk space there",
        )],
        Some((gib, at)) => vec![Check::ok(
            "disk",
            format!("{gib:.1} GiB free at {} (kindops's data and cache)", at.display()),
        )],
        None => vec![],
    }
}

/// `Ok(())` unless a check failed; then the first failure as an error.
pub fn verdict(checks: &[Check]) -> Result<(), Check> {
    match checks.iter().find(|c| c.verdict == Verdict::Fail) {
        Some(c) => Err(c.clone()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `go install` puts kind in `$(go env GOPATH)/bin`, which is not on a
    /// fresh machine's PATH: the hint says to add it.
    #[test]
    fn the_kind_install_hint_says_to_put_gopath_bin_on_path() {
        let hint = install_hint("kind");
        assert!(hint.contains("go install sigs.k8s.io/kind@v0.32.0"), "{hint}");
        assert!(hint.contains("$(go env GOPATH)/bin") && hint.contains("PATH"), "{hint}");
    }
}
