//! Watching what a lesson changes move: Applications (sync status, health,
//! operation) and the products' Argo Rollouts `Rollout`s (replicas), one kube-runtime watcher per
//! object (re-listing with backoff, never sleep-polling), each state change
//! emitted as [`LessonEvent::TransitionObserved`] with the seconds since the
//! lesson's last change.

use super::event::LessonEvent;
use super::{Fail, LessonCtx};
use crate::argocd::{application_resource, AppSummary};
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{watcher, WatchStreamExt};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// One object a lesson watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Application `argocd/<name>`.
    App(String),
    /// Rollout `<namespace>/<name>` (`argoproj.io/v1alpha1`, the products'
    /// workload: the mini-service base).
    Rollout(String, String),
}

impl Target {
    /// `Application argocd/cart`, `Rollout coffee/cart-app`.
    pub fn label(&self) -> String {
        match self {
            Target::App(n) => format!("Application {}/{n}", crate::argocd::ARGOCD_NAMESPACE),
            Target::Rollout(ns, n) => format!("Rollout {ns}/{n}"),
        }
    }
}

/// A Rollout's replicas as the lesson reads them (Argo Rollouts v1.9.1
/// `RolloutSpec.Replicas`, `RolloutStatus.ReadyReplicas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    /// `spec.replicas` (1 when unset, the API's default).
    pub spec: i64,
    /// `status.readyReplicas` (0 when unset).
    pub ready: i64,
}

/// An Application's state as one word pair: `sync/health`, plus `, Syncing`
/// while a sync operation runs (`status.operationState.phase: Running`, which
/// Argo CD's UI shows as "Syncing"); `absent` when there is no such object.
pub fn app_state(a: Option<&AppSummary>) -> String {
    match a {
        None => "absent".into(),
        Some(a) => {
            let sync = if a.sync.is_empty() { "<none>" } else { &a.sync };
            let health = if a.health.is_empty() { "<none>" } else { &a.health };
            let running = if a.operation_phase == "Running" {
                ", Syncing"
            } else {
                ""
            };
            format!("{sync}/{health}{running}")
        }
    }
}

fn replicas(o: &DynamicObject) -> Replicas {
    let n = |p: &str| o.data.pointer(p).and_then(serde_json::Value::as_i64);
    Replicas {
        spec: n("/spec/replicas").unwrap_or(1),
        ready: n("/status/readyReplicas").unwrap_or(0),
    }
}

/// What the watched objects look like now.
pub struct View<'a> {
    targets: &'a [Target],
    current: &'a [Option<DynamicObject>],
}

impl View<'_> {
    fn get(&self, t: &Target) -> Option<&DynamicObject> {
        let i = self.targets.iter().position(|x| x == t)?;
        self.current[i].as_ref()
    }

    /// Application `argocd/<name>` (None: absent, or not watched).
    pub fn app(&self, name: &str) -> Option<AppSummary> {
        self.get(&Target::App(name.into())).map(AppSummary::from_object)
    }

    /// Rollout `<ns>/<name>` as last seen (None: absent, or not watched).
    pub fn rollout_object(&self, ns: &str, name: &str) -> Option<&DynamicObject> {
        self.get(&Target::Rollout(ns.into(), name.into()))
    }

    /// Rollout `<ns>/<name>`'s replicas (None: absent, or not watched).
    pub fn rollout(&self, ns: &str, name: &str) -> Option<Replicas> {
        self.get(&Target::Rollout(ns.into(), name.into())).map(replicas)
    }
}

