//! `kindops up` without the TUI: the plain and JSON readers of the engine's
//! event stream.
//!
//! Plain: one line per step start/finish, progress lines when they change,
//! captured child output indented, and a failure block naming the object, the
//! reason, the next step and the output tail. JSON: one object per line with
//! `phase`, `step`, `status`, `elapsed_ms`, `message` (plus `event`, and
//! `object`/`hint` on failures).

use super::Format;
use crate::engine::event::{Event, RunOutcome, Stamped, Stream};
use serde_json::json;
use std::io::Write;

/// Renders one event as plain text lines (possibly none).
pub fn plain_lines(ev: &Stamped, phases: &mut Vec<crate::engine::event::PhaseInfo>) -> Vec<String> {
    let secs = |d: std::time::Duration| format!("{:.1}s", d.as_secs_f64());
    match &ev.event {
        Event::RunStarted { phases: p, target } => {
            *phases = p.clone();
            vec![format!(
                "kindops: phases 0-{} on {target}",
                p.last().map(|p| p.number).unwrap_or(0)
            )]
        }
        Event::PhaseStarted { phase } => {
            let title = phases
                .iter()
                .find(|p| p.number == *phase)
                .map(|p| p.title.as_str())
                .unwrap_or("");
            vec![format!("==> phase {phase}: {title}")]
        }
        Event::ClusterReady { context } => vec![format!("     cluster ready: context {context}")],
        Event::AwaitingContinue { phase } => vec![format!("==> phase {phase}: waiting for the presenter")],
        Event::PhaseFinished { phase, elapsed } => vec![format!("==> phase {phase}: done in {}", secs(*elapsed))],
        Event::StepStarted { label, .. } => vec![format!("  -> {label}")],
        Event::StepProgress { message, .. } => vec![format!("     .. {message}")],
        Event::StepRecovery { recovery, .. } => vec![format!("     !! {}", recovery.line())],
        Event::StepLog { stream, line, .. } => match stream {
            Stream::Kindops => vec![format!("     {line}")],
            _ => vec![format!("     | {line}")],
        },
        Event::StepFinished {
            changed,
            message,
            elapsed,
            ..
        } => {
            vec![format!(
                "  {} {message} ({})",
                if *changed { "ok" } else { "ok (unchanged)" },
                secs(*elapsed)
            )]
        }
        Event::StepFailed { failure, elapsed, .. } => {
            let mut v = vec![format!("  FAILED after {}", secs(*elapsed))];
            if let Some(o) = &failure.object {
                v.push(format!("     object: {o}"));
            }
            v.push(format!("     reason: {}", failure.reason));
            if let Some(h) = &failure.hint {
                v.push(format!("     next:   {h}"));
            }
            if !failure.output_tail.is_empty() {
                v.push("     last output:".into());
                v.extend(failure.output_tail.iter().map(|l| format!("     | {l}")));
            }
            v
        }
        Event::SecretShown { label, value, .. } => vec![format!("     {label}: {value}")],
        Event::RunFinished { outcome, failure } => match outcome {
            RunOutcome::Succeeded => vec!["kindops: done".into()],
            RunOutcome::Failed => vec![format!(
                "kindops: failed{}",
                failure
                    .as_ref()
                    .map(|f| format!(": {}", f.object.as_deref().unwrap_or(&f.reason)))
                    .unwrap_or_default()
            )],
            RunOutcome::Interrupted => vec!["kindops: interrupted; run `kindops up` again to resume".into()],
        },
    }
}

