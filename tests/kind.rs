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

use std::process::Stdio;
use std::time::Duration;
use support::bed::{mirror, show, stdout};
use support::lane::*;

/// Phase 0 creates a real cluster with kindops's own kind config; a re-run
/// finds it and checks its git mount; a cluster whose mount no longer shows
/// the data folder is refused naming the next step; `kindops down` leaves
/// no container and no data folder.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn phase_0_creates_a_real_cluster_checks_its_git_mount_and_down_removes_it() {
    let l = Learner::new();
    let name = "ko-road";
    let images_dir = tempfile::tempdir().unwrap();
    let (m, digest_ref) = mirror_with_images(&l, images_dir.path(), false);
    let out = l.phase_0_with(name, "18080", &m);
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
    let node = format!("{name}-control-plane");
    assert!(containers().contains(&node));

    // The mirror's images are in the node: by their tags, and the digest
    // reference as the kubelet looks it up.
    assert!(text.contains("2 of 2 images loaded into 1 node(s)"), "{text}");
    let listed = stdout(&docker(&["exec", &node, "ctr", "-n", "k8s.io", "images", "ls", "-q"]));
    for r in ["ghcr.io/dexidp/dex:v2.45.0", digest_ref.as_str()] {
        assert!(listed.lines().any(|l| l == r), "{r} not in the node:\n{listed}");
    }
    // A pod naming the image by digest starts with no registry to reach.
    // (Its namespace's `default` ServiceAccount comes from the
    // controller-manager a moment after the node is Ready: wait for it.)
    let t = std::time::Instant::now();
    while !l.kubectl(name, &["get", "serviceaccount", "default"]).status.success() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no default ServiceAccount after 120 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = l.kubectl(
        name,
        &[
            "run",
            "digest-ref",
            "--restart=Never",
            "--image-pull-policy=IfNotPresent",
            "--image",
            &digest_ref,
            "--command",
            "--",
            "/bin/sh",
            "-c",
            "echo preloaded",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    let out = l.kubectl(
        name,
        &[
            "wait",
            "--for=jsonpath={.status.phase}=Succeeded",
            "pod/digest-ref",
            "--timeout=120s",
        ],
    );
    let events = l.kubectl(
        name,
        &["get", "events", "--field-selector", "involvedObject.name=digest-ref"],
    );
    assert!(out.status.success(), "{}\n{}", show(&out), show(&events));
    assert!(
        stdout(&events).contains("already present on machine"),
        "{}",
        show(&events)
    );

    // Converges: nothing created, no image loaded again, the git source is mounted.
    let out = l.phase_0_with(name, "18080", &m);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text.contains(&format!("kind cluster {name} exists")), "{text}");
    assert!(text.contains("ok      git mount"), "{text}");
    assert!(
        text.contains("0 of 2 images loaded into 1 node(s) (0 MiB); 2 already there"),
        "{text}"
    );

    // A damaged archive stops the next run before anything runs: exit 2,
    // naming the image and the file.
    let archive = images_dir.path().join("images/ghcr.io_dexidp_dex_v2.45.0.tar");
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let out = l.phase_0_with(name, "18080", &m);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ghcr.io/dexidp/dex:v2.45.0") && err.contains(&archive.display().to_string()),
        "{err}"
    );
    assert!(!stdout(&out).contains("phase 0"), "{}", show(&out));

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
