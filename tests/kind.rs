//! The learner's default road on a real kind cluster (the real-kind lane:
//! `tests/kind/lane.sh`, Debian's dockerd in a loopback-only network
//! namespace, the node image built offline). No `--context`, no
//! `--repo-url`: `kindops up` creates the cluster itself with its own kind
//! config (git source mount, UI port mapping, the cgroup v1 kubelet patch).
//!
//! These tests need that lane, so they are `#[ignore]`d in `cargo test`;
//! `just test-kind` runs them (`cargo test --test kind -- --ignored`) inside
//! the lane's namespace with `DOCKER_HOST` set and
//! `KINDOPS_KIND_NODE_IMAGE` naming the node image.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::bed::{mirror, show, stdout};
use support::kindops::Kindops;

fn node_image() -> String {
    std::env::var("KINDOPS_KIND_NODE_IMAGE")
        .expect("KINDOPS_KIND_NODE_IMAGE is not set: run these through `just test-kind` (the real-kind lane)")
}

/// A learner's machine: fresh data, cache and kubeconfig.
struct Learner {
    home: tempfile::TempDir,
}

impl Learner {
    fn new() -> Learner {
        Learner {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Kindops::new()
            .args(args)
            .home(self.home.path())
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .command();
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `kindops up --phase 0 --no-tui --cluster NAME --node-image IMG --mirror M`.
    fn phase_0(&self, cluster: &str, ui_port: &str) -> Output {
        let (m, img) = (mirror(), node_image());
        self.command(&[
            "up",
            "--phase",
            "0",
            "--no-tui",
            "--cluster",
            cluster,
            "--node-image",
            &img,
            "--mirror",
            &m,
            "--ui-port",
            ui_port,
        ])
        .output()
        .unwrap()
    }

    fn git_dir(&self, cluster: &str) -> PathBuf {
        self.home.path().join("data/kindops").join(cluster).join("git")
    }

    fn down(&self, cluster: &str) -> Output {
        self.command(&["down", "--cluster", cluster]).output().unwrap()
    }
}

fn containers() -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker ps: {}", show(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

fn kind_processes(cluster: &str) -> Vec<String> {
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.starts_with("kind ") && cmd.contains(cluster) {
                found.push(cmd);
            }
        }
    }
    found
}

/// Phase 0 creates a real cluster with kindops's own kind config; a re-run
/// finds it and checks its git mount; a cluster whose mount no longer shows
/// the data folder is refused naming the next step; `kindops down` leaves
/// no container and no data folder.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn phase_0_creates_a_real_cluster_checks_its_git_mount_and_down_removes_it() {
    let l = Learner::new();
    let name = "ko-road";
    let out = l.phase_0(name, "18080");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text.contains(&format!("created kind cluster {name}, context kind-{name}")),
        "{text}"
    );
    assert!(text.contains(&format!("cluster ready: context kind-{name}")), "{text}");
    assert!(
        text.contains(&format!("Ensuring node image ({})", node_image())),
        "{text}"
    );
    if text.contains("warning cgroup") {
        assert!(text.contains("failCgroupV1: false"), "{text}");
    }
    let config =
        std::fs::read_to_string(l.home.path().join("data/kindops").join(name).join("kind-config.yaml")).unwrap();
    assert!(config.contains(&format!("image: {}", node_image())), "{config}");
    assert!(containers().contains(&format!("{name}-control-plane")));

    // Converges: nothing created, the git source is mounted.
    let out = l.phase_0(name, "18080");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text.contains(&format!("kind cluster {name} exists")), "{text}");
    assert!(text.contains("ok      git mount"), "{text}");

    // The data folder re-made: the node still mounts the old one.
    std::fs::remove_dir_all(l.git_dir(name)).unwrap();
    let out = l.phase_0(name, "18080");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(text.contains("does not mount kindops's git source"), "{text}");
    assert!(text.contains(&format!("kindops down --cluster {name}")), "{text}");

    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !containers().iter().any(|c| c.starts_with(&format!("{name}-"))),
        "{:?}",
        containers()
    );
    assert!(!l.home.path().join("data/kindops").join(name).exists());
}

/// Ctrl-C while `kind create cluster` runs: exit 130, the half-made cluster
/// (which this run created) is deleted, no kind or docker process is left;
/// the re-run converges and creates it.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn ctrl_c_during_kind_create_leaves_nothing_and_the_rerun_converges() {
    let l = Learner::new();
    let name = "ko-cancel";
    let (m, img) = (mirror(), node_image());
    let child = l
        .command(&[
            "up",
            "--phase",
            "0",
            "--no-tui",
            "--cluster",
            name,
            "--node-image",
            &img,
            "--mirror",
            &m,
            "--ui-port",
            "18081",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until kind has made the node container (the cluster is half-made).
    let node = format!("{name}-control-plane");
    let mut waited = Duration::ZERO;
    while !containers().contains(&node) {
        assert!(waited < Duration::from_secs(60), "kind never made {node}");
        std::thread::sleep(Duration::from_millis(250));
        waited += Duration::from_millis(250);
    }
    std::thread::sleep(Duration::from_secs(2));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(130), "{}", show(&out));
    assert!(text.contains("the partial cluster was deleted"), "{text}");
    assert!(!containers().contains(&node), "{:?}", containers());
    assert!(kind_processes(name).is_empty(), "{:?}", kind_processes(name));

    let out = l.phase_0(name, "18081");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(stdout(&out).contains(&format!("created kind cluster {name}")));
    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!containers().contains(&node));
}
