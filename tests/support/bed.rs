//! A private test bed for one test binary or one test: its own network
//! namespace, control plane and (optionally) Argo CD, so cluster-wide objects
//! (Argo CD's CRDs, namespace argocd) and their field managers are not shared
//! with other tests. Started one at a time (bounded RAM and CPU); stopped
//! (`testbed.sh down`) on drop.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Mutex;

/// The `kindops` binary under test.
pub const KINDOPS: &str = env!("CARGO_BIN_EXE_kindops");

static STARTING: Mutex<()> = Mutex::new(());

/// Runs `tests/testbed/<script> ARGS` for test bed `name`.
pub fn script(script: &str, name: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(super::repo_root().join("tests/testbed").join(script))
        .args(args)
        .env("KINDOPS_TESTBED_NAME", name)
        .output()
        .expect("run test bed script")
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running private test bed.
pub struct Bed {
    pub name: String,
    /// kindops's data and cache dirs, and a place for the test's files.
    pub home: tempfile::TempDir,
}

impl Bed {
    /// Starts `kocli-<purpose>-<pid>`; with `argocd`, the real Argo CD too.
    pub fn up(purpose: &str, argocd: bool) -> Bed {
        let name = format!("kocli-{purpose}-{}", std::process::id());
        let out = {
            let _g = STARTING.lock().unwrap_or_else(|e| e.into_inner());
            let args: &[&str] = if argocd { &["up", "--argocd"] } else { &["up"] };
            script("testbed.sh", &name, args)
        };
        assert!(out.status.success(), "testbed.sh up {name}: {}", show(&out));
        Bed {
            name,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// The test bed's work dir (`tests/testbed/work/<name>`).
    pub fn dir(&self) -> PathBuf {
        super::repo_root().join("tests/testbed/work").join(&self.name)
    }

    /// A command run inside this test bed's namespace with its KUBECONFIG.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(super::repo_root().join("tests/testbed/testbed.sh"))
            .args(["exec", "--", "env"])
            .arg(format!("XDG_DATA_HOME={}", self.home.path().join("data").display()))
            .arg(format!("XDG_CACHE_HOME={}", self.home.path().join("cache").display()))
            .arg(program)
            .env("KINDOPS_TESTBED_NAME", &self.name);
        cmd
    }

    /// Runs `kindops ARGS` inside this test bed, with extra `env`.
    pub fn kindops(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(super::repo_root().join("tests/testbed/testbed.sh"))
            .args(["exec", "--", "env"])
            .arg(format!("XDG_DATA_HOME={}", self.home.path().join("data").display()))
            .arg(format!("XDG_CACHE_HOME={}", self.home.path().join("cache").display()));
        for (k, v) in env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.arg(KINDOPS).args(args).env("KINDOPS_TESTBED_NAME", &self.name);
        cmd.output().expect("run kindops")
    }

    /// `kindops up --no-tui --context kindops-testbed --mirror <../shared/upstream>
    /// --repo-url <this bed's git source> EXTRA...` inside this test bed.
    pub fn kindops_up(&self, extra: &[&str]) -> Output {
        let (m, repo) = (mirror(), self.repo_url());
        let mut args = vec![
            "up",
            "--no-tui",
            "--context",
            "kindops-testbed",
            "--mirror",
            &m,
            "--repo-url",
            &repo,
        ];
        args.extend_from_slice(extra);
        self.kindops(&args, &[])
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        let mut full = vec!["exec", "--", "kubectl"];
        full.extend_from_slice(args);
        script("testbed.sh", &self.name, &full)
    }

    /// `kubectl ARGS` stdout; panics with the output when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {}: {}", args.join(" "), show(&out));
        stdout(&out)
    }

    /// A `file://` git source in this test's home (Argo CD runs on the host here).
    pub fn repo_url(&self) -> String {
        format!("file://{}", self.home.path().join("git/gitops.git").display())
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = script("testbed.sh", &self.name, &["down"]);
    }
}

/// The test mirror (`tests/testbed/mirror`, made by `tests/mirror.sh` from
/// `../shared/upstream`), served to kindops through `--mirror`; its pins file
/// reaches every kindops the tests start through `KINDOPS_PINS` (`just test`
/// sets both up).
pub fn mirror() -> String {
    let dir = super::repo_root().join("tests/testbed/mirror");
    assert!(
        dir.join("pins.yaml").is_file(),
        "no test mirror at {}: run `bash tests/mirror.sh` (`just test` does)",
        dir.display()
    );
    assert!(
        std::env::var_os("KINDOPS_PINS").is_some(),
        "KINDOPS_PINS is not set: run the tests through `just test`, or export KINDOPS_PINS={}",
        dir.join("pins.yaml").display()
    );
    dir.display().to_string()
}

/// A copy of `phases/` for the test bed, in `dir/phases`: phase 3 does not wait
/// for metrics-server, whose APIService has no real backend on the test bed
/// (the API server reports it `Available=False (FailedDiscoveryCheck)` and Argo
/// CD reports the Application `Synced`/`Progressing`; tests assert that exact
/// status). This goes through kindops's ordinary `--phases` option.
pub fn testbed_phases(dir: &std::path::Path) -> String {
    let p = dir.join("phases");
    std::fs::create_dir_all(&p).unwrap();
    for n in 0..=4 {
        let f = format!("phase-{n}.yaml");
        let text = std::fs::read_to_string(super::repo_root().join("phases").join(&f)).unwrap();
        let text = if n == 3 {
            let wait = "  - type: wait-applications\n    applications: [metrics-server]\n    timeout: 10m\n";
            assert!(
                text.contains(wait),
                "phase-3.yaml changed shape; update support::bed::testbed_phases"
            );
            text.replace(wait, "")
        } else {
            text
        };
        std::fs::write(p.join(&f), text).unwrap();
    }
    p.display().to_string()
}
