//! Fault suite (issue 13), what kindops is given: a kubeconfig whose context
//! is missing, whose server is unreachable, whose token has expired or
//! lacks cluster-admin rights; a
//! mirror with a missing file; a truncated or altered cached artifact; a
//! disk that fills while an artifact downloads into the cache. Each stops
//! before anything is applied, naming the file or the context, the hashes
//! where there are two, and the next step; the cache keeps nothing damaged
//! or partial.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::bed::{mirror, show, Bed};
use support::fault::{assert_no_secret, assert_nothing_left};
use support::kindops::{Kindops, Run};

/// Nothing of phase 1 reached the cluster.
#[track_caller]
fn nothing_applied(bed: &Bed) {
    let out = bed.kubectl(&["get", "namespace", "argocd", "-o", "name"]);
    assert!(!out.status.success(), "namespace argocd exists: something was applied");
}

/// `up --phase 1` on `bed` with `KUBECONFIG` and `--context` as given.
fn up_with_kubeconfig(bed: &Bed, kubeconfig: &Path, context: &str) -> Run {
    Kindops::new()
        .args(["up", "--phase", "1", "--no-tui", "--context", context])
        .mirror()
        .args(["--repo-url", &bed.repo_url()])
        .env("KUBECONFIG", kubeconfig)
        .in_bed(bed)
        .run()
}

/// The `server:` and `certificate-authority-data:` of the bed's kubeconfig.
fn bed_cluster(bed: &Bed) -> (String, String) {
    let kc = std::fs::read_to_string(&bed.kubeconfig).unwrap();
    let field = |k: &str| {
        kc.lines()
            .find_map(|l| l.trim().strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("{k} in {}", bed.kubeconfig.display()))
    };
    (field("server:"), field("certificate-authority-data:"))
}

fn kubeconfig(server: &str, ca: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
         contexts:\n- name: workshop\n  context: {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{token: {token}}}\ncurrent-context: workshop\n"
    )
}

#[test]
fn kubeconfig_faults_exit_2_naming_the_context_and_what_to_do() {
    let bed = Bed::private("flt-kubecfg", false);
    let (server, ca) = bed_cluster(&bed);
    let dir = bed.home.path();

    // An expired (here: never issued) bearer token: the API server answers 401.
    let expired = dir.join("expired.kubeconfig");
    std::fs::write(&expired, kubeconfig(&server, &ca, "expired-token-0123456789abcdef")).unwrap();
    let out = up_with_kubeconfig(&bed, &expired, "workshop");
    let err = out.assert_code(2).stderr();
    assert!(err.contains("--context workshop"), "{out}");
    assert!(
        err.contains("rejected its credentials (HTTP 401 Unauthorized)"),
        "{out}"
    );
    assert!(err.contains("kind export kubeconfig"), "{out}");
    assert!(!out.stdout().contains("-> apply"), "{out}");

    // Valid credentials without the rights kindops needs: a ServiceAccount
    // bound to nothing. `/version` answers it (system:public-info-viewer),
    // so only the access review tells, before anything is applied.
    bed.kubectl_ok(&["-n", "default", "create", "serviceaccount", "learner"]);
    let token = bed.kubectl(&["-n", "default", "create", "token", "learner"]);
    assert!(token.status.success(), "{}", show(&token));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    let limited = dir.join("limited.kubeconfig");
    std::fs::write(&limited, kubeconfig(&server, &ca, &token)).unwrap();
    let out = up_with_kubeconfig(&bed, &limited, "workshop");
    let err = out.assert_code(2).stderr();
    assert!(err.contains("--context workshop"), "{out}");
    assert!(
        err.contains("may not do everything kindops does") && err.contains("`kubectl auth can-i '*' '*'` says no"),
        "{out}"
    );
    assert!(err.contains("cluster-admin"), "{out}");
    assert!(!out.stdout().contains("-> apply"), "{out}");
    assert!(
        !out.stdout().contains(&token) && !err.contains(&token),
        "the token was printed"
    );

    // An unreachable server (nothing listens on port 1 of the bed's loopback).
    let gone = dir.join("gone.kubeconfig");
    std::fs::write(&gone, kubeconfig("https://127.0.0.1:1", &ca, "t")).unwrap();
    let out = up_with_kubeconfig(&bed, &gone, "workshop");
    let err = out.assert_code(2).stderr();
    assert!(err.contains("--context workshop"), "{out}");
    assert!(err.contains("https://127.0.0.1:1"), "{out}");
    assert!(err.contains("Is the cluster running?"), "{out}");

    // A context the kubeconfig does not have.
    let out = up_with_kubeconfig(&bed, &expired, "nope");
    let err = out.assert_code(2).stderr();
    assert!(
        err.contains(
            "--context nope: the kubeconfig ($KUBECONFIG or ~/.kube/config) has no such context; it has: workshop"
        ),
        "{out}"
    );

    nothing_applied(&bed);
    assert_nothing_left(bed.home.path());
}

