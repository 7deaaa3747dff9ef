//! Live Applications and ApplicationSets: two kube watchers (no argocd
//! login; works in Argo CD core mode) that send deltas to the app loop.
//!
//! Before Argo CD is installed the CRDs do not exist: the watcher's list
//! fails with 404 and `default_backoff()` retries; we report it as a status,
//! never blocking the UI.

use crate::argocd::{application_resource, applicationset_resource, AppSummary};
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use tokio::sync::mpsc::UnboundedSender;

pub use crate::argocd::{AppSetSummary, SetCondition};

/// Where a watcher stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WatchStatus {
    /// No client: the cluster does not exist yet.
    #[default]
    NoCluster,
    Connecting,
    /// The initial list is done; deltas follow.
    Live,
    /// The list or watch failed; the watcher retries with backoff.
    Retrying(String),
}

/// What the watch task sends to the app loop.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchMsg {
    AppsStatus(WatchStatus),
    SetsStatus(WatchStatus),
    /// The whole list, after a (re)list.
    AppsReset(Vec<AppSummary>),
    AppApplied(Box<AppSummary>),
    AppDeleted {
        namespace: String,
        name: String,
    },
    SetsReset(Vec<AppSetSummary>),
    SetApplied(AppSetSummary),
    SetDeleted {
        namespace: String,
        name: String,
    },
    /// The CI → CD loop's PipelineRuns and Rollouts, rebuilt whole on a
    /// change ([`crate::tui::watch_delivery`]).
    Delivery(Box<crate::delivery::Delivery>),
}

/// Says what a watch error means for someone waiting for Argo CD.
fn explain(err: &watcher::Error, plural: &str) -> String {
    let not_found = match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.is_not_found() || s.code == 404,
        watcher::Error::WatchError(s) => s.is_not_found() || s.code == 404,
        _ => false,
    };
    if not_found {
        format!("{plural}.argoproj.io not found: Argo CD is not installed yet; retrying")
    } else {
        format!("{err}; retrying")
    }
}

/// One watched kind: how to read it and how to tell the app about it.
trait Watched: Sized + Send + 'static {
    const PLURAL: &'static str;
    fn resource() -> kube::api::ApiResource;
    fn read(obj: &DynamicObject) -> Self;
    fn status(s: WatchStatus) -> WatchMsg;
    fn reset(all: Vec<Self>) -> WatchMsg;
    fn applied(self) -> WatchMsg;
    fn deleted(namespace: String, name: String) -> WatchMsg;
}

impl Watched for AppSummary {
    const PLURAL: &'static str = "applications";
    fn resource() -> kube::api::ApiResource {
        application_resource()
    }
    fn read(obj: &DynamicObject) -> Self {
        AppSummary::from_object(obj)
    }
    fn status(s: WatchStatus) -> WatchMsg {
        WatchMsg::AppsStatus(s)
    }
    fn reset(all: Vec<Self>) -> WatchMsg {
        WatchMsg::AppsReset(all)
    }
    fn applied(self) -> WatchMsg {
        WatchMsg::AppApplied(Box::new(self))
    }
    fn deleted(namespace: String, name: String) -> WatchMsg {
        WatchMsg::AppDeleted { namespace, name }
    }
}

impl Watched for AppSetSummary {
    const PLURAL: &'static str = "applicationsets";
    fn resource() -> kube::api::ApiResource {
        applicationset_resource()
    }
    fn read(obj: &DynamicObject) -> Self {
        AppSetSummary::from_object(obj)
    }
    fn status(s: WatchStatus) -> WatchMsg {
        WatchMsg::SetsStatus(s)
    }
    fn reset(all: Vec<Self>) -> WatchMsg {
        WatchMsg::SetsReset(all)
    }
    fn applied(self) -> WatchMsg {
        WatchMsg::SetApplied(self)
    }
    fn deleted(namespace: String, name: String) -> WatchMsg {
        WatchMsg::SetDeleted { namespace, name }
    }
}

