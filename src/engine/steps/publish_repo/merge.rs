//! Merging kindops's content into the git source's `main` (the
//! `publish-repo` step, [`super`]): the content commit written
//! from the materialized tree, the merge base (the content kindops published
//! before, or what an older kindops left on `main`), and a conflict named
//! with the two ways forward. git does every merge (`git merge`).

use crate::engine::step::{StepCtx, StepError};
use crate::gitsource::{GitSource, OnConflict};
use anyhow::{anyhow, Result};
use std::path::Path;

/// Merges kindops's content commit `content` into the work clone's `main`.
/// On a conflict: aborts the merge and fails naming the files ([`conflict`]).
pub(super) async fn merge_content(
    ctx: &mut StepCtx<'_>,
    work: &Path,
    content: &str,
    src: &GitSource,
    fail: &(dyn Fn(anyhow::Error) -> StepError + Sync),
) -> std::result::Result<(), StepError> {
    let msg = format!(
        "kindops {}: merge GitOps content (phase {})",
        env!("CARGO_PKG_VERSION"),
        ctx.phase
    );
    let merged = super::git(
        ctx,
        work,
        &[
            "merge",
            "-q",
            "--ff",
            "--no-edit",
            "--no-verify-signatures",
            "--allow-unrelated-histories",
            "-m",
            &msg,
            content,
        ],
    )
    .await;
    let Err(e) = merged else { return Ok(()) };
    let literal = [("GIT_LITERAL_PATHSPECS", "1".to_string())];
    let unmerged = super::git(ctx, work, &["diff", "--name-only", "-z", "--diff-filter=U"])
        .await
        .map(|o| {
            o.stdout
                .split('\0')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if let (Some(choice), false) = (ctx.settings.on_conflict, unmerged.is_empty()) {
        let (side, said) = match choice {
            OnConflict::KeepMine => ("--ours", "kept main's version of"),
            OnConflict::TakeKindops => ("--theirs", "took kindops's version of"),
        };
        for f in &unmerged {
            let taken = super::git_env(ctx, work, &["checkout", side, "--", f], &literal).await;
            if taken.is_err() {
                // That side deleted it: so does the merge.
                super::git_env(ctx, work, &["rm", "-q", "--", f], &literal)
                    .await
                    .map_err(fail)?;
            } else {
                super::git_env(ctx, work, &["add", "--", f], &literal)
                    .await
                    .map_err(fail)?;
            }
        }
        super::git(ctx, work, &["commit", "-q", "--no-edit", "--no-verify"])
            .await
            .map_err(fail)?;
        ctx.say(format!("--on-conflict: {said} {}", unmerged.join(", ")));
        return Ok(());
    }
    // Leaves the work clone as it was; nothing was pushed.
    let _ = super::git(ctx, work, &["merge", "--abort"]).await;
    if unmerged.is_empty() {
        return Err(fail(e));
    }
    Err(conflict(src, &unmerged))
}

/// The error for files both kindops's new content and someone's commit on
/// `main` changed: names them and the two ways forward.
pub(super) fn conflict(src: &GitSource, files: &[String]) -> StepError {
    StepError::new(format!(
        "kindops's new content changes {} that a commit on main changed too; kindops never overwrites a commit, so nothing was pushed",
        if files.len() == 1 { "a file" } else { "files" }
    ))
    .object(format!("{} in git source {}", files.join(", "), src.push_url))
    .hint(
        "keep your version of the file(s): `kindops up --on-conflict keep-mine`; take kindops's new version \
         (yours stays in git's history): `kindops up --on-conflict take-kindops`; either way kindops's other changes \
         are merged as usual",
    )
}

/// The commit `what` names, if it exists.
pub(super) async fn rev(ctx: &StepCtx<'_>, work: &Path, what: &str) -> Option<String> {
    super::git(ctx, work, &["rev-parse", "--verify", "--quiet", what])
        .await
        .ok()
        .map(stdout_of)
        .filter(|s| !s.is_empty())
}

pub(super) fn stdout_of(f: crate::proc::Finished) -> String {
    f.stdout.trim().to_string()
}

/// The git tree object of the directory `tree` (every file, `.gitignore`s
/// honoured), written into the work clone's object store through an index of
/// its own (`GIT_INDEX_FILE`), so the work clone's checkout is not touched.
pub(super) async fn write_tree(ctx: &StepCtx<'_>, work: &Path, tree: &Path) -> Result<String> {
    let index = work.join(".git/kindops-content.index");
    let _ = std::fs::remove_file(&index);
    let env = [("GIT_INDEX_FILE", index.display().to_string())];
    let git_dir = work.join(".git").display().to_string();
    let tree_s = tree.display().to_string();
    super::git_env(
        ctx,
        tree,
        &["--git-dir", &git_dir, "--work-tree", &tree_s, "add", "-A"],
        &env,
    )
    .await?;
    let t = stdout_of(super::git_env(ctx, work, &["write-tree"], &env).await?);
    let _ = std::fs::remove_file(&index);
    Ok(t)
}

/// The merge base for a repository whose `main` has no [`CONTENT_BRANCH`]
/// yet: a new commit (no parent) holding, of the last commit an older kindops
/// made on `main` (author `kindops@localhost`, "…: publish GitOps content"),
/// only the files kindops's content has today (`content_tree`). `None` when
/// kindops never published there: then there is no base, and every file
/// that differs from kindops's content is a conflict.
///
/// Why this base and no other:
/// - `main`'s current tree would make a learner's edit of a shipped file
///   look like kindops's own old content, and the new content would
///   silently replace it (the very bug);
/// - the older kindops's whole commit also holds the learner's own files
///   pushed before it, which kindops's content lacks: the merge would
///   delete them;
/// - that commit restricted to today's files is what kindops last published
///   for its own files (an older kindops wrote each of them whole), so a
///   later edit by anyone is theirs (kept, or a conflict), their own files
///   are no part of the base (never deleted), and a file only an older
///   kindops shipped is left alone.
///
/// Needs git ≥ 2.26 (`git rm --pathspec-from-file`, git-scm.com's git-rm
/// page history); the rest of publishing needs git ≥ 2.9
/// (`--allow-unrelated-histories`). Tested with git 2.39.5.
pub(super) async fn legacy_base(
    ctx: &StepCtx<'_>,
    work: &Path,
    main: &str,
    content_tree: &str,
) -> Result<Option<String>> {
    let old = stdout_of(
        super::git(
            ctx,
            work,
            &[
                "log",
                "-1",
                "--format=%H",
                "--author=<kindops@localhost>",
                "--grep=: publish GitOps content",
                "--fixed-strings",
                main,
            ],
        )
        .await?,
    );
    if old.is_empty() {
        return Ok(None);
    }
    let files = |f: crate::proc::Finished| -> Vec<String> {
        f.stdout
            .split('\0')
            .map(|s| s.trim_end_matches('\n').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let ours: std::collections::HashSet<String> = files(
        super::git(
            ctx,
            work,
            &["ls-tree", "-r", "-z", "--name-only", "--full-tree", content_tree],
        )
        .await?,
    )
    .into_iter()
    .collect();
    let drop: Vec<String> =
        files(super::git(ctx, work, &["ls-tree", "-r", "-z", "--name-only", "--full-tree", &old]).await?)
            .into_iter()
            .filter(|p| !ours.contains(p))
            .collect();
    let index = work.join(".git/kindops-base.index");
    let list = work.join(".git/kindops-base.drop");
    let _ = std::fs::remove_file(&index);
    let env = [
        ("GIT_INDEX_FILE", index.display().to_string()),
        ("GIT_LITERAL_PATHSPECS", "1".to_string()),
    ];
    super::git_env(ctx, work, &["read-tree", &old], &env).await?;
    if !drop.is_empty() {
        let mut text = drop.join("\0");
        text.push('\0');
        std::fs::write(&list, text).map_err(|e| anyhow!("writing {}: {e}", list.display()))?;
        let from = format!("--pathspec-from-file={}", list.display());
        super::git_env(
            ctx,
            work,
            &[
                "rm",
                "-q",
                "-f",
                "--cached",
                "--ignore-unmatch",
                "--pathspec-file-nul",
                &from,
            ],
            &env,
        )
        .await?;
    }
    let t = stdout_of(super::git_env(ctx, work, &["write-tree"], &env).await?);
    let msg = format!("kindops: the content an older kindops published in {old}, as the base of later merges");
    let base = stdout_of(super::git(ctx, work, &["commit-tree", &t, "-m", &msg]).await?);
    let _ = std::fs::remove_file(&index);
    let _ = std::fs::remove_file(&list);
    Ok(Some(base))
}
