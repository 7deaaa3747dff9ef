//! The UI-free engine: runs phases step by step and emits typed events.
//!
//! [`Engine::run`] takes a validated [`Plan`] and [`Settings`], resolves every
//! upstream artifact (checksums) before touching anything, materializes the
//! GitOps content once, then runs phases `0..=upto` in order. Every step is
//! idempotent (server-side apply, "exists" checks, watch-based waits), so a
//! re-run converges and reports what it found unchanged. Cancellation is one
//! token; dropping a step's future kills its child processes.
//!
//! This module is the run loop only (phases, step events, cancellation,
//! retry); [`steps`] holds one module per step kind, named as in
//! `phases/*.yaml`, and its dispatch ([`steps::run`], [`steps::cancel_grace`]).
//! Each step body is given a [`step::StepCtx`] and uses the services
//! (`crate::cluster`, `crate::docker`, `crate::gitsource`, `crate::render`,
//! `crate::argocd`, `crate::registry`), which know nothing of steps.

pub mod event;
pub mod state;
pub(crate) mod step;
pub(crate) mod steps;

pub use step::StepError;

use crate::cluster::Target;
use crate::gitsource::GitSource;
use crate::plan::{Phase, Plan, Step};
use crate::upstream::Mirror;
use anyhow::{anyhow, Result};
use event::{Control, Event, Failure, PhaseInfo, PhaseNo, RunOutcome, Stamped};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use step::{RunState, StepCtx, StepResult};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// Default deadline of a wait step that gives none.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// Everything a run needs besides the plan.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    /// Run phases 0..=upto.
    pub upto: PhaseNo,
    /// `--repo-url`; None = the built-in git source (kind only).
    pub repo_url: Option<String>,
    pub mirror: Option<Mirror>,
    /// The `--mirror` directory's image index (`<mirror>/images/index.yaml`,
    /// what `kindops fetch --images` saved), read and its archives checked
    /// by `kindops up` before the run; `None`: no mirror directory, or no
    /// images in it.
    pub mirror_images: Option<crate::images::ImageIndex>,
    pub cache_dir: PathBuf,
    /// Per-cluster state on this machine: `<data_dir>/<cluster>/{git,work,kind-config.yaml}`.
    pub data_dir: PathBuf,
    /// `--timeout`: overrides every wait step's own deadline.
    pub timeout: Option<Duration>,
    pub show_secrets: bool,
    /// Presenter mode: wait for [`Control::Continue`] before each phase.
    pub step_mode: bool,
    /// A reader can answer a failure with [`Control::Retry`] (the TUI); plain mode stops.
    pub interactive: bool,
    /// Host port for the Argo CD UI (kind port mapping).
    pub ui_port: u16,
    /// `--workers`: kind worker nodes beside the control plane, when
    /// kindops creates the cluster.
    pub workers: u8,
    /// `--node-image`: the kind node image; `None` = the pinned default
    /// (`manifests/kind/versions.yaml`).
    pub node_image: Option<String>,
    /// `--on-conflict`: what publishing does with a file both kindops's new
    /// content and a commit on `main` changed; `None`: stop and name it.
    pub on_conflict: Option<crate::gitsource::OnConflict>,
    /// `--keep-context`: set the kubeconfig's current context back to what
    /// it was before `kind create cluster` switched it.
    pub keep_context: bool,
    /// The local registry beside a kind cluster (`--registry-port`); `None`:
    /// `--no-registry`.
    pub registry: Option<crate::registry::RegistryOptions>,
    /// `--product`: the user's product folders, laid into the GitOps tree
    /// ([`crate::products::lay`]).
    pub products: Vec<crate::products::Product>,
}

#[cfg(test)]
impl Settings {
    /// What the engine's unit tests start from: kind cluster `t`, phases
    /// 0..=`upto`, data in `data` and the cache in `data/cache`, every flag
    /// at its default.
    pub(crate) fn for_tests(upto: PhaseNo, data: &std::path::Path) -> Settings {
        Settings {
            target: Target::Kind { name: "t".into() },
            upto,
            repo_url: None,
            mirror: None,
            mirror_images: None,
            cache_dir: data.join("cache"),
            data_dir: data.to_path_buf(),
            timeout: None,
            show_secrets: false,
            step_mode: false,
            interactive: false,
            ui_port: 8080,
            workers: 0,
            node_image: None,
            on_conflict: None,
            keep_context: false,
            registry: Some(crate::registry::RegistryOptions {
                port: crate::registry::DEFAULT_PORT,
                ..Default::default()
            }),
            products: vec![],
        }
    }
}

