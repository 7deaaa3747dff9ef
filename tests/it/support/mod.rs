//! Shared helpers for integration tests that run against the kindops test bed
//! (a real control plane with KWOK nodes, in a loopback-only network
//! namespace; see `tests/testbed/testbed.sh`).
//!
//! - [`bed`]: the one test-bed model, [`bed::Bed`]: the shared bed this test
//!   process runs in, or a private one the test starts and stops; the test
//!   mirror and the test bed's phases.
//! - [`kindops`]: the builder for `kindops` invocations and their output.
//! - [`kubectl`](mod@kubectl): the one `kubectl` runner, [`kubectl::Kubectl`].
//! - [`tmux`]: the TUI in a real terminal, and reading its screen.
//!
//! Declared once in `tests/it/main.rs`; a test module reaches it with
//! `use crate::support;`.

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `kubectl ARGS` against the shared test bed, whatever the exit code
/// ([`kubectl::Kubectl::shared_bed`]).
pub fn kubectl(args: &[&str]) -> Output {
    kubectl::Kubectl::shared_bed().run(args)
}

/// Like [`kubectl()`], but panics (with the output) unless it succeeds; returns stdout.
pub fn kubectl_ok(args: &[&str]) -> String {
    kubectl::Kubectl::shared_bed().ok(args)
}

/// A lowercase DNS-1123 label (at most 63 chars) that is unique per call and per process.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let suffix = format!("{}-{}-{:x}", std::process::id(), n, nanos % 0x10000);
    let mut p: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !p.starts_with(|c: char| c.is_ascii_lowercase()) {
        p.insert_str(0, "t-");
    }
    // Room for "-" + suffix within the 63-character label limit.
    p.truncate(63 - suffix.len() - 1);
    format!("{}-{suffix}", p.trim_end_matches('-'))
}

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository: upstream artifacts used as test data.
pub fn shared_dir() -> PathBuf {
    repo_root()
        .parent()
        .map(|p| p.join("shared"))
        .unwrap_or_else(|| PathBuf::from("../shared"))
}

/// `tests/testbed/testbed.sh`.
pub fn testbed_script() -> PathBuf {
    repo_root().join("tests/testbed/testbed.sh")
}

/// Polls `f` every 250 ms until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A namespace on the shared test bed, deleted (without waiting) when dropped.
pub struct TestNamespace {
    pub name: String,
}

impl TestNamespace {
    pub fn new(prefix: &str) -> Self {
        let name = unique_name(prefix);
        kubectl_ok(&["create", "namespace", &name]);
        TestNamespace { name }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let _ = kubectl(&["delete", "namespace", &self.name, "--wait=false", "--ignore-not-found"]);
    }
}
pub mod bed;
pub mod ci_loop;
pub mod fault;
pub mod git;
pub mod kindops;
pub mod kubectl;
pub mod lane;
pub mod learner;
pub mod secrets;
pub mod storm;
pub mod tmux;
