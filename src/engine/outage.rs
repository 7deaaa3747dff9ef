//! The API server going away mid-phase (restarted, crashed, a laptop waking
//! from sleep): requests retried while it is away, watches that resume once
//! it is back, and the diagnosis that names it when it stays away.
//!
//! - [`retried`]: one request, retried with backoff ([`retry_policy`]) while
//!   it fails [`transient`]ly; used by `apply` and the state ConfigMap.
//! - [`crd_established`]: a CRD wait on a watch with kube-runtime's default
//!   backoff, which resumes once the API server is back. kube-runtime's own
//!   `await_condition` ends at the first watch error (kube-runtime 5.0.0
//!   `src/wait.rs`: `try_next().await` on the `watch_object` stream returns
//!   `Error::ProbeFailed` for the first `Err`); with it, an API server
//!   restart made phase 1 report "not Established" at its deadline. It also
//!   gets a CRD the restarted API server left un-Established moving again.
//! - [`unreachable`]: asked at a wait's deadline, whether the API server
//!   answers at all; a wait then names it instead of the objects it watched.

use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{conditions, Condition};
use kube::runtime::watcher::watch_object;
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use std::future::Future;
use std::time::Duration;

/// The object a failure names when the API server itself is at fault.
pub const API_SERVER: &str = "API server";

/// What to do when the API server does not answer.
pub const UNREACHABLE_HINT: &str = "is the cluster running? Check `kubectl cluster-info` (kind: `docker ps -a` shows its node container, `docker start <cluster>-control-plane` starts it), then run `kindops up` again: what is done stays done";

/// How long requests are retried while the API server is away before the
/// step fails: longer than a kube-apiserver restart (3–10 s on the test bed,
/// ~30 s for a kind node's static pod), shorter than a user's patience.
pub const RETRY_FOR: Duration = Duration::from_secs(60);

/// Whether a failed request is worth sending again: the connection failed
/// (refused, reset, cut mid-response: `kube::Error::Service` /
/// `HyperError`, kube-client 5.0.0 `src/client/mod.rs` `send`), or the API
/// server answered that it cannot serve now (HTTP 429 Too Many Requests, 502,
/// 503 Service Unavailable while it starts, 504). A 4xx verdict on the
/// object, or an authentication failure, is never retried.
pub fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        kube::Error::Api(s) => matches!(s.code, 429 | 502 | 503 | 504),
        _ => false,
    }
}

/// 0.2 s doubling to 5 s between tries (with jitter), for up to [`RETRY_FOR`].
pub fn retry_policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .with_total_delay(Some(RETRY_FOR))
        .without_max_times()
}

/// `request` sent again while it fails [`transient`]ly, per [`retry_policy`].
///
/// Errors: the first error that is not transient, or the last one once
/// [`RETRY_FOR`] has passed.
pub async fn retried<T, F, Fut>(request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    request
        .retry(retry_policy())
        .when(transient)
        .notify(|e, after| tracing::info!("API server request failed ({e}); retrying in {after:?}"))
        .await
}

/// How long a CRD may have its names accepted without being Established
/// before [`crd_established`] nudges it.
pub const NUDGE_AFTER: Duration = Duration::from_secs(10);

/// The annotation [`crd_established`] sets and removes to nudge a CRD.
pub const NUDGE_ANNOTATION: &str = "kindops.dev/establish";

/// Resolves once CustomResourceDefinition `name` is Established. The watch
/// restarts with kube-runtime's default backoff (0.8 s doubling to 30 s,
/// jittered; `watcher::DefaultBackoff`) whenever it fails, so an API server
/// that goes away and comes back delays the answer, never turns it into an
/// error.
///
/// A CRD that kube-apiserver accepted (`NamesAccepted=True`) but had not
/// Established when it restarted stays so until the CRD changes: on start
/// the CRD handler only queues a CRD for its establishing controller on an
/// update event, never on the add event its informer sends for each existing
/// CRD (k8s.io/apiextensions-apiserver v0.36.3 pkg/apiserver/
/// customresource_handler.go, `updateCustomResourceDefinition` calls
/// `establishingController.QueueCRD`, `createCustomResourceDefinition` does
/// not); the informer's resync, 5 minutes (pkg/apiserver/apiserver.go,
/// `NewSharedInformerFactory(crdClient, 5*time.Minute)`), is the only other
/// way out. So when a CRD has had its names accepted for [`NUDGE_AFTER`]
/// without being Established, kindops sets and removes annotation
/// [`NUDGE_ANNOTATION`]: two updates, each an update event, and the CRD is
/// as it was. Never resolves otherwise: wrap it in a timeout.
pub async fn crd_established(api: Api<CustomResourceDefinition>, name: &str) {
    let established = conditions::is_crd_established();
    let mut events = std::pin::pin!(watch_object(api.clone(), name).default_backoff());
    let mut tick = tokio::time::interval(NUDGE_AFTER);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut accepted_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(obj)) => {
                    if established.matches_object(obj.as_ref()) {
                        return;
                    }
                    let accepted = obj.as_ref().is_some_and(names_accepted);
                    accepted_since = match (accepted, accepted_since) {
                        (true, None) => Some(tokio::time::Instant::now()),
                        (true, since) => since,
                        (false, _) => None,
                    };
                }
                Some(Err(e)) => tracing::debug!("watch on CustomResourceDefinition {name} failed (resuming with backoff): {e}"),
                None => std::future::pending::<()>().await,
            },
            _ = tick.tick() => {
                if accepted_since.is_some_and(|t| t.elapsed() >= NUDGE_AFTER) {
                    tracing::info!("CustomResourceDefinition {name}: names accepted but not Established for {NUDGE_AFTER:?}; nudging it");
                    for value in [serde_json::json!("nudge"), serde_json::Value::Null] {
                        let patch = serde_json::json!({"metadata": {"annotations": {NUDGE_ANNOTATION: value}}});
                        if let Err(e) = api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                            tracing::debug!("nudging CustomResourceDefinition {name}: {e}");
                        }
                    }
                    accepted_since = Some(tokio::time::Instant::now());
                }
            }
        }
    }
}

/// `status.conditions` has `NamesAccepted=True`.
fn names_accepted(crd: &CustomResourceDefinition) -> bool {
    crd.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "NamesAccepted" && c.status == "True"))
}

/// Why the API server does not answer `GET /version` within 5 s, or `None`
/// when it does. Asked when a wait's deadline passes: a watch that got no
/// event may mean the objects are stuck, or that nobody could tell.
pub async fn unreachable(client: &Client) -> Option<String> {
    match tokio::time::timeout(Duration::from_secs(5), client.apiserver_version()).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("the API server does not answer: {e}")),
        Err(_) => Some("the API server did not answer within 5s".to_string()),
    }
}

/// The sentence a wait's deadline message starts with when the API server
/// is away ([`unreachable`]'s `why`).
pub fn unreachable_message(why: &str) -> String {
    format!("{why}, so kindops could not see whether they are")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("m", "r").with_code(code)))
    }

    #[test]
    fn only_an_absent_or_overloaded_api_server_is_retried() {
        for code in [429, 502, 503, 504] {
            assert!(transient(&status(code)), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422, 500] {
            assert!(!transient(&status(code)), "{code}");
        }
        assert!(transient(&kube::Error::Service("connection refused".into())));
        assert!(!transient(&kube::Error::LinesCodecMaxLineLengthExceeded));
    }
}
