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
use support::tmux::{row_has, table_rows, Tmux};

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

    /// `kindops up --phase 0 --no-tui --cluster NAME --node-image IMG --mirror M`
    /// (the test mirror of upstream artifacts).
    fn phase_0(&self, cluster: &str, ui_port: &str) -> Output {
        self.phase_0_with(cluster, ui_port, &mirror())
    }

    /// [`Learner::phase_0`] with another mirror (one with images).
    fn phase_0_with(&self, cluster: &str, ui_port: &str, m: &str) -> Output {
        let img = node_image();
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
            m,
            "--ui-port",
            ui_port,
        ])
        .output()
        .unwrap()
    }

    /// `kubectl --context kind-CLUSTER ARGS` with this learner's kubeconfig.
    fn kubectl(&self, cluster: &str, args: &[&str]) -> Output {
        Command::new("kubectl")
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .arg("--context")
            .arg(format!("kind-{cluster}"))
            .args(args)
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

/// Whether `text` holds a PEM private key: a `-----BEGIN … PRIVATE KEY-----`
/// line followed by a base64 body (40 or more base64 characters before
/// `-----END`). Upstream files show placeholders such as External Secrets'
/// CRD examples (`-----BEGIN PRIVATE KEY-----\n<private-key>\n-----END…`),
/// which are not keys.
fn holds_private_key(text: &str) -> bool {
    text.match_indices("-----BEGIN").any(|(i, _)| {
        let rest = &text[i..];
        // The header ends at the first "-----" followed by a newline, real
        // or written as `\n` inside a string.
        let Some(head_end) = [rest.find("-----\n"), rest.find("-----\\n")]
            .into_iter()
            .flatten()
            .min()
        else {
            return false;
        };
        if !rest[..head_end].contains("PRIVATE KEY") {
            return false;
        }
        let body = &rest[head_end + 5..];
        let body = &body[..body.find("-----END").unwrap_or(body.len())];
        let base64: String = body.replace("\\n", "").chars().filter(|c| !c.is_whitespace()).collect();
        base64.len() >= 40 && base64.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
    })
}

#[test]
fn a_private_key_is_told_from_a_placeholder() {
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    assert!(holds_private_key(&format!(
        "x\n-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    )));
    assert!(holds_private_key(&format!(
        "\"k\": \"-----BEGIN RSA PRIVATE KEY-----\\n{body}\\n-----END RSA PRIVATE KEY-----\\n\""
    )));
    assert!(!holds_private_key(
        "\"private-key\": \"-----BEGIN PRIVATE KEY-----\\n<private-key>\\n-----END PRIVATE KEY-----\\n\","
    ));
    assert!(!holds_private_key(&format!(
        "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    )));
}

/// Every file under `dir`, recursively (symlinks not followed).
fn walk_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => out.push(e.path()),
                _ => {}
            }
        }
    }
    out
}

fn docker(args: &[&str]) -> Output {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", show(&out));
    out
}

/// `kindops images --phase N --mirror M --output json`, parsed.
fn listed_images(l: &Learner, phase: &str, m: &str) -> Vec<serde_json::Value> {
    let out = l
        .command(&["images", "--phase", phase, "--mirror", m, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// A mirror with images, made as a presenter makes one: `kindops fetch
/// --images` saves them from the lane's Docker engine (`all`: every
/// preloadable image of phases 0–4; else only the dex image, the lane's
/// STAND-IN under the manifest's name). One image phase 1 names by digest
/// only (Tekton's `-shell-image`, `cgr.dev/chainguard/busybox@sha256:…`)
/// a registry would serve by that digest, and a locally built image can never
/// have it: the test puts it in the mirror first as `fetch` writes it (the
/// lane's busybox saved under its archive tag), and `fetch` keeps it.
fn mirror_with_images(l: &Learner, dir: &std::path::Path, all: bool) -> (String, String) {
    let m = dir.display().to_string();
    let digest_ref = listed_images(l, "1", &mirror())
        .iter()
        .filter_map(|i| i["reference"].as_str().map(str::to_string))
        .find(|r| r.starts_with("cgr.dev/chainguard/busybox@sha256:"))
        .expect("phase 1 names Tekton's shell image by digest");
    let hex = digest_ref.rsplit(':').next().unwrap();
    let tag = format!("cgr.dev/chainguard/busybox:sha256-{}", &hex[..12]);
    let file = format!("cgr.dev_chainguard_busybox_sha256-{}.tar", &hex[..12]);
    std::fs::create_dir_all(dir.join("images")).unwrap();
    docker(&["tag", "kindops.local/busybox:bookworm", &tag]);
    docker(&[
        "save",
        "-o",
        &dir.join("images").join(&file).display().to_string(),
        &tag,
    ]);
    let id = stdout(&docker(&["image", "inspect", "-f", "{{.Id}}", &tag]))
        .trim()
        .to_string();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            std::fs::read(dir.join("images").join(&file)).unwrap(),
        ))
    };
    std::fs::write(
        dir.join("images/index.yaml"),
        format!(
            "images:\n- {{reference: '{digest_ref}', archive: '{file}', sha256: '{sha}', tag: '{tag}', id: '{id}'}}\n"
        ),
    )
    .unwrap();
    docker(&["rmi", &tag]);

    let dex = "ghcr.io/dexidp/dex:v2.45.0";
    let test_mirror = mirror();
    let mut args = vec!["fetch", "--images", "--into", &m, "--mirror", &test_mirror];
    if !all {
        args.extend(["--phase", "1", "--image", dex, "--image", &digest_ref]);
    }
    let out = l.command(&args).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text.contains(&format!("saved    {dex}")), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("kept") && l.contains(&digest_ref)),
        "{text}"
    );

    // Phases 0–1 render without Helm; phase 3's External Secrets chart needs
    // helm and kustomize on PATH (`just test-kind-road` provides them).
    let images = listed_images(l, if all { "4" } else { "1" }, &m);
    for i in &images {
        let wanted = all || i["reference"] == dex || i["reference"] == digest_ref.as_str();
        if i["not_preloadable"].is_null() && wanted {
            assert_eq!(i["in_mirror"], true, "{i}");
        }
    }
    (m, digest_ref)
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

/// `kindops status --cluster NAME --output json`: every Application's
/// `(name, sync, health)`.
fn applications(l: &Learner, cluster: &str) -> Vec<(String, String, String)> {
    let out = l
        .command(&["status", "--cluster", cluster, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["applications"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("sync"), s("health"))
        })
        .collect()
}

/// The learner's whole default road on a real kind cluster: `kindops up`
/// with only `--node-image` and `--mirror` (every image saved by `kindops
/// fetch --images` from the lane's engine), in the TUI, from an empty start.
/// Phase 0 creates the cluster and preloads the images; phases 1–4 run on
/// real pods; the built-in git source is read by the real repo-server pod
/// (uid 999). The Applications table fills while phases 2–4 run, and every
/// Application ends Synced+Healthy, metrics-server included (its APIService
/// Available). Then a learner's own push of a new product directory gets its
/// Application; a re-run changes nothing; `kindops down` leaves no container
/// and no data.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn the_default_road_runs_phases_0_to_4_on_real_pods() {
    let t0 = std::time::Instant::now();
    let l = Learner::new();
    let name = "ko-full";
    let images_dir = tempfile::tempdir().unwrap();
    let (m, _) = mirror_with_images(&l, images_dir.path(), true);
    let img = node_image();
    let args = [
        "up",
        "--cluster",
        name,
        "--node-image",
        &img,
        "--mirror",
        &m,
        "--ui-port",
        "18082",
    ];
    let line = Kindops::new()
        .args(args)
        .home(l.home.path())
        .env("KUBECONFIG", l.home.path().join("kubeconfig"))
        .shell_line();
    let t = Tmux::start_line(l.home.path(), &[], "road", (160, 48), &line);
    // The learner switches to the Applications view (key 2) as soon as the TUI is up.
    t.wait_for("the TUI", Duration::from_secs(60), |s| s.contains("2 Applications"));
    t.keys(&["2"]);

    // The Applications table starts empty and fills as phases 2–4 create them.
    let expected = [
        "argo-cd",
        "external-secrets",
        "argo-rollouts",
        "metrics-server",
        "coffee-ci",
        "cart",
        "order",
    ];
    let mut seen: Vec<(usize, std::time::Duration)> = vec![];
    // Everything the learner saw, for the secret scan below.
    let mut shown = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(25 * 60);
    let screen = loop {
        let s = t.screen();
        // Before phase 1 the learner is told why the table is empty, in words.
        assert!(!s.contains("404 page not found"), "a raw API error on screen:\n{s}");
        let rows = table_rows(&s).len();
        shown.push_str(&s);
        if seen.last().is_none_or(|(n, _)| *n != rows) {
            seen.push((rows, t0.elapsed()));
        }
        if s.lines()
            .next()
            .is_some_and(|l| l.contains("succeeded in") || l.contains("failed"))
        {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the road did not finish in 25 min:\n{s}\n{}",
            t.log_tail()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        screen.lines().next().is_some_and(|l| l.contains("✓ succeeded in")),
        "{screen}\n{}",
        t.log_tail()
    );
    for app in expected {
        assert!(
            row_has(&screen, app, &["Synced", "Healthy"]),
            "{app} not Synced+Healthy:\n{screen}"
        );
    }
    let counts: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts.first(), Some(&0), "the table did not start empty: {seen:?}");
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]) && counts.iter().filter(|n| **n > 0).count() >= 3,
        "the table did not fill step by step: {seen:?}"
    );
    eprintln!("[road] rows over time: {seen:?}");
    t.type_text("q");
    assert_eq!(t.assert_exited_and_terminal_sane(), 0, "kindops up (TUI) exit code");

    // Every Application Synced+Healthy, as `kindops status` reads them.
    let apps = applications(&l, name);
    for app in expected {
        assert!(
            apps.iter().any(|(n, s, h)| n == app && s == "Synced" && h == "Healthy"),
            "{app}: {apps:?}"
        );
    }
    // metrics-server serves the metrics API for real.
    let available = l.kubectl(
        name,
        &[
            "get",
            "apiservice",
            "v1beta1.metrics.k8s.io",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Available\")].status}",
        ],
    );
    assert_eq!(stdout(&available).trim(), "True", "{}", show(&available));
    // The repo-server pod that read the built-in git source runs as uid 999.
    let uid = l.kubectl(
        name,
        &["-n", "argocd", "exec", "deploy/argocd-repo-server", "--", "id", "-u"],
    );
    assert_eq!(stdout(&uid).trim(), "999", "{}", show(&uid));

    // A learner's own push: a new product directory becomes an Application.
    let work = l.home.path().join("learner-clone");
    let bare = l.git_dir(name).join("gitops.git");
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", show(&out));
    };
    git(
        l.home.path(),
        &["clone", "-q", &bare.display().to_string(), &work.display().to_string()],
    );
    let tea = work.join("apps/coffee/tea");
    std::fs::create_dir_all(&tea).unwrap();
    let cart = std::fs::read_to_string(work.join("apps/coffee/cart/kustomization.yaml")).unwrap();
    std::fs::write(tea.join("kustomization.yaml"), cart.replace("cart", "tea")).unwrap();
    git(&work, &["add", "-A"]);
    git(
        &work,
        &[
            "-c",
            "user.name=learner",
            "-c",
            "user.email=learner@example.invalid",
            "commit",
            "-q",
            "-m",
            "add tea",
        ],
    );
    // The built-in git source's post-receive hook (written by kindops) tells
    // Argo CD about the push at once, as a git host's webhook would.
    let hook = std::fs::read_to_string(bare.join("hooks/post-receive")).unwrap_or_default();
    assert!(
        hook.contains("refresh --cluster"),
        "no kindops post-receive hook: {hook:?}"
    );
    let pushed = std::time::Instant::now();
    let push = Command::new("git")
        .arg("-C")
        .arg(&work)
        .args(["push", "-q", "origin", "HEAD:main"])
        .output()
        .unwrap();
    assert!(push.status.success(), "git push: {}", show(&push));
    assert!(
        !String::from_utf8_lossy(&push.stderr).contains("could not ask Argo CD"),
        "the hook could not refresh: {}",
        show(&push)
    );
    loop {
        let apps = applications(&l, name);
        if apps
            .iter()
            .any(|(n, s, h)| n == "tea" && s == "Synced" && h == "Healthy")
        {
            break;
        }
        assert!(
            pushed.elapsed() < Duration::from_secs(240),
            "tea never Synced+Healthy: {apps:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!("[road] a learner's push to Synced+Healthy: {:?}", pushed.elapsed());

    // A re-run changes nothing (and keeps the learner's directory).
    let out = l
        .command(&[&["up", "--no-tui"][..], &args[1..]].concat())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  ok ") && !l.starts_with("  ok (unchanged)"))
        .collect();
    assert!(changed.is_empty(), "the re-run changed: {changed:?}\n{text}");
    assert!(applications(&l, name).iter().any(|(n, _, _)| n == "tea"));

    // The Argo CD admin password (and any private key) appears nowhere
    // kindops wrote or showed without --show-secrets: the TUI's screens and
    // log file, plain and JSON output, `status`, the state ConfigMap, the git
    // source's whole history.
    let secret = l.kubectl(
        name,
        &[
            "-n",
            "argocd",
            "get",
            "secret",
            "argocd-initial-admin-secret",
            "-o",
            "go-template={{.data.password | base64decode}}",
        ],
    );
    let password = stdout(&secret);
    assert!(password.len() >= 8, "no admin password read: {}", show(&secret));
    let mut scanned = vec![
        ("the TUI's screens".to_string(), shown),
        ("the re-run's output".into(), show(&out)),
    ];
    for (what, cmd) in [
        ("status", vec!["status", "--cluster", name]),
        (
            "status --output json",
            vec!["status", "--cluster", name, "--output", "json"],
        ),
        (
            "up --output json",
            [&["up", "--output", "json"][..], &args[1..]].concat(),
        ),
    ] {
        let out = l.command(&cmd).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{what}: {}", show(&out));
        scanned.push((what.to_string(), show(&out)));
    }
    for file in walk_files(&l.home.path().join("data")) {
        if let Ok(bytes) = std::fs::read(&file) {
            scanned.push((file.display().to_string(), String::from_utf8_lossy(&bytes).to_string()));
        }
    }
    let history = Command::new("git")
        .arg("-C")
        .arg(l.git_dir(name).join("gitops.git"))
        .args(["log", "-p", "--all"])
        .output()
        .unwrap();
    scanned.push(("the git source's history".into(), stdout(&history)));
    let state = l.kubectl(
        name,
        &["-n", "kube-system", "get", "configmap", "kindops-state", "-o", "yaml"],
    );
    scanned.push(("ConfigMap kube-system/kindops-state".into(), stdout(&state)));
    for (what, text) in &scanned {
        assert!(!text.contains(&password), "the admin password appears in {what}");
        assert!(!holds_private_key(text), "a private key appears in {what}");
    }
    eprintln!(
        "[road] secret scan: {} sources, none holds the admin password",
        scanned.len()
    );
    // The scan can see it: asked for, the password is printed.
    let printed = l
        .command(&[&["up", "--no-tui", "--phase", "1", "--show-secrets"][..], &args[1..]].concat())
        .output()
        .unwrap();
    assert!(
        stdout(&printed).contains(&password),
        "--show-secrets: {}",
        show(&printed)
    );

    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !containers().iter().any(|c| c.starts_with(&format!("{name}-"))),
        "{:?}",
        containers()
    );
    assert!(!l.home.path().join("data/kindops").join(name).exists());
    eprintln!("[road] done in {:?}", t0.elapsed());
}
