//! `kindops` end to end on bad input: malformed phase files, unknown phases,
//! bad flag values, an unreachable or unknown context, a missing binary;
//! each named, with the documented exit code (2 for bad input, before
//! anything runs). The plan, read offline.

use crate::support;

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
        (&["up", "--addons", "metric-server"], "'metrics-server'"),
        (
            &["up", "--addons", "metrics-server"],
            "cannot be left out when phase 4 runs",
        ),
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

/// What `kindops config -o json` says: the file it read, and key → (value, origin).
type Effective = (
    serde_json::Value,
    std::collections::BTreeMap<String, (serde_json::Value, String)>,
);

/// `kindops config -o json` run in `dir`.
fn effective(k: Kindops, dir: &Path) -> Effective {
    effective_with(k, dir, &[])
}

/// As [`effective`], with `flags` after `config`.
fn effective_with(k: Kindops, dir: &Path, flags: &[&str]) -> Effective {
    let run = k.args(["config", "-o", "json"]).args(flags).current_dir(dir).run();
    let v: serde_json::Value = serde_json::from_str(&run.assert_code(0).stdout()).unwrap();
    let settings = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let origin = match &s["origin"] {
                serde_json::Value::String(o) => o.clone(),
                o => {
                    let (k, v) = o.as_object().unwrap().iter().next().unwrap();
                    format!("{k} {}", v.as_str().unwrap())
                }
            };
            (s["key"].as_str().unwrap().to_string(), (s["value"].clone(), origin))
        })
        .collect();
    (v["file"].clone(), settings)
}

/// kindops.yaml (issue 25): kindops's default < the file < the environment <
/// the flag, as `kindops config` reports it; the file's values reach the
/// commands (its `phases` folder is the one `plan` reads); where the file
/// is looked for (`--config`, `./kindops.yaml`, `$XDG_CONFIG_HOME`).
#[test]
fn config_file_sits_between_defaults_and_env_and_flags() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mirror")).unwrap();
    std::fs::write(
        dir.path().join("kindops.yaml"),
        "# the workshop's settings\ncluster: workshop\nuiPort: 9090\nmirror: mirror\ntimeout: 90s\nregistry: false\n",
    )
    .unwrap();
    let (file, s) = effective(Kindops::new().home(home.path()), dir.path());
    assert_eq!(file, "kindops.yaml");
    assert_eq!(s["cluster"], ("workshop".into(), "file kindops.yaml:2".into()));
    assert_eq!(s["uiPort"], (9090.into(), "file kindops.yaml:3".into()));
    assert_eq!(s["timeout"], ("1m 30s".into(), "file kindops.yaml:5".into()));
    assert_eq!(s["registry"], (false.into(), "file kindops.yaml:6".into()));
    assert!(s["mirror"].0.as_str().unwrap().ends_with("mirror"), "{s:?}");
    assert_eq!(s["registryPort"], (5001.into(), "default".into()));
    assert_eq!(s["offline"], (false.into(), "default".into()));

    // The environment wins over the file, the flag over both.
    let (_, s) = effective(
        Kindops::new()
            .home(home.path())
            .env("KINDOPS_CLUSTER", "from-env")
            .env("KINDOPS_OFFLINE", "1"),
        dir.path(),
    );
    assert_eq!(s["cluster"], ("from-env".into(), "env KINDOPS_CLUSTER".into()));
    assert_eq!(s["offline"], (true.into(), "env KINDOPS_OFFLINE".into()));
    assert_eq!(s["uiPort"], (9090.into(), "file kindops.yaml:3".into()));
    let (_, s) = effective_with(
        Kindops::new().home(home.path()).env("KINDOPS_CLUSTER", "from-env"),
        dir.path(),
        &["--cluster", "from-flag", "--ui-port", "9999", "--registry-port", "5002"],
    );
    assert_eq!(s["cluster"], ("from-flag".into(), "flag --cluster".into()));
    assert_eq!(s["uiPort"], (9999.into(), "flag --ui-port".into()));
    // --registry-port asks for the registry the file turned off.
    assert_eq!(s["registry"], (true.into(), "file kindops.yaml:6".into()));

    // The file's phases folder is the one `plan` reads.
    let p = phases_copy(dir.path());
    std::fs::write(p.join("phase-1.yaml"), "phase: 1\nsteps: [\n").unwrap();
    std::fs::write(dir.path().join("kindops.yaml"), "phases: phases\n").unwrap();
    let run = Kindops::new()
        .home(home.path())
        .arg("plan")
        .current_dir(dir.path())
        .run();
    assert!(run.assert_code(2).stderr().contains("phase-1.yaml:"), "{run}");

    // The user's file ($XDG_CONFIG_HOME/kindops/kindops.yaml) when the folder
    // has none; ./kindops.yaml before it; --config before both.
    let user = home.path().join("config/kindops");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(user.join("kindops.yaml"), "cluster: mine\n").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let (file, s) = effective(Kindops::new().home(home.path()), empty.path());
    assert_eq!(file, user.join("kindops.yaml").display().to_string());
    assert_eq!(s["cluster"].0, "mine");
    std::fs::write(dir.path().join("kindops.yaml"), "cluster: here\n").unwrap();
    assert_eq!(
        effective(Kindops::new().home(home.path()), dir.path()).1["cluster"].0,
        "here"
    );
    let other = empty.path().join("other.yaml");
    std::fs::write(&other, "cluster: chosen\n").unwrap();
    let (file, s) = effective(Kindops::new().home(home.path()).arg("--config").arg(&other), dir.path());
    assert_eq!(
        (file.as_str().unwrap(), s["cluster"].0.as_str().unwrap()),
        (other.to_str().unwrap(), "chosen")
    );
}

