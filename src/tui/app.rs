//! The one owner of UI state. State changes only in [`App::update`]; the
//! drawing code in [`crate::tui::ui`] is a pure function of `&App`.

use crate::argo::AppSummary;
use crate::engine::event::{Control, Event, Failure, PhaseInfo, PhaseNo, RunOutcome, Stamped, Stream};
use crate::tui::keys::{self, Action, Context};
use crate::tui::watch::{AppSetSummary, WatchMsg, WatchStatus};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Log lines kept for the log pane (older ones are dropped; the log file has all).
pub const LOG_CAP: usize = 5_000;
/// How long a flash message stays (k9s-style), in ms.
pub const FLASH_MS: u64 = 4_000;

/// Everything that can change the state.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Engine(Stamped),
    /// The engine's channel closed.
    EngineClosed,
    Watch(WatchMsg),
    /// The slow tick: `now_ms` since the run started, and wall-clock time for ages.
    Tick {
        now_ms: u64,
        wall: SystemTime,
    },
    Resize(u16, u16),
    /// SIGTERM/SIGHUP: leave as if the user quit.
    Terminate,
}

/// What the loop must do after an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(Control),
    /// Leave: restore the terminal and return the run's outcome.
    Quit,
    /// Start the Applications watcher on this kubeconfig context (the engine
    /// announced the cluster with [`Event::ClusterReady`]).
    Watch(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `kindops up`: phases, log and Applications.
    Up,
    /// `kindops status --watch`: the Applications view alone.
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Phases,
    Log,
    Apps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Running,
    Done,
    Failed,
}

impl State {
    /// Symbol and word: the state never rests on colour alone.
    pub fn symbol(self) -> &'static str {
        match self {
            State::Pending => "·",
            State::Running => "▶",
            State::Done => "✓",
            State::Failed => "✗",
        }
    }
    pub fn word(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

pub struct StepView {
    pub label: String,
    pub state: State,
    pub started_ms: Option<u64>,
    pub elapsed: Option<Duration>,
    /// Progress while running, the result message when finished.
    pub message: String,
    /// False when the step found everything in place.
    pub changed: bool,
    /// (label, value) pairs from `SecretShown`: on screen only, never logged.
    pub secrets: Vec<(String, String)>,
}

pub struct PhaseView {
    pub info: PhaseInfo,
    pub state: State,
    pub started_ms: Option<u64>,
    pub elapsed: Option<Duration>,
    pub steps: Vec<StepView>,
}

pub struct LogLine {
    pub phase: PhaseNo,
    pub step: usize,
    pub stream: Stream,
    pub text: String,
}

/// A persistent error: what failed, why, what next, and the output tail.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub title: String,
    pub failure: Failure,
}

/// Row kinds in the Applications table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    Set { name: String, namespace: String },
    App { name: String, namespace: String },
}

/// Where an Application or ApplicationSet stands, for colour and symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Ready,
    Progressing,
    OutOfSync,
    Failing,
    Unknown,
}

impl RowState {
    pub fn of_app(a: &AppSummary) -> RowState {
        if a.error().is_some() || matches!(a.health.as_str(), "Degraded" | "Missing") {
            RowState::Failing
        } else if a.operation_phase == "Running" || a.operation_phase == "Terminating" || a.health == "Progressing" {
            RowState::Progressing
        } else if a.sync == "OutOfSync" {
            RowState::OutOfSync
        } else if a.is_ready() {
            RowState::Ready
        } else {
            RowState::Unknown
        }
    }
    pub fn of_set(s: &AppSetSummary) -> RowState {
        if s.error().is_some() {
            RowState::Failing
        } else if s.up_to_date() {
            RowState::Ready
        } else if s.conditions.is_empty() {
            RowState::Unknown
        } else {
            RowState::Progressing
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            RowState::Ready => "✓",
            RowState::Progressing => "↻",
            RowState::OutOfSync => "≠",
            RowState::Failing => "✗",
            RowState::Unknown => "?",
        }
    }
}