fn state_of(t: &Target, o: Option<&DynamicObject>) -> (String, String) {
    match (t, o) {
        (_, None) => ("absent".into(), String::new()),
        (Target::App(_), Some(o)) => {
            let a = AppSummary::from_object(o);
            (app_state(Some(&a)), a.revision)
        }
        (Target::Rollout(..), Some(o)) => {
            let r = replicas(o);
            let base = format!("replicas {}, ready {}", r.spec, r.ready);
            // While a new version rolls out (or was aborted): its canary step,
            // weight and phase, as `kubectl argo rollouts get` shows them.
            let ro = crate::delivery::rollouts::RolloutSummary::from_object(o);
            let tag = ro.image.rsplit_once(':').map_or("", |(_, t)| t);
            let canary = if ro.aborted {
                format!(", aborted ({}), {}", short(tag), ro.phase)
            } else if ro.in_progress() {
                format!(
                    ", canary {} at step {} ({} %), {}",
                    short(tag),
                    ro.step_text(),
                    ro.set_weight,
                    ro.phase
                )
            } else {
                String::new()
            };
            (format!("{base}{canary}"), String::new())
        }
    }
}

/// A commit-like tag cut to 7 characters, as git shows a commit.
fn short(tag: &str) -> &str {
    if tag.len() == 40 && tag.chars().all(|c| c.is_ascii_hexdigit()) {
        &tag[..7]
    } else {
        tag
    }
}

enum Msg {
    Obj(usize, Option<Box<DynamicObject>>),
    Ready(usize),
}

/// Watches a few objects for one lesson; dropped, its watchers stop.
pub struct Observer {
    targets: Vec<Target>,
    current: Vec<Option<DynamicObject>>,
    shown: Vec<String>,
    rx: UnboundedReceiver<Msg>,
    _tasks: JoinSet<()>,
    since: Instant,
    /// Every transition seen since [`Observer::mark_change`]: (object, from, to).
    pub seen: Vec<(String, String, String)>,
}

