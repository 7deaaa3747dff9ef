//! The git source Argo CD pulls from, and publishing the GitOps content to it.
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
//!
//! [`publish_repo_step`] is the `publish-repo` step. A re-run keeps every
//! commit someone else made: kindops keeps its own content on the branch
//! [`CONTENT_BRANCH`] and merges it into `main` with `git merge`.

use super::git_merge::{legacy_base, merge_content, rev, stdout_of, write_tree};
use super::step::{Done, StepCtx, StepError, StepResult};
use super::ARGOCD_NAMESPACE;
use crate::argocd::refresh::{refresh_argo, refresh_argo_not_at, resync_given_up};
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

/// The config key kindops sets in a bare repository once it has allowed
/// force pushes there ([`allow_force_push`]), so a later choice of the
/// repository's owner is kept.
const FORCE_PUSH_DECIDED: &str = "kindops.forcePushAllowed";

/// `git init --shared` also sets `receive.denyNonFastForwards=true` (`git help
/// init`, `--shared`: "the configuration flag receive.denyNonFastForwards is
/// enabled in shared repositories"; git `setup.c`), which refuses a learner's
/// `git push --force` after an amend or a rebase. kindops's repository is the
/// learner's own, as a repository on a git host is: allow it, once (recorded
/// as [`FORCE_PUSH_DECIDED`]), so `git config receive.denyNonFastForwards
/// true` set later by the owner stays. kindops's publish merges whatever main
/// then has, so a rewritten main is safe for it.
async fn allow_force_push(ctx: &StepCtx<'_>, bare: &Path) -> Result<bool> {
    let get = |key: &'static str| async move {
        ctx.git(bare, &["config", "--get", key])
            .await
            .map(|o| o.output.trim().to_string())
            .ok()
    };
    if get(FORCE_PUSH_DECIDED).await.is_some() {
        return Ok(false);
    }
    let denied = get("receive.denyNonFastForwards").await.as_deref() == Some("true");
    if denied {
        ctx.git(bare, &["config", "receive.denyNonFastForwards", "false"])
            .await?;
    }
    ctx.git(bare, &["config", FORCE_PUSH_DECIDED, "true"]).await?;
    Ok(denied)
}

/// The `publish-repo` step: publishes the materialized GitOps tree as the
/// next version of kindops's content and merges it into the remote's `main`
/// ([`publish`]: every commit someone else made stays), then asks Argo CD to sync again
/// what it gave up on ([`resync_given_up`]) and to refresh ([`refresh_argo`]).
pub(crate) async fn publish_repo_step(ctx: &mut StepCtx<'_>) -> StepResult {
    let tree = ctx.tree_dir()?;
    let src = ctx.settings.git_source()?;
    let fail = |e: anyhow::Error| {
        StepError::new(format!("{e:#}"))
            .object(format!("git source {}", src.push_url))
            .hint("check that you can push there (`git ls-remote URL`), or pass another --repo-url")
    };
    if let Some(bare) = &src.local_bare {
        let created = !bare.join("HEAD").exists();
        if created {
            if src.repo_url.starts_with(&format!("file://{IN_CLUSTER_GIT_DIR}")) {
                prepare_builtin_dirs(bare.parent().unwrap_or(bare), Some(bare)).map_err(fail)?;
            } else {
                std::fs::create_dir_all(bare)
                    .map_err(|e| fail(anyhow!("creating the bare repository {}: {e}", bare.display())))?;
            }
            ctx.git(bare, INIT_BARE).await.map_err(fail)?;
        }
        // Only repositories kindops made: the built-in one, or one it just created.
        let ours = src.repo_url.starts_with(&format!("file://{IN_CLUSTER_GIT_DIR}")) || created;
        if ours && allow_force_push(ctx, bare).await.map_err(fail)? {
            ctx.say(format!(
                "{}: force pushes allowed (receive.denyNonFastForwards=false; `git init --shared` had refused them)",
                bare.display()
            ));
        }
        // A learner's own push then tells Argo CD at once (see push_hook).
        if let Ok(exe) = std::env::current_exe() {
            let kubeconfig = std::env::var("KUBECONFIG").ok().filter(|k| !k.is_empty());
            let script = super::push_hook::script(&exe, &ctx.settings.target, kubeconfig.as_deref()).map_err(fail)?;
            if super::push_hook::install(bare, &script).map_err(fail)? {
                ctx.say(format!(
                    "installed {}/hooks/post-receive: a push there asks Argo CD to refresh at once",
                    bare.display()
                ));
            }
        }
    }
    let work = src.work_dir.clone();
    // An earlier phase of this run published this same tree (it is made once
    // per run): while the remote still has that commit, there is nothing to
    // publish again (a learner's push in between is merged as below).
    let unmoved = match ctx.run.revision.clone() {
        Some(prev) if work.join(".git").exists() => ctx
            .git(&work, &["ls-remote", &src.push_url, "refs/heads/main"])
            .await
            .ok()
            .filter(|o| o.output.split_whitespace().next() == Some(prev.as_str()))
            .map(|_| prev),
        _ => None,
    };
    if let Some(rev) = unmoved {
        // That publish also asked Argo CD to refresh and to retry what it had
        // given up on; nothing new to ask.
        return Ok(Done::unchanged(format!(
            "no changes; still {} to {} (published earlier in this run)",
            &rev[..rev.len().min(7)],
            src.push_url
        )));
    }
    let (changed, rev) = publish(ctx, &tree, &src, &work, &fail).await?;
    ctx.run.revision = Some(rev.clone());
    let refreshed = match ctx.run.client.clone() {
        Some(c) => {
            for name in resync_given_up(&c, ARGOCD_NAMESPACE).await? {
                ctx.say(format!(
                    "Application {ARGOCD_NAMESPACE}/{name}: Argo CD had given up on its failed sync; asked it to sync again"
                ));
            }
            // A commit that changed nothing: what Argo CD already compared
            // at this revision needs no second look.
            if changed {
                refresh_argo(&c, ARGOCD_NAMESPACE).await?
            } else {
                refresh_argo_not_at(&c, ARGOCD_NAMESPACE, &rev).await?
            }
        }
        None => 0,
    };
    Ok(Done::new(
        changed,
        format!(
            "{} {} to {} (Argo CD reads {}); asked Argo CD to refresh {refreshed} objects",
            if changed { "published" } else { "no changes; still" },
            &rev[..rev.len().min(7)],
            src.push_url,
            src.repo_url
        ),
    ))
}

