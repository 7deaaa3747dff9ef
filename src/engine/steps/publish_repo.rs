//! The `publish-repo` step ([`publish_repo_step`]): publishes the GitOps
//! content to the git source ([`crate::gitsource`]). A re-run keeps every
//! commit someone else made: kindops keeps its own content on the branch
//! [`CONTENT_BRANCH`] and merges it into `main` with `git merge` ([`merge`]).

mod merge;

use crate::argocd::refresh::{refresh_argo, refresh_argo_not_at, resync_given_up};
use crate::argocd::ARGOCD_NAMESPACE;
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::gitsource::push_hook::PUBLISHING_ENV;
use crate::gitsource::{
    git_args, prepare_builtin_dirs, private_work_clone, GitSource, CONTENT_BRANCH, INIT_BARE, IN_CLUSTER_GIT_DIR,
};
use crate::proc;
use anyhow::{anyhow, Result};
use merge::{legacy_base, merge_content, rev, stdout_of, write_tree};
use std::path::Path;
use std::time::Duration;

/// How long a cancelled `publish-repo` may take to stop the git child it
/// runs (its process group: SIGTERM, then SIGKILL) and say where it stopped.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_secs(60);

/// `git -C dir ARGS` as this step's child, logged first; fails when git does.
async fn git(ctx: &StepCtx<'_>, dir: &Path, args: &[&str]) -> Result<proc::Finished> {
    git_env(ctx, dir, args, &[]).await
}

/// As [`git`], with `extra` in git's environment too (e.g.
/// `GIT_INDEX_FILE`); logged without it.
async fn git_env(ctx: &StepCtx<'_>, dir: &Path, args: &[&str], extra: &[(&str, String)]) -> Result<proc::Finished> {
    let argv = git_args(dir, args);
    ctx.say(format!("$ git {}", args.join(" ")));
    let mut env = vec![
        ("GIT_TERMINAL_PROMPT".to_string(), "0".to_string()),
        // Our own push: the built-in source's post-receive hook skips its refresh.
        (PUBLISHING_ENV.to_string(), "1".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let fin = ctx.run_child("git", &argv, &env, ctx.cancel).await?;
    if !fin.success {
        return Err(anyhow!("`git {}` failed: {}", args.join(" "), fin.tail.join(" / ")));
    }
    Ok(fin)
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
        git(ctx, bare, &["config", "--get", key])
            .await
            .map(|o| o.output.trim().to_string())
            .ok()
    };
    if get(FORCE_PUSH_DECIDED).await.is_some() {
        return Ok(false);
    }
    let denied = get("receive.denyNonFastForwards").await.as_deref() == Some("true");
    if denied {
        git(ctx, bare, &["config", "receive.denyNonFastForwards", "false"]).await?;
    }
    git(ctx, bare, &["config", FORCE_PUSH_DECIDED, "true"]).await?;
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
            git(ctx, bare, INIT_BARE).await.map_err(fail)?;
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
            let script =
                crate::gitsource::push_hook::script(&exe, &ctx.settings.target, kubeconfig.as_deref()).map_err(fail)?;
            if crate::gitsource::push_hook::install(bare, &script).map_err(fail)? {
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
        Some(prev) if work.join(".git").exists() => git(ctx, &work, &["ls-remote", &src.push_url, "refs/heads/main"])
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
    let usable = work.join(".git").exists() && git(ctx, &work, &["remote", "get-url", "origin"]).await.is_ok();
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
        git(ctx, &new, &["init", "--initial-branch=main", "."])
            .await
            .map_err(fail)?;
        git(ctx, &new, &["remote", "add", "origin", &src.push_url])
            .await
            .map_err(fail)?;
        std::fs::rename(&new, &work).map_err(|e| io("moving into place", &work, e))?;
    } else {
        git(ctx, &work, &["remote", "set-url", "origin", &src.push_url])
            .await
            .map_err(fail)?;
    }
    private_work_clone(&work)?;
    git(ctx, &work, &["fetch", "--prune", "origin"]).await.map_err(fail)?;
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
            stdout_of(git(ctx, &work, &args).await.map_err(fail)?)
        }
    };
    let head = match &main {
        None => content.clone(),
        Some(_) => {
            git(
                ctx,
                &work,
                &["checkout", "-q", "-f", "-B", "main", "refs/remotes/origin/main"],
            )
            .await
            .map_err(fail)?;
            // Whatever an interrupted run left (a merge in progress, files).
            git(ctx, &work, &["reset", "-q", "--hard", "refs/remotes/origin/main"])
                .await
                .map_err(fail)?;
            git(ctx, &work, &["clean", "-q", "-f", "-d", "-x"])
                .await
                .map_err(fail)?;
            if let (true, Some(b)) = (adopt, &before) {
                // Records what the older kindops published as merged, changing
                // nothing on main, so that it is the base of the merge below.
                git(
                    ctx,
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
            stdout_of(git(ctx, &work, &["rev-parse", "HEAD"]).await.map_err(fail)?)
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
        if let Err(e) = git(ctx, &work, &args).await {
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

#[cfg(test)]
mod tests;