/// Renders one event as one JSON object (`phase`, `step`, `status`, `elapsed_ms`, `message`).
pub fn json_line(ev: &Stamped) -> serde_json::Value {
    let (phase, step, status, message): (Option<u8>, Option<usize>, &str, String) = match &ev.event {
        Event::RunStarted { target, .. } => (None, None, "started", target.clone()),
        Event::PhaseStarted { phase } => (Some(*phase), None, "running", String::new()),
        Event::ClusterReady { context } => (Some(0), None, "cluster_ready", context.clone()),
        Event::AwaitingContinue { phase } => (Some(*phase), None, "waiting", "waiting for the presenter".into()),
        Event::PhaseFinished { phase, .. } => (Some(*phase), None, "done", String::new()),
        Event::StepStarted { phase, step, label } => (Some(*phase), Some(*step), "running", label.clone()),
        Event::StepProgress { phase, step, message } => (Some(*phase), Some(*step), "progress", message.clone()),
        Event::StepLog { phase, step, line, .. } => (Some(*phase), Some(*step), "log", line.clone()),
        Event::StepRecovery { phase, step, recovery } => (Some(*phase), Some(*step), "recovery", recovery.line()),
        Event::StepFinished {
            phase,
            step,
            changed,
            message,
            ..
        } => (
            Some(*phase),
            Some(*step),
            if *changed { "done" } else { "unchanged" },
            message.clone(),
        ),
        Event::StepFailed {
            phase, step, failure, ..
        } => (Some(*phase), Some(*step), "failed", failure.reason.clone()),
        // The value is never put in machine output: CI logs are kept.
        Event::SecretShown { phase, step, label, .. } => (
            Some(*phase),
            Some(*step),
            "secret",
            format!("{label} shown on the terminal only"),
        ),
        Event::RunFinished { outcome, failure } => (
            None,
            None,
            match outcome {
                RunOutcome::Succeeded => "succeeded",
                RunOutcome::Failed => "failed",
                RunOutcome::Interrupted => "interrupted",
            },
            failure.as_ref().map(|f| f.reason.clone()).unwrap_or_default(),
        ),
    };
    let mut v = json!({
        "event": event_name(&ev.event),
        "phase": phase,
        "step": step,
        "status": status,
        "elapsed_ms": ev.elapsed_ms,
        "message": message,
    });
    if let Event::StepRecovery { recovery, .. } = &ev.event {
        v["recovery"] = json!(recovery);
    }
    if let Event::StepFailed { failure, .. }
    | Event::RunFinished {
        failure: Some(failure), ..
    } = &ev.event
    {
        v["object"] = json!(failure.object);
        v["hint"] = json!(failure.hint);
        v["output_tail"] = json!(failure.output_tail);
    }
    v
}

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::RunStarted { .. } => "run_started",
        Event::PhaseStarted { .. } => "phase_started",
        Event::ClusterReady { .. } => "cluster_ready",
        Event::AwaitingContinue { .. } => "awaiting_continue",
        Event::PhaseFinished { .. } => "phase_finished",
        Event::StepStarted { .. } => "step_started",
        Event::StepProgress { .. } => "step_progress",
        Event::StepLog { .. } => "step_log",
        Event::StepRecovery { .. } => "step_recovery",
        Event::StepFinished { .. } => "step_finished",
        Event::StepFailed { .. } => "step_failed",
        Event::SecretShown { .. } => "secret_shown",
        Event::RunFinished { .. } => "run_finished",
    }
}

/// Reads the stream to its end, printing to `out`; returns the run's outcome.
pub async fn print_stream(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Stamped>,
    format: Format,
    mut out: impl Write,
) -> RunOutcome {
    let mut phases = Vec::new();
    let mut outcome = RunOutcome::Failed;
    while let Some(ev) = rx.recv().await {
        if let Event::RunFinished { outcome: o, .. } = &ev.event {
            outcome = *o;
        }
        match format {
            Format::Text => {
                for l in plain_lines(&ev, &mut phases) {
                    let _ = writeln!(out, "{l}");
                }
            }
            Format::Json | Format::Yaml => {
                if let Event::SecretShown { label, value, .. } = &ev.event {
                    // Secrets go to the terminal (stderr), never into the JSON stream.
                    eprintln!("{label}: {value}");
                }
                let _ = writeln!(out, "{}", super::stream_item(format, &json_line(&ev)));
            }
        }
        let _ = out.flush();
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::Failure;

    #[test]
    fn json_lines_have_the_documented_fields_and_never_a_secret() {
        let ev = Stamped {
            elapsed_ms: 42,
            event: Event::SecretShown {
                phase: 1,
                step: 3,
                label: "the Argo CD admin password".into(),
                value: "hunter2".into(),
            },
        };
        let v = json_line(&ev);
        for k in ["phase", "step", "status", "elapsed_ms", "message"] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert!(!v.to_string().contains("hunter2"));
        let failed = Stamped {
            elapsed_ms: 7,
            event: Event::StepFailed {
                phase: 1,
                step: 0,
                failure: Failure {
                    object: Some("Deployment argocd/x".into()),
                    reason: "nope".into(),
                    hint: Some("fix".into()),
                    output_tail: vec![],
                },
                elapsed: std::time::Duration::from_millis(5),
            },
        };
        let v = json_line(&failed);
        assert_eq!(v["status"], "failed");
        assert_eq!(v["object"], "Deployment argocd/x");
    }

    #[test]
    fn plain_failure_block_names_object_reason_and_next_step() {
        let mut phases = vec![];
        let ev = Stamped {
            elapsed_ms: 0,
            event: Event::StepFailed {
                phase: 0,
                step: 0,
                failure: Failure {
                    object: Some("docker".into()),
                    reason: "not running".into(),
                    hint: Some("start it".into()),
                    output_tail: vec!["x".into()],
                },
                elapsed: std::time::Duration::from_secs(1),
            },
        };
        let lines = plain_lines(&ev, &mut phases).join("\n");
        assert!(
            lines.contains("object: docker")
                && lines.contains("reason: not running")
                && lines.contains("next:   start it")
                && lines.contains("| x")
        );
    }
}