/// Counts for the Applications title.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub apps: usize,
    pub sets: usize,
    pub ready: usize,
    pub progressing: usize,
    pub out_of_sync: usize,
    pub failing: usize,
}

pub struct App {
    pub mode: Mode,
    pub step_mode: bool,
    pub no_color: bool,
    pub log_path: Option<PathBuf>,
    pub size: (u16, u16),

    pub pane: Pane,
    pub help: bool,
    pub help_scroll: usize,
    /// Details view of this row (Applications screen).
    pub details: Option<RowKey>,
    pub details_scroll: usize,

    // engine side
    pub target: String,
    pub phases: Vec<PhaseView>,
    pub run_started: bool,
    pub outcome: Option<RunOutcome>,
    pub finished_ms: Option<u64>,
    pub engine_closed: bool,
    pub awaiting: Option<PhaseNo>,
    pub failed_step: Option<(PhaseNo, usize)>,
    /// Phase shown in the steps pane.
    pub selected_phase: usize,
    /// The steps pane follows the running phase until the user picks one.
    pub follow_phase: bool,
    pub logs: VecDeque<LogLine>,
    /// Top line of the log window, or `None` to follow new lines.
    pub log_scroll: Option<usize>,
    pub toast: Option<Toast>,
    pub errors_seen: usize,
    pub flash: Option<(String, u64)>,

    // time
    pub now_ms: u64,
    pub wall: SystemTime,

    // Argo CD side
    pub apps: BTreeMap<(String, String), AppSummary>,
    pub sets: BTreeMap<(String, String), AppSetSummary>,
    pub apps_status: WatchStatus,
    pub sets_status: WatchStatus,
    /// Filtered, sorted rows: rebuilt on change, never per frame.
    pub view: Vec<RowKey>,
    pub counts: Counts,
    pub selected_row: usize,
    pub apps_offset: usize,
    pub filter: String,
    pub filter_input: bool,
}

impl App {
    pub fn new(mode: Mode, step_mode: bool, no_color: bool, log_path: Option<PathBuf>) -> Self {
        App {
            mode,
            step_mode,
            no_color,
            log_path,
            size: (80, 24),
            pane: if mode == Mode::Up { Pane::Phases } else { Pane::Apps },
            help: false,
            help_scroll: 0,
            details: None,
            details_scroll: 0,
            target: String::new(),
            phases: Vec::new(),
            run_started: false,
            outcome: None,
            finished_ms: None,
            engine_closed: false,
            awaiting: None,
            failed_step: None,
            selected_phase: 0,
            follow_phase: true,
            logs: VecDeque::new(),
            log_scroll: None,
            toast: None,
            errors_seen: 0,
            flash: None,
            now_ms: 0,
            wall: SystemTime::UNIX_EPOCH,
            apps: BTreeMap::new(),
            sets: BTreeMap::new(),
            apps_status: WatchStatus::NoCluster,
            sets_status: WatchStatus::NoCluster,
            view: Vec::new(),
            counts: Counts::default(),
            selected_row: 0,
            apps_offset: 0,
            filter: String::new(),
            filter_input: false,
        }
    }

    /// Which keys are live right now.
    pub fn context(&self) -> Context {
        if self.filter_input {
            Context::FilterInput
        } else if self.help {
            Context::Help
        } else if self.details.is_some() && self.pane == Pane::Apps {
            Context::Details
        } else {
            match self.pane {
                Pane::Phases => Context::PhaseList,
                Pane::Log => Context::Log,
                Pane::Apps => Context::Apps,
            }
        }
    }