impl Settings {
    /// Per-cluster data on this machine ([`cluster_dir`]).
    pub fn cluster_dir(&self) -> PathBuf {
        cluster_dir(&self.data_dir, &self.target)
    }

    /// The git source for this run (see [`crate::gitsource`]).
    pub fn git_source(&self) -> Result<GitSource> {
        let work = self.cluster_dir().join("gitops-work");
        match (&self.repo_url, &self.target) {
            (Some(url), _) => Ok(GitSource::remote(url, work)),
            (None, Target::Kind { .. }) => Ok(GitSource::builtin(&self.cluster_dir().join("git"), work)),
            (None, Target::Context { context }) => Err(anyhow!(
                "with --context {context}, pass --repo-url: kindops's built-in git source is mounted into kind nodes only (use a git remote Argo CD can reach, or file:///path when Argo CD's repo-server runs on this host)"
            )),
        }
    }
}

/// Per-cluster data on this machine: `<data_dir>/<kind name>` or
/// `<data_dir>/context-<context>` (the context's characters other than
/// ASCII letters, digits, `-` and `.` as `_`).
pub fn cluster_dir(data_dir: &std::path::Path, target: &Target) -> PathBuf {
    let name = match target {
        Target::Kind { name } => name.clone(),
        Target::Context { context } => format!("context-{}", sanitize(context)),
    };
    data_dir.join(name)
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Sends events stamped with the milliseconds since it was made (the
/// engine's [`Event`]s by default; a lesson's emits `LessonEvent`s); cheap
/// to clone into tasks. A closed channel is ignored.
pub struct Emitter<E = Event> {
    tx: UnboundedSender<Stamped<E>>,
    start: Instant,
}

impl<E> Clone for Emitter<E> {
    fn clone(&self) -> Self {
        Emitter {
            tx: self.tx.clone(),
            start: self.start,
        }
    }
}

impl<E> Emitter<E> {
    pub fn new(tx: UnboundedSender<Stamped<E>>) -> Self {
        Emitter {
            tx,
            start: Instant::now(),
        }
    }
    pub fn emit(&self, event: E) {
        let _ = self.tx.send(Stamped {
            elapsed_ms: self.start.elapsed().as_millis() as u64,
            event,
        });
    }
}

/// Runs a plan. Construct with [`Engine::new`], then `run().await`.
pub struct Engine {
    plan: Plan,
    settings: Settings,
    events: Emitter,
    control: UnboundedReceiver<Control>,
    cancel: CancellationToken,
    /// What steps hand on to later ones (the client, the GitOps tree, ...).
    state: RunState,
}

impl Engine {
    pub fn new(
        plan: Plan,
        settings: Settings,
        events: UnboundedSender<Stamped>,
        control: UnboundedReceiver<Control>,
        cancel: CancellationToken,
    ) -> Self {
        Engine {
            plan,
            settings,
            events: Emitter::new(events),
            control,
            cancel,
            state: RunState::default(),
        }
    }

    /// Hands the run a client for `--context` that the caller already built
    /// and checked, so phase 0 does not connect again.
    pub fn with_client(mut self, client: kube::Client) -> Self {
        self.state.given_client = Some(client);
        self
    }

    /// Runs phases 0..=upto. Emits `RunStarted` first and `RunFinished` last.
    pub async fn run(mut self) -> RunOutcome {
        let phases: Vec<Phase> = self.plan.upto(self.settings.upto).to_vec();
        self.events.emit(Event::RunStarted {
            phases: phases
                .iter()
                .map(|p| PhaseInfo {
                    number: p.phase,
                    title: p.title.clone(),
                    explain: p.explain.clone(),
                    steps: p.steps.iter().map(Step::label).collect(),
                })
                .collect(),
            target: self.settings.target.describe(),
        });
        for phase in &phases {
            match self.run_phase(phase).await {
                Ok(()) => {}
                Err((outcome, failure)) => {
                    self.events.emit(Event::RunFinished { outcome, failure });
                    return outcome;
                }
            }
        }
        self.events.emit(Event::RunFinished {
            outcome: RunOutcome::Succeeded,
            failure: None,
        });
        RunOutcome::Succeeded
    }

    async fn run_phase(&mut self, phase: &Phase) -> std::result::Result<(), (RunOutcome, Option<Failure>)> {
        let n = phase.phase;
        if self.settings.step_mode {
            self.events.emit(Event::AwaitingContinue { phase: n });
            loop {
                tokio::select! {
                    c = self.control.recv() => match c {
                        Some(Control::Continue) => break,
                        Some(_) => continue,
                        None => return Err((RunOutcome::Interrupted, None)),
                    },
                    _ = self.cancel.cancelled() => return Err((RunOutcome::Interrupted, None)),
                }
            }
        }
        let started = Instant::now();
        self.events.emit(Event::PhaseStarted { phase: n });
        let mut i = 0;
        while i < phase.steps.len() {
            let step = &phase.steps[i];
            let t = Instant::now();
            self.events.emit(Event::StepStarted {
                phase: n,
                step: i,
                label: step.label(),
            });
            let cancel = self.cancel.clone();
            // Ok(result), or Err(what the cancelled step said while it stopped).
            let res: std::result::Result<StepResult, Option<Failure>> = {
                let fut = self.run_step(n, i, step);
                tokio::pin!(fut);
                tokio::select! {
                    r = &mut fut => Ok(r),
                    _ = cancel.cancelled() => {
                        // Steps that run children see the same token: they stop
                        // their process groups and clean up what this run made
                        // (a half-made kind cluster). Give them that long; other
                        // steps (API calls, watches, preflight's downloads) stop at once.
                        let grace = steps::cancel_grace(step);
                        match tokio::time::timeout(grace, &mut fut).await {
                            Ok(Err(e)) => Err(Some(e.into_failure())),
                            _ => Err(None),
                        }
                    }
                }
            };
            match res {
                Err(said) => {
                    let (object, what) = match said {
                        Some(f) => (f.object, f.reason),
                        None => (None, step.label()),
                    };
                    let failure = StepError::new(format!("interrupted during phase {n}, step {}: {what}", i + 1))
                        .object_if(object)
                        .hint("run `kindops up` again: every step converges, so it resumes where it stopped")
                        .into_failure();
                    self.events.emit(Event::StepFailed {
                        phase: n,
                        step: i,
                        failure: failure.clone(),
                        elapsed: t.elapsed(),
                    });
                    return Err((RunOutcome::Interrupted, Some(failure)));
                }
                Ok(Ok(done)) => {
                    self.events.emit(Event::StepFinished {
                        phase: n,
                        step: i,
                        changed: done.changed,
                        message: done.message,
                        elapsed: t.elapsed(),
                    });
                    i += 1;
                }
                Ok(Err(e)) => {
                    let failure = e.into_failure();
                    self.events.emit(Event::StepFailed {
                        phase: n,
                        step: i,
                        failure: failure.clone(),
                        elapsed: t.elapsed(),
                    });
                    if !self.settings.interactive {
                        return Err((RunOutcome::Failed, Some(failure)));
                    }
                    // The TUI may ask for a retry of this step; quitting cancels.
                    tokio::select! {
                        c = self.control.recv() => match c {
                            Some(Control::Retry) => continue,
                            _ => return Err((RunOutcome::Failed, Some(failure))),
                        },
                        _ = self.cancel.cancelled() => return Err((RunOutcome::Interrupted, Some(failure))),
                    }
                }
            }
        }
        if let Some(client) = &self.state.client {
            let rec = state::PhaseRecord {
                finished_at: k8s_openapi::jiff::Timestamp::now().to_string(),
                kindops: env!("CARGO_PKG_VERSION").to_string(),
                revision: self.state.revision.clone(),
            };
            if let Err(e) = state::record(client, n, &rec).await {
                tracing::warn!("could not record phase {n} in the cluster: {e:#}");
            }
        }
        self.events.emit(Event::PhaseFinished {
            phase: n,
            elapsed: started.elapsed(),
        });
        Ok(())
    }

    /// Runs one step ([`steps::run`]) with this run's context.
    async fn run_step(&mut self, n: PhaseNo, i: usize, step: &Step) -> StepResult {
        let ctx = &mut StepCtx {
            phase: n,
            step: i,
            events: &self.events,
            cancel: &self.cancel,
            settings: &self.settings,
            plan: &self.plan,
            run: &mut self.state,
        };
        steps::run(ctx, step).await
    }
}

/// Where kindops keeps per-cluster data: `$XDG_DATA_HOME/kindops` or `~/.local/share/kindops`.
/// Where kindops keeps its logs and other state that is not data:
/// `$XDG_STATE_HOME/kindops`, else `~/.local/state/kindops` (the XDG Base
/// Directory Specification 0.8: "actions history (logs, ...)").
pub fn default_state_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kindops")
}

pub fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kindops")
}
