//! The lessons' own working clone of the git source
//! (`<data>/<cluster>/learn-work`, apart from the one `up` publishes from):
//! each change starts from what the remote's `main` has, is one commit, and
//! is pushed as a learner would push it.

use super::Fail;
use crate::gitsource::git_args;
use crate::proc;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Where lessons commit and push.
#[derive(Debug, Clone)]
pub struct LessonRepo {
    /// Push URL or path of the git source (as `up` publishes to it).
    pub push_url: String,
    /// The URL Argo CD (and a pipeline in the cluster) reads it by.
    pub repo_url: String,
    /// The working clone.
    pub work: PathBuf,
}

impl LessonRepo {
    async fn git(&self, args: &[&str], cancel: &CancellationToken) -> Result<String, Fail> {
        let argv = git_args(&self.work, args);
        let fin = proc::run("git", &argv, None, &[], cancel, |_, _| {})
            .await
            .map_err(|e| Fail::new(format!("{e:#}")))?;
        if !fin.success {
            return Err(
                Fail::new(format!("`git {}` failed: {}", args.join(" "), fin.tail.join(" / ")))
                    .object(format!("git source {}", self.push_url))
                    .hint("check that you can push there (`git ls-remote URL`); the clone is in the data folder"),
            );
        }
        Ok(fin.stdout)
    }

    /// Makes the clone match the remote's `main` (creating it the first time;
    /// anything left in it from an interrupted lesson is discarded).
    ///
    /// Errors: git fails (its last lines), e.g. the remote has no `main` yet
    /// (`kindops up` has not published).
    pub async fn prepare(&self, cancel: &CancellationToken) -> Result<(), Fail> {
        if !self.work.join(".git").exists() {
            std::fs::create_dir_all(&self.work)
                .map_err(|e| Fail::new(format!("creating {}: {e}", self.work.display())))?;
            self.git(&["init", "-q", "--initial-branch=main", "."], cancel).await?;
            self.git(&["remote", "add", "origin", &self.push_url], cancel).await?;
        } else {
            self.git(&["remote", "set-url", "origin", &self.push_url], cancel)
                .await?;
        }
        self.git(&["fetch", "-q", "origin"], cancel).await.map_err(|f| {
            f.hint("has `kindops up` published the GitOps content (phase 2 or later)? Pass the same --repo-url")
        })?;
        self.git(&["checkout", "-q", "-B", "main", "origin/main"], cancel)
            .await?;
        self.git(&["reset", "-q", "--hard", "origin/main"], cancel).await?;
        self.git(&["clean", "-q", "-fdx"], cancel).await?;
        Ok(())
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }

    /// A file's text in the clone (None when it does not exist).
    pub fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.path(rel)).ok()
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// Writes a file (making its directory).
    pub fn write(&self, rel: &str, text: &str) -> Result<(), Fail> {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| Fail::new(format!("creating {}: {e}", d.display())))?;
        }
        std::fs::write(&p, text).map_err(|e| Fail::new(format!("writing {}: {e}", p.display())))
    }

    /// Removes a file or a directory (nothing when absent).
    pub fn remove(&self, rel: &str) -> Result<(), Fail> {
        let p = self.path(rel);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else if p.exists() {
            std::fs::remove_file(&p)
        } else {
            Ok(())
        };
        r.map_err(|e| Fail::new(format!("removing {}: {e}", p.display())))
    }

    /// Commits everything and pushes to `main`. Returns the new commit's full
    /// SHA, or None when there was nothing to commit.
    pub async fn commit_push(&self, message: &str, cancel: &CancellationToken) -> Result<Option<String>, Fail> {
        self.git(&["add", "-A"], cancel).await?;
        if self.git(&["status", "--porcelain"], cancel).await?.trim().is_empty() {
            return Ok(None);
        }
        self.git(&["commit", "-q", "-m", message], cancel).await?;
        self.git(&["push", "-q", "origin", "HEAD:refs/heads/main"], cancel)
            .await?;
        Ok(Some(self.git(&["rev-parse", "HEAD"], cancel).await?.trim().to_string()))
    }
}

/// `<cluster dir>/learn-work`.
pub fn work_dir(cluster_dir: &Path) -> PathBuf {
    cluster_dir.join("learn-work")
}

impl LessonRepo {
    /// `HEAD`'s full SHA.
    pub async fn head(&self, cancel: &CancellationToken) -> Result<String, Fail> {
        Ok(self.git(&["rev-parse", "HEAD"], cancel).await?.trim().to_string())
    }

    /// The newest commit on `HEAD` whose subject is `subject` and that
    /// touched `file` (None: there is none).
    pub async fn last_commit_with_subject(
        &self,
        subject: &str,
        file: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<String>, Fail> {
        let out = self.git(&["log", "--format=%H%x09%s", "--", file], cancel).await?;
        Ok(out.lines().find_map(|l| {
            l.split_once('\t')
                .filter(|(_, s)| *s == subject)
                .map(|(h, _)| h.to_string())
        }))
    }

    /// `git revert` of `commit` (its default message) and a push to `main`.
    /// Returns the revert commit.
    ///
    /// Errors: the revert does not apply (a later change touched the same
    /// lines: git's words; the clone is reset by the next lesson), or the push fails.
    pub async fn revert_push(&self, commit: &str, cancel: &CancellationToken) -> Result<String, Fail> {
        self.revert(commit, cancel).await?;
        self.git(&["push", "-q", "origin", "HEAD:refs/heads/main"], cancel)
            .await?;
        self.head(cancel).await
    }

    /// `git revert` of `commit` in the clone (its default message), not pushed.
    ///
    /// Errors: the revert does not apply (git's words).
    pub async fn revert(&self, commit: &str, cancel: &CancellationToken) -> Result<(), Fail> {
        self.git(&["revert", "--no-edit", commit], cancel)
            .await
            .map(|_| ())
            .map_err(|f| {
                f.hint(format!(
                    "a later commit changed the same lines: revert {commit} by hand (`git revert {commit}`) and push"
                ))
            })
    }
}
