//! The one test-bed model: a [`Bed`] is either the shared test bed this test
//! process was started inside (`tests/testbed/testbed.sh exec` sets its
//! environment), or a private one the test starts and stops (its own network
//! namespace, control plane and optionally Argo CD, so cluster-wide objects
//! such as Argo CD's CRDs and their field managers are not shared with other
//! tests). Private beds start one at a time (bounded RAM and CPU) and are
//! stopped (`testbed.sh down`) on drop.
//!
//! Commands reach a bed through [`Bed::command`]: directly with its
//! KUBECONFIG for the shared bed (this process is already in its namespace),
//! through `testbed.sh exec` for a private one (its 127.0.0.1 is not ours).

use super::kubectl::Kubectl;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// Private test beds are started one at a time.
static STARTING: Mutex<()> = Mutex::new(());

/// The shared test bed, as `testbed.sh exec` describes it in the environment.
#[derive(Debug, Clone)]
pub struct SharedEnv {
    /// Admin kubeconfig (client certificate, context `kindops-testbed`).
    pub kubeconfig: PathBuf,
    /// The test bed's work dir (`tests/testbed/work/<name>`): logs/, pids/, pki/.
    pub dir: PathBuf,
    /// The test bed's name, which is also its network namespace's name.
    pub name: String,
}

/// The shared test bed's environment; panics with instructions if unset.
pub fn shared_env() -> &'static SharedEnv {
    static ENV: OnceLock<SharedEnv> = OnceLock::new();
    ENV.get_or_init(|| {
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
        SharedEnv { kubeconfig, dir, name }
    })
}

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

/// A test bed: the shared one, or a private one (see the module docs).
pub struct Bed {
    /// The bed's name, which is also its network namespace's name.
    pub name: String,
    /// The bed's work dir (`tests/testbed/work/<name>`): logs/, pids/, pki/.
    pub dir: PathBuf,
    /// Admin kubeconfig (context `kindops-testbed`); for a private bed its
    /// server is on the bed's own loopback, reachable through [`Bed::command`].
    pub kubeconfig: PathBuf,
    /// kindops's data and cache dirs, and a place for the test's files.
    pub home: tempfile::TempDir,
    private: bool,
    downed: bool,
}

impl Bed {
    /// The shared test bed this process runs inside, with a fresh home.
    pub fn shared() -> Bed {
        let env = shared_env();
        Bed {
            name: env.name.clone(),
            dir: env.dir.clone(),
            kubeconfig: env.kubeconfig.clone(),
            home: tempfile::tempdir().unwrap(),
            private: false,
            downed: false,
        }
    }

    /// Starts private bed `kotest-<purpose>-<pid>`; with `argocd`, the real
    /// Argo CD too. Stopped on drop (or by [`Bed::down`]).
    pub fn private(purpose: &str, argocd: bool) -> Bed {
        Bed::private_with(purpose, if argocd { &["--argocd"] } else { &[] })
    }

    /// A private bed started with `testbed.sh up UP_ARGS` (`--argocd`,
    /// `--apiserver-count N`).
    pub fn private_with(purpose: &str, up_args: &[&str]) -> Bed {
        let name = format!("kotest-{purpose}-{}", std::process::id());
        let dir = super::repo_root().join("tests/testbed/work").join(&name);
        let out = {
            let _g = STARTING.lock().unwrap_or_else(|e| e.into_inner());
            let args: Vec<&str> = std::iter::once("up").chain(up_args.iter().copied()).collect();
            script("testbed.sh", &name, &args)
        };
        let bed = Bed {
            kubeconfig: dir.join("admin.kubeconfig"),
            dir,
            name,
            home: tempfile::tempdir().unwrap(),
            private: true,
            downed: false,
        };
        assert!(out.status.success(), "testbed.sh up {}: {}", bed.name, show(&out));
        bed
    }

    /// `tests/testbed/testbed.sh ARGS` for this bed (`status`, `start-apiserver`...).
    pub fn script(&self, args: &[&str]) -> Output {
        script("testbed.sh", &self.name, args)
    }

    /// Stops a private bed now (`testbed.sh down`) and returns its output.
    pub fn down(&mut self) -> Output {
        assert!(self.private, "the shared test bed is not the test's to stop");
        self.downed = true;
        self.script(&["down"])
    }

