//! The learner's default road on a real kind cluster (the real-kind lane:
//! `tests/kind/lane.sh`, Debian's dockerd in a loopback-only network
//! namespace, the node image built offline). No `--context`, no
//! `--repo-url`: `kindops up` creates the cluster itself with its own kind
//! config (git source mount, UI port mapping, the cgroup v1 kubelet patch).
//!
//! These tests need that lane, so they are `#[ignore]`d in `cargo test`;
//! `just test-kind` runs them (`cargo test --test it -- --ignored kind::`) inside
//! the lane's namespace with `DOCKER_HOST` set and
//! `KINDOPS_KIND_NODE_IMAGE` naming the node image.

use crate::support;

use std::process::Stdio;
use std::time::Duration;
use support::bed::{mirror, show, stdout};
use support::lane::*;

/// Phase 0 creates a real cluster with kindops's own kind config; a re-run
/// finds it and checks its git mount; a cluster whose mount no longer shows
/// the data folder is refused naming the next step; a workload whose image
/// no registry serves is named with the kubelet's pull error while phase 1's
/// wait waits; `kindops down` leaves no container and no data folder.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn phase_0_creates_a_real_cluster_checks_its_git_mount_and_down_removes_it() {
    let l = Learner::new();
    let name = "ko-road";
    let images_dir = tempfile::tempdir().unwrap();
    let (m, digest_ref) = mirror_with_images(&l, images_dir.path(), false);
    l.kubeconfig_with_another_context();
    let out = l.phase_0_with(name, "18080", &m);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text.contains(&format!("created kind cluster {name}, context kind-{name}")),
        "{text}"
    );
    // kind switched the current context; kindops says so and how to switch back.
    assert_eq!(l.current_context(), format!("kind-{name}"));
    assert!(
        text.contains(&format!(
            "kind made kind-{name} your kubeconfig's current context (it was learner-prod)"
        )) && text.contains("kubectl config use-context learner-prod"),
        "{text}"
    );
    // The mount is checked right after the create, too.
    assert!(text.contains("ok      git mount"), "{text}");
    assert!(text.contains(&format!("cluster ready: context kind-{name}")), "{text}");
    assert!(
        text.contains(&format!("Ensuring node image ({})", node_image())),
        "{text}"
    );
    // On a cgroup v1 engine (this VM's) preflight warns and kindops patches
    // the kubelet; on cgroup v2 it does neither.
    let info = docker(&["info", "--format", "{{.CgroupVersion}}"]);
    assert!(info.status.success(), "{}", show(&info));
    let cgroup_v1 = stdout(&info).trim() == "1";
    assert_eq!(text.contains("warning cgroup"), cgroup_v1, "{text}");
    assert_eq!(text.contains("failCgroupV1: false"), cgroup_v1, "{text}");
    let config =
        std::fs::read_to_string(l.home.path().join("data/kindops").join(name).join("kind-config.yaml")).unwrap();
    assert!(config.contains(&format!("image: {}", node_image())), "{config}");
    let node = format!("{name}-control-plane");
    assert!(containers().contains(&node));

    // The mirror's images are in the node: by their tags, and the digest
    // reference as the kubelet looks it up.
    assert!(text.contains("2 of 2 images loaded into 1 node(s)"), "{text}");
    let listed = stdout(&docker(&["exec", &node, "ctr", "-n", "k8s.io", "images", "ls", "-q"]));
    for r in [SMALL_IMAGE, digest_ref.as_str()] {
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

    // An image the node does not have and no registry to pull it from: the
    // wait names the pod's ErrImagePull/ImagePullBackOff with the kubelet's
    // message while it waits, and fails at its deadline with what to do.
    let ns = "pull-test";
    let manifest = l.home.path().join("no-such-image.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: apps/v1\nkind: Deployment\n\
             metadata: {{name: no-such-image, namespace: {ns}}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: no-such-image}}}}\n\
             \x20 template:\n    metadata: {{labels: {{app: no-such-image}}}}\n    spec:\n      containers: [{{name: c, image: kindops.invalid/none:1}}]\n"
        ),
    )
    .unwrap();
    let out = l.kubectl(name, &["apply", "-f", manifest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    let phases = l.home.path().join("pull-phases");
    std::fs::create_dir_all(&phases).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for n in [0, 2, 3, 4] {
        let f = format!("phase-{n}.yaml");
        std::fs::copy(root.join("phases").join(&f), phases.join(&f)).unwrap();
    }
    std::fs::write(
        phases.join("phase-1.yaml"),
        format!(
            "phase: 1\ntitle: an image nobody can pull\nexplain: |\n  A test of the wait's pod-level reasons.\nsteps:\n  - type: wait-rollouts\n    namespaces: [{ns}]\n    timeout: 40s\n"
        ),
    )
    .unwrap();
    let out = l.up_to("1", name, "18080", &m, &["--phases", phases.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let lines: Vec<&str> = text.lines().collect();
    let shown = lines
        .iter()
        .position(|l| {
            l.trim_start().starts_with("..")
                && l.contains(&format!("pod {ns}/no-such-image-"))
                && (l.contains("ErrImagePull") || l.contains("ImagePullBackOff"))
        })
        .unwrap_or_else(|| panic!("no progress line naming the pull error:\n{text}"));
    let failed = lines
        .iter()
        .position(|l| l.contains("FAILED"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(shown < failed, "the pull error came only with the failure:\n{text}");
    assert!(
        text.contains("kindops.invalid/none:1"),
        "the kubelet's message names the image:\n{text}"
    );
    assert!(text.contains("next:   the node cannot pull the image"), "{text}");
    let out = l.kubectl(name, &["delete", "namespace", ns, "--wait=false"]);
    assert!(out.status.success(), "{}", show(&out));

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

    // Another --ui-port on an existing cluster: the real mapped port is named.
    let out = l.phase_0_with(name, "18090", &m);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("is on host port 18080 (the --ui-port it was made with)"),
        "{}",
        show(&out)
    );

    // The node stopped (`docker stop`; Podman after a reboot): the re-run
    // starts it, the cluster answers, the mount is checked; nothing deleted.
    let node_state = || {
        stdout(&docker(&["inspect", "-f", "{{.State.Status}}", &node]))
            .trim()
            .to_string()
    };
    let out = docker(&["stop", &node]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(node_state(), "exited");
    let t = std::time::Instant::now();
    let out = l.phase_0_with(name, "18080", &m);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text.contains(&format!("kind node {node} is not running (exited"))
            && text.contains(&format!("$ docker start {node}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("started the stopped node of kind cluster {name}")),
        "{text}"
    );
    assert!(text.contains("ok      git mount"), "{text}");
    assert!(!text.contains("kindops down"), "{text}");
    assert_eq!(node_state(), "running");
    eprintln!("stopped node: re-run in {:?}", t.elapsed());
    let nodes = l.kubectl(name, &["get", "nodes"]);
    assert!(nodes.status.success(), "{}", show(&nodes));

    // A damaged archive stops the next run before anything runs: exit 2,
    // naming the image and the file.
    let archive = images_dir
        .path()
        .join("images")
        .join(kindops::images::archive_file(SMALL_IMAGE));
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let out = l.phase_0_with(name, "18080", &m);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(SMALL_IMAGE) && err.contains(&archive.display().to_string()),
        "{err}"
    );
    assert!(!stdout(&out).contains("phase 0"), "{}", show(&out));

    // The data folder re-made: the node still mounts the old one.
    std::fs::remove_dir_all(l.git_dir(name)).unwrap();
    let out = l.phase_0(name, "18080");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text.contains(&format!("kind node {node} mounts"))
            && text.contains("was deleted and made again since the cluster was created"),
        "{text}"
    );
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

/// A folder the container engine does not share (Docker Desktop's file
/// sharing, Colima's `mounts:`, a Podman machine's volumes): the engine makes
/// an empty folder of its own and the node sees nothing. Made for real here:
/// the learner's data folder is a tmpfs mounted in this test's mount
/// namespace only (`ip netns exec` gives each its own, a slave of the
/// host's), so the lane's dockerd, in its own namespace, never sees it. The
/// fresh create is refused at once, naming the folder and where to share it,
/// instead of phase 2 waiting 10 minutes. Run with `--keep-context`: the
/// learner's current context is set back after kind switched it.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn a_fresh_cluster_whose_node_sees_an_empty_git_folder_is_refused_and_keep_context_keeps_the_users() {
    let l = Learner::new();
    let name = "ko-unshared";
    let data = l.home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "kindops-unshared"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(mounted.status.success(), "{}", show(&mounted));
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(data.clone());

    // With --keep-context: kind switches the current context, kindops sets
    // the learner's back (before the mount check refuses the cluster).
    l.kubeconfig_with_another_context();
    let out = l.phase_0_args(name, "18082", &mirror(), &["--keep-context"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text.contains("ok      current context set back to learner-prod (--keep-context)"),
        "{text}"
    );
    assert_eq!(l.current_context(), "learner-prod");
    let nodes = l.kubectl(name, &["get", "nodes"]);
    assert!(nodes.status.success(), "{}", show(&nodes));
    let git_dir = l.git_dir(name);
    assert!(
        text.contains(&format!("the new kind node {name}-control-plane mounts"))
            && text.contains("sees an empty folder there")
            && text.contains(&format!("does not share {} with this machine", git_dir.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("make {} visible to it", git_dir.display())),
        "{text}"
    );
    assert!(text.contains(&format!("kindops down --cluster {name}")), "{text}");
    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!containers().contains(&format!("{name}-control-plane")));
}

/// The system gitconfig kindops mounts over the repo-server's
/// /etc/gitconfig keeps every line of the image's own (Argo CD's Dockerfile
/// runs `git lfs install --system`): read from the real argocd image, and
/// git in that image still finds the LFS filter with kindops's file mounted.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn the_repo_server_gitconfig_keeps_the_images_lfs_filter() {
    let image = "quay.io/argoproj/argocd:v3.5.1";
    let own = docker(&["run", "--rm", "--entrypoint", "cat", image, "/etc/gitconfig"]);
    assert!(own.status.success(), "{}", show(&own));
    let cm: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("manifests/gitops/platform/argo-cd/repo-server-gitconfig.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let shipped = cm["data"]["gitconfig"].as_str().unwrap().to_string();
    let image_lines: Vec<String> = stdout(&own)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert!(
        image_lines.iter().any(|l| l.contains("git-lfs")),
        "the image's /etc/gitconfig has no git-lfs lines: {image_lines:?}"
    );
    for line in &image_lines {
        assert!(
            shipped.lines().any(|s| s.trim() == line.trim()),
            "the image's /etc/gitconfig line {line:?} is missing from the shipped gitconfig:\n{shipped}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gitconfig");
    std::fs::write(&file, &shipped).unwrap();
    let mount = format!("{}:/etc/gitconfig:ro", file.display());
    let got = docker(&[
        "run",
        "--rm",
        "--user",
        "999",
        "-v",
        &mount,
        "--entrypoint",
        "git",
        image,
        "config",
        "--system",
        "--get",
        "filter.lfs.clean",
    ]);
    assert!(got.status.success(), "{}", show(&got));
    assert_eq!(stdout(&got).trim(), "git-lfs clean -- %f");
}

/// `kindops down` deletes only kind clusters kindops created: a cluster made
/// with `kind create cluster` (the lane's own kind config: the cgroup v1
/// kubelet patch) is refused with exit 2, named, with both ways out, and it
/// still runs afterwards; `--force` deletes it.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn down_refuses_a_kind_cluster_kindops_did_not_create_unless_forced() {
    let l = Learner::new();
    let name = "ko-foreign";
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kind/kind-config.yaml");
    let made = std::process::Command::new("kind")
        .env("HOME", l.home.path())
        .env("KUBECONFIG", l.home.path().join("kubeconfig"))
        .args(["create", "cluster", "--name", name, "--config", config, "--image"])
        .arg(node_image())
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", show(&made));
    let node = format!("{name}-control-plane");
    assert!(containers().contains(&node));

    let out = l.down(name);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("kind cluster {name} was not created by kindops"))
            && err.contains(&format!("kind delete cluster --name {name}"))
            && err.contains(&format!("kindops down --cluster {name} --force")),
        "{err}"
    );
    assert!(containers().contains(&node), "the refused cluster's node is gone");
    let nodes = l.kubectl(name, &["get", "nodes", "-o", "name"]);
    assert_eq!(stdout(&nodes).trim(), format!("node/{node}"), "{}", show(&nodes));

    let out = l.command(&["down", "--cluster", name, "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!containers().contains(&node), "--force left the node");
}

/// `--workers 1`: kind makes a control-plane and a worker node, both Ready
/// and both seeing kindops's git source (the worker has the same mount); a
/// re-run with another count says it applies only to a new cluster; a
/// stopped worker is started by the re-run, as the control-plane node is;
/// `kindops down` removes both.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn workers_join_the_cluster_see_the_git_source_and_a_stopped_one_is_started() {
    let l = Learner::new();
    let name = "ko-workers";
    let out = l.phase_0_args(name, "18083", &mirror(), &["--workers", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let worker = format!("{name}-worker");
    assert!(containers().contains(&worker), "{}", show(&out));

    // Both nodes Ready (the worker joins a moment after kind returns).
    let t = std::time::Instant::now();
    let ready = loop {
        let out = l.kubectl(
            name,
            &[
                "get",
                "nodes",
                "-o",
                r#"jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#,
            ],
        );
        let text = stdout(&out);
        if text.lines().filter(|l| l.ends_with("=True")).count() == 2 || t.elapsed() > Duration::from_secs(180) {
            break text;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let mut ready: Vec<&str> = ready.lines().collect();
    ready.sort();
    assert_eq!(
        ready,
        [format!("{name}-control-plane=True"), format!("{worker}=True")],
        "nodes after 180 s"
    );

    // The worker sees a file written in the git source on the host now.
    std::fs::write(l.git_dir(name).join("canary-worker"), "x").unwrap();
    let seen = std::process::Command::new("docker")
        .args(["exec", &worker, "cat", "/var/lib/kindops/git/canary-worker"])
        .output()
        .unwrap();
    assert_eq!(stdout(&seen), "x", "{}", show(&seen));

    // A stopped worker is started by a re-run, which also says that
    // --workers applies only to a new cluster.
    docker(&["stop", &worker]);
    let out = l.phase_0_args(name, "18083", &mirror(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("kind node {worker} is not running"))
            && text.contains(&format!("node {worker} started")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "kind cluster {name} has 1 worker node(s); --workers 0 applies only to a new cluster"
        )),
        "{text}"
    );
    let state = docker(&["inspect", "--format", "{{.State.Status}}", &worker]);
    assert_eq!(stdout(&state).trim(), "running");

    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let left = containers();
    assert!(
        !left.iter().any(|c| c.starts_with(&format!("{name}-"))),
        "down left {left:?}"
    );
}
