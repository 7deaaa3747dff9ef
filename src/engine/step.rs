//! What a step body is given and what it gives back.
//!
//! Every step kind has one body, `<step>_step(ctx, ..)`, in the module named
//! after it (see the table in `mod.rs`). It gets a [`StepCtx`]: where it runs
//! (phase, step), the emitter, the cancellation token, the settings, and what
//! earlier steps of this run left ([`RunState`]: the cluster's client, the
//! resolved upstream artifacts, the materialized GitOps tree). It returns
//! [`Done`] or a [`StepError`], the one place a [`Failure`] is built.

use super::event::{Event, Failure, PhaseNo, Stream};
use super::{Emitter, Settings, DEFAULT_WAIT};
use crate::cluster::{apply, outage};
use crate::content::{Content, Vars};
use crate::plan::{HumanDuration, Plan};
use crate::proc;
use crate::upstream::Resolved;
use anyhow::{anyhow, Result};
use kube::Client;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What a step did. `changed` is false when it found everything in place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Done {
    pub changed: bool,
    pub message: String,
}

impl Done {
    pub fn new(changed: bool, message: impl Into<String>) -> Self {
        Done {
            changed,
            message: message.into(),
        }
    }

    /// Nothing to do: everything was already in place.
    pub fn unchanged(message: impl Into<String>) -> Self {
        Done::new(false, message)
    }
}

/// Why a step (or a lesson, `crate::learn::Fail`) failed, built as
/// `StepError::new(reason).object(..).hint(..).tail(..)`; the run loop turns
/// it into the [`Failure`] of [`Event::StepFailed`]. [`StepError::interrupted`]
/// is the user's stop (a lesson then ends `interrupted`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepError {
    failure: Failure,
    interrupted: bool,
}

impl StepError {
    pub fn new(reason: impl Into<String>) -> Self {
        StepError {
            failure: Failure {
                object: None,
                reason: reason.into(),
                hint: None,
                output_tail: vec![],
            },
            interrupted: false,
        }
    }

    /// Stopped by the user (Ctrl-C, the lesson screen's `q`): reason
    /// `interrupted`, [`StepError::is_interrupted`] true.
    pub fn interrupted() -> Self {
        StepError {
            interrupted: true,
            ..StepError::new("interrupted")
        }
    }

    /// Whether this is the user's stop ([`StepError::interrupted`]).
    pub fn is_interrupted(&self) -> bool {
        self.interrupted
    }

    /// The object at fault (`kind cluster NAME`, `Deployment ns/name`).
    pub fn object(self, object: impl Into<String>) -> Self {
        self.object_if(Some(object.into()))
    }

    /// The object at fault, when the failing layer named one.
    pub fn object_if(mut self, object: Option<String>) -> Self {
        self.failure.object = object;
        self
    }

    /// What the user can do next.
    pub fn hint(self, hint: impl Into<String>) -> Self {
        self.hint_if(Some(hint.into()))
    }

    pub fn hint_if(mut self, hint: Option<String>) -> Self {
        self.failure.hint = hint;
        self
    }

    /// The last output lines of the child process that failed.
    pub fn tail(mut self, lines: Vec<String>) -> Self {
        self.failure.output_tail = lines;
        self
    }

    pub fn into_failure(self) -> Failure {
        self.failure
    }
}

/// Any other error: its message with its context chain, no object, no hint.
impl From<anyhow::Error> for StepError {
    fn from(e: anyhow::Error) -> Self {
        StepError::new(format!("{e:#}"))
    }
}

pub(crate) type StepResult = std::result::Result<Done, StepError>;

