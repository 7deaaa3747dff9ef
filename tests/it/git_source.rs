//! The built-in git source as Argo CD's repo-server reads it on kind: a bare
//! repository created by the host user (here under umask 077), mounted into
//! the node at /var/lib/kindops/git and read as uid 999 (the repo-server's
//! user) with the system gitconfig kindops ships
//! (`manifests/gitops/platform/argo-cd/repo-server-gitconfig.yaml`).
//! Real git, a real uid switch (`setpriv`) and a real bind mount in a private
//! mount namespace (`unshare -m`); needs root, as the test bed does.
//!
//! Own test binary: it sets the process umask.

use kindops::gitsource::{git_args, prepare_builtin_dirs, INIT_BARE, IN_CLUSTER_GIT_DIR};
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").args(git_args(dir, args)).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn repo_server_uid_999_reads_the_builtin_git_source_made_under_umask_077() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let tmp = tempfile::tempdir().unwrap();
    // Only so uid 999 can open the gitconfig below (in the pod: /etc/gitconfig).
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let git_dir = tmp.path().join("kindops/git");
    let bare = git_dir.join("gitops.git");
    // What kindops does: the mounted folder, then the bare repository, then a publish.
    prepare_builtin_dirs(&git_dir, Some(&bare)).unwrap();
    git(&bare, INIT_BARE);
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "--initial-branch=main", "."]);
    std::fs::write(work.join("kustomization.yaml"), "resources: []\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "publish"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "HEAD:refs/heads/main"]);

    // The shipped system gitconfig, verbatim.
    let cm: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/gitops/platform/argo-cd/repo-server-gitconfig.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let gitconfig = tmp.path().join("gitconfig");
    std::fs::write(&gitconfig, cm["data"]["gitconfig"].as_str().unwrap()).unwrap();
    std::fs::set_permissions(&gitconfig, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();

    // In a private mount namespace: /var/lib is a fresh tmpfs (nothing of the
    // host's is touched), the git folder is bind-mounted where the node has it,
    // and uid 999 lists the repository as the repo-server would. (The node's own
    // folders above the mount are 0755, as Docker makes mount points.)
    let url = format!("file://{IN_CLUSTER_GIT_DIR}/gitops.git");
    let script = format!(
        "umask 022 && mount -t tmpfs tmpfs /var/lib && mkdir -p {IN_CLUSTER_GIT_DIR} && mount --bind {} {IN_CLUSTER_GIT_DIR} && \
         exec setpriv --reuid 999 --regid 999 --clear-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent GIT_CONFIG_SYSTEM={} git ls-remote {url}",
        git_dir.display(),
        gitconfig.display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("refs/heads/main"),
        "uid 999 cannot read {url}: {text}"
    );
}