/// Publishes `tree` (kindops's whole content) to the git source without
/// undoing a commit anyone else made:
///
/// 1. `git fetch` the remote's `main` and [`CONTENT_BRANCH`];
/// 2. commits `tree` as the next commit of [`CONTENT_BRANCH`], whose parent is
///    the content kindops published before (no commit when it is the same);
/// 3. merges that commit into `main` in the work clone (`git merge`: the
///    merge base is the content before, so only what kindops changed in its
///    own content since is applied);
/// 4. pushes what moved, both refs at once and never forced (`git push
///    --atomic`): a push made meanwhile makes it fail, and nothing is lost.
///
/// Which base for a repository with a `main` but no [`CONTENT_BRANCH`] (an
/// older kindops published it, or it is anybody's): see [`legacy_base`].
///
/// Returns (whether `main` moved, the commit now on `main`).
///
/// Errors: a git command fails (named, with its output); kindops's new
/// content and someone's commit changed the same file ([`conflict`]: nothing
/// pushed, the file(s) and both ways forward named); someone pushed between
/// the fetch and the push.
async fn publish(
    ctx: &mut StepCtx<'_>,
    tree: &Path,
    src: &GitSource,
    work: &Path,
    fail: &(dyn Fn(anyhow::Error) -> StepError + Sync),
) -> std::result::Result<(bool, String), StepError> {
    let n = ctx.phase;
    let work = work.to_path_buf();
    // The work clone is kindops's own scratch copy of the git source (every
    // commit lives in the source). It is made in a sibling folder and
    // renamed into place, so an interrupted run never leaves half of one;
    // one an older kindops left half made (`git init` or `remote add`
    // interrupted: `.git` without a HEAD or without `origin`) is made again.
    let usable = work.join(".git").exists() && ctx.git(&work, &["remote", "get-url", "origin"]).await.is_ok();
    if !usable {
        let io = |what: &str, p: &Path, e: std::io::Error| anyhow!("{what} kindops's work clone {}: {e}", p.display());
        if work.exists() {
            ctx.say(format!(
                "kindops's work clone {} is incomplete (an interrupted run): removing it and making it again from the git source (nothing of yours is in it: every commit is in the source)",
                work.display()
            ));
            std::fs::remove_dir_all(&work).map_err(|e| io("removing", &work, e))?;
        }
        let new = work.with_extension("new");
        if new.exists() {
            std::fs::remove_dir_all(&new).map_err(|e| io("removing the half-made", &new, e))?;
        }
        std::fs::create_dir_all(&new).map_err(|e| io("creating", &new, e))?;
        ctx.git(&new, &["init", "--initial-branch=main", "."])
            .await
            .map_err(fail)?;
        ctx.git(&new, &["remote", "add", "origin", &src.push_url])
            .await
            .map_err(fail)?;
        std::fs::rename(&new, &work).map_err(|e| io("moving into place", &work, e))?;
    } else {
        ctx.git(&work, &["remote", "set-url", "origin", &src.push_url])
            .await
            .map_err(fail)?;
    }
    private_work_clone(&work)?;
    ctx.git(&work, &["fetch", "--prune", "origin"]).await.map_err(fail)?;
    let main = rev(ctx, &work, "refs/remotes/origin/main").await;
    let published = rev(ctx, &work, &format!("refs/remotes/origin/{CONTENT_BRANCH}")).await;
    let content_tree = write_tree(ctx, &work, tree).await.map_err(fail)?;
    // The content kindops published last: the merge base.
    let (before, adopt) = match (&published, &main) {
        (Some(p), _) => (Some(p.clone()), false),
        (None, Some(m)) => {
            let base = legacy_base(ctx, &work, m, &content_tree).await.map_err(fail)?;
            let adopt = base.is_some();
            (base, adopt)
        }
        (None, None) => (None, false),
    };
    let same = match &before {
        Some(b) => rev(ctx, &work, &format!("{b}^{{tree}}")).await.as_deref() == Some(content_tree.as_str()),
        None => false,
    };
    let content = match &before {
        Some(b) if same => b.clone(),
        _ => {
            let msg = format!("kindops {}: GitOps content (phase {n})", env!("CARGO_PKG_VERSION"));
            let mut args = vec!["commit-tree", content_tree.as_str(), "-m", msg.as_str()];
            if let Some(b) = &before {
                args.extend(["-p", b.as_str()]);
            }
            stdout_of(ctx.git(&work, &args).await.map_err(fail)?)
        }
    };
    let head = match &main {
        None => content.clone(),
        Some(_) => {
            ctx.git(
                &work,
                &["checkout", "-q", "-f", "-B", "main", "refs/remotes/origin/main"],
            )
            .await
            .map_err(fail)?;
            // Whatever an interrupted run left (a merge in progress, files).
            ctx.git(&work, &["reset", "-q", "--hard", "refs/remotes/origin/main"])
                .await
                .map_err(fail)?;
            ctx.git(&work, &["clean", "-q", "-f", "-d", "-x"]).await.map_err(fail)?;
            if let (true, Some(b)) = (adopt, &before) {
                // Records what the older kindops published as merged, changing
                // nothing on main, so that it is the base of the merge below.
                ctx.git(
                    &work,
                    &[
                        "merge",
                        "-q",
                        "-s",
                        "ours",
                        "--allow-unrelated-histories",
                        "-m",
                        "kindops: take what an older kindops published as the base of its merges",
                        b,
                    ],
                )
                .await
                .map_err(fail)?;
            }
            merge_content(ctx, &work, &content, src, fail).await?;
            stdout_of(ctx.git(&work, &["rev-parse", "HEAD"]).await.map_err(fail)?)
        }
    };
    let mut refspecs = vec![];
    if published.as_deref() != Some(content.as_str()) {
        refspecs.push(format!("{content}:refs/heads/{CONTENT_BRANCH}"));
    }
    let moved = main.as_deref() != Some(head.as_str());
    if moved {
        refspecs.push(format!("{head}:refs/heads/main"));
    }
    if !refspecs.is_empty() {
        let mut args = vec!["push", "--atomic", "origin"];
        args.extend(refspecs.iter().map(String::as_str));
        if let Err(e) = ctx.git(&work, &args).await {
            let text = format!("{e:#}");
            if text.contains("[rejected]") || text.contains("non-fast-forward") || text.contains("fetch first") {
                return Err(StepError::new(format!(
                    "someone pushed to the git source while kindops was publishing; nothing was overwritten: {text}"
                ))
                .object(format!("git source {}", src.push_url))
                .hint("run `kindops up` again: it merges that push too"));
            }
            return Err(fail(e));
        }
    }
    Ok((moved, head))
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

#[cfg(test)]
#[path = "git_source_tests.rs"]
mod tests;
