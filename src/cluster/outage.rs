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

use crate::engine::event::Recovery;
use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{conditions, Condition};
use kube::runtime::watcher::watch_object;
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// While an outage lasts, how often [`RecoverySink`] reports
/// [`Recovery::ApiServerUnreachable`] again (parallel requests all fail at
/// once; a learner needs one line, then a sign of life).
pub const REPORT_EVERY: Duration = Duration::from_secs(5);

/// Where [`retried`], [`crd_established`] and the waits' watches report how
/// they ride out an outage ([`Recovery`]): a step's sink sends them as
/// [`crate::engine::event::Event::StepRecovery`]; every report is also a
/// tracing info line. Cheap to clone; clones share one outage state, so the
/// requests of one step report an outage once, not once each.
#[derive(Clone)]
pub struct RecoverySink {
    report: Option<Arc<dyn Fn(Recovery) + Send + Sync>>,
    outage: Arc<Mutex<Outage>>,
}

#[derive(Default)]
struct Outage {
    /// First failure of the outage under way.
    since: Option<Instant>,
    last_report: Option<Instant>,
    retries: u32,
}

impl RecoverySink {
    /// A sink that hands each report to `report`.
    pub fn new(report: impl Fn(Recovery) + Send + Sync + 'static) -> Self {
        RecoverySink {
            report: Some(Arc::new(report)),
            outage: Arc::default(),
        }
    }

    /// A sink that only logs (for callers outside a step).
    pub fn none() -> Self {
        RecoverySink {
            report: None,
            outage: Arc::default(),
        }
    }

    fn emit(&self, r: Recovery) {
        tracing::info!("{}", r.line());
        if let Some(f) = &self.report {
            f(r);
        }
    }

    /// Try `attempt` (1 = first) of a request failed transiently with `e`;
    /// it is sent again in `after`.
    fn failed(&self, attempt: u32, after: Duration, e: &kube::Error) {
        let report = {
            let mut o = self.outage.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            o.since.get_or_insert(now);
            o.retries += 1;
            let due = o.last_report.is_none_or(|t| now.duration_since(t) >= REPORT_EVERY);
            if due {
                o.last_report = Some(now);
            }
            due
        };
        if report {
            self.emit(Recovery::ApiServerUnreachable {
                attempt,
                retry_in_ms: after.as_millis() as u64,
                error: e.to_string(),
            });
        }
    }

    /// A request was answered: ends the outage under way, if any.
    fn answered(&self) {
        let back = {
            let mut o = self.outage.lock().unwrap_or_else(|p| p.into_inner());
            let back = o.since.take().map(|t| (t.elapsed(), o.retries));
            if back.is_some() {
                *o = Outage::default();
            }
            back
        };
        if let Some((down, retries)) = back {
            self.emit(Recovery::ApiServerBack {
                down_ms: down.as_millis() as u64,
                retries,
            });
        }
    }

    /// The health of one watch, to report it resumed ([`WatchHealth`]).
    /// `what` names what it watches, e.g. `Deployments in argocd`.
    pub fn watch(&self, what: impl Into<String>) -> WatchHealth {
        WatchHealth {
            sink: self.clone(),
            what: what.into(),
            errors: 0,
            since: None,
            last_error: None,
        }
    }
}

/// Counts a watch stream's errors and reports [`Recovery::WatchResumed`]
/// at its first item after them, once per outage. Feed it every item the
/// stream yields.
///
/// After a restart the API server's watch cache lags for a while: a watch
/// re-lists fine and its next watch request fails again ("Too large
/// resource version"), every second or so on the test bed. Errors within
/// [`REPORT_EVERY`] of the previous one, after the watch was reported
/// resumed, belong to the same outage and are not reported again.
pub struct WatchHealth {
    sink: RecoverySink,
    what: String,
    errors: u32,
    /// First error of an outage not yet reported resumed.
    since: Option<Instant>,
    last_error: Option<Instant>,
}

impl WatchHealth {
    /// The watch yielded an error (kube-runtime's backoff retries it).
    pub fn error(&mut self) {
        let now = Instant::now();
        let churn = self.since.is_none() && self.last_error.is_some_and(|t| now.duration_since(t) < REPORT_EVERY);
        self.last_error = Some(now);
        if churn {
            return;
        }
        self.errors += 1;
        self.since.get_or_insert(now);
    }

    /// The watch yielded an event: reports that it resumed if it had failed.
    pub fn delivered(&mut self) {
        if let Some(t) = self.since.take() {
            self.sink.emit(Recovery::WatchResumed {
                watch: self.what.clone(),
                errors: self.errors,
                down_ms: t.elapsed().as_millis() as u64,
            });
            self.errors = 0;
        }
    }

