//! The built-in git source's `post-receive` hook: a push tells Argo CD at once,
//! as a git host's webhook would.
//!
//! Without it a learner's own `git push` to the built-in git source is seen at
//! Argo CD's next poll: the application-controller's `timeout.reconciliation`
//! (30 s in our argocd-cm, plus up to `timeout.reconciliation.jitter`, 60 s by
//! default: Argo CD v3.5.1 `util/settings/settings.go`) and the
//! ApplicationSet's git generator requeue, so 30–90 s. The hook runs
//! `kindops refresh` for the cluster that published, which sets the same
//! refresh annotations Argo CD's own webhook handler sets
//! ([`crate::argocd::refresh::refresh_argo`]).
//!
//! kindops's own pushes skip the hook ([`PUBLISHING_ENV`]): the `publish-repo`
//! step refreshes after pushing anyway.

use crate::cluster::Target;
use anyhow::{anyhow, Result};
use std::path::Path;

/// Set in the environment of kindops's own git commands; the hook exits at
/// once when it sees it (git passes the pusher's environment to the hooks of
/// a local bare repository).
pub const PUBLISHING_ENV: &str = "KINDOPS_PUBLISHING";

/// Set by the in-cluster git server (`ci/coffee/git-source.yaml`), which
/// runs this same hook for CI's write-back pushes: the host's kindops binary
/// is not there, and the pipeline asks Argo CD to refresh itself.
pub const GIT_SERVER_ENV: &str = "KINDOPS_GIT_SERVER";

/// The hook's first comment line, so a hook someone else wrote is never
/// overwritten.
const MARKER: &str = "# kindops post-receive hook";

/// The hook script for `target`: runs `exe refresh --post-receive` with the
/// cluster flags (and, when `kubeconfig` is given, that `KUBECONFIG`), git's
/// ref updates on its stdin (so a push touching `products/` also reaches the
/// coffee CI: `ci::push_event`), never fails the push (a post-receive hook
/// cannot refuse it anyway) and says what to do when Argo CD could not be
/// told.
///
/// Errors: a path that cannot be quoted for `sh` (a NUL byte).
pub fn script(exe: &Path, target: &Target, kubeconfig: Option<&str>) -> Result<String> {
    let q = |s: &str| {
        shlex::try_quote(s)
            .map(|c| c.into_owned())
            .map_err(|e| anyhow!("{s:?}: {e}"))
    };
    let flags = match target {
        Target::Kind { name } => format!("--cluster {}", q(name)?),
        Target::Context { context } => format!("--context {}", q(context)?),
    };
    let env = match kubeconfig {
        Some(k) => format!("KUBECONFIG={}\nexport KUBECONFIG\n", q(k)?),
        None => String::new(),
    };
    let exe = q(&exe.display().to_string())?;
    Ok(format!(
        "#!/bin/sh\n{MARKER}: tells Argo CD about this push at once, as a git\n\
         # host's webhook would (else Argo CD sees it at its next poll, 30-90 s).\n\
         # Written by `kindops up`; delete this file to turn it off.\n\
         [ -n \"${PUBLISHING_ENV}\" ] && exit 0\n\
         [ -n \"${GIT_SERVER_ENV}\" ] && exit 0\n\
         {env}\
         {exe} refresh {flags} --quiet --post-receive ||\n  \
         echo \"kindops: could not ask Argo CD to refresh; it sees this push at its next poll (30-90 s). Try: kindops refresh {flags}\" >&2\n\
         exit 0\n"
    ))
}

/// Writes `hooks/post-receive` into the bare repository `bare` (mode 0755: git
/// runs only executable hooks; it holds no secret). Leaves a hook kindops did
/// not write alone, and returns whether it wrote (`false`: unchanged or
/// someone else's).
///
/// Errors: I/O on the repository's `hooks` folder (named).
pub fn install(bare: &Path, script: &str) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let dir = bare.join("hooks");
    let path = dir.join("post-receive");
    match std::fs::read_to_string(&path) {
        Ok(old) if old == script => return Ok(false),
        Ok(old) if !old.lines().nth(1).is_some_and(|l| l.starts_with(MARKER)) => return Ok(false),
        _ => {}
    }
    std::fs::create_dir_all(&dir).map_err(|e| anyhow!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(".post-receive.kindops");
    std::fs::write(&tmp, script).map_err(|e| anyhow!("writing {}: {e}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| anyhow!("making {} executable: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| anyhow!("writing {}: {e}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_hook(dir: &Path, script: &str, env: &[(&str, &str)]) -> std::process::Output {
        let bare = dir.join("r.git");
        std::fs::create_dir_all(&bare).unwrap();
        assert!(install(&bare, script).unwrap());
        let mut c = std::process::Command::new(bare.join("hooks/post-receive"));
        c.env_remove(PUBLISHING_ENV);
        for (k, v) in env {
            c.env(k, v);
        }
        // Another test thread's fork may still hold the hook's write fd
        // (inherited until its exec): exec then fails with ETXTBSY, a race
        // of the test process only (seen once in the test bed's suite).
        use backon::{BlockingRetryable, ConstantBuilder};
        (|| c.output())
            .retry(
                ConstantBuilder::default()
                    .with_delay(std::time::Duration::from_millis(50))
                    .with_max_times(20),
            )
            .when(|e| e.kind() == std::io::ErrorKind::ExecutableFileBusy)
            .call()
            .unwrap()
    }

    #[test]
    fn the_hook_runs_refresh_with_the_cluster_flags_and_never_fails_the_push() {
        let tmp = tempfile::tempdir().unwrap();
        // A stand-in for the kindops binary that records its arguments and fails.
        let exe = tmp.path().join("fake kindops");
        let log = tmp.path().join("args");
        std::fs::write(
            &exe,
            format!("#!/bin/sh\necho \"$KUBECONFIG $*\" > '{}'\nexit 1\n", log.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let target = Target::Context {
            context: "my ctx".into(),
        };
        let s = script(&exe, &target, Some("/k/config")).unwrap();
        let out = run_hook(tmp.path(), &s, &[]);
        assert!(out.status.success());
        assert_eq!(
            std::fs::read_to_string(&log).unwrap().trim(),
            "/k/config refresh --context my ctx --quiet --post-receive"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("kindops refresh --context 'my ctx'"), "{err}");
        // kindops's own push: the hook does nothing.
        std::fs::remove_file(&log).unwrap();
        let bare = tmp.path().join("r.git");
        let out = std::process::Command::new(bare.join("hooks/post-receive"))
            .env(PUBLISHING_ENV, "1")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!log.exists());
    }

    #[test]
    fn someone_elses_hook_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let hooks = tmp.path().join("hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        std::fs::write(hooks.join("post-receive"), "#!/bin/sh\necho mine\n").unwrap();
        let s = script(Path::new("/bin/kindops"), &Target::Kind { name: "k".into() }, None).unwrap();
        assert!(!install(tmp.path(), &s).unwrap());
        assert_eq!(
            std::fs::read_to_string(hooks.join("post-receive")).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        // Ours is rewritten only when it changed.
        std::fs::remove_file(hooks.join("post-receive")).unwrap();
        assert!(install(tmp.path(), &s).unwrap());
        assert!(!install(tmp.path(), &s).unwrap());
        let s2 = script(Path::new("/usr/bin/kindops"), &Target::Kind { name: "k".into() }, None).unwrap();
        assert!(install(tmp.path(), &s2).unwrap());
    }
}
