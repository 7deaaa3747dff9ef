//! `kindops learn`: list the lessons with this cluster's progress, or run
//! (`--undo`: take back) one, printing its events as plain or JSON lines.
//! Ctrl-C / SIGTERM stop the lesson; exit 130. Exit codes: 0 passed, skipped
//! (cannot be shown on this cluster) or undone; 1 failed; 2 bad input.

use super::{cancel_on_signals, init_tracing_file, init_tracing_stderr, no_color, target, Error, Result};
use crate::cli::LearnArgs;
use crate::engine::{self, Settings};
use crate::learn::{self, event::LessonOutcome, repo::LessonRepo, RunOptions, LESSONS};
use crate::report;
use crate::upstream::Upstream;
use std::io::{BufRead, IsTerminal};
use tokio_util::sync::CancellationToken;

pub async fn run(args: LearnArgs) -> Result<u8> {
    let use_tui = args.lesson.is_some()
        && !args.no_tui
        && args.output == report::Format::Text
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    let log_path = if use_tui {
        init_tracing_file()
    } else {
        init_tracing_stderr();
        None
    };
    let t = target(&args.cluster)?;
    let Some(which) = &args.lesson else {
        let (progress, why) = match crate::cluster::client_for(&t.context()).await {
            Ok(c) => match learn::progress::read(&c).await {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            },
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        report::learn::print_list(
            &LESSONS,
            progress.as_ref(),
            why.as_deref(),
            args.output,
            std::io::stdout(),
        )
        .map_err(|e| Error::Failed(e.into()))?;
        return Ok(0);
    };
    let info = learn::find(which).ok_or_else(|| {
        Error::Bad(format!(
            "there is no lesson {which:?}; lessons are {} (`kindops learn` lists them)",
            LESSONS
                .iter()
                .map(|l| format!("{} {}", l.number, l.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let settings = Settings {
        target: t.clone(),
        upto: 4,
        repo_url: args.repo_url.clone(),
        mirror: None,
        mirror_images: None,
        cache_dir: Upstream::default_cache_dir(),
        data_dir: engine::default_data_dir(),
        timeout: args.timeout,
        show_secrets: false,
        step_mode: args.step,
        interactive: false,
        ui_port: 8080,
        workers: 0,
        node_image: None,
        on_conflict: None,
        keep_context: false,
        registry: None,
        products: vec![],
    };
    let src = settings.git_source().map_err(|e| Error::Bad(format!("{e:#}")))?;
    let repo = LessonRepo {
        push_url: src.push_url.clone(),
        repo_url: src.repo_url.clone(),
        work: learn::repo::work_dir(&settings.cluster_dir()),
    };
    let client = crate::cluster::client_for(&t.context()).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (continue_tx, continue_rx) = tokio::sync::mpsc::unbounded_channel();
    if use_tui {
        // The lessons screen sends the presenter's keys.
    } else if args.step {
        // Presenter mode outside the TUI: Enter on stdin goes on; at the end
        // of stdin every step goes on at once.
        let continue_tx = continue_tx.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() || continue_tx.send(crate::engine::event::Control::Continue).is_err() {
                    break;
                }
            }
        });
    }
    let cancel = CancellationToken::new();
    cancel_on_signals(cancel.clone());
    let opts = RunOptions {
        undo: args.undo,
        step_mode: args.step,
        timeout: args.timeout.unwrap_or(crate::learn::DEFAULT_TIMEOUT),
        target: t.describe(),
    };
    let outcome = if use_tui {
        let lesson = tokio::spawn(learn::run(info, opts, client, repo, tx, continue_rx, cancel.clone()));
        let ui = crate::tui::run_learn(rx, continue_tx, cancel.clone(), no_color()).await;
        cancel.cancel();
        let outcome = lesson.await.unwrap_or(LessonOutcome::Failed);
        if let Some(p) = &log_path {
            eprintln!("kindops: log written to {}", p.display());
        }
        ui.map_err(Error::Failed)?;
        outcome
    } else {
        // With --step, the stdin reader holds its own sender: the end of stdin ends the pauses.
        drop(continue_tx);
        let printer = tokio::spawn(report::learn::print_stream(rx, args.output, std::io::stdout()));
        let outcome = learn::run(info, opts, client, repo, tx, continue_rx, cancel).await;
        let _ = printer.await;
        outcome
    };
    Ok(match outcome {
        LessonOutcome::Passed | LessonOutcome::Skipped | LessonOutcome::Undone => 0,
        LessonOutcome::Failed => 1,
        LessonOutcome::Interrupted => 130,
    })
}
