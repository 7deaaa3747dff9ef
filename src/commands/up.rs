//! `kindops up`: run the phases, full screen (TUI) on a terminal, else
//! plain or JSON lines. Ctrl-C / SIGTERM cancel the engine; exit 130.

use super::{check_phase, init_tracing_file, init_tracing_stderr, load_plan, no_color, target, Error, Result};
use crate::cli::UpArgs;
use crate::engine::event::{RunOutcome, Stamped};
use crate::engine::{self, Engine, Settings};
use crate::report::{self, Format};
use crate::upstream::{Mirror, Upstream};
use std::io::IsTerminal;
use tokio_util::sync::CancellationToken;

pub async fn run(args: UpArgs) -> Result<u8> {
    let upto = check_phase(args.phase)?;
    let plan = load_plan(args.source.phases.as_deref())?;
    let left_out: Vec<&str> = crate::plan::addons::NAMES
        .into_iter()
        .filter(|n| !args.addons.iter().any(|a| a == n))
        .collect();
    if let Some(problem) = crate::plan::addons::problem(&left_out, upto) {
        return Err(Error::Bad(format!("--addons (or kindops.yaml's addons): {problem}")));
    }
    let plan = crate::products::wait_for(&plan.with_addons(&args.addons), &args.products);
    let target = target(&args.cluster)?;
    if let Some(path) = &args.junit {
        report::junit::check_path(path).map_err(Error::Bad)?;
    }
    // `--context`: a kubeconfig whose API server does not answer, refuses
    // its credentials, or whose credentials lack cluster-admin rights, is
    // bad input (exit 2), found before anything starts.
    // The engine gets this client, so phase 0 does not connect again.
    let context_client = match &target {
        crate::cluster::Target::Context { context } => Some(
            crate::cluster::client_to_install(context)
                .await
                .map_err(|e| Error::Bad(format!("--context {context}: {e:#}")))?,
        ),
        crate::cluster::Target::Kind { .. } => None,
    };
    let use_tui = !args.no_tui
        && args.output == Format::Text
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    let log_path = if use_tui {
        init_tracing_file()
    } else {
        init_tracing_stderr();
        None
    };
    let mut settings = Settings {
        target,
        upto,
        repo_url: args.repo_url.clone(),
        mirror: args.source.mirror.clone(),
        mirror_images: None,
        cache_dir: Upstream::default_cache_dir(),
        data_dir: engine::default_data_dir(),
        timeout: args.timeout,
        show_secrets: args.show_secrets,
        step_mode: args.step && use_tui,
        interactive: use_tui,
        ui_port: args.ui_port,
        workers: args.workers,
        node_image: args.node_image.clone(),
        on_conflict: args.on_conflict,
        keep_context: args.keep_context,
        registry: (!args.no_registry).then(|| crate::registry::RegistryOptions {
            port: args.registry_port,
            upstream_mirrors: args.upstream_mirrors.iter().cloned().collect(),
            offline: args.offline,
        }),
        products: args.products.clone(),
    };
    // A git source is needed only by phases that publish (2 and later).
    if plan.publishes(upto) {
        if let Err(e) = settings.git_source() {
            return Err(Error::Bad(format!("{e:#}")));
        }
    }
    // A mirror's image archives are checked before anything runs: a missing
    // or damaged one stops here (exit 2), naming the image and the file.
    if let (Some(Mirror::Dir(dir)), crate::cluster::Target::Kind { .. }) = (&settings.mirror, &settings.target) {
        let index = crate::images::ImageIndex::read(dir).map_err(|e| Error::Bad(format!("{e:#}")))?;
        if let Some(index) = index {
            let (dir, cache, checked) = (dir.clone(), settings.cache_dir.clone(), index.clone());
            tokio::task::spawn_blocking(move || checked.verify(&dir, Some(&cache)))
                .await
                .map_err(|e| Error::Failed(e.into()))?
                .map_err(|e| Error::Bad(format!("{e:#}")))?;
            settings.mirror_images = Some(index);
        }
    }
    check_local_artifacts(&settings).await?;
    // The local registry's host port: taken by something else → exit 2.
    if let (Some(reg), crate::cluster::Target::Kind { .. }) = (&settings.registry, &settings.target) {
        let ours = match crate::docker::connect() {
            Ok((docker, at)) if crate::docker::container_cli() == "docker" => {
                crate::registry::docker::our_port(&docker, &at).await
            }
            _ => None,
        };
        crate::registry::port::check(reg.port, ours).map_err(Error::Bad)?;
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Stamped>();
    // --junit: a third reader of the stream, in front of the TUI or the printer.
    let (rx, junit) = match &args.junit {
        Some(_) => {
            let (rx, task) = report::junit::tee(rx);
            (rx, Some(task))
        }
        None => (rx, None),
    };
    let (ctl_tx, ctl_rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    // The lessons screen (key `3` after phase 4) runs lessons on this cluster and git source.
    let lessons = settings
        .git_source()
        .map(|src| crate::tui::lesson_run::LessonSetup {
            repo: crate::learn::repo::LessonRepo {
                push_url: src.push_url.clone(),
                repo_url: src.repo_url.clone(),
                work: crate::learn::repo::work_dir(&settings.cluster_dir()),
            },
            target: settings.target.describe(),
            timeout: settings.timeout.unwrap_or(crate::learn::DEFAULT_TIMEOUT),
        })
        .map_err(|e| format!("{e:#}"));
    let mut engine = Engine::new(plan, settings, tx, ctl_rx, cancel.clone());
    if let Some(client) = context_client {
        engine = engine.with_client(client);
    }
    super::cancel_on_signals(cancel.clone());

    let outcome = if use_tui {
        let engine_task = tokio::spawn(engine.run());
        let opts = crate::tui::TuiOptions {
            step_mode: args.step,
            no_color: no_color(),
            log_path: log_path.clone(),
            lessons: Some(lessons),
        };
        let ui = crate::tui::run_up(rx, ctl_tx, opts).await;
        cancel.cancel();
        let engine_outcome = engine_task.await.unwrap_or(RunOutcome::Failed);
        if let Some(p) = &log_path {
            eprintln!("kindops: log written to {}", p.display());
        }
        match ui {
            Ok(RunOutcome::Interrupted) => Ok(RunOutcome::Interrupted),
            Ok(_) => Ok(engine_outcome),
            Err(e) => Err(Error::Failed(e)),
        }
    } else {
        drop(ctl_tx);
        let printer = tokio::spawn(report::print_stream(rx, args.output, std::io::stdout()));
        let outcome = engine.run().await;
        let _ = printer.await;
        Ok(outcome)
    };
    let mut code = match outcome {
        Ok(RunOutcome::Succeeded) => 0,
        Ok(RunOutcome::Failed) | Err(_) => 1,
        Ok(RunOutcome::Interrupted) => 130,
    };
    // The stream has ended (the engine is done), so the tee has every event.
    if let (Some(task), Some(path)) = (junit, &args.junit) {
        let written = match task.await {
            Ok(report) => report.write(path),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = written {
            eprintln!("kindops: --junit {}: the report was not written: {e:#}", path.display());
            // A run that succeeded but left no report fails CI here, not later.
            if code == 0 {
                code = 1;
            }
        }
    }
    outcome.map(|_| code)
}

/// Upstream artifacts that are already on this machine (every pin with a
/// `--mirror` directory; without a mirror, the pins kindops's cache holds) are
/// checked before anything runs, as the image archives are: a missing or
/// damaged one is bad input, exit 2, naming the file and both hashes (a
/// damaged cached copy is removed, so the next run downloads it again; see
/// [`Upstream::resolve`]). What must be downloaded is left to the preflight
/// step, where its progress shows. Other errors (I/O) are exit 1.
async fn check_local_artifacts(settings: &engine::Settings) -> Result<()> {
    let up = Upstream {
        mirror: settings.mirror.clone(),
        cache_dir: settings.cache_dir.clone(),
    };
    for pin in crate::upstream::pins() {
        let local = match &settings.mirror {
            Some(Mirror::Dir(_)) => true,
            Some(Mirror::Http(_)) => false,
            None => up.cache_dir.join(&pin.name).join(&pin.file).is_file(),
        };
        if !local {
            continue;
        }
        if let Err(e) = up.resolve(&pin).await {
            return Err(if e.downcast_ref::<crate::upstream::UpstreamError>().is_some() {
                Error::Bad(format!("{e:#}"))
            } else {
                Error::Failed(e)
            });
        }
    }
    Ok(())
}