    /// `program` run against this bed with `env` (`K=V`): directly with the
    /// bed's KUBECONFIG for the shared bed, inside the bed's namespace
    /// (`testbed.sh exec`, which sets KUBECONFIG) for a private one.
    pub fn command<K: AsRef<OsStr>, V: AsRef<OsStr>>(&self, program: impl AsRef<OsStr>, env: &[(K, V)]) -> Command {
        if self.private {
            let mut cmd = Command::new("bash");
            cmd.arg(super::testbed_script()).args(["exec", "--", "env"]);
            for (k, v) in env {
                let mut kv = k.as_ref().to_os_string();
                kv.push("=");
                kv.push(v);
                cmd.arg(kv);
            }
            cmd.arg(program).env("KINDOPS_TESTBED_NAME", &self.name);
            cmd
        } else {
            let mut cmd = Command::new(program);
            cmd.env("KUBECONFIG", &self.kubeconfig);
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd
        }
    }

    /// kubectl against this bed: with its kubeconfig for the shared bed,
    /// inside the bed's namespace (`testbed.sh exec`) for a private one.
    pub fn kube(&self) -> Kubectl {
        if self.private {
            Kubectl::new().in_bed(&self.name)
        } else {
            Kubectl::new().kubeconfig(&self.kubeconfig)
        }
    }

    /// `kubectl ARGS` against this bed, whatever the exit code.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kube().run(args)
    }

    /// `kubectl ARGS` stdout; panics with the output when it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        self.kube().ok(args)
    }

    /// `kubectl -n argocd get application NAME -o jsonpath=PATH`.
    pub fn app_field(&self, name: &str, path: &str) -> String {
        self.kubectl_ok(&[
            "-n",
            "argocd",
            "get",
            "application",
            name,
            "-o",
            &format!("jsonpath={path}"),
        ])
    }

    /// A `file://` git source in this test's home (Argo CD runs on the host here).
    pub fn repo_url(&self) -> String {
        format!("file://{}", self.home.path().join("git/gitops.git").display())
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if self.private && !self.downed {
            let _ = self.script(&["down"]);
        }
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
            // The team's secret store: its ClusterSecretStore goes through
            // External Secrets' webhook (failurePolicy Fail), which no KWOK
            // pod serves, and no External Secrets controller validates it.
            let store = "  - type: apply\n    path: bootstrap/phase-3/secret-store.yaml\n  - type: wait-applications\n    applications: [secret-store]\n    timeout: 5m\n  - type: seed-secrets\n    namespace: team-secrets\n    apps: apps/coffee\n    prefix: coffee-\n    key: api-key\n";
            assert!(
                text.contains(wait) && text.contains(store),
                "phase-3.yaml changed shape; update support::bed::testbed_phases"
            );
            text.replace(wait, "").replace(store, "")
        } else {
            text
        };
        std::fs::write(p.join(&f), text).unwrap();
    }
    p.display().to_string()
}

/// The test bed's content overlay (`KINDOPS_DEV_CONTENT_OVERLAY`, set for
/// every kindops run in a bed unless a test sets its own), in `home/testbed-content`:
/// the coffee services' kustomizations without their ExternalSecret. On the
/// test bed no pod serves External Secrets' webhook (failurePolicy Fail: the
/// ExternalSecret could not be created) and no controller syncs it (Argo CD
/// would wait for its health forever); the real-kind road tests the secrets.
pub fn testbed_content(home: &std::path::Path) -> std::path::PathBuf {
    let dir = home.join("testbed-content");
    for svc in ["cart", "order"] {
        let rel = format!("manifests/gitops/apps/coffee/{svc}/kustomization.yaml");
        let text = std::fs::read_to_string(super::repo_root().join(&rel)).unwrap();
        let line = "  - externalsecret.yaml\n";
        assert!(
            text.contains(line),
            "{rel} changed shape; update support::bed::testbed_content"
        );
        let out = dir.join(format!("apps/coffee/{svc}"));
        std::fs::create_dir_all(&out).unwrap();
        let stripped: String = text
            .lines()
            .filter(|l| !l.contains("team's secret store"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .replace(line, "");
        std::fs::write(out.join("kustomization.yaml"), stripped).unwrap();
    }
    dir
}