    /// Whether an action would do something now (the hint bar hides the rest).
    pub fn available(&self, action: Action) -> bool {
        match action {
            Action::Retry => self.failed_step.is_some() && !self.engine_closed,
            Action::Continue => self.awaiting.is_some(),
            Action::NextPane | Action::PrevPane | Action::ShowPhases => self.mode == Mode::Up,
            Action::Open => self.pane == Pane::Apps && !self.view.is_empty(),
            Action::Back => {
                self.help
                    || self.details.is_some()
                    || (self.pane == Pane::Apps && !self.filter.is_empty())
                    || self.toast.is_some()
                    || (self.pane != Pane::Apps && (!self.follow_phase || self.log_scroll.is_some()))
            }
            _ => true,
        }
    }

    /// How the run ended, as `run_up` reports it when the user quits.
    pub fn outcome_on_quit(&self) -> RunOutcome {
        match self.outcome {
            Some(o) => o,
            None if self.engine_closed && self.run_started => RunOutcome::Failed,
            None => RunOutcome::Interrupted,
        }
    }

    /// Whether something animates (spinner), so the loop ticks faster.
    pub fn animating(&self) -> bool {
        self.phases.iter().any(|p| p.state == State::Running)
    }

    pub fn update(&mut self, msg: Msg) -> Option<Effect> {
        match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Engine(st) => {
                self.now_ms = self.now_ms.max(st.elapsed_ms);
                if let Event::ClusterReady { context } = &st.event {
                    return Some(Effect::Watch(context.clone()));
                }
                self.on_engine(st.elapsed_ms, st.event);
                None
            }
            Msg::EngineClosed => {
                self.engine_closed = true;
                if self.outcome.is_none() && self.run_started {
                    self.toast = Some(Toast {
                        title: "The engine stopped before the run finished".into(),
                        failure: Failure {
                            object: None,
                            reason: "the engine's event stream closed without a result".into(),
                            hint: self
                                .log_path
                                .as_ref()
                                .map(|p| format!("see the log file {}", p.display())),
                            output_tail: vec![],
                        },
                    });
                }
                None
            }
            Msg::Watch(w) => {
                self.on_watch(w);
                None
            }
            Msg::Tick { now_ms, wall } => {
                self.now_ms = self.now_ms.max(now_ms);
                self.wall = wall;
                if matches!(self.flash, Some((_, until)) if until <= self.now_ms) {
                    self.flash = None;
                }
                None
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.clamp_apps_offset();
                None
            }
            Msg::Terminate => Some(Effect::Quit),
        }
    }

    fn flash(&mut self, text: impl Into<String>) {
        self.flash = Some((text.into(), self.now_ms + FLASH_MS));
    }

    // ---------------------------------------------------------------- keys

    fn on_key(&mut self, k: KeyEvent) -> Option<Effect> {
        if k.kind == KeyEventKind::Release {
            return None;
        }
        let ctx = self.context();
        match keys::lookup(ctx, &k) {
            Some(action) => self.on_action(ctx, action),
            None => {
                if ctx == Context::FilterInput {
                    if let KeyCode::Char(c) = k.code {
                        if !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) {
                            self.filter.push(c);
                            self.rebuild_view();
                        }
                    }
                }
                None
            }
        }
    }

    fn on_action(&mut self, ctx: Context, action: Action) -> Option<Effect> {
        // Help is a page over everything: most actions close it first.
        if self.help
            && !matches!(
                action,
                Action::Up
                    | Action::Down
                    | Action::PageUp
                    | Action::PageDown
                    | Action::Top
                    | Action::Bottom
                    | Action::Quit
            )
        {
            self.help = false;
            if matches!(action, Action::Help | Action::Back) {
                return None;
            }
        }
        match action {
            Action::Quit => return Some(Effect::Quit),
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Action::Filter => {
                if self.pane == Pane::Apps {
                    self.details = None;
                    self.filter_input = true;
                }
            }
            Action::FilterApply => self.filter_input = false,
            Action::FilterCancel => {
                self.filter_input = false;
                self.filter.clear();
                self.rebuild_view();
            }
            Action::FilterDelete => {
                self.filter.pop();
                self.rebuild_view();
            }
            Action::Back => self.back(),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                self.navigate(ctx, action)
            }
            Action::NextPane | Action::PrevPane => {
                if self.mode == Mode::Up {
                    let order = [Pane::Phases, Pane::Log, Pane::Apps];
                    let i = order.iter().position(|p| *p == self.pane).unwrap_or(0);
                    let n = if action == Action::NextPane {
                        (i + 1) % 3
                    } else {
                        (i + 2) % 3
                    };
                    self.pane = order[n];
                    self.details = None;
                }
            }
            Action::ShowPhases => {
                if self.mode == Mode::Up {
                    self.pane = Pane::Phases;
                }
            }
            Action::ShowApps => {
                self.pane = Pane::Apps;
                self.details = None;
            }
            Action::Open => {
                if let Some(key) = self.view.get(self.selected_row) {
                    self.details = Some(key.clone());
                    self.details_scroll = 0;
                }
            }
            Action::Continue => {
                if let Some(p) = self.awaiting.take() {
                    self.flash(format!("Starting phase {p}"));
                    return Some(Effect::Send(Control::Continue));
                }
                self.flash("Nothing is waiting for you to continue");
            }
            Action::Retry => {
                if self.engine_closed {
                    self.flash("The engine has stopped; run kindops up again");
                } else if let Some((p, s)) = self.failed_step.take() {
                    self.toast = None;
                    self.outcome = None;
                    self.finished_ms = None;
                    let label = self.step_label(p, s);
                    self.flash(format!("Retrying {label}"));
                    return Some(Effect::Send(Control::Retry));
                } else {
                    self.flash("No failed step to retry");
                }
            }
        }
        None
    }

    fn back(&mut self) {
        if self.details.is_some() && self.pane == Pane::Apps {
            self.details = None;
        } else if self.pane == Pane::Apps && !self.filter.is_empty() {
            self.filter.clear();
            self.rebuild_view();
        } else if self.toast.is_some() {
            self.toast = None;
        } else if self.pane != Pane::Apps {
            self.follow_phase = true;
            self.log_scroll = None;
            self.select_current_phase();
        }
    }

    fn navigate(&mut self, ctx: Context, action: Action) {
        let page = |h: usize| h.max(1);
        match ctx {
            Context::Help => {
                let max = crate::tui::ui::help_max_scroll(self);
                self.help_scroll = scroll(self.help_scroll, action, page(crate::tui::ui::help_rows(self)), max);
            }
            Context::Details => {
                let max = crate::tui::ui::details_max_scroll(self);
                self.details_scroll = scroll(
                    self.details_scroll,
                    action,
                    page(crate::tui::ui::details_rows(self)),
                    max,
                );
            }
            Context::PhaseList => {
                if self.phases.is_empty() {
                    return;
                }
                let max = self.phases.len() - 1;
                self.selected_phase = scroll(self.selected_phase, action, 1, max);
                self.follow_phase = false;
            }
            Context::Log => {
                let rows = page(crate::tui::ui::log_rows(self));
                let max_top = self.logs.len().saturating_sub(rows);
                let top = self.log_scroll.unwrap_or(max_top);
                let new = scroll(top, action, rows, max_top);
                self.log_scroll =
                    if new >= max_top && matches!(action, Action::Down | Action::PageDown | Action::Bottom) {
                        None
                    } else {
                        Some(new)
                    };
            }
            Context::Apps => {
                if self.view.is_empty() {
                    return;
                }
                let rows = page(crate::tui::ui::apps_rows(self));
                self.selected_row = scroll(self.selected_row, action, rows, self.view.len() - 1);
                self.clamp_apps_offset();
            }
            Context::FilterInput => {}
        }
    }

    /// Keeps the selected row inside the table window.
    pub fn clamp_apps_offset(&mut self) {
        let rows = crate::tui::ui::apps_rows(self).max(1);
        self.apps_offset = window_offset(self.apps_offset, self.selected_row, rows, self.view.len());
    }

    fn select_current_phase(&mut self) {
        if let Some(p) = self.awaiting {
            self.selected_phase = p as usize;
        } else if let Some(i) = self
            .phases
            .iter()
            .rposition(|p| matches!(p.state, State::Running | State::Failed))
        {
            self.selected_phase = i;
        } else if let Some(i) = self.phases.iter().rposition(|p| p.state != State::Pending) {
            self.selected_phase = i;
        }
    }

    pub fn step_label(&self, phase: PhaseNo, step: usize) -> String {
        match self.phases.get(phase as usize) {
            Some(p) => match p.steps.get(step) {
                Some(s) => format!("phase {phase} ({}), step “{}”", p.info.title, s.label),
                None => format!("phase {phase} ({}), step {}", p.info.title, step + 1),
            },
            None => format!("phase {phase}, step {}", step + 1),
        }
    }

    // -------------------------------------------------------------- engine

    fn step_mut(&mut self, phase: PhaseNo, step: usize) -> Option<&mut StepView> {
        let p = self.phases.get_mut(phase as usize)?;
        while p.steps.len() <= step {
            // The engine may add a step the plan did not list; show it anyway.
            p.steps.push(StepView::new(format!("step {}", p.steps.len() + 1)));
        }
        p.steps.get_mut(step)
    }

    fn on_engine(&mut self, at: u64, ev: Event) {
        match ev {
            Event::RunStarted { phases, target } => {
                self.target = target;
                self.phases = phases
                    .into_iter()
                    .map(|info| PhaseView {
                        steps: info.steps.iter().map(|s| StepView::new(s.clone())).collect(),
                        info,
                        state: State::Pending,
                        started_ms: None,
                        elapsed: None,
                    })
                    .collect();
                self.run_started = true;
                self.outcome = None;
                self.finished_ms = None;
                self.failed_step = None;
                self.awaiting = None;
                self.toast = None;
                self.selected_phase = 0;
            }
            Event::PhaseStarted { phase } => {
                if let Some(p) = self.phases.get_mut(phase as usize) {
                    p.state = State::Running;
                    if p.started_ms.is_none() {
                        p.started_ms = Some(at);
                    }
                    p.elapsed = None;
                }
                if self.awaiting == Some(phase) {
                    self.awaiting = None;
                }
            }
            Event::ClusterReady { .. } => {}
            Event::AwaitingContinue { phase } => {
                self.awaiting = Some(phase);
            }
            Event::PhaseFinished { phase, elapsed } => {
                if let Some(p) = self.phases.get_mut(phase as usize) {
                    p.state = State::Done;
                    p.elapsed = Some(elapsed);
                }
            }
            Event::StepStarted { phase, step, label } => {
                if self.failed_step == Some((phase, step)) {
                    self.failed_step = None;
                    self.toast = None;
                }
                if let Some(p) = self.phases.get_mut(phase as usize) {
                    if p.state != State::Running {
                        p.state = State::Running;
                        p.started_ms.get_or_insert(at);
                        p.elapsed = None;
                    }
                }
                if self.outcome == Some(RunOutcome::Failed) {
                    self.outcome = None; // a retry is running
                    self.finished_ms = None;
                }
                if let Some(s) = self.step_mut(phase, step) {
                    s.label = label;
                    s.state = State::Running;
                    s.started_ms = Some(at);
                    s.elapsed = None;
                    s.message.clear();
                }
            }
            Event::StepProgress { phase, step, message } => {
                if let Some(s) = self.step_mut(phase, step) {
                    s.message = message;
                }
            }
            Event::StepLog {
                phase,
                step,
                stream,
                line,
            } => {
                if self.logs.len() == LOG_CAP {
                    self.logs.pop_front();
                    if let Some(top) = self.log_scroll.as_mut() {
                        *top = top.saturating_sub(1);
                    }
                }
                self.logs.push_back(LogLine {
                    phase,
                    step,
                    stream,
                    text: line,
                });
            }
            Event::StepFinished {
                phase,
                step,
                changed,
                message,
                elapsed,
            } => {
                if let Some(s) = self.step_mut(phase, step) {
                    s.state = State::Done;
                    s.changed = changed;
                    s.message = message;
                    s.elapsed = Some(elapsed);
                }
            }
            Event::StepFailed {
                phase,
                step,
                failure,
                elapsed,
            } => {
                if let Some(s) = self.step_mut(phase, step) {
                    s.state = State::Failed;
                    s.elapsed = Some(elapsed);
                    s.message = failure.reason.clone();
                }
                if let Some(p) = self.phases.get_mut(phase as usize) {
                    p.state = State::Failed;
                    p.elapsed = p.started_ms.map(|s| Duration::from_millis(at.saturating_sub(s)));
                }
                self.failed_step = Some((phase, step));
                self.errors_seen += 1;
                self.toast = Some(Toast {
                    title: format!("Failed: {}", self.step_label(phase, step)),
                    failure,
                });
            }
            Event::SecretShown {
                phase,
                step,
                label,
                value,
            } => {
                if let Some(s) = self.step_mut(phase, step) {
                    s.secrets.retain(|(l, _)| *l != label);
                    s.secrets.push((label, value));
                }
            }
            Event::RunFinished { outcome, failure } => {
                self.outcome = Some(outcome);
                self.finished_ms = Some(at);
                self.awaiting = None;
                if let Some(f) = failure {
                    // Keep the step's toast if it tells the same story.
                    if self.toast.as_ref().map(|t| t.failure != f).unwrap_or(true) {
                        self.errors_seen += 1;
                        self.toast = Some(Toast {
                            title: "The run failed".into(),
                            failure: f,
                        });
                    }
                }
            }
        }
        if self.follow_phase {
            self.select_current_phase();
        }
    }

    // --------------------------------------------------------------- watch

    fn on_watch(&mut self, w: WatchMsg) {
        match w {
            WatchMsg::AppsStatus(s) => self.apps_status = s,
            WatchMsg::SetsStatus(s) => self.sets_status = s,
            WatchMsg::AppsReset(list) => {
                self.apps = list
                    .into_iter()
                    .map(|a| ((a.name.clone(), a.namespace.clone()), a))
                    .collect();
                self.rebuild_view();
            }
            WatchMsg::AppApplied(a) => {
                let a = *a;
                self.apps.insert((a.name.clone(), a.namespace.clone()), a);
                self.rebuild_view();
            }
            WatchMsg::AppDeleted { namespace, name } => {
                self.apps.remove(&(name, namespace));
                self.rebuild_view();
            }
            WatchMsg::SetsReset(list) => {
                self.sets = list
                    .into_iter()
                    .map(|s| ((s.name.clone(), s.namespace.clone()), s))
                    .collect();
                self.rebuild_view();
            }
            WatchMsg::SetApplied(s) => {
                self.sets.insert((s.name.clone(), s.namespace.clone()), s);
                self.rebuild_view();
            }
            WatchMsg::SetDeleted { namespace, name } => {
                self.sets.remove(&(name, namespace));
                self.rebuild_view();
            }
        }
    }

    /// Replaces all Applications at once (tests, benchmarks).
    pub fn set_apps(&mut self, apps: impl IntoIterator<Item = AppSummary>) {
        self.apps = apps
            .into_iter()
            .map(|a| ((a.name.clone(), a.namespace.clone()), a))
            .collect();
        self.rebuild_view();
    }

    /// Filters and sorts once per change (ApplicationSets first, then
    /// Applications, each by name), keeping the selected row selected.
    pub fn rebuild_view(&mut self) {
        let selected = self.view.get(self.selected_row).cloned();
        let q = self.filter.to_lowercase();
        let hit = |fields: &[&str]| q.is_empty() || fields.iter().any(|f| contains_ci(f, &q));
        let mut counts = Counts::default();
        let mut view = Vec::with_capacity(self.sets.len() + self.apps.len());
        for (name, ns) in self.sets.keys() {
            counts.sets += 1;
            if hit(&[name, ns, "applicationset"]) {
                view.push(RowKey::Set {
                    name: name.clone(),
                    namespace: ns.clone(),
                });
            }
        }
        for ((name, ns), a) in &self.apps {
            counts.apps += 1;
            match RowState::of_app(a) {
                RowState::Ready => counts.ready += 1,
                RowState::Progressing => counts.progressing += 1,
                RowState::OutOfSync => counts.out_of_sync += 1,
                RowState::Failing => counts.failing += 1,
                RowState::Unknown => {}
            }
            let owner = a.owner_appset.as_deref().unwrap_or_default();
            if hit(&[name, ns, &a.project, &a.sync, &a.health, &a.operation_phase, owner]) {
                view.push(RowKey::App {
                    name: name.clone(),
                    namespace: ns.clone(),
                });
            }
        }
        self.view = view;
        self.counts = counts;
        self.selected_row = match selected.and_then(|k| self.view.iter().position(|v| *v == k)) {
            // The top row stays the top row (a fresh list keeps its head in view).
            _ if self.selected_row == 0 => 0,
            Some(i) => i,
            None => self.selected_row.min(self.view.len().saturating_sub(1)),
        };
        self.clamp_apps_offset();
    }

    pub fn app(&self, name: &str, namespace: &str) -> Option<&AppSummary> {
        self.apps.get(&(name.to_string(), namespace.to_string()))
    }

    pub fn set(&self, name: &str, namespace: &str) -> Option<&AppSetSummary> {
        self.sets.get(&(name.to_string(), namespace.to_string()))
    }

    /// Applications an ApplicationSet generated: the ones it owns, then the
    /// names in its status we have not seen yet.
    pub fn generated_by(&self, set: &AppSetSummary) -> Vec<(String, Option<&AppSummary>)> {
        let mut out: Vec<(String, Option<&AppSummary>)> = self
            .apps
            .values()
            .filter(|a| a.owner_appset.as_deref() == Some(set.name.as_str()) && a.namespace == set.namespace)
            .map(|a| (a.name.clone(), Some(a)))
            .collect();
        for n in &set.generated {
            if !out.iter().any(|(name, _)| name == n) {
                out.push((n.clone(), None));
            }
        }
        out
    }
}

