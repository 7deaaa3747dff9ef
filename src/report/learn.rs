//! `kindops learn` without the TUI: the lesson list, and the plain and JSON
//! readers of a lesson's event stream.
//!
//! JSON: one object per line, the event as `crate::learn::event::LessonEvent`
//! serializes it (`event`, `lesson`, its fields) plus `elapsed_ms`. Plain:
//! the explanation and each step in words, `~>` for a change kindops made,
//! `..` for a transition with its seconds, and a closing line with the outcome.

use super::Format;
use crate::format::wrap;
use crate::learn::event::{LessonEvent, LessonOutcome, StampedLesson};
use crate::learn::progress::LessonRecord;
use crate::learn::LessonInfo;
use std::collections::BTreeMap;
use std::io::Write;

/// A condition message is shown up to this many characters (JSON keeps it whole).
pub const MESSAGE_CHARS: usize = 400;

/// `text` cut in the middle to at most `max` characters (`…` marks the cut):
/// Argo CD's messages start with the command it ran and end with the reason.
pub fn cut_middle(text: &str, max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let head = max / 4;
    let tail = max - head - 3;
    let h: String = chars[..head].iter().collect();
    let t: String = chars[chars.len() - tail..].iter().collect();
    format!("{h} … {t}")
}

/// Renders one lesson event as plain lines.
pub fn plain_lines(ev: &StampedLesson) -> Vec<String> {
    let short = |s: &str| s[..s.len().min(7)].to_string();
    match &ev.event {
        LessonEvent::LessonStarted {
            lesson,
            title,
            explain,
            target,
            ..
        } => {
            let mut v = vec![format!("==> lesson {lesson}: {title} (on {target})")];
            v.extend(wrap(explain, 76).into_iter().map(|l| format!("    {l}")));
            v
        }
        LessonEvent::StepExplained { step, text, .. } => {
            let mut v = vec![];
            for (i, l) in wrap(text, 74).into_iter().enumerate() {
                v.push(if i == 0 {
                    format!("  {step}. {l}")
                } else {
                    format!("     {l}")
                });
            }
            v
        }
        LessonEvent::AwaitingContinue { step, .. } => {
            vec![format!("  (presenter) press Enter for step {step}")]
        }
        LessonEvent::ChangeMade {
            what, commit, object, ..
        } => {
            let at = match (commit, object) {
                (Some(c), _) => format!(" (commit {})", short(c)),
                (None, Some(o)) => format!(" ({o})"),
                _ => String::new(),
            };
            vec![format!("     ~> {what}{at}")]
        }
        LessonEvent::TransitionObserved {
            object,
            from,
            to,
            revision,
            seconds,
            ..
        } => {
            let rev = if revision.is_empty() {
                String::new()
            } else {
                format!(" at {}", short(revision))
            };
            vec![format!("     .. {object}: {from} → {to}{rev}  (+{seconds:.1}s)")]
        }
        LessonEvent::ConditionRead {
            object,
            condition,
            message,
            ..
        } => vec![format!(
            "     !! {object}: {condition}: {}",
            cut_middle(message, MESSAGE_CHARS)
        )],
        LessonEvent::Note { text, .. } => wrap(text, 74).into_iter().map(|l| format!("     {l}")).collect(),
        LessonEvent::LessonFinished {
            lesson,
            outcome,
            reason,
            hint,
            left_changed,
        } => {
            let word = match outcome {
                LessonOutcome::Passed => "passed".to_string(),
                LessonOutcome::Failed => "FAILED".to_string(),
                LessonOutcome::Skipped => "skipped".to_string(),
                LessonOutcome::Undone => "undone".to_string(),
                LessonOutcome::Interrupted => "interrupted".to_string(),
            };
            let mut v = vec![match reason {
                Some(r) => format!("==> lesson {lesson}: {word}: {r}"),
                None => format!("==> lesson {lesson}: {word}"),
            }];
            if let Some(h) = hint {
                v.push(format!("     next: {h}"));
            }
            for c in left_changed {
                v.push(format!("     left changed: {c}"));
            }
            v
        }
    }
}

