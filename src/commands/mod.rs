//! One module per subcommand; [`run`] dispatches. Each command returns an
//! exit code (0 done, 1 failed, 130 interrupted) or an [`Error`] that
//! `main` maps to 2 (bad input) or 1.

mod completions;
mod config;
mod doctor;
mod down;
mod fetch;
mod images;
mod learn;
mod open;
mod open_product;
mod plan;
mod refresh;
mod status;
mod uninstall;
mod up;
mod version;

use crate::cli::{ClusterArgs, Command};
use crate::cluster::Target;
use crate::engine;
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
        Command::Plan(a) => plan::run(a.phase, &a.source, a.output),
        Command::Status {
            cluster,
            output,
            watch,
            wait,
            timeout,
            apps,
        } => {
            let wait = wait.then(|| (timeout.unwrap_or(status::WAIT), apps));
            status::run(&cluster, output, watch, wait).await
        }
        Command::Open(args) => open::run(&args).await,
        Command::Down { cluster, purge, force } => down::run(&cluster, purge, force).await,
        Command::Doctor { cluster } => doctor::run(&cluster).await,
        Command::Uninstall {
            cluster,
            dry_run,
            yes,
            force,
            timeout,
        } => uninstall::run(&cluster, dry_run, yes, force, timeout).await,
        Command::Fetch {
            into,
            mirror,
            images,
            phase,
            only,
        } => fetch::run(&into, mirror.as_ref(), images, phase, &only).await,
        Command::Images(a) => images::run(a.phase, &a.source, a.output).await,
        Command::Refresh {
            cluster,
            quiet,
            post_receive,
        } => refresh::run(&cluster, quiet, post_receive).await,
        Command::Completion { shell } => completions::run(shell),
        Command::Version { output } => version::run(output),
        Command::Learn(a) => learn::run(a).await,
        Command::Config(a) => config::run(&a),
    }
}

/// The cluster the flags name: `--context`, else the kind cluster `--cluster`.
///
/// Errors (bad input, exit 2, naming the flag): a `--context` the
/// kubeconfig does not have. (A `--cluster` name kind would refuse is
/// refused where it comes in: `cli::cluster_name_problem`.)
fn target(c: &ClusterArgs) -> Result<Target> {
    match &c.context {
        Some(ctx) => {
            let kubeconfig = kube::config::Kubeconfig::read().map_err(|e| {
                Error::Bad(format!(
                    "--context {ctx}: cannot read the kubeconfig ($KUBECONFIG or ~/.kube/config): {e}"
                ))
            })?;
            if !kubeconfig.contexts.iter().any(|n| &n.name == ctx) {
                let names: Vec<&str> = kubeconfig.contexts.iter().map(|n| n.name.as_str()).collect();
                return Err(Error::Bad(format!(
                    "--context {ctx}: the kubeconfig ($KUBECONFIG or ~/.kube/config) has no such context; it has: {}. Pass one of them (`kubectl config get-contexts`), or leave --context out to use a kind cluster",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                )));
            }
            Ok(Target::Context { context: ctx.clone() })
        }
        // The name was checked where it came in: clap's value parser of
        // --cluster, or kindops.yaml's check.
        None => Ok(Target::Kind {
            name: c.cluster.clone(),
        }),
    }
}

/// The stderr log's filter when `KINDOPS_LOG` is unset: warnings, but not
/// kube-client's `failed with status 503` per attempt (its trace layer logs
/// every 5xx at `error`, kube-client `client/builder.rs`, also the ones its
/// retry policy then retries): a `git push` shows the post-receive hook's
/// stderr to the learner, and a request that finally fails is reported by
/// kindops with its context anyway.
pub const STDERR_LOG_DEFAULT: &str = "warn,kube_client::client::builder=off";

/// Tracing to stderr (`KINDOPS_LOG`, default [`STDERR_LOG_DEFAULT`]).
fn init_tracing_stderr() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("KINDOPS_LOG").unwrap_or_else(|_| STDERR_LOG_DEFAULT.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Tracing to a file while the TUI owns the terminal. Returns the path.
fn init_tracing_file() -> Option<std::path::PathBuf> {
    let dir = engine::default_state_dir().join("logs");
    prune_logs(&dir, KEEP_LOGS);
    let path = dir.join(format!("kindops-{}.log", std::process::id()));
    let file = open_private_log(&path).ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINDOPS_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Some(path)
}

/// How many of its own log files kindops keeps (the newest), with the one a
/// run starts.
pub const KEEP_LOGS: usize = 20;

/// Removes all but the newest `keep - 1` of kindops's own log files
/// (`kindops-<pid>.log`) in `dir`, so with the next one there are `keep`.
/// Other files are never touched; errors are ignored (a log is a help,
/// never a reason to fail).
pub fn prune_logs(dir: &std::path::Path, keep: usize) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut logs: Vec<(std::time::SystemTime, std::path::PathBuf)> = rd
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("kindops-") && n.ends_with(".log")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    logs.sort_by_key(|l| std::cmp::Reverse(l.0));
    for (_, p) in logs.into_iter().skip(keep.saturating_sub(1)) {
        let _ = std::fs::remove_file(p);
    }
}

/// Opens (appending) a log file readable by the user only: the file 0600,
/// its folder 0700, whatever the umask. A log may quote a kubeconfig
/// context's server or a git URL; it never holds a secret on purpose, but
/// it is kept private all the same.
///
/// Errors: the folder or the file cannot be made.
pub fn open_private_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // An older kindops may have made it with the umask's mode.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Ctrl-C and SIGTERM cancel the run (`up`'s engine, `learn`'s lesson);
/// its children are killed.
fn cancel_on_signals(cancel: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
        }
        cancel.cancel();
    });
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_tui_log_is_readable_by_the_user_only_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/kindops-1.log");
        // As an older kindops left it: world-readable.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::open_private_log(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let fresh = dir.path().join("logs/kindops-2.log");
        super::open_private_log(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn old_logs_are_pruned_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = std::time::SystemTime::now() - std::time::Duration::from_secs(1000);
        for i in 0..25u64 {
            let p = dir.path().join(format!("kindops-{i}.log"));
            std::fs::write(&p, "x").unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(t0 + std::time::Duration::from_secs(i)).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        super::prune_logs(dir.path(), 20);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 20, "{left:?}");
        assert!(left.contains(&"notes.txt".to_string()));
        assert!(left.contains(&"kindops-24.log".to_string()) && !left.contains(&"kindops-5.log".to_string()));
    }
}
