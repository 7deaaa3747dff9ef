//! A push to the built-in git source, told to the coffee EventListener as a
//! GitHub push event.
//!
//! The git source's `post-receive` hook (`gitsource::push_hook`) runs `kindops
//! refresh --post-receive`, which hands git's `<old> <new> <ref>` lines to
//! [`ref_updates`], lists each pushed commit's added, modified and removed
//! files ([`commits`], with `git rev-list` and `git diff-tree` in the bare
//! repository the hook runs in) and, when a push to `main` touches
//! `products/`, POSTs [`payload`] to the listener through the API server's
//! service proxy ([`send`]; no host port, the kubeconfig's credentials).
//!
//! The fields are those GitHub's push webhook sends and the coffee
//! TriggerBinding and CEL filters read (`after`, `repository.clone_url`,
//! `commits[].added/modified/removed`; GitHub docs, "Webhook events and
//! payloads", `push`). CI's own write-back commits touch only `apps/` and are
//! pushed through the in-cluster git server, whose hook runs never reach
//! kindops: they never start CI.

use anyhow::{anyhow, Context, Result};
use std::path::Path;

/// One line of git's post-receive input (`git help githooks`, post-receive:
/// `<old-value> SP <new-value> SP <ref-name> LF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub refname: String,
}

/// The all-zero object name git uses for "no such ref" (a created or a
/// deleted ref).
fn is_zero(oid: &str) -> bool {
    !oid.is_empty() && oid.bytes().all(|b| b == b'0')
}

/// Parses post-receive's standard input; malformed lines are skipped.
pub fn ref_updates(input: &str) -> Vec<RefUpdate> {
    input
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(RefUpdate {
                old: w.next()?.to_string(),
                new: w.next()?.to_string(),
                refname: w.next()?.to_string(),
            })
        })
        .collect()
}

/// One pushed commit's changed paths, as GitHub's `commits[]` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    pub id: String,
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

impl Commit {
    fn paths(&self) -> impl Iterator<Item = &String> {
        self.added.iter().chain(&self.modified).chain(&self.removed)
    }
}

/// The commits a push to `main` brought, oldest first, each with its changed
/// files (`git diff-tree --no-renames`: a rename is a removal and an
/// addition, as GitHub reports it). Merge commits are left out (the commits
/// they bring are listed themselves). Other refs and a deleted `main` give
/// none. `git_dir` is the bare repository (the hook's `GIT_DIR`).
///
/// Errors: a git command that fails (named, with its output).
pub async fn commits(git_dir: &Path, update: &RefUpdate) -> Result<Vec<Commit>> {
    if update.refname != "refs/heads/main" || is_zero(&update.new) {
        return Ok(Vec::new());
    }
    let range = if is_zero(&update.old) {
        vec![update.new.clone(), "-1".to_string()]
    } else {
        vec![format!("{}..{}", update.old, update.new)]
    };
    let dir = git_dir.display().to_string();
    let mut args = vec!["--git-dir", &dir, "rev-list", "--reverse", "--no-merges"];
    args.extend(range.iter().map(String::as_str));
    let list = git(&args).await?;
    let mut out = Vec::new();
    for id in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let diff = git(&[
            "--git-dir",
            &dir,
            "diff-tree",
            "--root",
            "--no-commit-id",
            "-r",
            "--no-renames",
            "--name-status",
            id,
        ])
        .await?;
        out.push(parse_name_status(id, &diff));
    }
    Ok(out)
}

/// `git diff-tree --name-status` lines (`A\tpath`, `M\tpath`, `D\tpath`, `T\tpath`).
fn parse_name_status(id: &str, text: &str) -> Commit {
    let mut c = Commit {
        id: id.to_string(),
        ..Default::default()
    };
    for line in text.lines() {
        let Some((status, path)) = line.split_once('\t') else {
            continue;
        };
        match status.chars().next() {
            Some('A') => c.added.push(path.to_string()),
            Some('D') => c.removed.push(path.to_string()),
            Some(_) => c.modified.push(path.to_string()),
            None => {}
        }
    }
    c
}

async fn git(args: &[&str]) -> Result<String> {
    let fin = crate::proc::output("git", args).await?;
    if !fin.success {
        return Err(anyhow!("git {}: {}", args.join(" "), fin.tail.join("\n")));
    }
    Ok(fin.stdout)
}

/// Whether any commit touches `products/` (only such pushes start CI).
pub fn touches_products(commits: &[Commit]) -> bool {
    commits
        .iter()
        .flat_map(Commit::paths)
        .any(|p| p.starts_with(super::PRODUCTS_DIR))
}

