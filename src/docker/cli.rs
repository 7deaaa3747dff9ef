//! The container CLI kind drives (docker, podman, nerdctl, finch), picked
//! as kind v0.32.0 picks its provider, and what a kind target needs on PATH.

/// What a kind target needs on PATH: kind, the container CLI kind drives
/// (kind shells out to `docker`, `podman` or `nerdctl`), kubectl, git.
pub fn kind_binaries() -> [&'static str; 4] {
    ["kind", container_cli(), "kubectl", "git"]
}

/// The container CLI kind drives, picked as kind v0.32.0 picks its provider
/// (cached for the process; see [`detect_container_cli`]).
pub fn container_cli() -> &'static str {
    static CLI: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    CLI.get_or_init(|| {
        detect_container_cli(
            std::env::var("KIND_EXPERIMENTAL_PROVIDER").ok().as_deref(),
            std::env::var_os("PATH").unwrap_or_default(),
        )
    })
}

/// The container CLI kind v0.32.0 drives, given `KIND_EXPERIMENTAL_PROVIDER`
/// and a `PATH`: one of `docker`, `nerdctl`, `finch`, `nerdctl.lima`, `podman`.
///
/// Upstream (kind v0.32.0):
/// - `pkg/internal/runtime/runtime.go` (`GetDefault`): a set
///   `KIND_EXPERIMENTAL_PROVIDER` wins (`podman`, `docker`, `nerdctl`,
///   `finch`, `nerdctl.lima`); another value is ignored (kind warns).
/// - else `pkg/cluster/provider.go` (`DetectNodeProvider`): docker if
///   `docker -v` prints one line starting `Docker version`, else nerdctl if
///   `nerdctl -v` prints `nerdctl version…` (or `finch -v` prints
///   `finch version…`), else podman if `podman -v` prints `podman version…`;
///   with none of them, `NewProvider` falls back to docker.
///   (`pkg/cluster/internal/providers/{docker,nerdctl,podman}/util.go`, `IsAvailable`.)
///
/// So a `docker` that is Podman's shim (`docker -v` → `podman version 5…`)
/// means podman, as for kind. The CLIs are looked up in `path` only (the
/// `which` crate) and run with `-v`; nothing else is read.
pub fn detect_container_cli(env_provider: Option<&str>, path: std::ffi::OsString) -> &'static str {
    match env_provider {
        Some("podman") => return "podman",
        Some("docker") => return "docker",
        Some("nerdctl") => return "nerdctl",
        Some("finch") => return "finch",
        Some("nerdctl.lima") => return "nerdctl.lima",
        _ => {}
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    // One line starting with `prefix` from `<cli> -v` (kind's IsAvailable).
    let answers = |cli: &str, prefix: &str| -> bool {
        let Ok(bin) = which::which_in(cli, Some(&path), &cwd) else {
            return false;
        };
        let Ok(out) = std::process::Command::new(bin)
            .arg("-v")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
        else {
            return false;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        out.status.success() && lines.len() == 1 && lines[0].starts_with(prefix)
    };
    if answers("docker", "Docker version") {
        "docker"
    } else if answers("nerdctl", "nerdctl version") {
        "nerdctl"
    } else if answers("finch", "finch version") {
        "finch"
    } else if answers("podman", "podman version") {
        "podman"
    } else {
        "docker"
    }
}

#[cfg(test)]
mod tests;