impl Observer {
    /// Starts one watcher per target and returns once each has listed.
    ///
    /// Errors: a watch that cannot list within 30 s (the API server's error).
    pub async fn start(ctx: &LessonCtx, targets: Vec<Target>) -> Result<Observer, Fail> {
        let (tx, rx) = unbounded_channel();
        let mut tasks = JoinSet::new();
        for (i, t) in targets.iter().enumerate() {
            let (ar, ns, name) = match t {
                Target::App(n) => (
                    application_resource(),
                    crate::argocd::ARGOCD_NAMESPACE.to_string(),
                    n.clone(),
                ),
                Target::Rollout(ns, n) => (crate::delivery::rollouts::rollout_resource(), ns.clone(), n.clone()),
            };
            let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
            let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
            let tx = tx.clone();
            tasks.spawn(async move {
                let mut s = watcher(api, cfg).default_backoff().boxed();
                let mut listed = false;
                while let Some(e) = s.next().await {
                    let msgs = match e {
                        Ok(watcher::Event::Init) => {
                            listed = false;
                            vec![]
                        }
                        Ok(watcher::Event::InitApply(o)) | Ok(watcher::Event::Apply(o)) => {
                            listed = true;
                            vec![Msg::Obj(i, Some(Box::new(o)))]
                        }
                        Ok(watcher::Event::InitDone) => {
                            let mut v = vec![];
                            if !listed {
                                v.push(Msg::Obj(i, None));
                            }
                            v.push(Msg::Ready(i));
                            v
                        }
                        Ok(watcher::Event::Delete(_)) => vec![Msg::Obj(i, None)],
                        Err(e) => {
                            tracing::debug!("watch on {name}: {e}");
                            vec![]
                        }
                    };
                    for m in msgs {
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        let n = targets.len();
        let mut obs = Observer {
            current: vec![None; n],
            shown: vec![String::new(); n],
            targets,
            rx,
            _tasks: tasks,
            since: Instant::now(),
            seen: vec![],
        };
        let mut ready = vec![false; n];
        let deadline = Instant::now() + Duration::from_secs(30);
        while ready.iter().any(|r| !r) {
            match tokio::time::timeout_at(deadline, obs.rx.recv()).await {
                Ok(Some(Msg::Ready(i))) => ready[i] = true,
                Ok(Some(Msg::Obj(i, o))) => obs.current[i] = o.map(|o| *o),
                Ok(None) | Err(_) => {
                    return Err(Fail::new(format!(
                        "cannot watch {} (no answer from the API server within 30 s)",
                        obs.targets.iter().map(Target::label).collect::<Vec<_>>().join(", ")
                    ))
                    .hint("check the cluster: `kubectl get --raw /readyz`"))
                }
            }
        }
        for i in 0..n {
            obs.shown[i] = state_of(&obs.targets[i], obs.current[i].as_ref()).0;
        }
        Ok(obs)
    }

    /// The objects as last seen.
    pub fn view(&self) -> View<'_> {
        View {
            targets: &self.targets,
            current: &self.current,
        }
    }

    /// The lesson just changed something: transitions count seconds from now.
    pub fn mark_change(&mut self) {
        self.since = Instant::now();
        self.seen.clear();
    }

    /// Whether `object` (a [`Target::label`]) moved to a state starting with `to` since the last change.
    pub fn saw(&self, object: &str, to: &str) -> bool {
        self.seen.iter().any(|(o, _, t)| o == object && t.starts_with(to))
    }

    /// One watch message: the object's new state, and its transition
    /// (emitted and kept in [`Observer::seen`]) when its state changed.
    fn apply(&mut self, ctx: &LessonCtx, msg: Msg) {
        let Msg::Obj(i, o) = msg else { return };
        self.current[i] = o.map(|o| *o);
        let (to, revision) = state_of(&self.targets[i], self.current[i].as_ref());
        if to != self.shown[i] {
            let object = self.targets[i].label();
            let from = std::mem::replace(&mut self.shown[i], to.clone());
            self.seen.push((object.clone(), from.clone(), to.clone()));
            ctx.emit(LessonEvent::TransitionObserved {
                lesson: ctx.lesson,
                object,
                from,
                to,
                revision,
                seconds: (self.since.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            });
        }
    }

    /// Takes in (and emits) every transition already received, without
    /// waiting: after a wait that did not go through [`Observer::until`].
    pub fn catch_up(&mut self, ctx: &LessonCtx) {
        while let Ok(m) = self.rx.try_recv() {
            self.apply(ctx, m);
        }
    }

    /// Emits every transition until `done(view, self.seen)` holds, the
    /// lesson's deadline passes or it is cancelled. `what` says what it waits
    /// for, in the timeout's reason.
    ///
    /// Errors: the deadline (naming every watched object's last state and,
    /// for Applications, Argo CD's reason); cancellation (`interrupted`).
    pub async fn until(
        &mut self,
        ctx: &LessonCtx,
        what: &str,
        mut done: impl FnMut(&View<'_>, &[(String, String, String)]) -> bool,
    ) -> Result<(), Fail> {
        let deadline = Instant::now() + ctx.timeout;
        loop {
            if done(&self.view(), &self.seen) {
                return Ok(());
            }
            let msg = tokio::select! {
                _ = ctx.cancel.cancelled() => return Err(Fail::interrupted()),
                m = tokio::time::timeout_at(deadline, self.rx.recv()) => m,
            };
            match msg {
                Ok(Some(m)) => self.apply(ctx, m),
                Ok(None) => return Err(Fail::new("the watch ended unexpectedly")),
                Err(_) => {
                    let states: Vec<String> = self
                        .targets
                        .iter()
                        .zip(&self.current)
                        .map(|(t, o)| match (t, o) {
                            (Target::App(_), Some(o)) => {
                                format!("{}: {}", t.label(), AppSummary::from_object(o).describe())
                            }
                            _ => format!("{}: {}", t.label(), state_of(t, o.as_ref()).0),
                        })
                        .collect();
                    return Err(Fail::new(format!(
                        "{what}: not seen within {}; last seen: {}",
                        humantime::format_duration(ctx.timeout),
                        states.join("; ")
                    ))
                    .object(self.targets[0].label())
                    .hint("look at `kindops status`, or pass a longer --timeout"));
                }
            }
        }
    }
}
