//! `kindops`: thin binary over the library ([`kindops::commands`]); maps
//! outcomes to exit codes (0 done, 1 failed, 2 bad input, 130 interrupted).

use clap::{CommandFactory, FromArgMatches};
use kindops::cli::{Cli, Command};
use kindops::commands::{self, Error};
use std::process::ExitCode;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // kindops.yaml: its settings go wherever a value came from a default
    // (flags and their environment variables win); a bad file is bad input.
    let file = match kindops::config::find(cli.config.as_deref()).filter(|_| kindops::config::used_by(&cli.command)) {
        Some(path) => match kindops::config::load(&path) {
            Ok(loaded) => Some(loaded),
            Err(m) => {
                eprintln!("kindops: {m}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    if let Some((_, sub)) = matches.subcommand() {
        if let Some(f) = &file {
            kindops::config::apply(&mut cli.command, sub, &f.settings);
        }
        if let Command::Config(a) = &mut cli.command {
            a.effective = kindops::config::effective(&a.up, sub, file.as_ref());
            a.file = file.as_ref().map(|f| f.path.clone());
        }
    }
    if let Command::Refresh { quiet, .. } = &mut cli.command {
        *quiet = cli.quiet;
    }
    if !matches!(cli.command, Command::Up(_)) {
        // `kindops plan | head`: end quietly when the reader goes away, as Unix
        // tools do. These commands start no child process. (`up` keeps SIGPIPE
        // ignored: its printer drops output to a closed pipe and the run goes on,
        // so its children are still cleaned up.)
        #[allow(unsafe_code)] // one of the crate's two unsafe blocks (Cargo.toml [lints])
        // SAFETY: called first thing in main, before any thread is started.
        unsafe {
            let _ = nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl);
        }
    }
    // Before any thread starts: kube's kubeconfig loader and the kind and
    // kubectl children read $KUBECONFIG; the log setup reads KINDOPS_LOG.
    if let Some(file) = &cli.kubeconfig {
        std::env::set_var("KUBECONFIG", file);
    }
    if let Some(filter) = cli.log_filter() {
        std::env::set_var("KINDOPS_LOG", filter);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = rt.block_on(async move {
        let result = match &cli.pins {
            Some(p) => match kindops::upstream::use_pins_file(p) {
                Ok(()) => commands::run(cli.command).await,
                Err(e) => Err(Error::Bad(format!("{e:#}"))),
            },
            None => commands::run(cli.command).await,
        };
        match result {
            Ok(code) => code,
            Err(Error::Bad(m)) => {
                eprintln!("kindops: {m}");
                2
            }
            Err(Error::Failed(e)) => {
                eprintln!("kindops: {e:#}");
                1
            }
        }
    });
    // Don't wait for blocking tasks (a watch, a child reader): their children are killed on drop.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(code)
}
