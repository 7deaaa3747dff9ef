//! The one way the tests run `kubectl`: [`Kubectl`] says where it points
//! (a kubeconfig as `--kubeconfig` or as `KUBECONFIG`, a `--context`, or a
//! private test bed's network namespace through `testbed.sh exec`), then
//! [`Kubectl::run`] gives the output whatever the exit code and
//! [`Kubectl::ok`] stdout, panicking with the output unless it succeeds.
//! `support::kubectl`, [`super::bed::Bed::kubectl`] and
//! [`super::lane::Learner::kubectl`] are this with their bed's or learner's
//! settings.

use super::bed::show;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A `kubectl` invocation's settings; `Kubectl::new()` is kubectl as the
/// environment has it.
#[derive(Debug, Clone, Default)]
pub struct Kubectl {
    kubeconfig: Option<PathBuf>,
    kubeconfig_env: Option<PathBuf>,
    context: Option<String>,
    bed: Option<String>,
}

impl Kubectl {
    pub fn new() -> Self {
        Kubectl::default()
    }

    /// Against the shared test bed this process runs in (its kubeconfig as `--kubeconfig`).
    pub fn shared_bed() -> Self {
        Kubectl::new().kubeconfig(&super::bed::shared_env().kubeconfig)
    }

    /// `--kubeconfig PATH`.
    pub fn kubeconfig(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig = Some(path.into());
        self
    }

    /// `KUBECONFIG=PATH` in its environment, as a user's shell has it
    /// (`kubectl config set-...` writes there).
    pub fn kubeconfig_env(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig_env = Some(path.into());
        self
    }

    /// `--context NAME`.
    pub fn context(mut self, name: impl Into<String>) -> Self {
        self.context = Some(name.into());
        self
    }

    /// Inside private test bed `name`'s network namespace (`testbed.sh exec
    /// -- kubectl`, which sets the bed's KUBECONFIG).
    pub fn in_bed(mut self, name: impl Into<String>) -> Self {
        self.bed = Some(name.into());
        self
    }

    /// The command for `kubectl ARGS`, not started (for stdin or a child).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.bed {
            Some(name) => {
                let mut c = Command::new("bash");
                c.arg(super::testbed_script())
                    .args(["exec", "--", "kubectl"])
                    .env("KINDOPS_TESTBED_NAME", name);
                c
            }
            None => Command::new("kubectl"),
        };
        if let Some(kc) = &self.kubeconfig_env {
            cmd.env("KUBECONFIG", kc);
        }
        if let Some(kc) = &self.kubeconfig {
            cmd.arg("--kubeconfig").arg(kc);
        }
        if let Some(c) = &self.context {
            cmd.arg("--context").arg(c);
        }
        cmd.args(args);
        cmd
    }

    /// `kubectl ARGS`' output, whatever the exit code; panics if it cannot start.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"))
    }

    /// `kubectl ARGS`' stdout; panics with its output unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {} ({}): {}",
            args.join(" "),
            self.target(),
            show(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Where it points, for failure messages.
    fn target(&self) -> String {
        let mut parts = vec![];
        if let Some(b) = &self.bed {
            parts.push(format!("in test bed {b}"));
        }
        if let Some(kc) = self.kubeconfig.as_ref().or(self.kubeconfig_env.as_ref()) {
            parts.push(format!("kubeconfig {}", kc.display()));
        }
        if let Some(c) = &self.context {
            parts.push(format!("context {c}"));
        }
        if parts.is_empty() {
            parts.push("the environment's kubeconfig".into());
        }
        parts.join(", ")
    }
}
