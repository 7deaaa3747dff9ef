//! `kindops`: thin binary over the library; maps outcomes to exit codes
//! (0 done, 1 failed, 2 bad input, 130 interrupted).

use clap::Parser;
use kindops::cli::{Cli, ClusterArgs, Command, UpArgs};
use kindops::engine::event::{RunOutcome, Stamped};
use kindops::engine::provider::Target;
use kindops::engine::{self, preflight, Engine, Settings};
use kindops::plan::{phase_source, Plan, MAX_PHASE};
use kindops::report::{self, Format};
use kindops::upstream::{Mirror, Upstream};
use std::io::IsTerminal;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Bad input: exit 2 with the message.
struct BadInput(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Up(_)) {
        // `kindops plan | head`: end quietly when the reader goes away, as Unix
        // tools do. These commands start no child process. (`up` keeps SIGPIPE
        // ignored: its printer drops output to a closed pipe and the run goes on,
        // so its children are still cleaned up.)
        // SAFETY: called first thing in main, before any thread is started.
        unsafe {
            let _ = nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = rt.block_on(async move {
        match run(cli).await {
            Ok(code) => code,
            Err(Outcome::Bad(BadInput(m))) => {
                eprintln!("kindops: {m}");
                2
            }
            Err(Outcome::Failed(e)) => {
                eprintln!("kindops: {e:#}");
                1
            }
        }
    });
    // Don't wait for blocking tasks (a watch, a child reader): their children are killed on drop.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(code)
}

enum Outcome {
    Bad(BadInput),
    Failed(anyhow::Error),
}
impl From<anyhow::Error> for Outcome {
    fn from(e: anyhow::Error) -> Self {
        Outcome::Failed(e)
    }
}

fn target(c: &ClusterArgs) -> Target {
    match &c.context {
        Some(ctx) => Target::Context { context: ctx.clone() },
        None => Target::Kind {
            name: c.cluster.clone(),
        },
    }
}

fn init_tracing_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINDOPS_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Tracing to a file while the TUI owns the terminal. Returns the path.
fn init_tracing_file() -> Option<std::path::PathBuf> {
    let dir = engine::default_data_dir().join("logs");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("kindops-{}.log", std::process::id()));
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINDOPS_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Some(path)
}

fn load_plan(phases: Option<&std::path::Path>) -> Result<Plan, Outcome> {
    Plan::load(&phase_source(phases), &kindops::content::Content::embedded())
        .map_err(|e| Outcome::Bad(BadInput(format!("{e}"))))
}

fn check_phase(n: Option<u8>) -> Result<u8, Outcome> {
    match n {
        None => Ok(MAX_PHASE),
        Some(n) if n <= MAX_PHASE => Ok(n),
        Some(n) => Err(Outcome::Bad(BadInput(format!(
            "there is no phase {n}; phases are 0 to {MAX_PHASE}"
        )))),
    }
}

