//! A small builder for `kindops` invocations (after just's `tests/test.rs`):
//!
//! ```ignore
//! Kindops::new().args(["up", "--phase", "1", "--no-tui"]).context().mirror()
//!     .env("KINDOPS_DOWNLOAD_TIMEOUT", "2s").in_bed(&bed).run().assert_code(0);
//! ```
//!
//! Without [`Kindops::in_bed`] the binary runs on this host with a fresh home
//! (XDG data and cache dirs of its own); in a bed it uses the bed's home and
//! reaches the bed as [`Bed::command`] does.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::bed::{mirror, show, Bed};

/// The `kindops` binary under test.
pub const KINDOPS: &str = env!("CARGO_BIN_EXE_kindops");

/// The test bed's kubeconfig context.
pub const CONTEXT: &str = "kindops-testbed";

/// One `kindops` invocation, built up and then run.
#[must_use]
pub struct Kindops<'b> {
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    bed: Option<&'b Bed>,
    home: Option<PathBuf>,
    /// The fresh home of an invocation outside a bed, kept until it ran.
    own_home: Option<tempfile::TempDir>,
    /// The working directory (default: the test's own).
    dir: Option<PathBuf>,
}

impl Default for Kindops<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'b> Kindops<'b> {
    pub fn new() -> Self {
        Kindops {
            args: Vec::new(),
            env: Vec::new(),
            bed: None,
            home: None,
            own_home: None,
            dir: None,
        }
    }

    /// Runs it in `dir` (where `./kindops.yaml` is looked for).
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// `kindops up --no-tui --context kindops-testbed --mirror <test mirror>
    /// --repo-url <the bed's git source>` in `bed`.
    pub fn up(bed: &'b Bed) -> Self {
        let repo = bed.repo_url();
        Kindops::new()
            .args(["up", "--no-tui"])
            .context()
            .mirror()
            .args(["--repo-url", &repo])
            .in_bed(bed)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// `--context kindops-testbed`.
    pub fn context(self) -> Self {
        self.args(["--context", CONTEXT])
    }

    /// `--mirror <the test mirror>` (see [`mirror`]).
    pub fn mirror(self) -> Self {
        self.args(["--mirror", &mirror()])
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_os_string(), value.as_ref().to_os_string()));
        self
    }

    /// Runs against `bed`, with the bed's home.
    pub fn in_bed(mut self, bed: &'b Bed) -> Self {
        self.bed = Some(bed);
        self
    }

    /// kindops's XDG data and cache dirs under `dir` (instead of the bed's
    /// home, or a fresh one).
    pub fn home(mut self, dir: &Path) -> Self {
        self.home = Some(dir.to_path_buf());
        self
    }

    /// The command, to spawn it or set its stdio.
    pub fn command(&mut self) -> Command {
        let home = match (&self.home, self.bed) {
            (Some(h), _) => h.clone(),
            (None, Some(bed)) => bed.home.path().to_path_buf(),
            (None, None) => self
                .own_home
                .get_or_insert_with(|| tempfile::tempdir().unwrap())
                .path()
                .to_path_buf(),
        };
        let mut env: Vec<(OsString, OsString)> = vec![
            ("XDG_DATA_HOME".into(), home.join("data").into()),
            ("XDG_CACHE_HOME".into(), home.join("cache").into()),
            ("XDG_STATE_HOME".into(), home.join("state").into()),
            // No kindops.yaml of the developer's own (~/.config/kindops).
            ("XDG_CONFIG_HOME".into(), home.join("config").into()),
        ];
        if self.bed.is_some() {
            env.push((
                "KINDOPS_DEV_CONTENT_OVERLAY".into(),
                super::bed::testbed_content(&home).into(),
            ));
        }
        env.extend(self.env.iter().cloned());
        let mut cmd = match self.bed {
            Some(bed) => bed.command(KINDOPS, &env),
            None => {
                let mut cmd = Command::new(KINDOPS);
                cmd.envs(env);
                cmd
            }
        };
        cmd.args(&self.args);
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        cmd
    }

    /// Runs it to the end.
    pub fn run(mut self) -> Run {
        let out = self.command().output().expect("run kindops");
        Run { out }
    }

    /// The command as one POSIX shell line (`env K=V... program ARGS...`),
    /// for a terminal that runs it (see `support::tmux`).
    pub fn shell_line(mut self) -> String {
        let cmd = self.command();
        let mut words = vec!["env".to_string()];
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                words.push(sh_quote(&format!("{}={}", k.to_string_lossy(), v.to_string_lossy())));
            }
        }
        words.push(sh_quote(&cmd.get_program().to_string_lossy()));
        words.extend(cmd.get_args().map(|a| sh_quote(&a.to_string_lossy())));
        words.join(" ")
    }
}

/// `'text'` for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a finished `kindops` did.
pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// Panics, showing exit code, stdout and stderr, unless it exited `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "{self}");
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&show(&self.out))
    }
}