/// A copy of the test mirror (symlinks resolved) in `dir`.
fn copy_mirror(dir: &Path) -> PathBuf {
    let src = PathBuf::from(mirror());
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        if !e.file_type().unwrap().is_dir() {
            continue;
        }
        let to = dir.join(e.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(e.path()).unwrap().flatten() {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    dir.to_path_buf()
}

fn sha(p: &Path) -> String {
    kindops::upstream::sha256_file(p).unwrap()
}

#[test]
fn a_damaged_mirror_or_cache_stops_before_anything_is_applied() {
    let bed = Bed::private("flt-cache", false);
    let home = bed.home.path();
    let up = |extra: &[&str]| {
        Kindops::new()
            .args(["up", "--phase", "1", "--no-tui"])
            .context()
            .args(extra)
            .args(["--repo-url", &bed.repo_url()])
            .in_bed(&bed)
            .run()
    };

    // A mirror with a missing file: named, with how to fill a mirror.
    let m = copy_mirror(&home.join("mirror"));
    let missing = m.join("argo-cd/install-v3.5.1.yaml");
    std::fs::remove_file(&missing).unwrap();
    let out = up(&["--mirror", m.to_str().unwrap()]);
    let text = out.assert_code(2).stderr();
    assert!(text.contains(missing.to_str().unwrap()), "{text}");
    assert!(text.contains("no such file in the mirror directory"), "{text}");
    assert!(text.contains("kindops fetch --into DIR"), "{text}");
    assert!(!out.stdout().contains("-> "), "a step ran: {}", out.stdout());

    // The cache (no --mirror: kindops reads `$XDG_CACHE_HOME/kindops/upstream`),
    // filled as downloads would have left it.
    let cache = copy_mirror(&home.join("cache/kindops/upstream"));

    // Truncated: the pinned hash and the one found, the file named; the
    // damaged copy removed, so the next run downloads it again.
    let argo = cache.join("argo-cd/install-v3.5.1.yaml");
    let bytes = std::fs::read(&argo).unwrap();
    std::fs::write(&argo, &bytes[..bytes.len() / 2]).unwrap();
    let truncated = sha(&argo);
    let out = up(&[]);
    let text = out.assert_code(2).stderr();
    assert!(text.contains("checksum mismatch for argo-cd v3.5.1"), "{text}");
    assert!(text.contains(argo.to_str().unwrap()), "{text}");
    assert!(text.contains(&truncated), "the hash found: {text}");
    assert!(
        text.contains("795a3a972224da6a7f9d32c3e946445f062b60fb46028476715affeb688236e3"),
        "the pinned hash: {text}"
    );
    assert!(text.contains("removed the damaged copy"), "{text}");
    assert!(!argo.exists(), "the damaged copy is still in the cache");
    assert!(!out.stdout().contains("-> "), "a step ran: {}", out.stdout());
    // The next run tries to download it (no route here): named, with the next step.
    let text = up(&[]).assert_code(1).stdout().to_string();
    assert!(text.contains("argo-cd v3.5.1 is not available"), "{text}");
    assert!(text.contains("pass --mirror DIR"), "{text}");

    // Altered, for a pin without a published hash: checked against the hash
    // recorded when it was first downloaded.
    std::fs::write(&argo, &bytes).unwrap();
    let tekton = cache.join("tekton-pipelines/release-v1.15.0.derived.yaml");
    let recorded = cache.join("tekton-pipelines/release-v1.15.0.derived.yaml.sha256");
    if !recorded.exists() {
        std::fs::write(&recorded, format!("{}\n", sha(&tekton))).unwrap();
    }
    let mut t = std::fs::read_to_string(&tekton).unwrap();
    t.push_str("\n# altered\n");
    std::fs::write(&tekton, t).unwrap();
    let altered = sha(&tekton);
    let text = up(&[]).assert_code(2).stderr().to_string();
    assert!(text.contains("checksum mismatch for tekton-pipelines"), "{text}");
    assert!(text.contains(&altered), "{text}");
    assert!(!tekton.exists(), "the altered copy is still in the cache");

    nothing_applied(&bed);
    assert_nothing_left(home);
    assert_no_secret(&bed, &text);
}

/// A small tmpfs as the cache, unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: PathBuf, size: &str) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount tmpfs: {}", show(&out));
        SmallDisk(at)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_full_while_downloading_leaves_nothing_partial_in_the_cache() {
    let bed = Bed::private("flt-diskfull", false);
    let home = bed.home.path();
    // The mirror over HTTP on the bed's loopback: `--mirror URL` downloads
    // every artifact into the cache.
    let served = copy_mirror(&home.join("served"));
    let mut server = bed
        .command("python3", &[("PYTHONDONTWRITEBYTECODE", "1")])
        .args(["-m", "http.server", "--bind", "127.0.0.1", "18080", "--directory"])
        .arg(&served)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    support::wait_for("the mirror's HTTP server", std::time::Duration::from_secs(30), || {
        let out = bed
            .command("curl", &[] as &[(&str, &str)])
            .args(["-sf", "-o", "/dev/null", "http://127.0.0.1:18080/"])
            .output()
            .unwrap();
        out.status.success().then_some(())
    });

    let cache_home = home.join("small");
    let disk = SmallDisk::mount(cache_home.clone(), "256k");
    let out = Kindops::new()
        .args(["up", "--phase", "1", "--no-tui"])
        .context()
        .args(["--mirror", "http://127.0.0.1:18080"])
        .args(["--repo-url", &bed.repo_url()])
        .env("XDG_CACHE_HOME", &cache_home)
        .in_bed(&bed)
        .run();
    let text = out.assert_code(1).stdout();
    assert!(text.contains("No space left on device"), "{text}");
    assert!(text.contains("into the cache"), "{text}");
    assert!(text.contains("nothing partial was kept"), "{text}");
    assert!(!text.contains("-> apply"), "{text}");

    // Every file left in the cache is a whole, checked artifact (or its
    // recorded hash): no temporary file, no partial download.
    let mut left = vec![];
    let mut stack = vec![cache_home.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                left.push(e.path());
            }
        }
    }
    let pins = kindops::upstream::pins();
    for f in &left {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let pin = pins
            .iter()
            .find(|p| name == p.file || name == format!("{}.sha256", p.file))
            .unwrap_or_else(|| panic!("{} is not an artifact: a partial download?", f.display()));
        if name == pin.file {
            assert_eq!(sha(f), sha(&served.join(&pin.name).join(&pin.file)), "{}", f.display());
        }
    }
    drop(disk);
    let _ = server.kill();
    let _ = server.wait();
    nothing_applied(&bed);
    assert_nothing_left(home);
}