impl StepView {
    fn new(label: String) -> Self {
        StepView {
            label,
            state: State::Pending,
            started_ms: None,
            elapsed: None,
            message: String::new(),
            changed: false,
            secrets: vec![],
        }
    }
}

fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        true
    } else if hay.is_ascii() && needle_lower.is_ascii() {
        hay.as_bytes()
            .windows(needle_lower.len())
            .any(|w| w.eq_ignore_ascii_case(needle_lower.as_bytes()))
    } else {
        hay.to_lowercase().contains(needle_lower)
    }
}

/// Moves a position for a navigation action within `0..=max`.
fn scroll(pos: usize, action: Action, page: usize, max: usize) -> usize {
    let new = match action {
        Action::Up => pos.saturating_sub(1),
        Action::Down => pos + 1,
        Action::PageUp => pos.saturating_sub(page),
        Action::PageDown => pos + page,
        Action::Top => 0,
        Action::Bottom => max,
        _ => pos,
    };
    new.min(max)
}

/// The first visible row so that `selected` is inside a window of `rows`.
pub fn window_offset(offset: usize, selected: usize, rows: usize, len: usize) -> usize {
    let rows = rows.max(1);
    let mut off = offset.min(selected);
    if selected >= off + rows {
        off = selected + 1 - rows;
    }
    off.min(len.saturating_sub(rows))
}

/// `12.3s`, `45s`, `3m07s`, `1h02m`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// Age of an RFC 3339 time stamp as k9s shows it: `42s`, `5m`, `3h`, `2d`.
pub fn fmt_age(ts: &str, now: SystemTime) -> String {
    let Ok(t) = humantime::parse_rfc3339_weak(ts) else {
        return String::new();
    };
    let secs = now.duration_since(t).unwrap_or_default().as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
