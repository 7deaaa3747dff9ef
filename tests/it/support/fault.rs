//! What every fault test checks after breaking something while kindops runs
//! (issue 13's promise): the exit code, no process of this run left behind,
//! no secret in any output; plus a running `kindops` whose output lines can
//! be waited for, so a fault lands in the step it is meant for.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::bed::Bed;

/// A `kindops` started in the background, its stdout and stderr read line by
/// line (both kept, in arrival order per stream).
pub struct Running {
    pub child: Child,
    lines: Receiver<(Instant, String)>,
    /// Every line seen so far (stdout and stderr interleaved as read).
    pub seen: Vec<String>,
}

impl Running {
    /// Spawns `cmd` (a `Kindops::command()`), stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn kindops");
        let (tx, rx) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send((Instant::now(), l));
            }
        });
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send((Instant::now(), format!("stderr: {l}")));
            }
        });
        Running {
            child,
            lines: rx,
            seen: vec![],
        }
    }

    /// kindops's pid (the `testbed.sh exec` chain execs into it).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Reads lines until one contains `needle`; returns it with when it was
    /// read. Panics (showing what was seen) if the output ends or `limit`
    /// passes first: a bound against a hung test, not a timed assertion.
    pub fn wait_line(&mut self, needle: &str, limit: Duration) -> (Instant, String) {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, l)) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return (at, l);
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no line with {needle:?} within {limit:?}:\n{}", self.text()),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("kindops ended before a line with {needle:?}:\n{}", self.text())
                }
            }
        }
    }

    /// Sends `sig` to kindops.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).expect("signal kindops");
    }

    /// Waits for the end; returns the exit code (`None`: killed by a signal)
    /// and every line.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait for kindops");
        while let Ok((_, l)) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        (status.code(), self.text())
    }

    pub fn text(&self) -> String {
        self.seen.join("\n")
    }
}

/// A Deployment in namespace argocd that never becomes Available (no node
/// matches its nodeSelector), so phase 1's `wait-rollouts` is still waiting
/// whenever a fault lands; [`unstick`] lets it finish.
pub const STUCK: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: argocd}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck, namespace: argocd}
spec:
  replicas: 1
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      nodeSelector: {no-such-node: "true"}
      containers: [{name: c, image: example.invalid/none:1}]
"#;

/// Applies [`STUCK`] with kubectl.
pub fn stick(bed: &Bed) {
    let f = bed.home.path().join("stuck.yaml");
    std::fs::write(&f, STUCK).unwrap();
    bed.kubectl_ok(&["apply", "-f", f.to_str().unwrap()]);
}

/// Deletes the Deployment [`stick`] made.
pub fn unstick(bed: &Bed) {
    bed.kubectl_ok(&["-n", "argocd", "delete", "deployment", "stuck", "--wait=false"]);
}

/// Processes still running with this run's environment (`XDG_DATA_HOME`
/// under `home`, which every `kindops` of a test and its children inherit),
/// as `pid cmdline`. Zombies are not counted.
pub fn processes_of(home: &Path) -> Vec<String> {
    let needle = format!("XDG_DATA_HOME={}", home.join("data").display());
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')) {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        found.push(format!("{pid} {cmd}"));
    }
    found
}

/// Panics unless no process of this run is left ([`processes_of`]); gives
/// children a moment to be reaped first (SIGKILL of a group is asynchronous).
#[track_caller]
pub fn assert_nothing_left(home: &Path) {
    let mut left = processes_of(home);
    for _ in 0..40 {
        if left.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
        left = processes_of(home);
    }
    panic!("processes of this run left behind:\n{}", left.join("\n"));
}

/// The credentials a bed holds that must never appear in kindops's output:
/// the admin kubeconfig's client key and token, and Argo CD's initial admin
/// password when there is one.
pub fn secrets(bed: &Bed) -> Vec<String> {
    let mut out = vec![];
    let kc = std::fs::read_to_string(&bed.kubeconfig).unwrap_or_default();
    for l in kc.lines() {
        if let Some(v) = l.trim().strip_prefix("client-key-data:") {
            out.push(v.trim().to_string());
        }
    }
    if let Ok(t) = std::fs::read_to_string(bed.dir.join("pki/admin.token")) {
        out.push(t.trim().to_string());
    }
    let pw = bed.kubectl(&[
        "-n",
        "argocd",
        "get",
        "secret",
        "argocd-initial-admin-secret",
        "-o",
        "jsonpath={.data.password}",
    ]);
    if pw.status.success() {
        let b64 = String::from_utf8_lossy(&pw.stdout).trim().to_string();
        if !b64.is_empty() {
            let plain = Command::new("base64")
                .arg("-d")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn();
            if let Ok(mut p) = plain {
                use std::io::Write;
                let _ = p.stdin.take().unwrap().write_all(b64.as_bytes());
                if let Ok(o) = p.wait_with_output() {
                    out.push(String::from_utf8_lossy(&o.stdout).trim().to_string());
                }
            }
            out.push(b64);
        }
    }
    out.retain(|s| s.len() >= 8);
    out
}

