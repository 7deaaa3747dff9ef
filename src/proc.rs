//! The one way kindops starts a child process (kind, git, kubectl, docker).
//!
//! Every child runs in a process group of its own, with stdin null; stdout and
//! stderr are captured apart and split into lines on `\n` and `\r` (kind draws
//! spinners with `\r`); each line goes to the caller (the event stream), never
//! to the terminal. On cancellation the whole group gets SIGTERM, then SIGKILL
//! after [`GRACE`]; a dropped future kills the group too (SIGKILL), and so
//! does a normal exit that leaves grandchildren behind: no child process of
//! ours outlives the step that started it. On Linux each child also dies
//! with kindops when kindops itself is SIGKILLed ([`die_with_parent`]).

use crate::engine::event::Stream;
use anyhow::{anyhow, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How many trailing lines a failure keeps.
pub const TAIL_LINES: usize = 20;

/// Time a cancelled child's process group gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// The result of a finished child.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub success: bool,
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// The last [`TAIL_LINES`] lines of output (stdout and stderr as they came), oldest first.
    pub tail: Vec<String>,
    /// Every output line (stdout and stderr as they came), `\n`-terminated.
    pub output: String,
    /// Standard output alone (as lines; empty for [`capture`]).
    pub stdout: String,
    /// Standard output byte for byte ([`capture`] only: a kustomize render).
    pub stdout_raw: Vec<u8>,
}

/// Sends a signal to a process group; a group that is gone already is fine.
fn signal_group(pgid: i32, sig: Signal) {
    let _ = killpg(Pid::from_raw(pgid), sig);
}

/// Kills the child's process group when dropped (a dropped step future).
struct GroupGuard {
    pgid: i32,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.pgid, Signal::SIGKILL);
    }
}

/// Makes the child get SIGKILL when kindops dies, even by SIGKILL, which
/// runs none of our clean-up (`prctl(PR_SET_PDEATHSIG)` through nix's safe
/// wrapper, in the child between fork and exec). The kernel sends it when
/// the *thread* that forked the child exits (prctl(2)); children are started
/// from the tokio runtime's worker threads (`proc::run` is async; `main`
/// builds a multi-thread runtime), which live as long as kindops. A child
/// whose parent died before the prctl took effect exits at once (`getppid`
/// is no longer us). Grandchildren are not covered by the signal: the
/// direct child's group is what kindops kills on every other path.
/// Linux only; elsewhere a SIGKILLed kindops leaves its child running.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut std::process::Command) {
    let parent = nix::unistd::getpid();
    #[allow(unsafe_code)] // one of the crate's two unsafe blocks (Cargo.toml [lints])
    // SAFETY: the closure runs in the forked child before exec; it makes
    // only async-signal-safe system calls (prctl, getppid) and allocates
    // nothing (the error is a plain OS error code).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut std::process::Command) {}

/// Output lines of both streams, in arrival order.
#[derive(Default)]
struct Collected {
    all: Vec<String>,
    stdout: String,
    stdout_raw: Vec<u8>,
}

fn pump(
    mut pipe: os_pipe::PipeReader,
    stream: Stream,
    collected: Arc<Mutex<Collected>>,
    on_line: Arc<dyn Fn(Stream, String) + Send + Sync>,
    raw: bool,
) {
    let mut buf = [0u8; 8192];
    if raw {
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            collected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .stdout_raw
                .extend_from_slice(&buf[..n]);
        }
        return;
    }
    let mut pending = Vec::new();
    let emit = |bytes: &mut Vec<u8>| {
        let line = String::from_utf8_lossy(bytes).trim_end().to_string();
        bytes.clear();
        if line.is_empty() {
            return;
        }
        {
            let mut c = collected.lock().unwrap_or_else(|e| e.into_inner());
            if stream == Stream::Stdout {
                c.stdout.push_str(&line);
                c.stdout.push('\n');
            }
            c.all.push(line.clone());
        }
        on_line(stream, line);
    };
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' || b == b'\r' {
                emit(&mut pending);
            } else {
                pending.push(b);
            }
        }
    }
    emit(&mut pending);
}

/// Runs `program args...` in `dir` (if given) with extra `envs`, sending each
/// output line to `on_line` with the stream it came from. Returns when the
/// child exits (success or not: see [`Finished`]).
///
/// Errors: the program cannot be started (not found, with the PATH hint);
/// `cancel` fired (`interrupted`): the group got SIGTERM, then SIGKILL after
/// [`GRACE`], and was reaped before this returns.
pub async fn run(
    program: &str,
    args: &[String],
    dir: Option<&Path>,
    envs: &[(String, String)],
    cancel: &CancellationToken,
    on_line: impl Fn(Stream, String) + Send + Sync + 'static,
) -> Result<Finished> {
    run_inner(program, args, dir, envs, cancel, Arc::new(on_line), false).await
}

/// Like [`run`], but standard output is kept byte for byte in
/// [`Finished::stdout_raw`] (not split into lines: a rendered manifest must
/// not lose its blank lines); stderr lines go to `on_line`.
pub async fn capture(
    program: &str,
    args: &[String],
    cancel: &CancellationToken,
    on_line: impl Fn(Stream, String) + Send + Sync + 'static,
) -> Result<Finished> {
    run_inner(program, args, None, &[], cancel, Arc::new(on_line), true).await
}

