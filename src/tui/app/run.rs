//! The run view: phases and their steps, the log, the error toast, as the
//! engine's events tell them.

use crate::engine::event::{Event, Failure, PhaseInfo, PhaseNo, RunOutcome, Stream};
use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

/// Log lines kept for the log pane (older ones are dropped; the log file has all).
pub const LOG_CAP: usize = 5_000;

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

/// Everything the engine told us, plus which phase the steps pane shows.
pub struct RunView {
    pub target: String,
    pub phases: Vec<PhaseView>,
    /// `RunStarted` arrived.
    pub started: bool,
    pub outcome: Option<RunOutcome>,
    pub finished_ms: Option<u64>,
    pub engine_closed: bool,
    /// Presenter mode: the phase the engine waits before.
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
}

impl Default for RunView {
    fn default() -> Self {
        RunView {
            target: String::new(),
            phases: Vec::new(),
            started: false,
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
        }
    }
}

impl RunView {
    /// `phase 1 (title), step “label”`, for toasts and flashes.
    pub fn step_label(&self, phase: PhaseNo, step: usize) -> String {
        match self.phases.get(phase as usize) {
            Some(p) => match p.steps.get(step) {
                Some(s) => format!("phase {phase} ({}), step “{}”", p.info.title, s.label),
                None => format!("phase {phase} ({}), step {}", p.info.title, step + 1),
            },
            None => format!("phase {phase}, step {}", step + 1),
        }
    }

    /// Points the steps pane at the phase that matters now.
    pub fn select_current_phase(&mut self) {
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

    /// The engine's channel closed: a toast if it closed mid-run.
    pub fn on_closed(&mut self, log_path: Option<&Path>) {
        self.engine_closed = true;
        if self.outcome.is_none() && self.started {
            self.toast = Some(Toast {
                title: "The engine stopped before the run finished".into(),
                failure: Failure {
                    object: None,
                    reason: "the engine's event stream closed without a result".into(),
                    hint: log_path.map(|p| format!("see the log file {}", p.display())),
                    output_tail: vec![],
                },
            });
        }
    }

    fn step_mut(&mut self, phase: PhaseNo, step: usize) -> Option<&mut StepView> {
        let p = self.phases.get_mut(phase as usize)?;
        while p.steps.len() <= step {
            // The engine may add a step the plan did not list; show it anyway.
            p.steps.push(StepView::new(format!("step {}", p.steps.len() + 1)));
        }
        p.steps.get_mut(step)
    }

    /// One engine event, stamped `at` ms since the run started.
    pub fn on_event(&mut self, at: u64, ev: Event) {
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
                self.started = true;
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
            // Shown in the step's log as kindops's own line ("!! ..." as
            // the plain printer writes it).
            Event::StepRecovery { phase, step, recovery } => self.on_event(
                at,
                Event::StepLog {
                    phase,
                    step,
                    stream: Stream::Kindops,
                    line: format!("!! {}", recovery.line()),
                },
            ),
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
}
