//! The UI-free engine: runs phases step by step and emits typed events.
//!
//! [`Engine::run`] takes a validated [`Plan`] and [`Settings`], resolves every
//! upstream artifact (checksums) before touching anything, materializes the
//! GitOps content once, then runs phases `0..=upto` in order. Every step is
//! idempotent (server-side apply, "exists" checks, watch-based waits), so a
//! re-run converges and reports what it found unchanged. Cancellation is one
//! token; dropping a step's future kills its child processes.

pub mod apply;
pub mod event;
pub mod git_source;
pub mod preflight;
pub mod proc;
pub mod provider;
pub mod state;
pub mod wait;

use crate::content::{Content, Vars};
use crate::plan::{Phase, Plan, Step};
use crate::upstream::{Mirror, Resolved, Upstream};
use anyhow::{anyhow, Result};
use event::{Control, Event, Failure, PhaseInfo, PhaseNo, RunOutcome, Stamped, Stream};
use git_source::GitSource;
use kube::Client;
use provider::Target;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// Namespace Argo CD runs in (Argo CD's install.yaml expects `argocd`).
pub const ARGOCD_NAMESPACE: &str = "argocd";

/// How long a cancelled step may take to stop its children and clean up
/// (`kind delete cluster` of a cluster this run was creating takes ~6 s).
pub const CLEANUP_GRACE: Duration = Duration::from_secs(60);

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
}

impl Settings {
    fn cluster_dir(&self) -> PathBuf {
        let name = match &self.target {
            Target::Kind { name } => name.clone(),
            Target::Context { context } => format!("context-{}", sanitize(context)),
        };
        self.data_dir.join(name)
    }