/// A bad kindops.yaml is bad input (exit 2) for every command that reads
/// it, named `kindops.yaml:LINE[:COLUMN]`, before anything runs.
#[test]
fn bad_config_values_exit_2_naming_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "cluster: a\nuiPort: 99999\n",
            "kindops.yaml:2:9: uiPort: invalid value: integer `99999`",
        ),
        (
            "uiport: 9090\n",
            "kindops.yaml:1:1: unknown key `uiport` (did you mean `uiPort`?)",
        ),
        ("timeout: soon\n", "kindops.yaml:1:"),
        ("workers: 12\n", "kindops.yaml:1:"),
        ("onConflict: mine\n", "kindops.yaml:1:"),
        (
            "\n\ncluster: Bad_Name\n",
            "kindops.yaml:3: cluster: kind cluster names are lowercase",
        ),
        ("mirror: nowhere\n", "kindops.yaml:1: mirror: no such directory"),
        ("nodeImage: '::'\n", "kindops.yaml:1: nodeImage: not an image reference"),
        (
            "\naddons: [metric-server]\n",
            "kindops.yaml:2: addons: `metric-server` is not an add-on",
        ),
        ("phases: [1\n", "kindops.yaml:"),
    ];
    for (text, said) in cases {
        std::fs::write(dir.path().join("kindops.yaml"), text).unwrap();
        for args in [&["up", "--no-tui"][..], &["status"], &["config"]] {
            let run = Kindops::new()
                .home(home.path())
                .args(args)
                .current_dir(dir.path())
                .run();
            assert_eq!(run.code(), Some(2), "{text:?} {args:?}: {run}");
            assert!(
                run.stderr().starts_with(&format!("kindops: {said}")),
                "{text:?} {args:?}: {}",
                run.stderr()
            );
            assert!(run.stdout().is_empty(), "{run}");
        }
    }
    let run = Kindops::new()
        .home(home.path())
        .args(["--config", "/nonexistent/k.yaml", "plan"])
        .run();
    assert!(run.assert_code(2).stderr().contains("/nonexistent/k.yaml"), "{run}");
    // `version` and `completion` do not read it.
    Kindops::new()
        .home(home.path())
        .arg("version")
        .current_dir(dir.path())
        .run()
        .assert_code(0);
}
