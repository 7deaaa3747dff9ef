//! `kindops` end to end on bad input: malformed phase files, unknown phases,
//! bad flag values, an unreachable or unknown context, a missing binary;
//! each named, with the documented exit code (2 for bad input, before
//! anything runs). The plan, read offline.

mod support;

use std::path::{Path, PathBuf};

use support::bed::Bed;
use support::kindops::Kindops;

fn phases_copy(dir: &Path) -> PathBuf {
    let p = dir.join("phases");
    std::fs::create_dir_all(&p).unwrap();
    for n in 0..=4 {
        let f = format!("phase-{n}.yaml");
        std::fs::copy(support::repo_root().join("phases").join(&f), p.join(&f)).unwrap();
    }
    p
}

#[test]
fn malformed_phase_yaml_is_bad_input_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = phases_copy(dir.path());
    std::fs::write(
        p.join("phase-2.yaml"),
        "phase: 2\ntitle: x\nexplain: y\nsteps:\n  - type: publish-repo\n  - type: sleep\n    seconds: 5\n",
    )
    .unwrap();
    let out = Kindops::new()
        .args(["up", "--no-tui", "--phases"])
        .arg(&p)
        .args(["--context", "x", "--repo-url", "file:///tmp/x"])
        .run();
    let err = out.assert_code(2).stderr();
    let file = p.join("phase-2.yaml").display().to_string();
    assert!(err.contains(&format!("{file}:6:")), "{err}");
    assert!(err.contains("sleep"), "{err}");
    // Nothing was touched: not even phase 0 started.
    assert!(out.stdout().is_empty(), "{out}");
}

#[test]
fn unknown_phase_number_is_bad_input() {
    let out = Kindops::new().args(["up", "--phase", "9", "--no-tui"]).run();
    assert!(
        out.assert_code(2)
            .stderr()
            .contains("there is no phase 9; phases are 0 to 4"),
        "{out}"
    );
}

#[test]
fn unreachable_api_server_names_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\ncontexts:\n- name: gone\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: t}\ncurrent-context: gone\n",
    )
    .unwrap();
    let up = |context: &str| {
        Kindops::new()
            .args(["up", "--phase", "1", "--no-tui", "--context", context])
            .mirror()
            .args(["--repo-url", "file:///tmp/never"])
            .env("KUBECONFIG", &kc)
            .run()
    };
    // Bad input (exit 2), found before anything runs (issue 13).
    let text = up("gone").assert_code(2).stderr();
    assert!(
        text.contains("--context gone: the API server of context gone"),
        "{text}"
    );
    assert!(text.contains("https://127.0.0.1:1"), "{text}");
    assert!(text.contains("does not answer"), "{text}");
    // An unknown context is bad input, before anything runs; the message
    // lists the ones there are.
    let out = up("nope");
    assert!(
        out.assert_code(2).stderr().contains(
            "--context nope: the kubeconfig ($KUBECONFIG or ~/.kube/config) has no such context; it has: gone"
        ),
        "{out}"
    );
}

#[test]
fn missing_binary_is_named_with_an_install_hint() {
    // A PATH with git but without kubectl.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which::which("git").unwrap(), dir.path().join("git")).unwrap();
    let text = Kindops::new()
        .args(["up", "--phase", "0", "--no-tui"])
        .context()
        .mirror()
        .args(["--repo-url", "file:///tmp/never"])
        .env("PATH", dir.path())
        .run()
        .assert_code(1)
        .stdout();
    assert!(text.contains("object: kubectl"), "{text}");
    assert!(text.contains("install kubectl"), "{text}");
}

#[test]
fn with_context_and_no_repo_url_is_bad_input() {
    let out = Kindops::new().args(["up", "--no-tui"]).context().run();
    assert!(out.assert_code(2).stderr().contains("pass --repo-url"), "{out}");
}

#[test]
fn plan_is_offline_and_counts_objects() {
    let text = Kindops::new().arg("plan").mirror().run().assert_code(0).stdout();
    assert!(
        text.contains("apply platform/argo-cd (server-side) — 55 objects"),
        "{text}"
    );
    assert!(text.contains("image quay.io/argoproj/argocd:v3.5.1"), "{text}");
    assert!(
        text.contains("phase 4: Product apps through an ApplicationSet"),
        "{text}"
    );
}

