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
/// `HyperError`, kube-client 5.0.0 `src/client/mod.rs` `send`), the API
/// server answered that it cannot serve now (HTTP 429 Too Many Requests, 502,
/// 503 Service Unavailable while it starts, 504), or it answered 422 or 500
/// because a call it made itself lost its connection ([`connection_lost`]).
/// A 4xx verdict on the object, or an authentication failure, is never
/// retried.
///
/// Why 422 and 500: a kube-apiserver shutting down gracefully still
/// answers while its own loopback client is refused. Creating a Service then
/// fails in the ClusterIP allocator, which creates an `IPAddress` object
/// through that client and reports the failure as a field error (HTTP 422:
/// `spec.clusterIPs: Invalid value: [""]: failed to allocate IP: Post
/// "https://127.0.0.1:6443/apis/networking.k8s.io/v1/ipaddresses": dial tcp
/// 127.0.0.1:6443: connect: connection refused`, seen on the test bed with
/// k8s.io/kubernetes v1.36.3: `field.Invalid` on `spec.clusterIPs` wrapped
/// in `errors.NewInvalid`, pkg/registry/core/service/storage/alloc.go);
/// an admission webhook whose backend is restarting is a 500 "failed calling
/// webhook ... connection refused". Neither is a verdict on the object.
pub fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        kube::Error::Api(s) => {
            matches!(s.code, 429 | 502 | 503 | 504) || (matches!(s.code, 422 | 500) && connection_lost(&s.message))
        }
        _ => false,
    }
}

/// Go's own words for a connection that failed or was cut (net and
/// net/http, `syscall.ECONNREFUSED`/`ECONNRESET`/`EPIPE`, golang.org/x/net
/// http2 `errClientConnLost`), as kube-apiserver quotes them in a status
/// message when a call it made (its loopback client, a webhook) failed.
const CONNECTION_LOST: &[&str] = &[
    "connect: connection refused",
    "connection reset by peer",
    "write: broken pipe",
    "http2: client connection lost",
    "use of closed network connection",
];

/// Whether a status `message` says the API server's own call lost its
/// connection ([`CONNECTION_LOST`]).
pub fn connection_lost(message: &str) -> bool {
    CONNECTION_LOST.iter().any(|m| message.contains(m))
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
    }

    #[test]
    fn a_422_or_500_whose_cause_is_a_lost_connection_is_retried_and_a_verdict_is_not() {
        let api = |code: u16, message: &str| {
            kube::Error::Api(Box::new(
                kube::core::Status::failure(message, "Invalid").with_code(code),
            ))
        };
        // kube-apiserver v1.36.3 shutting down gracefully, as the test bed answered it.
        let shutting_down = r#"Service "argocd-server-metrics" is invalid: spec.clusterIPs: Invalid value: [""]: failed to allocate IP: Post "https://127.0.0.1:6443/apis/networking.k8s.io/v1/ipaddresses": dial tcp 127.0.0.1:6443: connect: connection refused"#;
        assert!(transient(&api(422, shutting_down)));
        let webhook = r#"Internal error occurred: failed calling webhook "webhook.pipeline.tekton.dev": failed to call webhook: Post "https://tekton-pipelines-webhook.tekton-pipelines.svc:443/defaulting?timeout=10s": dial tcp 10.96.40.2:443: connect: connection refused"#;
        assert!(transient(&api(500, webhook)));
        let verdict =
            r#"Service "x" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"#;
        assert!(!transient(&api(422, verdict)));
        assert!(
            !transient(&api(404, shutting_down)),
            "only 422 and 500 carry a call's failure"
        );
        assert!(!transient(&kube::Error::LinesCodecMaxLineLengthExceeded));
    }
}
