//! `kindops refresh`: ask Argo CD to look at git now, as a git host's push
//! webhook would. The built-in git source's `post-receive` hook runs it after
//! every push (`gitsource::push_hook`), with `--post-receive`: then a push to
//! `main` touching `products/` also reaches the coffee CI as a push event
//! (`ci::push_event`). Anyone can run it by hand.

use super::{init_tracing_stderr, target, Result};
use crate::argocd::ARGOCD_NAMESPACE;
use crate::ci::{self, push_event};
use crate::cli::ClusterArgs;
use std::time::Duration;

/// How long a refresh may take before it gives up: a `git push` waits for its
/// post-receive hook, so a cluster that does not answer must not hang it.
const DEADLINE: Duration = Duration::from_secs(10);

/// How long the push event may hold the push: the listener answers `202`
/// before it runs its triggers, so this is one request through the API
/// server's proxy.
const CI_EVENT_DEADLINE: Duration = Duration::from_secs(1);

/// Annotates every Application and ApplicationSet in `argocd`
/// ([`crate::argocd::refresh::refresh_argo`]) and prints how many (nothing with `quiet`).
/// With `post_receive`, reads git's post-receive lines on stdin and, at the
/// same time, sends the coffee EventListener one push event for a push to
/// `main` that touches `products/`, printing the modules it builds (a
/// failure to send is printed with the next step; it never fails the
/// command: the push happened).
/// Exit 0; 1 when the cluster cannot be reached within 10 s (the error names
/// the context); 2 for bad cluster flags.
pub async fn run(cluster: &ClusterArgs, quiet: bool, post_receive: bool) -> Result<u8> {
    init_tracing_stderr();
    let t = target(cluster)?;
    let ctx = t.context();
    let event = if post_receive { ci_event_of_stdin().await } else { None };
    let work = async {
        let client = crate::cluster::client_for(&ctx).await?;
        let ci = async {
            let Some(p) = &event else { return };
            match tokio::time::timeout(CI_EVENT_DEADLINE, push_event::send(&client, &p.payload)).await {
                Ok(Ok(id)) => eprintln!(
                    "kindops: CI: push event sent to EventListener {}/{} (eventID {id}): builds {}",
                    ci::NAMESPACE,
                    ci::LISTENER,
                    p.modules.join(", ")
                ),
                Ok(Err(e)) => eprintln!(
                    "kindops: CI was not told about this push: {e:#}. Once `kubectl -n {} get pods` shows the listener Ready, push again (an empty commit will do: git commit --allow-empty)",
                    ci::NAMESPACE
                ),
                Err(_) => eprintln!(
                    "kindops: CI was not told about this push: EventListener {}/{} did not answer within {}s. Push again once it serves (git commit --allow-empty)",
                    ci::NAMESPACE,
                    ci::LISTENER,
                    CI_EVENT_DEADLINE.as_secs()
                ),
            }
        };
        let (n, ()) = tokio::join!(crate::argocd::refresh::refresh_argo(&client, ARGOCD_NAMESPACE), ci);
        n
    };
    let n = match tokio::time::timeout(DEADLINE, work).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(anyhow::anyhow!(
                "context {ctx}: the cluster did not answer within {}s; is it running (`kindops status`)?",
                DEADLINE.as_secs()
            )
            .into())
        }
    };
    if !quiet {
        println!("asked Argo CD to refresh {n} Applications and ApplicationSets in {ARGOCD_NAMESPACE} ({ctx})");
    }
    Ok(0)
}

/// A push event to send, and the modules it builds.
struct CiEvent {
    payload: serde_json::Value,
    modules: Vec<String>,
}

/// The push event for post-receive's input on stdin, in the repository git
/// runs the hook in (`GIT_DIR`, else the current directory): `None` when the
/// push does not touch `products/` on `main`, or when it cannot be read
/// (said on stderr).
async fn ci_event_of_stdin() -> Option<CiEvent> {
    use tokio::io::AsyncReadExt;
    let mut input = String::new();
    if let Err(e) = tokio::io::stdin().read_to_string(&mut input).await {
        eprintln!("kindops: reading git's post-receive input: {e}");
        return None;
    }
    let git_dir = std::env::var_os("GIT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    for u in push_event::ref_updates(&input) {
        let commits = match push_event::commits(&git_dir, &u).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("kindops: CI was not told about this push: listing its commits: {e:#}");
                return None;
            }
        };
        if push_event::touches_products(&commits) {
            return Some(CiEvent {
                payload: push_event::payload(ci::IN_CLUSTER_CLONE_URL, &u.old, &u.new, &commits),
                modules: push_event::modules(&commits),
            });
        }
    }
    None
}