/// `-o yaml` is the same document as `-o json` (plan, images, version,
/// lessons), parsed back by a YAML parser to equal values.
#[test]
fn yaml_output_is_the_json_document_as_yaml() {
    for args in [
        &["plan", "--phase", "1"][..],
        &["images", "--phase", "1"],
        &["version"],
        &["learn"],
    ] {
        let run = |o: &str| {
            let mut k = Kindops::new().args(args).args(["-o", o]);
            if args[0] != "version" && args[0] != "learn" {
                k = k.mirror();
            }
            k.run()
        };
        let json = run("json");
        let yaml = run("yaml");
        let j: serde_json::Value = serde_json::from_str(&json.assert_code(0).stdout()).unwrap();
        let y: serde_json::Value =
            serde_yaml::from_str(&yaml.assert_code(0).stdout()).unwrap_or_else(|e| panic!("{args:?}: {e}\n{yaml}"));
        assert_eq!(y, j, "{args:?}");
    }
}

/// `--context` without `--repo-url`: phases 0 and 1 publish nothing and run;
/// a run that reaches phase 2 (which publishes) is refused up front (exit 2)
/// naming `--repo-url`, before anything is touched.
#[test]
fn context_needs_a_repo_url_only_for_phases_that_publish() {
    let bed = Bed::shared();
    // Each run on a fresh home.
    let up = |phase: &str| {
        let home = tempfile::tempdir().unwrap();
        Kindops::new()
            .args(["up", "--phase", phase, "--no-tui"])
            .context()
            .mirror()
            .home(home.path())
            .in_bed(&bed)
            .run()
    };
    up("0").assert_code(0);
    let out = up("2");
    assert!(out.assert_code(2).stderr().contains("--repo-url"), "{out}");
}

/// Every flag with a bad value stops before anything runs: exit 2, the flag
/// named in the message, nothing on stdout (no phase started). Type errors
/// come from the CLI parser; meaning errors (a phase that does not exist, a
/// kind cluster name kind refuses, a missing mirror directory, a node image
/// that is not a reference, a context the kubeconfig lacks, a pins file that
/// is not there) from kindops's own checks.
#[test]
fn bad_flag_values_exit_2_naming_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: only-one, context: {cluster: c, user: u}}]\n",
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["up", "--phase", "x"], "--phase"),
        (&["up", "--phase", "9"], "phase 9"),
        (&["up", "--timeout", "5parsecs"], "--timeout"),
        (&["up", "--ui-port", "70000"], "--ui-port"),
        (&["up", "--output", "toml"], "--output"),
        (&["up", "--cluster", "Bad_Name"], "--cluster"),
        (&["up", "--mirror", "/nonexistent/mirror"], "--mirror"),
        (&["up", "--node-image", "::"], "--node-image"),
        (&["up", "--node-image", "kindest/node@sha256:abc"], "--node-image"),
        (&["up", "--context", "no-such-context"], "--context no-such-context"),
        (&["up", "--pins", "/nonexistent/pins.yaml"], "/nonexistent/pins.yaml"),
        (&["status", "--context", "no-such-context"], "only-one"),
        (&["status", "--output", "xml"], "--output"),
        (&["down", "--cluster", "UPPER"], "--cluster"),
        (&["images", "--phase", "7"], "phase 7"),
        (&["fetch", "--into", "/tmp/x", "--phase", "2"], "--images"),
        (&["plan", "--phase", "-1"], "-1"),
    ];
    for (args, named) in cases {
        let run = Kindops::new()
            .args(*args)
            .home(home.path())
            .env("KUBECONFIG", &kubeconfig)
            .run();
        assert_eq!(run.code(), Some(2), "{args:?}: {}\n{}", run.stdout(), run.stderr());
        assert!(
            run.stderr().contains(named),
            "{args:?} does not name {named}: {}",
            run.stderr()
        );
        assert!(run.stdout().is_empty(), "{args:?} printed: {}", run.stdout());
    }
}
