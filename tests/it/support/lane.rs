//! The real-kind lane's learner (fresh data, cache and kubeconfig), the mirror
//! with images a presenter makes, and what the lane's tests read from the
//! cluster and the Docker engine (`tests/it/kind.rs`, `tests/it/kind_road.rs`).

use super::bed::{mirror, show, stdout};
use super::kindops::Kindops;
use super::kubectl::Kubectl;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub fn node_image() -> String {
    std::env::var("KINDOPS_KIND_NODE_IMAGE")
        .expect("KINDOPS_KIND_NODE_IMAGE is not set: run these through `just test-kind` (the real-kind lane)")
}

/// A learner's machine: fresh data, cache and kubeconfig.
pub struct Learner {
    pub home: tempfile::TempDir,
}

impl Learner {
    pub fn new() -> Learner {
        Learner {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
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
    pub fn phase_0(&self, cluster: &str, ui_port: &str) -> Output {
        self.phase_0_with(cluster, ui_port, &mirror())
    }

    /// [`Learner::phase_0`] with another mirror (one with images).
    pub fn phase_0_with(&self, cluster: &str, ui_port: &str, m: &str) -> Output {
        self.phase_0_args(cluster, ui_port, m, &[])
    }

    /// [`Learner::phase_0_with`] plus `extra` arguments.
    pub fn phase_0_args(&self, cluster: &str, ui_port: &str, m: &str, extra: &[&str]) -> Output {
        self.up_to("0", cluster, ui_port, m, extra)
    }

    /// `kindops up --phase PHASE --no-tui --cluster NAME --node-image IMG
    /// --mirror M --ui-port PORT EXTRA...`.
    pub fn up_to(&self, phase: &str, cluster: &str, ui_port: &str, m: &str, extra: &[&str]) -> Output {
        let img = node_image();
        let mut args = vec![
            "up",
            "--phase",
            phase,
            "--no-tui",
            "--cluster",
            cluster,
            "--node-image",
            img.as_str(),
            "--mirror",
            m,
            "--ui-port",
            ui_port,
        ];
        args.extend_from_slice(extra);
        self.command(&args).output().unwrap()
    }

    /// A kubeconfig with the learner's own cluster `learner-prod` as current
    /// context, written with kubectl as a user would have it.
    pub fn kubeconfig_with_another_context(&self) {
        let kc = self.home.path().join("kubeconfig");
        for args in [
            &["config", "set-cluster", "prod", "--server", "https://127.0.0.1:1"][..],
            &["config", "set-credentials", "prod-admin", "--token", "t0ken"],
            &[
                "config",
                "set-context",
                "learner-prod",
                "--cluster",
                "prod",
                "--user",
                "prod-admin",
            ],
            &["config", "use-context", "learner-prod"],
        ] {
            Kubectl::new().kubeconfig_env(&kc).ok(args);
        }
    }

    /// `kubectl config current-context` of this learner's kubeconfig.
    pub fn current_context(&self) -> String {
        let kc = self.home.path().join("kubeconfig");
        Kubectl::new()
            .kubeconfig_env(kc)
            .ok(&["config", "current-context"])
            .trim()
            .to_string()
    }

    /// `kubectl --context kind-CLUSTER ARGS` with this learner's kubeconfig.
    pub fn kubectl(&self, cluster: &str, args: &[&str]) -> Output {
        Kubectl::new()
            .kubeconfig_env(self.home.path().join("kubeconfig"))
            .context(format!("kind-{cluster}"))
            .run(args)
    }

    pub fn git_dir(&self, cluster: &str) -> PathBuf {
        self.home.path().join("data/kindops").join(cluster).join("git")
    }

    pub fn down(&self, cluster: &str) -> Output {
        self.command(&["down", "--cluster", cluster]).output().unwrap()
    }
}

pub fn containers() -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}"])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker ps: {}", show(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

pub fn kind_processes(cluster: &str) -> Vec<String> {
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
pub fn holds_private_key(text: &str) -> bool {
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

/// Every file under `dir`, recursively (symlinks not followed).
pub fn walk_files(dir: &std::path::Path) -> Vec<PathBuf> {
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

pub fn docker(args: &[&str]) -> Output {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", show(&out));
    out
}

/// `kindops images --phase N --mirror M --output json`, parsed.
pub fn listed_images(l: &Learner, phase: &str, m: &str) -> Vec<serde_json::Value> {
    let out = l
        .command(&["images", "--phase", phase, "--mirror", m, "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// One small image phase 1 runs (Tekton's `-nop-image`, 2.5 MB in the
/// lane), for tests that load a single image.
pub const SMALL_IMAGE: &str = "ghcr.io/tektoncd/pipeline/nop-8eac7c133edad5df719dc37b36b62482:v1.15.0";

/// Which images [`mirror_with`] saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Every preloadable image of phases 0–4.
    All,
    /// [`SMALL_IMAGE`] and the digest-pinned shell image (phase 1).
    Small,
    /// Only the digest-pinned shell image: the one image no registry can
    /// serve the lane (see [`mirror_with`]); every other image is pulled.
    DigestPinnedOnly,
}

/// [`mirror_with`] saving every image (`all`) or the small ones.
pub fn mirror_with_images(l: &Learner, dir: &std::path::Path, all: bool) -> (String, String) {
    mirror_with(l, dir, if all { Saved::All } else { Saved::Small })
}

/// A mirror with images, made as a presenter makes one: `kindops fetch
/// --images` saves them from the lane's Docker engine (`which`: [`Saved`]).
/// One image phase 1 names by digest only (Tekton's `-shell-image`,
/// `cgr.dev/chainguard/busybox@sha256:…`) a registry would serve by that
/// digest, and a locally built image can never have it: the test puts it in
/// the mirror first as `fetch` writes it (the lane's busybox saved under its
/// archive tag), and `fetch` keeps it. Returns the mirror and that reference.
pub fn mirror_with(l: &Learner, dir: &std::path::Path, which: Saved) -> (String, String) {
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

    let small = SMALL_IMAGE;
    let test_mirror = mirror();
    let mut args = vec!["fetch", "--images", "--into", &m, "--mirror", &test_mirror];
    match which {
        Saved::All => {}
        Saved::Small => args.extend(["--phase", "1", "--image", small, "--image", &digest_ref]),
        Saved::DigestPinnedOnly => args.extend(["--phase", "4", "--image", &digest_ref]),
    }
    let out = l.command(&args).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        text.contains(&format!("saved    {small}")),
        which != Saved::DigestPinnedOnly,
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("kept") && l.contains(&digest_ref)),
        "{text}"
    );

    // Phases 0–1 render without Helm; phase 3's External Secrets chart needs
    // helm and kustomize on PATH (`just test-kind-road` provides them).
    let images = listed_images(l, if which == Saved::Small { "1" } else { "4" }, &m);
    for i in &images {
        let wanted = match which {
            Saved::All => true,
            Saved::Small => i["reference"] == small || i["reference"] == digest_ref.as_str(),
            Saved::DigestPinnedOnly => i["reference"] == digest_ref.as_str(),
        };
        if i["not_preloadable"].is_null() && wanted {
            assert_eq!(i["in_mirror"], true, "{i}");
        }
        if which == Saved::DigestPinnedOnly && !wanted {
            assert_ne!(i["in_mirror"], true, "only the digest-pinned image is saved: {i}");
        }
    }
    (m, digest_ref)
}

/// `kindops status --cluster NAME --output json`: every Application's
/// `(name, sync, health)`.
pub fn applications(l: &Learner, cluster: &str) -> Vec<(String, String, String)> {
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