/// GitHub's push payload for `main` moving `before` → `after` with `commits`;
/// `clone_url` is where task pods clone.
pub fn payload(clone_url: &str, before: &str, after: &str, commits: &[Commit]) -> serde_json::Value {
    serde_json::json!({
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {"name": "gitops", "full_name": "kindops/gitops", "clone_url": clone_url},
        "pusher": {"name": "git push"},
        "commits": commits,
        "head_commit": commits.last(),
    })
}

/// POSTs `payload` to the coffee EventListener through the API server's
/// service proxy, with GitHub's `X-GitHub-Event: push` header; returns the
/// listener's `eventID` (its `202 Accepted` answer; Triggers v0.37
/// `pkg/sink/sink.go`: the triggers run after it answers).
///
/// Errors: the API server or the listener refusing (the listener not
/// serving yet gives the proxy's 503), an answer without `eventID`.
pub async fn send(client: &kube::Client, payload: &serde_json::Value) -> Result<String> {
    let uri = format!(
        "/api/v1/namespaces/{}/services/{}:http-listener/proxy/",
        super::NAMESPACE,
        super::LISTENER_SERVICE
    );
    let req = http::Request::post(&uri)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "push")
        .body(serde_json::to_vec(payload)?)
        .context("building the push event request")?;
    let answer: serde_json::Value = client
        .request(req)
        .await
        .with_context(|| format!("sending the push event through {uri}"))?;
    answer["eventID"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the listener's answer has no eventID: {answer}"))
}

/// The module directories (`products/<product>/<module>`) the commits touch,
/// sorted: what the push event will build.
pub fn modules(commits: &[Commit]) -> Vec<String> {
    let mut out: Vec<String> = commits
        .iter()
        .flat_map(Commit::paths)
        .filter_map(|p| {
            let parts: Vec<&str> = p.splitn(4, '/').collect();
            (parts.len() == 4 && format!("{}/", parts[0]) == super::PRODUCTS_DIR).then(|| parts[..3].join("/"))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_receive_lines_parse() {
        let u = ref_updates("a b refs/heads/main\n\nbad\n0000 c refs/heads/x\n");
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].refname, "refs/heads/main");
        assert!(is_zero(&u[1].old));
    }

    /// A real repository: a push of two commits lists each with its own
    /// files; a rename is a removal and an addition; only products/ counts.
    #[tokio::test]
    async fn commits_of_a_real_push() {
        let tmp = tempfile::tempdir().unwrap();
        let w = tmp.path();
        let sh = |script: &str| {
            let out = std::process::Command::new("sh")
                .args(["-euc", script])
                .current_dir(w)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@t")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@t")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        sh("git init -q -b main . && mkdir -p apps products/coffee/cart && echo a > apps/x && echo m > products/coffee/cart/main.go && git add -A && git commit -qm one");
        let old = sh("git rev-parse HEAD");
        sh("echo m2 > products/coffee/cart/main.go && git mv apps/x apps/y && git commit -qam two && mkdir -p products/coffee/order && echo t > products/coffee/order/t && git add -A && git commit -qm three");
        let new = sh("git rev-parse HEAD");
        let u = RefUpdate {
            old: old.clone(),
            new: new.clone(),
            refname: "refs/heads/main".into(),
        };
        let cs = commits(&w.join(".git"), &u).await.unwrap();
        assert_eq!(cs.len(), 2, "{cs:?}");
        assert_eq!(cs[0].modified, vec!["products/coffee/cart/main.go"]);
        assert_eq!(cs[0].added, vec!["apps/y"]);
        assert_eq!(cs[0].removed, vec!["apps/x"]);
        assert_eq!(cs[1].added, vec!["products/coffee/order/t"]);
        assert!(touches_products(&cs));
        assert_eq!(modules(&cs), vec!["products/coffee/cart", "products/coffee/order"]);
        // Only apps/ (CI's write-back): no CI.
        assert!(!touches_products(&cs[..0]));
        let apps_only = Commit {
            id: "x".into(),
            modified: vec!["apps/coffee/cart/kustomization.yaml".into()],
            ..Default::default()
        };
        assert!(!touches_products(std::slice::from_ref(&apps_only)));
        // Another branch, a deleted main: nothing.
        let other = RefUpdate {
            refname: "refs/heads/feature".into(),
            ..u.clone()
        };
        assert!(commits(&w.join(".git"), &other).await.unwrap().is_empty());
        let p = payload("git://g/gitops.git", &old, &new, &cs);
        assert_eq!(p["after"], new.as_str());
        assert_eq!(p["repository"]["clone_url"], "git://g/gitops.git");
        assert_eq!(p["commits"][0]["modified"][0], "products/coffee/cart/main.go");
    }
}