/// What the steps of one run hand on to later ones.
#[derive(Default)]
pub(crate) struct RunState {
    /// The cluster's client, once phase 0 has one.
    pub client: Option<Client>,
    /// With `--context`: the client `kindops up` built and checked before
    /// anything started ([`crate::cluster::client_to_install`]); the
    /// preflight step takes it instead of connecting again.
    pub given_client: Option<Client>,
    /// Every upstream artifact, checksums checked (phase 0's preflight).
    pub upstream: Vec<Resolved>,
    /// The materialized GitOps tree, made once per run ([`StepCtx::tree_dir`]).
    pub tree: Option<tempfile::TempDir>,
    /// [`crate::render::cache::tree_digest`] of `tree`, taken when it is made
    /// (`None` if it could not be read: renders then skip the cache).
    pub tree_digest: Option<String>,
    pub kinds: Option<apply::Kinds>,
    /// The git revision the last publish left (recorded with each phase).
    pub revision: Option<String>,
    /// Preflight saw a cgroup v1 container host (see [`crate::docker::CGROUP_V1`]).
    pub cgroup_v1: bool,
}

/// One step's view of the run.
pub(crate) struct StepCtx<'a> {
    pub phase: PhaseNo,
    pub step: usize,
    pub events: &'a Emitter,
    pub cancel: &'a CancellationToken,
    pub settings: &'a Settings,
    pub plan: &'a Plan,
    pub run: &'a mut RunState,
}