/// Reads a lesson's stream to its end, printing to `out`; returns its outcome.
pub async fn print_stream(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<StampedLesson>,
    format: Format,
    mut out: impl Write,
) -> LessonOutcome {
    let mut outcome = LessonOutcome::Failed;
    while let Some(ev) = rx.recv().await {
        if let LessonEvent::LessonFinished { outcome: o, .. } = &ev.event {
            outcome = *o;
        }
        match format {
            Format::Text => {
                for l in plain_lines(&ev) {
                    let _ = writeln!(out, "{l}");
                }
            }
            Format::Json | Format::Yaml => {
                let _ = writeln!(out, "{}", super::stream_item(format, &ev));
            }
        }
        let _ = out.flush();
    }
    outcome
}

/// `kindops learn` with no lesson: every lesson with its progress on this
/// cluster (`progress`: None when the cluster could not be asked, `why`).
pub fn print_list(
    lessons: &[LessonInfo],
    progress: Option<&BTreeMap<String, LessonRecord>>,
    why: Option<&str>,
    format: Format,
    mut out: impl Write,
) -> std::io::Result<()> {
    match format {
        Format::Json | Format::Yaml => {
            let v: Vec<serde_json::Value> = lessons
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "number": l.number, "name": l.name, "title": l.title, "explain": l.explain,
                        "progress": progress.and_then(|p| p.get(l.name)),
                    })
                })
                .collect();
            let doc = serde_json::json!({"lessons": v, "progress_unknown": why});
            match format {
                Format::Yaml => writeln!(out, "{}", super::document(format, &doc).map_err(std::io::Error::other)?),
                _ => writeln!(out, "{doc}"),
            }
        }
        Format::Text => {
            writeln!(out, "Lessons (run one with `kindops learn N`; `--undo` takes it back):")?;
            for l in lessons {
                let state = match progress.map(|p| p.get(l.name)) {
                    None => String::new(),
                    Some(None) => "not run".into(),
                    Some(Some(r)) => format!("{} {}", r.outcome, r.finished_at),
                };
                writeln!(out, "  {}  {:<22} {:<20} {state}", l.number, l.name, l.title)?;
            }
            if let Some(w) = why {
                writeln!(out, "(progress unknown: {w})")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transition_shows_object_states_revision_and_seconds() {
        let ev = StampedLesson {
            elapsed_ms: 1,
            event: LessonEvent::TransitionObserved {
                lesson: 1,
                object: "Application argocd/cart".into(),
                from: "Synced/Healthy".into(),
                to: "OutOfSync/Healthy".into(),
                revision: "0123456789".into(),
                seconds: 2.04,
            },
        };
        assert_eq!(
            plain_lines(&ev),
            vec!["     .. Application argocd/cart: Synced/Healthy → OutOfSync/Healthy at 0123456  (+2.0s)"]
        );
        let v: serde_json::Value = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["event"], "transition_observed");
        assert_eq!(v["elapsed_ms"], 1);
        assert_eq!(v["to"], "OutOfSync/Healthy");
    }

    #[test]
    fn a_long_message_keeps_its_start_and_its_end() {
        let m = format!(
            "kustomize build {} Error: bad YAML in kindops-learn-broken.yaml",
            "x".repeat(2000)
        );
        let c = cut_middle(&m, 400);
        assert_eq!(c.chars().count(), 400);
        assert!(
            c.starts_with("kustomize build ") && c.ends_with("in kindops-learn-broken.yaml"),
            "{c}"
        );
        assert_eq!(cut_middle("short", 400), "short");
    }

    #[test]
    fn a_skipped_lesson_says_why_and_what_next() {
        let ev = StampedLesson {
            elapsed_ms: 1,
            event: LessonEvent::LessonFinished {
                lesson: 4,
                outcome: LessonOutcome::Skipped,
                reason: Some("needs a real cluster: KWOK".into()),
                hint: Some("run it on kind".into()),
                left_changed: vec![],
            },
        };
        let l = plain_lines(&ev);
        assert_eq!(l[0], "==> lesson 4: skipped: needs a real cluster: KWOK");
        assert_eq!(l[1], "     next: run it on kind");
    }
}
