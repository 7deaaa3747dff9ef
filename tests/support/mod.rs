//! Shared helpers for integration tests that run against the kindops test bed
//! (a real control plane with KWOK nodes, in a loopback-only network
//! namespace; see `tests/testbed/testbed.sh`).
//!
//! Std only. Use with `mod support;` from a test file; each test binary uses a
//! subset, hence the `#[allow(dead_code)]` on every item.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The running test bed this test process was started inside.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct Testbed {
    /// Admin kubeconfig (client certificate, context `kindops-testbed`).
    pub kubeconfig: PathBuf,
    /// The test bed's work dir (`tests/testbed/work/<name>`): logs/, pids/, pki/.
    pub dir: PathBuf,
    /// The test bed's name, which is also its network namespace's name.
    pub name: String,
}

/// The test bed shared by this test run, read from the environment that
/// `tests/testbed/testbed.sh exec` sets. Panics with instructions if unset.
#[allow(dead_code)]
pub fn testbed() -> &'static Testbed {
    static TB: OnceLock<Testbed> = OnceLock::new();
    TB.get_or_init(|| {
        let kubeconfig = match std::env::var_os("KINDOPS_TESTBED_KUBECONFIG") {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => panic!(
                "KINDOPS_TESTBED_KUBECONFIG is not set: these tests need the kindops test bed. \
                 Run them through `just test`, or start it with `tests/testbed/testbed.sh up` and run \
                 `tests/testbed/testbed.sh exec -- cargo test`."
            ),
        };
        assert!(
            kubeconfig.is_file(),
            "KINDOPS_TESTBED_KUBECONFIG={} does not exist: is the test bed up? (`tests/testbed/testbed.sh status`)",
            kubeconfig.display()
        );
        let dir = std::env::var_os("KINDOPS_TESTBED_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| kubeconfig.parent().map(Path::to_path_buf).unwrap_or_default());
        let name = std::env::var("KINDOPS_TESTBED_NAME").unwrap_or_else(|_| "kindops-tb".to_string());
        Testbed { kubeconfig, dir, name }
    })
}

/// Runs `kubectl` against the shared test bed and returns its output, whatever the exit code.
#[allow(dead_code)]
pub fn kubectl(args: &[&str]) -> Output {
    kubectl_with(&testbed().kubeconfig, args)
}

/// Runs `kubectl --kubeconfig KUBECONFIG ARGS...`.
#[allow(dead_code)]
pub fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
}

/// Like [`kubectl`], but panics (with stderr) unless it succeeds; returns stdout.
#[allow(dead_code)]
pub fn kubectl_ok(args: &[&str]) -> String {
    let out = kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A lowercase DNS-1123 label (at most 63 chars) that is unique per call and per process.
#[allow(dead_code)]
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
#[allow(dead_code)]
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository: upstream artifacts used as test data.
#[allow(dead_code)]
pub fn shared_dir() -> PathBuf {
    repo_root()
        .parent()
        .map(|p| p.join("shared"))
        .unwrap_or_else(|| PathBuf::from("../shared"))
}

/// `tests/testbed/testbed.sh`.
#[allow(dead_code)]
pub fn testbed_script() -> PathBuf {
    repo_root().join("tests/testbed/testbed.sh")
}

/// Polls `f` every 250 ms until it returns `Some`, or panics after `timeout` with `what`.
#[allow(dead_code)]
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
#[allow(dead_code)]
pub struct TestNamespace {
    pub name: String,
}

#[allow(dead_code)]
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