    /// [`Self::delivered`], then `event` back (for a `match`).
    pub fn delivered_then<T>(&mut self, event: T) -> T {
        self.delivered();
        event
    }

    /// Feeds one item of a watch stream: [`Self::error`] or [`Self::delivered`].
    pub fn saw<T, E>(&mut self, item: &Result<T, E>) {
        match item {
            Ok(_) => self.delivered(),
            Err(_) => self.error(),
        }
    }
}

/// `request` sent again while it fails [`transient`]ly, per [`retry_policy`];
/// each failure and the first answer after an outage go to `sink`.
///
/// Errors: the first error that is not transient, or the last one once
/// [`RETRY_FOR`] has passed.
pub async fn retried<T, F, Fut>(sink: &RecoverySink, request: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let attempts = AtomicU32::new(0);
    let result = request
        .retry(retry_policy())
        .when(transient)
        .notify(|e, after| {
            let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::info!("API server request failed ({e}); retrying in {after:?}");
            sink.failed(attempt, after, e);
        })
        .await;
    if result.is_ok() {
        sink.answered();
    }
    result
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
pub async fn crd_established(api: Api<CustomResourceDefinition>, name: &str, sink: &RecoverySink) {
    let established = conditions::is_crd_established();
    let mut health = sink.watch(format!("CustomResourceDefinition {name}"));
    let mut events = std::pin::pin!(watch_object(api.clone(), name).default_backoff());
    let mut tick = tokio::time::interval(NUDGE_AFTER);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut accepted_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(obj)) => {
                    health.delivered();
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
                Some(Err(e)) => {
                    health.error();
                    tracing::debug!("watch on CustomResourceDefinition {name} failed (resuming with backoff): {e}")
                }
                None => std::future::pending::<()>().await,
            },
            _ = tick.tick() => {
                if accepted_since.is_some_and(|t| t.elapsed() >= NUDGE_AFTER) {
                    sink.emit(Recovery::CrdNudged { name: name.to_string() });
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

    /// Three requests fail twice each while the "API server" is away: one
    /// Unreachable report (not six), then one Back with the six retries.
    #[tokio::test]
    async fn an_outage_is_reported_once_and_its_end_with_the_retries() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let seen = seen.clone();
            RecoverySink::new(move |r| seen.lock().unwrap().push(r))
        };
        let request = |fails: u32| {
            let left = AtomicU32::new(fails);
            move || {
                let fail = left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok();
                async move {
                    if fail {
                        Err(status(503))
                    } else {
                        Ok(())
                    }
                }
            }
        };
        let (a, b, c) = tokio::join!(
            retried(&sink, request(2)),
            retried(&sink, request(2)),
            retried(&sink, request(2))
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(
            matches!(&seen[0], Recovery::ApiServerUnreachable { attempt: 1, error, .. } if error.contains("503")),
            "{seen:?}"
        );
        assert!(
            matches!(seen[1], Recovery::ApiServerBack { retries: 6, .. }),
            "{seen:?}"
        );
        // A request that never failed reports nothing.
        retried(&sink, request(0)).await.unwrap();
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn a_watch_reports_that_it_resumed_once_per_failure_run() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let seen = seen.clone();
            RecoverySink::new(move |r| seen.lock().unwrap().push(r))
        };
        let mut w = sink.watch("Deployments in argocd");
        w.saw::<(), ()>(&Ok(()));
        w.saw::<(), ()>(&Err(()));
        w.saw::<(), ()>(&Err(()));
        w.saw::<(), ()>(&Ok(()));
        w.saw::<(), ()>(&Ok(()));
        // The restarted API server's watch cache lagging: the same outage.
        w.saw::<(), ()>(&Err(()));
        w.saw::<(), ()>(&Ok(()));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            matches!(&seen[0], Recovery::WatchResumed { watch, errors: 2, .. } if watch == "Deployments in argocd"),
            "{seen:?}"
        );
    }

    /// The bound the README and the failure message state: tries stop once
    /// the delays between them add up to [`RETRY_FOR`] (backon's
    /// `with_total_delay`), each delay at most 5 s.
    #[test]
    fn retries_stop_once_their_delays_add_up_to_retry_for() {
        for _ in 0..20 {
            let delays: Vec<Duration> = backon::BackoffBuilder::build(retry_policy()).collect();
            let total: Duration = delays.iter().sum();
            assert!(total <= RETRY_FOR, "{total:?} {delays:?}");
            assert!(total + Duration::from_secs(10) >= RETRY_FOR, "{total:?} {delays:?}");
            assert!(delays.iter().all(|d| *d <= Duration::from_secs(10)), "{delays:?}");
        }
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