/// Lists then watches one kind in all namespaces; on errors the stream
/// backs off and relists. Returns when the UI is gone.
async fn watch_kind<T: Watched, M: From<WatchMsg>>(client: kube::Client, tx: UnboundedSender<M>) {
    let api: Api<DynamicObject> = Api::all_with(client, &T::resource());
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut buffer: Vec<T> = Vec::new();
    let mut last = WatchStatus::Connecting;
    let send = |m: WatchMsg| tx.send(m.into()).is_ok();
    if !send(T::status(last.clone())) {
        return;
    }
    while let Some(item) = stream.next().await {
        let ok = match item {
            Ok(Event::Init) => {
                buffer.clear();
                true
            }
            Ok(Event::InitApply(o)) => {
                buffer.push(T::read(&o));
                true
            }
            Ok(Event::InitDone) => {
                let mut ok = send(T::reset(std::mem::take(&mut buffer)));
                if last != WatchStatus::Live {
                    last = WatchStatus::Live;
                    ok &= send(T::status(last.clone()));
                }
                ok
            }
            Ok(Event::Apply(o)) => send(T::read(&o).applied()),
            Ok(Event::Delete(o)) => send(T::deleted(
                o.metadata.namespace.clone().unwrap_or_default(),
                o.metadata.name.clone().unwrap_or_default(),
            )),
            Err(e) => {
                tracing::debug!(error = %e, kind = T::PLURAL, "watch error");
                let st = WatchStatus::Retrying(explain(&e, T::PLURAL));
                if st != last {
                    last = st;
                    send(T::status(last.clone()))
                } else {
                    true
                }
            }
        };
        if !ok {
            return; // the UI is gone
        }
    }
}

/// Starts both watchers; abort them with the returned handles (they also
/// end when `tx`'s receiver is dropped). A watcher that panics is reported
/// as a status (the terminal's panic hook also stops the UI). `tx` is the
/// loop's one channel: anything a [`WatchMsg`] converts into.
pub fn spawn<M: From<WatchMsg> + Send + 'static>(
    client: kube::Client,
    tx: UnboundedSender<M>,
) -> Vec<tokio::task::AbortHandle> {
    let apps = tokio::spawn(watch_kind::<AppSummary, M>(client.clone(), tx.clone()));
    let sets = tokio::spawn(watch_kind::<AppSetSummary, M>(client.clone(), tx.clone()));
    let tx_d = tx.clone();
    let delivery = tokio::spawn(crate::tui::watch_delivery::watch_delivery(client, move |d| {
        tx_d.send(WatchMsg::Delivery(Box::new(d)).into()).is_ok()
    }));
    let mut aborts = vec![apps.abort_handle(), sets.abort_handle(), delivery.abort_handle()];
    for (handle, status) in [
        (apps, AppSummary::status as fn(WatchStatus) -> WatchMsg),
        (sets, AppSetSummary::status),
    ] {
        let tx = tx.clone();
        aborts.push(
            tokio::spawn(async move {
                if let Err(e) = handle.await {
                    if e.is_panic() {
                        tracing::error!(error = %e, "watcher task panicked");
                        let _ =
                            tx.send(status(WatchStatus::Retrying("watcher crashed (see the log file)".into())).into());
                    }
                }
            })
            .abort_handle(),
        );
    }
    aborts
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    #[test]
    fn a_missing_crd_reads_as_argo_cd_not_installed_yet() {
        let e = watcher::Error::InitialListFailed(kube::Error::Api(
            Status::failure("the server could not find the requested resource", "NotFound")
                .with_code(404)
                .boxed(),
        ));
        assert_eq!(
            explain(&e, "applications"),
            "applications.argoproj.io not found: Argo CD is not installed yet; retrying"
        );
        // A real API server answers a list of a group it does not serve
        // with a plain-text "404 page not found" (seen on kind before
        // phase 1): kube reports it with code 404 and no NotFound reason.
        let e = watcher::Error::InitialListFailed(kube::Error::Api(
            Status::failure("404 page not found", "Failed to parse error data")
                .with_code(404)
                .boxed(),
        ));
        assert_eq!(
            explain(&e, "applications"),
            "applications.argoproj.io not found: Argo CD is not installed yet; retrying"
        );
        let e = watcher::Error::InitialListFailed(kube::Error::Api(
            Status::failure("applications.argoproj.io is forbidden", "Forbidden")
                .with_code(403)
                .boxed(),
        ));
        let text = explain(&e, "applications");
        assert!(text.contains("forbidden") && text.ends_with("; retrying"), "{text}");
    }

    #[test]
    fn appset_summary_reads_conditions_and_generated_apps() {
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
            "metadata": {"name": "coffee", "namespace": "argocd"},
            "status": {
                "conditions": [
                    {"type": "ErrorOccurred", "status": "False", "message": "Successfully generated parameters"},
                    {"type": "ResourcesUpToDate", "status": "True", "message": "All applications have been generated successfully"}
                ],
                "resources": [{"name": "cart", "kind": "Application"}, {"name": "order", "kind": "Application"}]
            }
        }))
        .unwrap();
        let s = AppSetSummary::from_object(&obj);
        assert_eq!(s.name, "coffee");
        assert_eq!(s.generated, vec!["cart", "order"]);
        assert!(s.up_to_date());
        assert_eq!(s.error(), None);
    }
}
