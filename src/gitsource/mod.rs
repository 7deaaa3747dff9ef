//! The git source Argo CD pulls from.
//!
//! Argo CD accepts neither local paths nor dumb-HTTP git, but it does read
//! `file://` URLs inside the repo-server. So the zero-account default is a
//! bare repository on the host (`<data>/<cluster>/git/gitops.git`) that the
//! kind node mounts at `/var/lib/kindops/git` and the repo-server mounts from
//! the node (see `manifests/kind/cluster.yaml` and
//! `platform/argo-cd/repo-server-git-mount.yaml`): Argo CD's URL is
//! `file:///var/lib/kindops/git/gitops.git`. `--repo-url URL` uses any other
//! git remote instead (a `file://` path on the test bed where the repo-server
//! runs on the host, or a hosted repository with your own credentials).
//! [`push_hook`] is the built-in source's `post-receive` hook. Publishing
//! kindops's content there is the `publish-repo` step
//! (`engine::steps::publish_repo`).

pub mod push_hook;

use anyhow::{anyhow, Result};
use std::path::{Path, PathBuf};

/// Where kindops pushes and what Argo CD is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// The URL in Applications and the ApplicationSet (`spec.source.repoURL`).
    pub repo_url: String,
    /// Where kindops pushes: a local bare repository path or a remote URL.
    pub push_url: String,
    /// A bare repository kindops creates if missing (`file://` sources).
    pub local_bare: Option<PathBuf>,
    /// kindops's working clone.
    pub work_dir: PathBuf,
}

/// `git init` arguments for the built-in bare repository: world-readable on
/// purpose (`--shared=0644`: files 0644, directories 0755, whatever the
/// user's umask), since Argo CD's repo-server reads it as uid 999, not as the
/// host user who owns it.
pub const INIT_BARE: &[&str] = &["init", "--bare", "--shared=0644", "--initial-branch=main", "."];

/// Creates the built-in git source's folder (`<data>/<cluster>/git`, which
/// the kind node mounts) and, if given, the bare repository's folder, both
/// mode 0755 whatever the umask: the mount's root must be enterable by the
/// repo-server's uid 999.
///
/// Errors: I/O on the data directory (named).
pub fn prepare_builtin_dirs(git_dir: &Path, bare: Option<&Path>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for d in std::iter::once(git_dir).chain(bare) {
        std::fs::create_dir_all(d).map_err(|e| anyhow!("creating {}: {e}", d.display()))?;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| anyhow!("making {} readable for Argo CD's repo-server: {e}", d.display()))?;
    }
    Ok(())
}

/// Path inside the kind node (and the repo-server pod) of the mounted git dir.
pub const IN_CLUSTER_GIT_DIR: &str = "/var/lib/kindops/git";

impl GitSource {
    /// The default for a kind cluster: host bare repo under `git_dir`, read in the
    /// cluster through the node mount.
    pub fn builtin(git_dir: &Path, work_dir: PathBuf) -> Self {
        let bare = git_dir.join("gitops.git");
        GitSource {
            repo_url: format!("file://{IN_CLUSTER_GIT_DIR}/gitops.git"),
            push_url: bare.display().to_string(),
            local_bare: Some(bare),
            work_dir,
        }
    }

    /// `--repo-url URL`: Argo CD and kindops use the same URL.
    pub fn remote(url: &str, work_dir: PathBuf) -> Self {
        let local_bare = url.strip_prefix("file://").map(PathBuf::from);
        GitSource {
            repo_url: url.to_string(),
            push_url: url.to_string(),
            local_bare,
            work_dir,
        }
    }
}

/// A git command line, for the plain log and the child runner.
pub fn git_args(work: &Path, args: &[&str]) -> Vec<String> {
    let mut v = vec![
        "-C".to_string(),
        work.display().to_string(),
        "-c".into(),
        "user.name=kindops".into(),
        "-c".into(),
        "user.email=kindops@localhost".into(),
        "-c".into(),
        "commit.gpgsign=false".into(),
    ];
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// The branch of the git source that holds exactly kindops's own content, as
/// kindops last published it: each publish commits the new content there (its
/// parent: the content before) and merges that branch into `main` with git's
/// own merge, so `main` gets only what changed in kindops's content since its
/// last publish, and every commit someone else pushed stays. A learner can
/// merge it by hand too (`git merge origin/kindops/content`).
pub const CONTENT_BRANCH: &str = "kindops/content";

/// `--on-conflict`: for a file both kindops's new content and a commit on
/// `main` changed, which whole file wins. Only those files: kindops's other
/// changes are merged as usual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnConflict {
    /// The file as it is on `main` (your version).
    KeepMine,
    /// The file as kindops's new content has it.
    TakeKindops,
}

/// Makes kindops's work clone private to the user: the folder 0700 and
/// `.git/config` 0600, since the remote URL there carries whatever
/// credentials `--repo-url` has (`https://user:token@host/...`).
///
/// Errors: the modes cannot be set (named).
pub fn private_work_clone(work: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (p, mode) in [(work.to_path_buf(), 0o700), (work.join(".git/config"), 0o600)] {
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                .map_err(|e| anyhow!("making {} private (mode {mode:o}): {e}", p.display()))?;
        }
    }
    Ok(())
}