/// Panics if any of the bed's [`secrets`] appears in `text`.
#[track_caller]
pub fn assert_no_secret(bed: &Bed, text: &str) {
    for s in secrets(bed) {
        assert!(!text.contains(&s), "a secret ({}...) appears in the output", &s[..4]);
    }
}

/// Runs `kindops up --phase 1` again on `bed` and asserts it exits 0 and
/// that every apply step changed 0 objects: the end state of an undisturbed
/// run. At least one apply line must be there. kindops's info log (which
/// names each object a server-side apply changed) is in the failure message.
#[track_caller]
pub fn assert_phase_1_rerun_changes_nothing(bed: &Bed) {
    let again = super::kindops::Kindops::up(bed)
        .args(["--phase", "1"])
        .env("KINDOPS_LOG", "kindops=info")
        .run();
    let t = again.assert_code(0).stdout();
    assert!(t.contains("==> phase 1: done"), "{t}");
    let counted: Vec<&str> = t.lines().filter(|l| l.contains("objects (")).collect();
    assert!(!counted.is_empty(), "no apply line in the re-run:\n{t}");
    for l in counted {
        assert!(
            l.contains(", 0 changed"),
            "re-run changed objects: {l}\n{}",
            super::bed::show(&again.out)
        );
    }
}

/// A directory holding a `kubectl` that keeps `kubectl kustomize` waiting
/// 30 s in its own process (bash's `read -t` on a FIFO: no grandchild)
/// before it runs the real kubectl, so a signal surely lands while kindops's
/// child runs (the render cache otherwise makes the render instant). Only a
/// render whose arguments contain `$KINDOPS_TEST_HOLD` waits (kindops's
/// children inherit its environment). Put it first on kindops's PATH
/// ([`path_with`]).
pub fn slow_kustomize(dir: &Path) -> PathBuf {
    let real = which::which("kubectl").expect("kubectl on PATH");
    let bin = dir.join("slow-kustomize");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/bash\n# Test wrapper (tests/it/support/fault.rs slow_kustomize).\nif [ \"$1\" = kustomize ] && [[ \"$*\" == *\"$KINDOPS_TEST_HOLD\"* ]]; then\n  f=\"$(mktemp -u)\"; mkfifo \"$f\"; read -r -t 30 <>\"$f\" || true; rm -f \"$f\"\nfi\nexec {} \"$@\"\n",
        real.display()
    );
    let file = bin.join("kubectl");
    std::fs::write(&file, script).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

/// `dir` before the test process's own PATH.
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut p = dir.as_os_str().to_os_string();
    p.push(":");
    p.push(std::env::var_os("PATH").unwrap_or_default());
    p
}

/// A process of this run ([`processes_of`]) whose command line contains
/// `needle`, once one runs: `(pid, process group)`. Panics after `limit`.
#[track_caller]
pub fn child_running(home: &Path, needle: &str, limit: Duration) -> (i32, i32) {
    let t = Instant::now();
    loop {
        if let Some(pid) = processes_of(home)
            .iter()
            .find(|l| l.contains(needle))
            .and_then(|l| l.split(' ').next()?.parse::<i32>().ok())
        {
            if let Some(pgid) = process_group(pid) {
                return (pid, pgid);
            }
        }
        assert!(t.elapsed() < limit, "no child running {needle:?} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The process group of a live (non-zombie) `pid`.
pub fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let mut f = rest.split(' ');
    let state = f.next()?;
    if state == "Z" {
        return None;
    }
    f.nth(1)?.parse().ok()
}

/// Live processes in process group `pgid`, as pids.
pub fn group_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| process_group(*pid) == Some(pgid))
        .collect()
}
