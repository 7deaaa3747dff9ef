//! The CI → CD pane under the Applications table: the newest PipelineRuns
//! (module, commit, state, each step with its time; a failed step with its
//! last log lines and what to do next) and every Rollout (canary step, weight, ready replicas,
//! the new and the stable image). A pure function of the state.

use super::pane_block;
use crate::delivery::{Delivery, RunState};
use crate::format::fit;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::layout::DELIVERY_RUNS_SHOWN as RUNS_SHOWN;

fn style(theme: Theme, s: RunState) -> Style {
    match s {
        RunState::Succeeded => theme.ok(),
        RunState::Failed => theme.err(),
        RunState::Running => theme.info(),
        RunState::Pending | RunState::Cancelled | RunState::Skipped => theme.dim(),
    }
}

fn symbol(s: RunState) -> &'static str {
    match s {
        RunState::Succeeded => "✓",
        RunState::Failed => "✗",
        RunState::Running => "▶",
        RunState::Pending => "○",
        RunState::Cancelled => "⊘",
        RunState::Skipped => "–",
    }
}

fn secs(s: Option<f64>) -> String {
    s.map(|s| format!(" {s:.0}s")).unwrap_or_default()
}

/// The pane's lines for a pane `width` columns wide and `rows` high inside
/// its border. When they do not fit, failed steps' log lines go first
/// (the newest run's last), so the Rollouts under the runs stay in view;
/// `kindops status` and the step's pod keep the logs.
pub fn lines(d: &Delivery, width: u16, rows: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut all = all_lines(d, width, theme);
    let mut excess = all.len().saturating_sub(rows);
    for i in (0..all.len()).rev() {
        if excess == 0 {
            break;
        }
        if all[i].1 {
            all.remove(i);
            excess -= 1;
        }
    }
    all.into_iter().map(|(l, _)| l).collect()
}

/// Every line of the pane, each with whether it is a log line.
fn all_lines(d: &Delivery, width: u16, theme: Theme) -> Vec<(Line<'static>, bool)> {
    let w = width as usize;
    let mut out: Vec<(Line<'static>, bool)> = Vec::new();
    for r in d.pipeline_runs.iter().take(RUNS_SHOWN) {
        let mut spans = vec![
            Span::styled(format!("{} ", symbol(r.state)), style(theme, r.state)),
            Span::styled(format!("{:<8}", fit(r.module_name(), 8)), theme.bold()),
            Span::raw(format!(" {:<7} ", r.short_revision())),
            Span::styled(format!("{:<9}", r.state.word()), style(theme, r.state)),
            Span::raw(format!("{:<5}", secs(r.seconds))),
        ];
        for (i, s) in r.task_runs.iter().flat_map(|t| &t.steps).enumerate() {
            spans.push(Span::styled(if i == 0 { " " } else { " · " }, theme.dim()));
            spans.push(Span::styled(
                format!("{} {}{}", symbol(s.state), s.name, secs(s.seconds)),
                style(theme, s.state),
            ));
        }
        out.push((fit_line(spans, w), false));
        if let Some((_, step)) = r.failure() {
            let code = step.exit_code.map(|c| format!(" (exit {c})")).unwrap_or_default();
            let tests = if r.failed_tests.is_empty() {
                String::new()
            } else {
                format!(": failed tests {}", r.failed_tests)
            };
            out.push((
                Line::styled(
                    fit(&format!("    step {} failed{code}{tests}", step.name), w),
                    theme.err(),
                ),
                false,
            ));
            for l in d.failed_step_logs.get(&r.name).into_iter().flatten() {
                out.push((Line::styled(fit(&format!("    │ {l}"), w), theme.dim()), true));
            }
        }
        for l in crate::tui::app::layout::next_step_lines(d, r, width) {
            out.push((Line::styled(l, theme.warn()), false));
        }
    }
    for r in &d.rollouts {
        let phase_style = match r.phase.as_str() {
            "Healthy" => theme.ok(),
            "Degraded" => theme.err(),
            "Paused" => theme.warn(),
            _ => theme.info(),
        };
        let image = match &r.stable_image {
            Some(stable) => format!("new {}  stable {}", short_image(&r.image), short_image(stable)),
            None => short_image(&r.image),
        };
        out.push((
            fit_line(
                vec![
                    Span::styled("⇢ ", phase_style),
                    Span::styled(format!("{:<16}", fit(&r.name, 16)), theme.bold()),
                    Span::styled(format!(" {:<11}", r.phase), phase_style),
                    Span::raw(format!(
                        " step {:<5} {:>3}%  {}/{} ready  ",
                        r.step_text(),
                        r.set_weight,
                        r.available,
                        r.replicas
                    )),
                    Span::styled(image, theme.dim()),
                ],
                w,
            ),
            false,
        ));
    }
    out
}

/// `registry/path/name:tag` shown as `name:tag`; a tag that is a full git
/// commit (CI tags each image with the commit it built) cut to 7 characters,
/// as git shows a commit.
fn short_image(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((name, tag)) if tag.len() == 40 && tag.chars().all(|c| c.is_ascii_hexdigit()) => {
            format!("{name}:{}", &tag[..7])
        }
        _ => last.to_string(),
    }
}

/// The spans cut to `width` columns (the last one shortened with `…`).
fn fit_line(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut used = 0;
    let mut out = Vec::new();
    for s in spans {
        let n = crate::format::width(&s.content);
        if used + n <= width {
            used += n;
            out.push(s);
        } else {
            let rest = width.saturating_sub(used);
            if rest > 0 {
                out.push(Span::styled(fit(&s.content, rest), s.style));
            }
            break;
        }
    }
    Line::from(out)
}

pub fn draw(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let (w, rows) = (area.width.saturating_sub(2), area.height.saturating_sub(2) as usize);
    debug_assert_eq!(
        all_lines(&app.table.delivery, w, theme).len(),
        crate::tui::app::layout::delivery_lines(&app.table.delivery, w) as usize,
        "layout::delivery_lines counts what lines() draws"
    );
    let d = &app.table.delivery;
    let title = format!(
        " CI → CD: {} PipelineRun{}, {} Rollout{} ",
        d.pipeline_runs.len(),
        if d.pipeline_runs.len() == 1 { "" } else { "s" },
        d.rollouts.len(),
        if d.rollouts.len() == 1 { "" } else { "s" }
    );
    let block = pane_block(Line::from(title), false, theme);
    let lines = lines(d, w, rows, theme);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::short_image;

    #[test]
    fn an_image_is_shown_by_name_and_tag_a_commit_tag_cut_to_7() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            short_image(&format!("localhost:5001/coffee/cart:{sha}")),
            "cart:0123456"
        );
        assert_eq!(
            short_image("registry.k8s.io/e2e-test-images/agnhost:2.53"),
            "agnhost:2.53"
        );
        assert_eq!(short_image("cart"), "cart");
    }
}