async fn run(cli: Cli) -> Result<u8, Outcome> {
    if let Some(p) = &cli.pins {
        kindops::upstream::use_pins_file(p).map_err(|e| Outcome::Bad(BadInput(format!("{e:#}"))))?;
    }
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Plan { phase, source, output } => {
            let upto = check_phase(phase)?;
            let plan = load_plan(source.phases.as_deref())?;
            kindops::planview::print(&plan, upto, source.mirror.as_deref(), output)?;
            Ok(0)
        }
        Command::Status { cluster, output, watch } => {
            // While the TUI owns the terminal, tracing goes to a file.
            let log_path = if watch {
                init_tracing_file()
            } else {
                init_tracing_stderr();
                None
            };
            let t = target(&cluster);
            let client = engine::provider::client_for(&t.context()).await?;
            if watch {
                kindops::tui::run_status(
                    client,
                    kindops::tui::TuiOptions {
                        step_mode: false,
                        no_color: no_color(),
                        log_path,
                    },
                )
                .await?;
            } else {
                kindops::statusview::print(&client, &t, output).await?;
            }
            Ok(0)
        }
        Command::Down { cluster } => {
            init_tracing_stderr();
            match target(&cluster) {
                Target::Context { context } => Err(Outcome::Bad(BadInput(format!(
                    "kindops does not delete clusters it did not create (context {context}); remove what it installed with `kubectl delete -n argocd applicationsets,applications --all`, then the namespaces"
                )))),
                Target::Kind { name } => {
                    let status = duct::cmd!("kind", "delete", "cluster", "--name", &name)
                        .unchecked()
                        .run()
                        .map_err(|e| anyhow::anyhow!("cannot run kind: {e}. Is it installed?"))?;
                    if !status.status.success() {
                        return Err(Outcome::Failed(anyhow::anyhow!("`kind delete cluster --name {name}` failed")));
                    }
                    let dir = engine::default_data_dir().join(&name);
                    let _ = std::fs::remove_dir_all(&dir);
                    println!("deleted kind cluster {name} and {}", dir.display());
                    Ok(0)
                }
            }
        }
        Command::Doctor { cluster } => {
            let mut checks = vec![];
            if cluster.context.is_none() {
                checks.extend(preflight::docker().await);
                checks.extend(preflight::binaries(&["kind", "kubectl", "git"]));
                checks.extend(preflight::inotify());
            } else {
                checks.extend(preflight::binaries(&["kubectl", "git"]));
            }
            checks.extend(preflight::disk(&engine::default_data_dir()));
            for c in &checks {
                println!(
                    "{:7} {:9} {}{}",
                    format!("{:?}", c.verdict).to_lowercase(),
                    c.name,
                    c.detail,
                    c.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
                );
            }
            Ok(if preflight::verdict(&checks).is_ok() { 0 } else { 1 })
        }
        Command::Fetch { into, mirror } => {
            init_tracing_stderr();
            let up = Upstream {
                mirror: mirror.as_deref().map(Mirror::parse),
                cache_dir: Upstream::default_cache_dir(),
            };
            let done = up.fill_mirror(&kindops::upstream::pins(), &into).await?;
            for r in &done {
                println!("{}/{}  sha256 {}  ({})", r.pin.name, r.pin.file, r.sha256, r.origin);
            }
            println!(
                "{} artifacts in {}; use --mirror {}",
                done.len(),
                into.display(),
                into.display()
            );
            Ok(0)
        }
    }
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

async fn up(args: UpArgs) -> Result<u8, Outcome> {
    let upto = check_phase(args.phase)?;
    let plan = load_plan(args.source.phases.as_deref())?;
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
    let target = target(&args.cluster);
    let settings = Settings {
        target: target.clone(),
        upto,
        repo_url: args.repo_url.clone(),
        mirror: args.source.mirror.as_deref().map(Mirror::parse),
        cache_dir: Upstream::default_cache_dir(),
        data_dir: engine::default_data_dir(),
        timeout: args.timeout,
        show_secrets: args.show_secrets,
        step_mode: args.step && use_tui,
        interactive: use_tui,
        ui_port: args.ui_port,
    };
    // A git source is needed only by phases that publish (2 and later).
    if plan.publishes(upto) {
        if let Err(e) = settings.git_source() {
            return Err(Outcome::Bad(BadInput(format!("{e:#}"))));
        }
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Stamped>();
    let (ctl_tx, ctl_rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let engine = Engine::new(plan, settings, tx, ctl_rx, cancel.clone());

    // Ctrl-C / SIGTERM cancel the engine; children are killed; exit 130.
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
            }
            cancel.cancel();
        });
    }

    let outcome = if use_tui {
        let engine_task = tokio::spawn(engine.run());
        let opts = kindops::tui::TuiOptions {
            step_mode: args.step,
            no_color: no_color(),
            log_path: log_path.clone(),
        };
        let ui = kindops::tui::run_up(rx, ctl_tx, opts).await;
        cancel.cancel();
        let engine_outcome = engine_task.await.unwrap_or(RunOutcome::Failed);
        if let Some(p) = &log_path {
            eprintln!("kindops: log written to {}", p.display());
        }
        match ui {
            Ok(RunOutcome::Interrupted) => RunOutcome::Interrupted,
            Ok(_) => engine_outcome,
            Err(e) => return Err(Outcome::Failed(e)),
        }
    } else {
        drop(ctl_tx);
        let printer = tokio::spawn(report::print_stream(rx, args.output, std::io::stdout()));
        let outcome = engine.run().await;
        let _ = printer.await;
        outcome
    };
    Ok(match outcome {
        RunOutcome::Succeeded => 0,
        RunOutcome::Failed => 1,
        RunOutcome::Interrupted => 130,
    })
}