impl StepCtx<'_> {
    /// A log line of this step.
    pub fn log(&self, stream: Stream, line: impl Into<String>) {
        self.events.emit(Event::StepLog {
            phase: self.phase,
            step: self.step,
            stream,
            line: line.into(),
        });
    }

    /// A line kindops itself writes to this step's log.
    pub fn say(&self, line: impl Into<String>) {
        self.log(Stream::Kindops, line);
    }

    /// Reports progress inside this step ([`Event::StepProgress`]).
    pub fn progress(&self) -> impl Fn(String) + Sync + Send + 'static {
        let (em, phase, step) = (self.events.clone(), self.phase, self.step);
        move |message| em.emit(Event::StepProgress { phase, step, message })
    }

    /// Where the outage machinery reports for this step
    /// ([`Event::StepRecovery`]); one sink per step, so its requests report
    /// one outage once.
    pub fn recovery(&self) -> outage::RecoverySink {
        let (em, phase, step) = (self.events.clone(), self.phase, self.step);
        outage::RecoverySink::new(move |recovery| em.emit(Event::StepRecovery { phase, step, recovery }))
    }

    /// Runs a child process whose output lines go to the event stream as
    /// this step's log (see [`proc::run`]).
    pub async fn run_child(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        cancel: &CancellationToken,
    ) -> Result<proc::Finished> {
        let (em, phase, step) = (self.events.clone(), self.phase, self.step);
        proc::run(program, args, None, env, cancel, move |stream, line| {
            em.emit(Event::StepLog {
                phase,
                step,
                stream,
                line,
            })
        })
        .await
    }

    /// A wait step's deadline: `--timeout`, else the step's own, else [`DEFAULT_WAIT`].
    pub fn wait_timeout(&self, step: Option<HumanDuration>) -> Duration {
        self.settings.timeout.or(step.map(|d| d.0)).unwrap_or(DEFAULT_WAIT)
    }

    /// The cluster's client; an error when phase 0 did not connect to one.
    pub fn client(&self) -> std::result::Result<Client, StepError> {
        self.run.client.clone().ok_or_else(|| {
            StepError::new("no cluster yet: phase 0 did not connect to one")
                .hint("run the phases from 0 (`kindops up`)")
        })
    }

    /// Keeps the cluster's client and tells the readers which context it is
    /// ([`Event::ClusterReady`], once per run).
    pub fn set_client(&mut self, client: Client, context: String) {
        let first = self.run.client.is_none();
        self.run.client = Some(client);
        if first {
            self.events.emit(Event::ClusterReady { context });
        }
    }

    /// The materialized GitOps tree (ours + upstream), made once per run.
    pub fn tree_dir(&mut self) -> std::result::Result<PathBuf, StepError> {
        if let Some(t) = &self.run.tree {
            return Ok(t.path().to_path_buf());
        }
        if self.run.upstream.is_empty() {
            return Err(
                StepError::new("upstream artifacts were not resolved (phase 0's preflight does that)")
                    .hint("run from phase 0"),
            );
        }
        let repo_url = self.settings.git_source().map(|g| g.repo_url).unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix("kindops-gitops-")
            .tempdir()
            .map_err(anyhow::Error::from)?;
        Content::embedded().materialize(dir.path(), &self.run.upstream, &Vars { repo_url })?;
        self.say(format!("GitOps content materialized in {}", dir.path().display()));
        if let Some(over) = std::env::var_os(crate::content::OVERLAY_ENV).filter(|v| !v.is_empty()) {
            let over = PathBuf::from(over);
            crate::content::overlay(&over, dir.path())
                .map_err(|e| anyhow!("{}={}: {e:#}", crate::content::OVERLAY_ENV, over.display()))?;
            self.say(format!(
                "{}: laid {} over the GitOps content (a developer override)",
                crate::content::OVERLAY_ENV,
                over.display()
            ));
        }
        if !self.settings.products.is_empty() {
            crate::products::lay(dir.path(), &self.settings.products)?;
            let names: Vec<&str> = self.settings.products.iter().map(|p| p.name.as_str()).collect();
            self.say(format!(
                "your product folder(s) laid in as apps/{{{}}} with their ApplicationSets",
                names.join(",")
            ));
        }
        let p = dir.path().to_path_buf();
        self.run.tree_digest = crate::render::cache::tree_digest(&p).ok();
        self.run.tree = Some(dir);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PhaseSource;

    fn settings() -> Settings {
        Settings::for_tests(0, &std::env::temp_dir())
    }

    #[tokio::test]
    async fn a_step_logs_and_fails_as_its_phase_and_step() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let events = Emitter::new(tx);
        let cancel = CancellationToken::new();
        let settings = settings();
        let plan = Plan::load(&PhaseSource::Embedded, &Content::embedded()).unwrap();
        let mut run = RunState::default();
        let mut ctx = StepCtx {
            phase: 2,
            step: 3,
            events: &events,
            cancel: &cancel,
            settings: &settings,
            plan: &plan,
            run: &mut run,
        };
        let done = super::super::steps::note::note_step(&mut ctx, "first\nsecond")
            .await
            .unwrap();
        assert_eq!(done, Done::unchanged("first"));
        ctx.progress()("1/2".into());
        let no_client = ctx.client().err().unwrap().into_failure();
        assert_eq!(no_client.reason, "no cluster yet: phase 0 did not connect to one");
        assert_eq!(no_client.hint.as_deref(), Some("run the phases from 0 (`kindops up`)"));
        assert!(ctx.tree_dir().is_err(), "no upstream resolved yet");
        let got: Vec<Event> = std::iter::from_fn(|| rx.try_recv().ok()).map(|s| s.event).collect();
        assert_eq!(
            got,
            vec![
                Event::StepLog {
                    phase: 2,
                    step: 3,
                    stream: Stream::Kindops,
                    line: "first".into()
                },
                Event::StepLog {
                    phase: 2,
                    step: 3,
                    stream: Stream::Kindops,
                    line: "second".into()
                },
                Event::StepProgress {
                    phase: 2,
                    step: 3,
                    message: "1/2".into()
                },
            ]
        );
    }

    #[test]
    fn step_errors_build_the_failure() {
        let f = StepError::new("r")
            .object("kind cluster x")
            .hint("h")
            .tail(vec!["l".into()])
            .into_failure();
        assert_eq!(
            f,
            Failure {
                object: Some("kind cluster x".into()),
                reason: "r".into(),
                hint: Some("h".into()),
                output_tail: vec!["l".into()],
            }
        );
        let f = StepError::from(anyhow!("inner").context("outer")).into_failure();
        assert_eq!((f.object, f.reason, f.hint), (None, "outer: inner".into(), None));
        let stop = StepError::interrupted();
        assert!(stop.is_interrupted() && !StepError::new("r").is_interrupted());
        assert_eq!(stop.into_failure().reason, "interrupted");
    }
}
