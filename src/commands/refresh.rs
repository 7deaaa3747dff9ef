//! `kindops refresh`: ask Argo CD to look at git now, as a git host's push
//! webhook would. The built-in git source's `post-receive` hook runs it after
//! every push (`engine::push_hook`); anyone can run it by hand.

use super::{init_tracing_stderr, target, Result};
use crate::cli::ClusterArgs;
use crate::engine::{git_source, provider, ARGOCD_NAMESPACE};
use std::time::Duration;

/// How long a refresh may take before it gives up: a `git push` waits for its
/// post-receive hook, so a cluster that does not answer must not hang it.
const DEADLINE: Duration = Duration::from_secs(10);

/// Annotates every Application and ApplicationSet in `argocd`
/// ([`git_source::refresh_argo`]) and prints how many (nothing with `quiet`).
/// Exit 0; 1 when the cluster cannot be reached within 10 s (the error names
/// the context); 2 for bad cluster flags.
pub async fn run(cluster: &ClusterArgs, quiet: bool) -> Result<u8> {
    init_tracing_stderr();
    let t = target(cluster)?;
    let ctx = t.context();
    let work = async {
        let client = provider::client_for(&ctx).await?;
        git_source::refresh_argo(&client, ARGOCD_NAMESPACE).await
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