async fn run_inner(
    program: &str,
    args: &[String],
    dir: Option<&Path>,
    envs: &[(String, String)],
    cancel: &CancellationToken,
    on_line: Arc<dyn Fn(Stream, String) + Send + Sync>,
    raw_stdout: bool,
) -> Result<Finished> {
    let (out_r, out_w) = os_pipe::pipe()?;
    let (err_r, err_w) = os_pipe::pipe()?;
    let mut expr = duct::cmd(program, args)
        .stdin_null()
        .stdout_file(out_w)
        .stderr_file(err_w)
        .unchecked()
        .before_spawn(|cmd| {
            cmd.process_group(0);
            die_with_parent(cmd);
            Ok(())
        });
    if let Some(d) = dir {
        expr = expr.dir(d);
    }
    for (k, v) in envs {
        expr = expr.env(k, v);
    }
    let handle = expr
        .start()
        .map_err(|e| anyhow!("cannot start `{program}`: {e}. Is it installed and on PATH?"))?;
    // Our copies of the pipes' write ends go with the expression, so the
    // readers see EOF once the child's group has closed them.
    drop(expr);
    let pgid = handle.pids().first().copied().unwrap_or(0) as i32;
    let _guard = GroupGuard { pgid };
    let handle = Arc::new(handle);
    let collected = Arc::new(Mutex::new(Collected::default()));
    let readers = [(out_r, Stream::Stdout), (err_r, Stream::Stderr)].map(|(pipe, stream)| {
        let (c, f) = (collected.clone(), on_line.clone());
        let raw = raw_stdout && stream == Stream::Stdout;
        tokio::task::spawn_blocking(move || pump(pipe, stream, c, f, raw))
    });
    let waiter = {
        let h = handle.clone();
        tokio::task::spawn_blocking(move || h.wait().map(|o| o.status))
    };
    tokio::pin!(waiter);
    let status = tokio::select! {
        s = &mut waiter => s.map_err(|e| anyhow!("waiting for `{program}`: {e}"))??,
        _ = cancel.cancelled() => {
            signal_group(pgid, Signal::SIGTERM);
            if tokio::time::timeout(GRACE, &mut waiter).await.is_err() {
                signal_group(pgid, Signal::SIGKILL);
                let _ = waiter.await;
            }
            signal_group(pgid, Signal::SIGKILL);
            for r in readers {
                let _ = r.await;
            }
            return Err(anyhow!("interrupted while running `{program}`; its processes were stopped"));
        }
    };
    // The child exited; anything it left in its group goes too (it would
    // otherwise hold the pipes open).
    signal_group(pgid, Signal::SIGKILL);
    for r in readers {
        let _ = r.await;
    }
    let c = std::mem::take(&mut *collected.lock().unwrap_or_else(|e| e.into_inner()));
    let tail = c.all[c.all.len().saturating_sub(TAIL_LINES)..].to_vec();
    let mut output = c.all.join("\n");
    if !output.is_empty() {
        output.push('\n');
    }
    Ok(Finished {
        success: status.success(),
        code: status.code(),
        tail,
        output,
        stdout: c.stdout,
        stdout_raw: c.stdout_raw,
    })
}

/// `program args...` run to the end with its output kept, not streamed:
/// for short questions (`kind version`, `docker version`). Same errors as [`run`].
pub async fn output(program: &str, args: &[&str]) -> Result<Finished> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    run(program, &args, None, &[], &CancellationToken::new(), |_, _| {}).await
}

/// An exit code as a learner reads it: the number, or `signal` when a
/// signal ended the process (`code` is `None`).
pub fn exit_text(code: Option<i32>) -> String {
    code.map(|c| c.to_string()).unwrap_or_else(|| "signal".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn streams_are_kept_apart_and_lines_split_on_carriage_returns() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        let fin = run(
            "sh",
            &["-c".into(), "printf 'a\\rb\\n'; echo err >&2; exit 3".into()],
            None,
            &[],
            &CancellationToken::new(),
            move |s, l| l2.lock().unwrap().push((s, l)),
        )
        .await
        .unwrap();
        assert!(!fin.success);
        assert_eq!(fin.code, Some(3));
        assert_eq!(fin.stdout, "a\nb\n");
        let got = lines.lock().unwrap().clone();
        assert!(got.contains(&(Stream::Stderr, "err".into())), "{got:?}");
        assert!(got.contains(&(Stream::Stdout, "a".into())), "{got:?}");
    }

    /// A child that starts a grandchild and is cancelled: the whole group is
    /// gone when `run` returns (duct's kill reaches the child only).
    #[tokio::test]
    async fn cancel_stops_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let p2 = pidfile.clone();
        tokio::spawn(async move {
            while !p2.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            c2.cancel();
        });
        let err = run("sh", &["-c".into(), script], None, &[], &cancel, |_, _| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("interrupted"), "{err}");
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        // Reaped by the shell's exit or re-parented and killed: not running
        // either way. A SIGKILLed process closes its files (our pipes' EOF)
        // before the kernel marks it a zombie, so its exit may still be in
        // progress for a moment when `run` returns: allow it one second.
        let gone = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().and_then(|s| s.split(' ').next()).unwrap_or("");
            (stat.is_empty() || state == "Z", stat)
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut last = gone();
        while !last.0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
            last = gone();
        }
        assert!(last.0, "grandchild {pid} still running after 1 s: {}", last.1);
    }
}
