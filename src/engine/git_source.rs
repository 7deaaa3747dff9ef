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
//! [`publish_repo_step`] is the `publish-repo` step.

use super::step::{Done, StepCtx, StepError, StepResult};
use super::ARGOCD_NAMESPACE;
use anyhow::{anyhow, Result};
use futures::StreamExt;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::Client;
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

/// Asks Argo CD to sync again every Application whose automated sync it gave
/// up on ([`crate::argo::AppSummary::sync_given_up`]): Argo CD never auto-syncs
/// a revision again once its sync failed, so a re-run of `kindops up` (which
/// may publish nothing new) would otherwise wait for nothing. Sets the
/// Application's `operation` field as `argocd app sync` does
/// ([`crate::engine::app_actions::sync_operation`]: a sync to its
/// `targetRevision` with its own `syncPolicy.syncOptions` and `retry`).
/// Returns the names it asked.
pub async fn resync_given_up(client: &Client, namespace: &str) -> Result<Vec<String>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &crate::argo::application_resource());
    let list = match api.list(&ListParams::default()).await {
        Ok(l) => l,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(vec![]),
        Err(e) => return Err(anyhow!("listing Applications in {namespace}: {e}")),
    };
    let mut asked = vec![];
    for o in &list.items {
        let app = crate::argo::AppSummary::from_object(o);
        if app.sync_given_up().is_none() {
            continue;
        }
        // The Application's own sync options and retry, as `argocd app
        // sync` and the TUI's sync key send them.
        let patch = serde_json::json!({ "operation": crate::engine::app_actions::sync_operation(&o.data) });
        match api
            .patch(&app.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => asked.push(app.name),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(anyhow!(
                    "asking Argo CD to sync Application {namespace}/{} again: {e}",
                    app.name
                ))
            }
        }
    }
    Ok(asked)
}

/// Asks Argo CD to look at git now instead of at its next poll: annotates every
/// Application with `argocd.argoproj.io/refresh: normal` and every
/// ApplicationSet with `argocd.argoproj.io/application-set-refresh: "true"`
/// (Argo CD removes both once handled). Returns how many objects were annotated.
/// A cluster without Argo CD's CRDs yet counts as zero.
pub async fn refresh_argo(client: &Client, namespace: &str) -> Result<usize> {
    refresh(client, namespace, None).await
}

/// As [`refresh_argo`], but leaves alone every Application Argo CD has
/// already compared at `revision` (a full commit SHA) and found Synced and
/// Healthy (`status.sync.revision`, `status.sync.status`,
/// `status.health.status`): asking it again changes nothing, and the wait
/// that follows would have to sit out the comparison. ApplicationSets are
/// always asked (their git generator's last revision is not in their status).
pub async fn refresh_argo_not_at(client: &Client, namespace: &str, revision: &str) -> Result<usize> {
    refresh(client, namespace, Some(revision)).await
}

