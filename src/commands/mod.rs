//! One module per subcommand; [`run`] dispatches. Each command returns an
//! exit code (0 done, 1 failed, 130 interrupted) or an [`Error`] that
//! `main` maps to 2 (bad input) or 1.

mod doctor;
mod down;
mod fetch;
mod images;
mod plan;
mod status;
mod up;

use crate::cli::{ClusterArgs, Command};
use crate::engine;
use crate::engine::provider::Target;
use crate::plan::{phase_source, Plan, MAX_PHASE};

/// Why a command could not do its work.
#[derive(Debug)]
pub enum Error {
    /// Bad input (an unknown phase, a phase file that does not parse): exit 2.
    Bad(String),
    /// Something failed on the way: exit 1.
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        Error::Failed(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Runs one subcommand; returns its exit code.
pub async fn run(command: Command) -> Result<u8> {
    match command {
        Command::Up(args) => up::run(args).await,
        Command::Plan { phase, source, output } => plan::run(phase, &source, output),
        Command::Status { cluster, output, watch } => status::run(&cluster, output, watch).await,
        Command::Down { cluster } => down::run(&cluster).await,
        Command::Doctor { cluster } => doctor::run(&cluster).await,
        Command::Fetch {
            into,
            mirror,
            images,
            phase,
            only,
        } => fetch::run(&into, mirror.as_deref(), images, phase, &only).await,
        Command::Images { phase, source, output } => images::run(phase, &source, output).await,
    }
}

/// The cluster the flags name: `--context`, else the kind cluster `--cluster`.
fn target(c: &ClusterArgs) -> Target {
    match &c.context {
        Some(ctx) => Target::Context { context: ctx.clone() },
        None => Target::Kind {
            name: c.cluster.clone(),
        },
    }
}

/// Tracing to stderr (`KINDOPS_LOG`, default `warn`).
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

fn load_plan(phases: Option<&std::path::Path>) -> Result<Plan> {
    Plan::load(&phase_source(phases), &crate::content::Content::embedded()).map_err(|e| Error::Bad(format!("{e}")))
}

/// `--phase N`, checked; all phases when absent.
fn check_phase(n: Option<u8>) -> Result<u8> {
    match n {
        None => Ok(MAX_PHASE),
        Some(n) if n <= MAX_PHASE => Ok(n),
        Some(n) => Err(Error::Bad(format!(
            "there is no phase {n}; phases are 0 to {MAX_PHASE}"
        ))),
    }
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
