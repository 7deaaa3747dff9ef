//! Child processes (kind, git, kubectl): captured, streamed, killed on cancel.
//!
//! Every child gets a purpose; its command line is reported before it runs;
//! stdin is null; stdout and stderr are captured together and split into
//! lines on `\n` and `\r` (kind draws spinners with `\r`); each line goes to
//! the event stream, never to the terminal. On cancellation, or if the caller
//! drops the future, the child is killed (duct's `ReaderHandle` kills on drop).

use anyhow::{anyhow, Result};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// How many trailing lines a failure keeps.
pub const TAIL_LINES: usize = 20;

/// The result of a finished child.
#[derive(Debug, Clone)]
pub struct Finished {
    pub success: bool,
    pub code: Option<i32>,
    /// The last [`TAIL_LINES`] lines of output, oldest first.
    pub tail: Vec<String>,
    pub output: String,
}

/// Runs `program args...` in `dir` (if given), sending each output line to
/// `on_line`. Returns when the child exits; kills it when `cancel` fires.
///
/// Errors: the program cannot be started (not found, with the PATH hint);
/// cancelled (`interrupted`).
pub async fn run(
    program: &str,
    args: &[String],
    dir: Option<&Path>,
    envs: &[(String, String)],
    cancel: &CancellationToken,
    on_line: impl Fn(String) + Send + Sync + 'static,
) -> Result<Finished> {
    let mut expr = duct::cmd(program, args).stdin_null().stderr_to_stdout().unchecked();
    if let Some(d) = dir {
        expr = expr.dir(d);
    }
    for (k, v) in envs {
        expr = expr.env(k, v);
    }
    let reader = Arc::new(
        expr.reader()
            .map_err(|e| anyhow!("cannot start `{program}`: {e}. Is it installed and on PATH?"))?,
    );
    let r2 = reader.clone();
    let on_line = Arc::new(on_line);
    let mut task = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut all = String::new();
        let mut buf = [0u8; 8192];
        let mut pending = Vec::new();
        let mut r = &*r2;
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if b == b'\n' || b == b'\r' {
                    if !pending.is_empty() {
                        let line = String::from_utf8_lossy(&pending).trim_end().to_string();
                        pending.clear();
                        if !line.is_empty() {
                            all.push_str(&line);
                            all.push('\n');
                            on_line(line);
                        }
                    }
                } else {
                    pending.push(b);
                }
            }
        }
        if !pending.is_empty() {
            let line = String::from_utf8_lossy(&pending).trim_end().to_string();
            all.push_str(&line);
            all.push('\n');
            on_line(line);
        }
        Ok(all)
    });
    let output = tokio::select! {
        res = &mut task => res.map_err(|e| anyhow!("reader task failed: {e}"))??,
        _ = cancel.cancelled() => {
            let _ = reader.kill();
            let _ = task.await;
            return Err(anyhow!("interrupted while running `{program}`; the child was killed"));
        }
    };
    let status = reader.try_wait()?.map(|o| o.status);
    let (success, code) = match status {
        Some(s) => (s.success(), s.code()),
        None => (false, None),
    };
    let lines: Vec<String> = output.lines().map(str::to_string).collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].to_vec();
    Ok(Finished {
        success,
        code,
        tail,
        output,
    })
}