async fn refresh(client: &Client, namespace: &str, skip_compared_at: Option<&str>) -> Result<usize> {
    let mut n = 0;
    for (ar, key, value) in [
        (crate::argo::application_resource(), APP_REFRESH_ANNOTATION, "normal"),
        (
            crate::argo::applicationset_resource(),
            "argocd.argoproj.io/application-set-refresh",
            "true",
        ),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
        let not_found = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 404);
        let listing = |e: kube::Error| anyhow!("listing {} in {namespace}: {e}", ar.plural);
        let names: Vec<String> = match skip_compared_at.filter(|_| ar.kind == "Application") {
            None => match api.list_metadata(&ListParams::default()).await {
                Ok(l) => l.items.into_iter().filter_map(|o| o.metadata.name).collect(),
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(listing(e)),
            },
            Some(rev) => match api.list(&ListParams::default()).await {
                Ok(l) => l
                    .items
                    .iter()
                    .map(crate::argo::AppSummary::from_object)
                    .filter(|a| !(a.revision == rev && a.is_ready()))
                    .map(|a| a.name)
                    .collect(),
                Err(e) if not_found(&e) => continue,
                Err(e) => return Err(listing(e)),
            },
        };
        // All at once: a push's hook waits for this.
        let api = &api;
        let done: Vec<(String, Result<bool, kube::Error>)> = futures::stream::iter(names)
            .map(|name| async move {
                let r = annotate(api, &name, key, value).await;
                (name, r)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for (name, r) in done {
            match r {
                Ok(true) => n += 1,
                // Deleted since the list (an ApplicationSet just removed it): nothing to refresh.
                Ok(false) => {}
                Err(e) => return Err(anyhow!("asking Argo CD to refresh {} {namespace}/{name}: {e}", ar.kind)),
            }
        }
    }
    Ok(n)
}

/// The annotation that asks Argo CD's application-controller to compare an
/// Application again now (it removes it once done).
pub const APP_REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

/// Sets annotation `key: value` on object `name` (a merge patch). `Ok(false)`
/// when the object does not exist (any more).
pub async fn annotate(api: &Api<DynamicObject>, name: &str, key: &str, value: &str) -> Result<bool, kube::Error> {
    let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
    match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// The `publish-repo` step: commits the materialized GitOps tree on top of
/// what the remote's `main` has, pushes it, then asks Argo CD to sync again
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
        if !bare.join("HEAD").exists() {
            if src.repo_url.starts_with(&format!("file://{IN_CLUSTER_GIT_DIR}")) {
                prepare_builtin_dirs(bare.parent().unwrap_or(bare), Some(bare)).map_err(fail)?;
            } else {
                std::fs::create_dir_all(bare)
                    .map_err(|e| fail(anyhow!("creating the bare repository {}: {e}", bare.display())))?;
            }
            ctx.git(bare, INIT_BARE).await.map_err(fail)?;
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

/// Commits `tree` on top of the remote's main in the work clone `work` and
/// pushes it when anything changed. Returns (changed, the commit now on main).
async fn publish(
    ctx: &mut StepCtx<'_>,
    tree: &Path,
    src: &GitSource,
    work: &Path,
    fail: &(dyn Fn(anyhow::Error) -> StepError + Sync),
) -> std::result::Result<(bool, String), StepError> {
    let n = ctx.phase;
    let work = work.to_path_buf();
    if !work.join(".git").exists() {
        std::fs::create_dir_all(&work).map_err(|e| anyhow!("creating kindops's work clone {}: {e}", work.display()))?;
        ctx.git(&work, &["init", "--initial-branch=main", "."])
            .await
            .map_err(fail)?;
        ctx.git(&work, &["remote", "add", "origin", &src.push_url])
            .await
            .map_err(fail)?;
    } else {
        ctx.git(&work, &["remote", "set-url", "origin", &src.push_url])
            .await
            .map_err(fail)?;
    }
    private_work_clone(&work)?;
    ctx.git(&work, &["fetch", "origin"]).await.map_err(fail)?;
    let has_main = ctx
        .git(&work, &["rev-parse", "--verify", "--quiet", "refs/remotes/origin/main"])
        .await
        .is_ok();
    if has_main {
        // Start from what the remote has: anything someone else pushed stays.
        ctx.git(&work, &["checkout", "-B", "main", "origin/main"])
            .await
            .map_err(fail)?;
        ctx.git(&work, &["reset", "--hard", "origin/main"])
            .await
            .map_err(fail)?;
    }
    copy_tree(tree, &work).map_err(fail)?;
    ctx.git(&work, &["add", "-A"]).await.map_err(fail)?;
    let status = ctx.git(&work, &["status", "--porcelain"]).await.map_err(fail)?;
    let changed = !status.output.trim().is_empty();
    if changed {
        let msg = format!(
            "kindops {}: publish GitOps content (phase {n})",
            env!("CARGO_PKG_VERSION")
        );
        ctx.git(&work, &["commit", "-q", "-m", &msg]).await.map_err(fail)?;
    }
    if changed || !has_main {
        ctx.git(&work, &["push", "origin", "HEAD:refs/heads/main"])
            .await
            .map_err(fail)?;
    }
    let rev = ctx
        .git(&work, &["rev-parse", "HEAD"])
        .await
        .map_err(fail)?
        .output
        .trim()
        .to_string();
    Ok((changed, rev))
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

/// Copies every file of `from` into `to` (overwriting), skipping `.git`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