    /// The git source for this run (see [`git_source`]).
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

/// Sends stamped events; cheap to clone into tasks.
#[derive(Clone)]
pub struct Emitter {
    tx: UnboundedSender<Stamped>,
    start: Instant,
}

impl Emitter {
    pub fn new(tx: UnboundedSender<Stamped>) -> Self {
        Emitter {
            tx,
            start: Instant::now(),
        }
    }
    pub fn emit(&self, event: Event) {
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
    client: Option<Client>,
    upstream: Vec<Resolved>,
    tree: Option<tempfile::TempDir>,
    kinds: Option<apply::Kinds>,
    revision: Option<String>,
}

/// A step's failure, before it is turned into an event.
struct StepError(Failure);

impl From<anyhow::Error> for StepError {
    fn from(e: anyhow::Error) -> Self {
        StepError(Failure {
            object: None,
            reason: format!("{e:#}"),
            hint: None,
            output_tail: vec![],
        })
    }
}

type StepResult = std::result::Result<(bool, String), StepError>;

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
            client: None,
            upstream: vec![],
            tree: None,
            kinds: None,
            revision: None,
        }
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
                        // steps (API calls, watches) stop at once.
                        let grace = if matches!(step, Step::CreateCluster {} | Step::PublishRepo {} | Step::Preflight {}) {
                            CLEANUP_GRACE
                        } else {
                            Duration::ZERO
                        };
                        match tokio::time::timeout(grace, &mut fut).await {
                            Ok(Err(StepError(f))) => Err(Some(f)),
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
                    let failure = Failure {
                        object,
                        reason: format!("interrupted during phase {n}, step {}: {what}", i + 1),
                        hint: Some(
                            "run `kindops up` again: every step converges, so it resumes where it stopped".into(),
                        ),
                        output_tail: vec![],
                    };
                    self.events.emit(Event::StepFailed {
                        phase: n,
                        step: i,
                        failure: failure.clone(),
                        elapsed: t.elapsed(),
                    });
                    return Err((RunOutcome::Interrupted, Some(failure)));
                }
                Ok(Ok((changed, message))) => {
                    self.events.emit(Event::StepFinished {
                        phase: n,
                        step: i,
                        changed,
                        message,
                        elapsed: t.elapsed(),
                    });
                    i += 1;
                }
                Ok(Err(StepError(failure))) => {
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
        if let Some(client) = &self.client {
            let rec = state::PhaseRecord {
                finished_at: k8s_openapi::jiff::Timestamp::now().to_string(),
                kindops: env!("CARGO_PKG_VERSION").to_string(),
                revision: self.revision.clone(),
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

    /// Keeps the cluster's client and tells the readers which context it is
    /// ([`Event::ClusterReady`], once per run).
    fn set_client(&mut self, client: Client, context: String) {
        let first = self.client.is_none();
        self.client = Some(client);
        if first {
            self.events.emit(Event::ClusterReady { context });
        }
    }

    fn log(&self, phase: PhaseNo, step: usize, stream: Stream, line: String) {
        self.events.emit(Event::StepLog {
            phase,
            step,
            stream,
            line,
        });
    }

    fn progress_fn(&self, phase: PhaseNo, step: usize) -> impl Fn(String) + Sync + Send + 'static {
        let em = self.events.clone();
        move |message| em.emit(Event::StepProgress { phase, step, message })
    }

    fn wait_timeout(&self, step: Option<crate::plan::HumanDuration>) -> Duration {
        self.settings.timeout.or(step.map(|d| d.0)).unwrap_or(DEFAULT_WAIT)
    }

    fn client_or_err(&self) -> std::result::Result<Client, StepError> {
        self.client.clone().ok_or_else(|| {
            StepError(Failure {
                object: None,
                reason: "no cluster yet: phase 0 did not connect to one".into(),
                hint: Some("run the phases from 0 (`kindops up`)".into()),
                output_tail: vec![],
            })
        })
    }

    async fn run_step(&mut self, n: PhaseNo, i: usize, step: &Step) -> StepResult {
        match step {
            Step::Preflight {} => self.preflight(n, i).await,
            Step::CreateCluster {} => self.create_cluster(n, i).await,
            Step::Apply { path, namespace } => {
                let client = self.client_or_err()?;
                let tree = self.tree_dir(n, i)?;
                let rendered = {
                    let tree = tree.clone();
                    let path = path.clone();
                    tokio::task::spawn_blocking(move || apply::render(&tree, &path))
                        .await
                        .map_err(|e| anyhow!("render task: {e}"))??
                };
                let manifests = apply::parse_manifests(&rendered, path)?;
                let kinds = self
                    .kinds
                    .get_or_insert_with(|| apply::Kinds::new(client.clone()))
                    .clone();
                let progress = self.progress_fn(n, i);
                let report = apply::apply(
                    &client,
                    &kinds,
                    manifests,
                    namespace.as_deref(),
                    self.wait_timeout(None).min(Duration::from_secs(120)),
                    &progress,
                )
                .await
                .map_err(|e| {
                    StepError(Failure {
                        object: e.object,
                        reason: e.reason,
                        hint: Some(format!(
                            "fix the manifest under {path} (or the patch kindops puts on it) and run again"
                        )),
                        output_tail: vec![],
                    })
                })?;
                Ok((
                    report.changed > 0,
                    format!(
                        "{} objects ({} CRDs), {} changed",
                        report.total,
                        report.crds.len(),
                        report.changed
                    ),
                ))
            }
            Step::WaitRollouts { namespaces, timeout } => {
                let client = self.client_or_err()?;
                let progress = self.progress_fn(n, i);
                let t = self.wait_timeout(*timeout);
                let ready = wait::rollouts_available(&client, namespaces, t, &progress).await.map_err(|e| {
                    StepError(Failure { object: e.object, reason: e.reason, hint: Some("a workload is not Available: look at its pods' events (image pulls, scheduling, resources)".into()), output_tail: vec![] })
                })?;
                Ok((false, format!("{ready} workloads Available")))
            }
            Step::PublishRepo {} => self.publish(n, i).await,
            Step::WaitApplications {
                applications,
                applicationsets,
                timeout,
            } => {
                let client = self.client_or_err()?;
                let progress = self.progress_fn(n, i);
                let t = self.wait_timeout(*timeout);
                let apps = wait::applications_ready(&client, ARGOCD_NAMESPACE, applications, applicationsets, t, &progress)
                    .await
                    .map_err(|e| {
                        StepError(Failure {
                            object: e.object,
                            reason: e.reason,
                            hint: Some("look at the Application's conditions and operation state: `kindops status`, or `kubectl -n argocd describe application NAME`".into()),
                            output_tail: vec![],
                        })
                    })?;
                Ok((
                    false,
                    format!(
                        "{} Synced+Healthy: {}",
                        apps.len(),
                        apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
            Step::ShowSecret {
                namespace,
                name,
                key,
                label,
            } => {
                let client = self.client_or_err()?;
                let api: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(client, namespace);
                let how = format!("kubectl -n {namespace} get secret {name} -o jsonpath='{{.data.{key}}}' | base64 -d");
                match api.get_opt(name).await.map_err(|e| anyhow!("reading Secret {namespace}/{name}: {e}"))? {
                    None => Ok((false, format!("Secret {namespace}/{name} does not exist (yet): {label} is not there; Argo CD creates it at first start and you may delete it after changing the password"))),
                    Some(secret) => {
                        let value = secret
                            .data
                            .and_then(|d| d.get(key).map(|b| String::from_utf8_lossy(&b.0).to_string()))
                            .ok_or_else(|| anyhow!("Secret {namespace}/{name} has no key {key}"))?;
                        if self.settings.show_secrets {
                            self.events.emit(Event::SecretShown { phase: n, step: i, label: label.clone(), value });
                            Ok((false, format!("{label} shown (--show-secrets)")))
                        } else {
                            self.log(n, i, Stream::Kindops, format!("to read {label}: {how}"));
                            Ok((false, format!("{label} is in Secret {namespace}/{name}; run with --show-secrets to print it, or: {how}")))
                        }
                    }
                }
            }
            Step::Note { text } => {
                for line in text.lines() {
                    self.log(n, i, Stream::Kindops, line.to_string());
                }
                Ok((false, text.lines().next().unwrap_or_default().to_string()))
            }
        }
    }

    /// The materialized GitOps tree (ours + upstream), made once per run.
    fn tree_dir(&mut self, n: PhaseNo, i: usize) -> std::result::Result<PathBuf, StepError> {
        if let Some(t) = &self.tree {
            return Ok(t.path().to_path_buf());
        }
        if self.upstream.is_empty() {
            return Err(StepError(Failure {
                object: None,
                reason: "upstream artifacts were not resolved (phase 0's preflight does that)".into(),
                hint: Some("run from phase 0".into()),
                output_tail: vec![],
            }));
        }
        let repo_url = self.settings.git_source().map(|g| g.repo_url).unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix("kindops-gitops-")
            .tempdir()
            .map_err(anyhow::Error::from)?;
        Content::embedded().materialize(dir.path(), &self.upstream, &Vars { repo_url })?;
        self.log(
            n,
            i,
            Stream::Kindops,
            format!("GitOps content materialized in {}", dir.path().display()),
        );
        let p = dir.path().to_path_buf();
        self.tree = Some(dir);
        Ok(p)
    }

    async fn preflight(&mut self, n: PhaseNo, i: usize) -> StepResult {
        let mut checks = Vec::new();
        match self.settings.target.clone() {
            Target::Kind { name } => {
                checks.extend(preflight::docker().await);
                checks.extend(preflight::binaries(&["kind", "kubectl", "git"]));
                if preflight::verdict(&checks).is_ok() && !self.kind_cluster_exists(&name).await? {
                    checks.extend(preflight::ports(&[self.settings.ui_port]));
                }
            }
            Target::Context { .. } => {
                checks.extend(preflight::binaries(&["kubectl", "git"]));
            }
        }
        checks.extend(
            preflight::inotify()
                .into_iter()
                .filter(|_| matches!(self.settings.target, Target::Kind { .. })),
        );
        checks.extend(preflight::disk(&self.settings.data_dir));
        for c in &checks {
            self.log(n, i, Stream::Kindops, c.line());
        }
        if let Err(c) = preflight::verdict(&checks) {
            return Err(StepError(Failure {
                object: Some(c.name),
                reason: c.detail,
                hint: c.hint,
                output_tail: vec![],
            }));
        }
        // The git source must be decidable before anything is created (only
        // phases that publish need one).
        let publishes = self.plan.publishes(self.settings.upto);
        self.settings
            .git_source()
            .map(|_| ())
            .or_else(|e| if publishes { Err(e) } else { Ok(()) })
            .map_err(|e| {
                StepError(Failure {
                    object: Some("--repo-url".into()),
                    reason: format!("{e:#}"),
                    hint: Some("pass --repo-url URL".into()),
                    output_tail: vec![],
                })
            })?;
        // Every upstream artifact, checksums checked, before anything is applied.
        let up = Upstream {
            mirror: self.settings.mirror.clone(),
            cache_dir: self.settings.cache_dir.clone(),
        };
        let progress = self.progress_fn(n, i);
        let resolved = up.resolve_all_reporting(&crate::upstream::pins(), &progress).await.map_err(|e| StepError(Failure {
            object: Some("upstream artifacts".into()),
            reason: format!("{e:#}"),
            hint: Some("fix the mirror or the cache, or run `kindops fetch --into DIR` where there is internet and pass --mirror DIR".into()),
            output_tail: vec![],
        }))?;
        for r in &resolved {
            self.log(
                n,
                i,
                Stream::Kindops,
                format!(
                    "ok      upstream  {} {} {} (sha256 {}…, {})",
                    r.pin.name,
                    r.pin.version,
                    r.pin.file,
                    &r.sha256[..12],
                    r.origin
                ),
            );
        }
        self.upstream = resolved;
        if let Target::Context { context } = &self.settings.target {
            let client = provider::client_for(context).await.map_err(|e| {
                StepError(Failure {
                    object: Some(format!("context {context}")),
                    reason: format!("{e:#}"),
                    hint: Some("check `kubectl --context CONTEXT get nodes`".into()),
                    output_tail: vec![],
                })
            })?;
            let v = client.apiserver_version().await.map_err(anyhow::Error::from)?;
            self.log(
                n,
                i,
                Stream::Kindops,
                format!("ok      cluster   context {context}: Kubernetes {}", v.git_version),
            );
            self.set_client(client, context.clone());
        }
        let warnings = checks.iter().filter(|c| c.verdict == preflight::Verdict::Warn).count();
        Ok((
            false,
            format!(
                "{} checks passed, {warnings} warnings; {} upstream artifacts verified",
                checks.len() - warnings,
                self.upstream.len()
            ),
        ))
    }

    /// Whether kind has a cluster `name` (`kind get clusters`).
    ///
    /// Errors: `kind get clusters` fails (no Docker, wrong provider): then
    /// nothing may be created nor cleaned up, since what exists is unknown.
    async fn kind_cluster_exists(&self, name: &str) -> std::result::Result<bool, StepError> {
        let args = ["get", "clusters"].map(str::to_string);
        let fin = proc::run("kind", &args, None, &[], &self.cancel, |_, _| {}).await?;
        if !fin.success {
            return Err(StepError(Failure {
                object: Some(format!("kind cluster {name}")),
                reason: format!(
                    "`kind get clusters` failed (exit {}), so kindops cannot tell whether cluster {name} exists",
                    fin.code.map(|c| c.to_string()).unwrap_or_else(|| "signal".into())
                ),
                hint: Some("run `kind get clusters` yourself: kind must reach the container engine (Docker running; KIND_EXPERIMENTAL_PROVIDER if you use podman or nerdctl)".into()),
                output_tail: fin.tail,
            }));
        }
        Ok(fin.stdout.lines().any(|l| l.trim() == name))
    }

    async fn create_cluster(&mut self, n: PhaseNo, i: usize) -> StepResult {
        let name = match self.settings.target.clone() {
            Target::Context { context } => {
                return Ok((
                    false,
                    format!("using the existing cluster of context {context}; no kind cluster created"),
                ));
            }
            Target::Kind { name } => name,
        };
        let context = format!("kind-{name}");
        let mut changed = false;
        if self.kind_cluster_exists(&name).await? {
            self.log(
                n,
                i,
                Stream::Kindops,
                format!("kind cluster {name} exists; not creating it"),
            );
            if self.settings.repo_url.is_none() {
                self.check_git_mount(n, i, &name).await?;
            }
        } else {
            let dir = self.settings.cluster_dir();
            let git_dir = dir.join("git");
            git_source::prepare_builtin_dirs(&git_dir, None)?;
            let config_path = dir.join("kind-config.yaml");
            std::fs::write(
                &config_path,
                crate::content::kind_config(&name, &git_dir, self.settings.ui_port),
            )
            .map_err(anyhow::Error::from)?;
            let args: Vec<String> = ["create", "cluster", "--name", &name, "--config"]
                .iter()
                .map(|s| s.to_string())
                .chain([config_path.display().to_string()])
                .collect();
            self.log(n, i, Stream::Kindops, format!("$ kind {}", args.join(" ")));
            let created = self.run_child(n, i, "kind", &args, &[], &self.cancel).await;
            let interrupted = created.is_err() && self.cancel.is_cancelled();
            let fin = match created {
                Ok(fin) => fin,
                Err(e) if !interrupted => return Err(e.into()),
                Err(e) => proc::Finished {
                    success: false,
                    code: None,
                    tail: vec![format!("{e:#}")],
                    output: String::new(),
                    stdout: String::new(),
                },
            };
            // Another kindops (or the user) made it meanwhile: not ours to delete.
            let not_ours = fin.output.contains("already exist");
            if !fin.success && not_ours {
                return Err(StepError(Failure {
                    object: Some(format!("kind cluster {name}")),
                    reason: format!(
                        "kind cluster {name} appeared while this run was creating it; it was left as it is"
                    ),
                    hint: Some("run `kindops up` again: it uses the existing cluster".into()),
                    output_tail: fin.tail,
                }));
            }
            if !fin.success {
                // Leave nothing behind: kind may have created the node container.
                self.log(n, i, Stream::Kindops, format!("$ kind delete cluster --name {name}"));
                let del_args = ["delete", "cluster", "--name", &name].map(str::to_string);
                // Not cancellable: the cleanup must finish even after Ctrl-C.
                let del = self
                    .run_child(n, i, "kind", &del_args, &[], &CancellationToken::new())
                    .await;
                let cleaned = matches!(del, Ok(ref f) if f.success);
                let image_hint = if fin.output.contains("pull") || fin.output.contains("image") {
                    "kind could not get its node image (kindest/node): with no internet, `docker load -i kindest-node.tar` from a workshop copy, then run again"
                } else {
                    "read kind's output above; `kind create cluster` must work on this machine"
                };
                if interrupted {
                    return Err(StepError(Failure {
                        object: Some(format!("kind cluster {name}")),
                        reason: format!(
                            "interrupted while creating kind cluster {name}; {}",
                            if cleaned {
                                "the partial cluster was deleted"
                            } else {
                                "deleting the partial cluster failed: run `kind delete cluster --name NAME`"
                            }
                            .replace("NAME", &name)
                        ),
                        hint: Some("run `kindops up` again to create it".into()),
                        output_tail: vec![],
                    }));
                }
                return Err(StepError(Failure {
                    object: Some(format!("kind cluster {name}")),
                    reason: format!(
                        "`kind create cluster` failed (exit {}); {}",
                        fin.code.map(|c| c.to_string()).unwrap_or_else(|| "signal".into()),
                        if cleaned {
                            "the partial cluster was deleted"
                        } else {
                            "cleaning up with `kind delete cluster` also failed"
                        }
                    ),
                    hint: Some(image_hint.into()),
                    output_tail: fin.tail,
                }));
            }
            changed = true;
        }
        let client = provider::client_for(&context).await.map_err(|e| StepError(Failure {
            object: Some(format!("context {context}")),
            reason: format!("{e:#}"),
            hint: Some(format!("`kind get kubeconfig --name {name}` shows kind's kubeconfig; `kind export kubeconfig --name {name}` restores the context")),
            output_tail: vec![],
        }))?;
        self.set_client(client, context.clone());
        Ok((
            changed,
            if changed {
                format!("created kind cluster {name}, context {context}")
            } else {
                format!("kind cluster {name} exists, context {context}")
            },
        ))
    }

    /// An existing kind cluster must mount kindops's git source (made by hand,
    /// by an older kindops, or with the data dir re-made, it does not, and
    /// Argo CD's repo-server would see an empty folder and time out phase 2).
    /// A canary file written on the host must be visible in the node container
    /// (`<name>-control-plane`) at [`git_source::IN_CLUSTER_GIT_DIR`], read with
    /// the container CLI kind uses (`KIND_EXPERIMENTAL_PROVIDER`: docker, podman, nerdctl).
    async fn check_git_mount(&self, n: PhaseNo, i: usize, name: &str) -> std::result::Result<(), StepError> {
        let git_dir = self.settings.cluster_dir().join("git");
        git_source::prepare_builtin_dirs(&git_dir, None)?;
        let canary = format!(".kindops-canary-{}", std::process::id());
        let host_file = git_dir.join(&canary);
        std::fs::write(&host_file, b"kindops mount check\n").map_err(anyhow::Error::from)?;
        let cli = provider::container_cli();
        let node = format!("{name}-control-plane");
        let args = [
            "exec",
            &node,
            "test",
            "-f",
            &format!("{}/{canary}", git_source::IN_CLUSTER_GIT_DIR),
        ]
        .map(str::to_string);
        self.log(n, i, Stream::Kindops, format!("$ {cli} {}", args.join(" ")));
        let fin = proc::run(cli, &args, None, &[], &self.cancel, |_, _| {}).await;
        let _ = std::fs::remove_file(&host_file);
        let fin = fin?;
        if fin.success {
            self.log(
                n,
                i,
                Stream::Kindops,
                format!("ok      git mount {} is mounted in node {node}", git_dir.display()),
            );
            return Ok(());
        }
        Err(StepError(Failure {
            object: Some(format!("kind cluster {name}")),
            reason: format!(
                "kind cluster {name} does not mount kindops's git source ({} at {} in node {node}): it was made by hand, by an older kindops, or its data folder was re-made. Argo CD would read an empty folder",
                git_dir.display(),
                git_source::IN_CLUSTER_GIT_DIR
            ),
            hint: Some(format!(
                "recreate it with kindops (`kindops down --cluster {name}`, then `kindops up`), or keep it and pass --repo-url with a git remote Argo CD can reach"
            )),
            output_tail: fin.tail,
        }))
    }

    /// Runs a child process whose output lines go to the event stream as
    /// this step's log (see [`proc::run`]).
    async fn run_child(
        &self,
        n: PhaseNo,
        i: usize,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        cancel: &CancellationToken,
    ) -> Result<proc::Finished> {
        let em = self.events.clone();
        proc::run(program, args, None, env, cancel, move |stream, line| {
            em.emit(Event::StepLog {
                phase: n,
                step: i,
                stream,
                line,
            })
        })
        .await
    }

    async fn git(&self, n: PhaseNo, i: usize, dir: &std::path::Path, args: &[&str]) -> Result<proc::Finished> {
        let argv = git_source::git_args(dir, args);
        self.log(n, i, Stream::Kindops, format!("$ git {}", args.join(" ")));
        let env = [("GIT_TERMINAL_PROMPT".to_string(), "0".to_string())];
        let fin = self.run_child(n, i, "git", &argv, &env, &self.cancel).await?;
        if !fin.success {
            return Err(anyhow!("`git {}` failed: {}", args.join(" "), fin.tail.join(" / ")));
        }
        Ok(fin)
    }

    async fn publish(&mut self, n: PhaseNo, i: usize) -> StepResult {
        let tree = self.tree_dir(n, i)?;
        let src = self.settings.git_source()?;
        let fail = |e: anyhow::Error, src: &GitSource| {
            StepError(Failure {
                object: Some(format!("git source {}", src.push_url)),
                reason: format!("{e:#}"),
                hint: Some("check that you can push there (`git ls-remote URL`), or pass another --repo-url".into()),
                output_tail: vec![],
            })
        };
        if let Some(bare) = &src.local_bare {
            if !bare.join("HEAD").exists() {
                if src
                    .repo_url
                    .starts_with(&format!("file://{}", git_source::IN_CLUSTER_GIT_DIR))
                {
                    git_source::prepare_builtin_dirs(bare.parent().unwrap_or(bare), Some(bare))?;
                } else {
                    std::fs::create_dir_all(bare).map_err(anyhow::Error::from)?;
                }
                self.git(n, i, bare, git_source::INIT_BARE)
                    .await
                    .map_err(|e| fail(e, &src))?;
            }
        }
        let work = src.work_dir.clone();
        if !work.join(".git").exists() {
            std::fs::create_dir_all(&work).map_err(anyhow::Error::from)?;
            self.git(n, i, &work, &["init", "--initial-branch=main", "."])
                .await
                .map_err(|e| fail(e, &src))?;
            self.git(n, i, &work, &["remote", "add", "origin", &src.push_url])
                .await
                .map_err(|e| fail(e, &src))?;
        } else {
            self.git(n, i, &work, &["remote", "set-url", "origin", &src.push_url])
                .await
                .map_err(|e| fail(e, &src))?;
        }
        self.git(n, i, &work, &["fetch", "origin"])
            .await
            .map_err(|e| fail(e, &src))?;
        let has_main = self
            .git(
                n,
                i,
                &work,
                &["rev-parse", "--verify", "--quiet", "refs/remotes/origin/main"],
            )
            .await
            .is_ok();
        if has_main {
            // Start from what the remote has: anything someone else pushed stays.
            self.git(n, i, &work, &["checkout", "-B", "main", "origin/main"])
                .await
                .map_err(|e| fail(e, &src))?;
            self.git(n, i, &work, &["reset", "--hard", "origin/main"])
                .await
                .map_err(|e| fail(e, &src))?;
        }
        copy_tree(&tree, &work).map_err(|e| fail(e, &src))?;
        self.git(n, i, &work, &["add", "-A"]).await.map_err(|e| fail(e, &src))?;
        let status = self
            .git(n, i, &work, &["status", "--porcelain"])
            .await
            .map_err(|e| fail(e, &src))?;
        let changed = !status.output.trim().is_empty();
        if changed {
            let msg = format!(
                "kindops {}: publish GitOps content (phase {n})",
                env!("CARGO_PKG_VERSION")
            );
            self.git(n, i, &work, &["commit", "-q", "-m", &msg])
                .await
                .map_err(|e| fail(e, &src))?;
        }
        if changed || !has_main {
            self.git(n, i, &work, &["push", "origin", "HEAD:refs/heads/main"])
                .await
                .map_err(|e| fail(e, &src))?;
        }
        let rev = self
            .git(n, i, &work, &["rev-parse", "HEAD"])
            .await
            .map_err(|e| fail(e, &src))?
            .output
            .trim()
            .to_string();
        self.revision = Some(rev.clone());
        let refreshed = match &self.client {
            Some(c) => {
                for name in git_source::resync_given_up(c, ARGOCD_NAMESPACE).await? {
                    self.log(
                        n,
                        i,
                        Stream::Kindops,
                        format!("Application {ARGOCD_NAMESPACE}/{name}: Argo CD had given up on its failed sync; asked it to sync again"),
                    );
                }
                git_source::refresh_argo(c, ARGOCD_NAMESPACE).await?
            }
            None => 0,
        };
        Ok((
            changed,
            format!(
                "{} {} to {} (Argo CD reads {}); asked Argo CD to refresh {refreshed} objects",
                if changed { "published" } else { "no changes; still" },
                &rev[..rev.len().min(7)],
                src.push_url,
                src.repo_url
            ),
        ))
    }
}

/// Copies every file of `from` into `to` (overwriting), skipping `.git`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Where kindops keeps per-cluster data: `$XDG_DATA_HOME/kindops` or `~/.local/share/kindops`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kindops")
}
