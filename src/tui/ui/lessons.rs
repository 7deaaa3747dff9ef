//! The lessons screen (`kindops learn N` on a terminal): a title bar with
//! the lesson and its state, the lesson's lines (the plain printer's words,
//! coloured by what they say), and a hint bar (the key table's,
//! `keys::learn_hints`). A pure function of [`LessonScreen`]; fits 80x24.

use crate::learn::event::LessonOutcome;
use crate::tui::app::LessonScreen;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

fn line_style(l: &str, theme: Theme) -> Style {
    let t = l.trim_start();
    if t.starts_with("!!") || l.contains("FAILED") || t.starts_with("left changed") {
        theme.err()
    } else if t.starts_with("..") {
        match l.rsplit("→ ").next().unwrap_or("") {
            s if s.starts_with("Synced/Healthy") || s.contains("ready") => theme.ok(),
            s if s.starts_with("OutOfSync") || s.starts_with("Unknown") || s.starts_with("absent") => theme.warn(),
            _ => theme.info(),
        }
    } else if t.starts_with("~>") {
        theme.info()
    } else if t.starts_with("==>") {
        theme.bold()
    } else {
        Style::default()
    }
}

pub fn draw(frame: &mut Frame, s: &LessonScreen) {
    let theme = Theme::new(s.no_color);
    let [area, hint] = Layout::vertical([Constraint::Min(2), Constraint::Length(1)]).areas(frame.area());
    draw_lesson(frame, s, theme, area, "kindops learn");
    let keys = crate::tui::keys::learn_hints(s.awaiting, s.outcome.is_some());
    frame.render_widget(Paragraph::new(Span::styled(keys, theme.dim())), hint);
}

/// The lesson's title line (`head`, the lesson and its state) and its lines
/// in `area`, the last ones shown unless scrolled; also the lesson view of
/// `kindops up`'s lessons screen.
pub fn draw_lesson(frame: &mut Frame, s: &LessonScreen, theme: Theme, area: ratatui::layout::Rect, head: &str) {
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let state = match s.outcome {
        Some(LessonOutcome::Passed) => Span::styled("✓ passed", theme.ok()),
        Some(LessonOutcome::Skipped) => Span::styled("– skipped", theme.warn()),
        Some(LessonOutcome::Undone) => Span::styled("↺ undone", theme.ok()),
        Some(LessonOutcome::Failed) => Span::styled("✗ failed", theme.err()),
        Some(LessonOutcome::Interrupted) => Span::styled("✗ interrupted", theme.err()),
        None if s.stopping => Span::styled("stopping…", theme.warn()),
        None if s.awaiting.is_some() => Span::styled("‖ paused", theme.warn()),
        None => Span::styled("running", theme.info()),
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!(" {head} · {} ", s.title), theme.bold()),
            state,
            Span::styled(format!("  {}", s.target), theme.dim()),
        ])),
        title,
    );
    // Long lines (Argo CD's messages) are cut into rows here, so the last
    // rows are the ones shown.
    let width = body.width.max(1) as usize;
    let all: Vec<Line> = s
        .lines
        .iter()
        .flat_map(|l| {
            let style = line_style(l, theme);
            let chars: Vec<char> = l.chars().collect();
            let rows: Vec<String> = if chars.is_empty() {
                vec![String::new()]
            } else {
                chars.chunks(width).map(|c| c.iter().collect()).collect()
            };
            rows.into_iter().map(move |r| Line::from(Span::styled(r, style)))
        })
        .collect();
    let rows = body.height.saturating_sub(1) as usize;
    let end = all.len().saturating_sub(s.scroll);
    let start = end.saturating_sub(rows);
    frame.render_widget(
        Paragraph::new(all[start..end].to_vec()).block(Block::default().borders(Borders::TOP)),
        body,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::event::{LessonEvent, StampedLesson};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    #[test]
    fn the_screen_shows_the_lesson_its_transitions_and_the_presenter_key() {
        let mut s = LessonScreen {
            no_color: true,
            ..Default::default()
        };
        for event in [
            LessonEvent::LessonStarted {
                lesson: 2,
                name: "drift-and-self-heal".into(),
                title: "drift and self-heal".into(),
                explain: "A change made by hand is drift.".into(),
                target: "existing cluster, context kindops-testbed".into(),
            },
            LessonEvent::TransitionObserved {
                lesson: 2,
                object: "Application argocd/cart".into(),
                from: "Synced/Healthy".into(),
                to: "OutOfSync/Healthy".into(),
                revision: "abcdef0123".into(),
                seconds: 1.5,
            },
            LessonEvent::AwaitingContinue { lesson: 2, step: 2 },
        ] {
            s.update_event(&StampedLesson { elapsed_ms: 0, event });
        }
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| draw(f, &s)).unwrap();
        let text: String = t
            .backend()
            .buffer()
            .content()
            .chunks(80)
            .map(|r| r.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect();
        assert!(
            text.contains("kindops learn · lesson 2: drift and self-heal ‖ paused"),
            "{text}"
        );
        assert!(
            text.contains("Application argocd/cart: Synced/Healthy → OutOfSync/Healthy at abcdef0"),
            "{text}"
        );
        assert!(text.contains("\n(+1.5s)"), "a long line is cut into rows: {text}");
        assert!(text.contains("Enter step 2 · q stop"), "{text}");
    }
}
