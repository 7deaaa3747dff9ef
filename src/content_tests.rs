//! Unit tests of `content.rs`: the embedded tree, the kind config, the
//! Applications' retry policy.

use super::*;
use serde::Deserialize;

#[test]
fn tree_has_the_paths_phases_use() {
    let c = Content::embedded();
    for p in [
        "platform/argo-cd",
        "platform/tekton",
        "bootstrap/phase-2",
        "apps/coffee/cart",
        "ci/coffee",
    ] {
        assert!(c.exists(p), "{p}");
    }
    assert!(!c.exists("platform/nope"));
}

#[test]
fn fill_replaces_repo_url_everywhere() {
    let c = Content::embedded();
    let vars = Vars {
        repo_url: "file:///tmp/x.git".into(),
    };
    let (_, appset) = c
        .files()
        .into_iter()
        .find(|(p, _)| p.ends_with("phase-4/coffee.yaml"))
        .unwrap();
    let out = fill(std::str::from_utf8(appset).unwrap(), &vars);
    assert!(!out.contains("${KINDOPS_REPO_URL}"));
    assert_eq!(out.matches("file:///tmp/x.git").count(), 2);
}

/// A gzipped tar laid out as `helm package` lays out a chart with a
/// vendored dependency: `NAME/Chart.yaml`, `NAME/values.yaml`,
/// `NAME/templates/...`, `NAME/charts/<dep>-<version>.tgz`.
fn packaged_chart(dir: &Path, with_dep_archive: bool) -> PathBuf {
    fn add(b: &mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    }
    let out = dir.join("external-secrets-2.9.0.tgz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&out).unwrap(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    // Chart.yaml as in external-secrets' deploy/charts/external-secrets (tag helm-chart-2.9.0).
    add(
        &mut b,
        "external-secrets/Chart.yaml",
        b"apiVersion: v2\nname: external-secrets\nversion: \"2.9.0\"\nappVersion: \"v2.9.0\"\ndependencies:\n  - name: bitwarden-sdk-server\n    version: v0.6.0\n    repository: oci://ghcr.io/external-secrets/charts\n    condition: bitwarden-sdk-server.enabled\n",
    );
    add(
        &mut b,
        "external-secrets/values.yaml",
        b"bitwarden-sdk-server:\n  enabled: false\n",
    );
    add(
        &mut b,
        "external-secrets/templates/deployment.yaml",
        b"kind: Deployment\n",
    );
    if with_dep_archive {
        add(
            &mut b,
            "external-secrets/charts/bitwarden-sdk-server-v0.6.0.tgz",
            b"\x1f\x8b not read here",
        );
    }
    b.into_inner().unwrap().finish().unwrap();
    out
}

#[test]
fn packaged_chart_keeps_its_vendored_dependency_and_condition() {
    let dir = tempfile::tempdir().unwrap();
    let archive = packaged_chart(dir.path(), true);
    let into = dir.path().join("repo/charts/external-secrets");
    unpack_chart(&archive, &into).unwrap();
    assert!(into.join("charts/bitwarden-sdk-server-v0.6.0.tgz").is_file());
    assert!(into.join("templates/deployment.yaml").is_file());
    let chart = std::fs::read_to_string(into.join("Chart.yaml")).unwrap();
    assert!(
        chart.contains("condition: bitwarden-sdk-server.enabled") && chart.contains("name: bitwarden-sdk-server"),
        "the dependency and its condition must stay, so helm keeps it off: {chart}"
    );
}

#[test]
fn chart_source_without_its_dependency_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let archive = packaged_chart(dir.path(), false);
    let err = unpack_chart(&archive, &dir.path().join("out")).unwrap_err().to_string();
    assert!(
        err.contains("bitwarden-sdk-server") && err.contains("external-secrets-2.9.0.tgz") && err.contains("packaged"),
        "{err}"
    );
}

#[test]
fn shipped_chart_pin_is_the_packaged_chart_from_its_release() {
    let pin = crate::upstream::pins()
        .into_iter()
        .find(|p| p.unpack.is_some())
        .expect("a chart pin");
    assert!(pin.file.ends_with(".tgz"), "{pin:?}");
    assert_eq!(
        pin.url,
        "https://github.com/external-secrets/external-secrets/releases/download/helm-chart-2.9.0/external-secrets-2.9.0.tgz"
    );
    assert!(pin.sha256.is_some(), "the chart index publishes a digest");
}

#[test]
fn kind_config_sets_the_node_image_and_the_cgroup_v1_patch_only_when_asked() {
    let v = kind_versions();
    assert_eq!(v.kind, "v0.32.0");
    assert!(
        v.node_image.starts_with("kindest/node:v1.36.") && v.node_image.contains("@sha256:"),
        "{v:?}"
    );
    let git = Path::new("/home/me/.local/share/kindops/kindops/git");
    let opts = KindOptions {
        cluster: "kindops",
        git_dir: git,
        ui_port: 8443,
        workers: 0,
        node_image: &v.node_image,
        cgroup_v1: false,
    };
    let cfg: serde_yaml::Value = serde_yaml::from_str(&kind_config(&opts).unwrap()).unwrap();
    let node = &cfg["nodes"][0];
    assert_eq!(node["image"].as_str(), Some(v.node_image.as_str()));
    assert_eq!(node["extraMounts"][0]["hostPath"].as_str(), Some(git.to_str().unwrap()));
    assert_eq!(node["extraPortMappings"][0]["hostPort"].as_u64(), Some(8443));
    let kubelet: serde_yaml::Value = serde_yaml::from_str(cfg["kubeadmConfigPatches"][0].as_str().unwrap()).unwrap();
    assert_eq!(kubelet["kind"].as_str(), Some("KubeletConfiguration"));
    assert_eq!(kubelet["serializeImagePulls"].as_bool(), Some(false));
    assert_eq!(kubelet["maxParallelImagePulls"].as_u64(), Some(4));
    assert!(kubelet.get("failCgroupV1").is_none());
    assert_eq!(cfg["kubeadmConfigPatches"].as_sequence().unwrap().len(), 1);
    assert_eq!(
        cfg["containerdConfigPatches"][0].as_str(),
        Some(crate::registry::CONTAINERD_CONFIG_PATCH),
        "containerd reads the local registry's hosts.toml"
    );
    let v1 = KindOptions {
        node_image: "kindops.local/node:v1.36.3",
        cgroup_v1: true,
        ..opts
    };
    let cfg: serde_yaml::Value = serde_yaml::from_str(&kind_config(&v1).unwrap()).unwrap();
    assert_eq!(cfg["nodes"][0]["image"].as_str(), Some("kindops.local/node:v1.36.3"));
    let patch: serde_yaml::Value = serde_yaml::from_str(cfg["kubeadmConfigPatches"][0].as_str().unwrap()).unwrap();
    assert_eq!(patch["kind"].as_str(), Some("KubeletConfiguration"));
    assert_eq!(patch["failCgroupV1"].as_bool(), Some(false));
    assert_eq!(patch["serializeImagePulls"].as_bool(), Some(false));
    assert_eq!(cfg["nodes"].as_sequence().unwrap().len(), 1, "no workers unless asked");
}

#[test]
fn kind_config_adds_workers_with_the_node_image_and_the_git_mount() {
    let git = Path::new("/home/me/git");
    let opts = KindOptions {
        cluster: "kindops",
        git_dir: git,
        ui_port: 8080,
        workers: 2,
        node_image: "kindest/node:v1.36.1",
        cgroup_v1: false,
    };
    let cfg: serde_yaml::Value = serde_yaml::from_str(&kind_config(&opts).unwrap()).unwrap();
    let nodes = cfg["nodes"].as_sequence().unwrap();
    let roles: Vec<&str> = nodes.iter().map(|n| n["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["control-plane", "worker", "worker"]);
    for w in &nodes[1..] {
        assert_eq!(w["image"].as_str(), Some("kindest/node:v1.36.1"));
        assert_eq!(w["extraMounts"][0]["hostPath"].as_str(), Some("/home/me/git"));
        assert_eq!(
            w["extraMounts"][0]["containerPath"].as_str(),
            Some(crate::gitsource::IN_CLUSTER_GIT_DIR)
        );
        assert!(w.get("extraPortMappings").is_none(), "the UI port is mapped once");
    }
}

/// Argo CD never auto-syncs a revision again once its sync failed, so
/// every Application kindops makes (and the ApplicationSet's template)
/// must retry within the operation (issue: one transient first-sync error
/// wedged the run until its deadline, and every re-run).
#[test]
fn every_application_and_the_applicationset_template_retry_a_failed_sync() {
    let mut seen = 0;
    for (path, bytes) in Content::embedded().files() {
        if !path.starts_with("bootstrap") {
            continue;
        }
        for doc in serde_yaml::Deserializer::from_slice(bytes) {
            let v = serde_yaml::Value::deserialize(doc).unwrap();
            let policy = match v["kind"].as_str() {
                Some("Application") => &v["spec"]["syncPolicy"],
                Some("ApplicationSet") => &v["spec"]["template"]["spec"]["syncPolicy"],
                _ => continue,
            };
            seen += 1;
            let retry = &policy["retry"];
            assert!(
                retry["limit"].as_i64().is_some_and(|l| l >= 3) && retry["backoff"]["duration"].is_string(),
                "{}: {} has no syncPolicy.retry",
                path.display(),
                v["metadata"]["name"].as_str().unwrap_or("?")
            );
        }
    }
    assert_eq!(seen, 7, "Applications and ApplicationSets under bootstrap/");
}

/// Two Applications that create the same namespace and sync at once race
/// under client-side apply (GET, then CREATE: `namespaces "coffee"
/// already exists`), which fails the sync of one until its retry, 10 s
/// later (measured on the test bed; see bootstrap/phase-4/coffee.yaml).
/// Server-side apply creates or updates in one request.
#[test]
fn applications_that_create_a_shared_namespace_apply_server_side() {
    // Destination namespace -> (Applications creating it, all of them server-side).
    let mut creators: std::collections::BTreeMap<String, (usize, bool)> = Default::default();
    for (path, bytes) in Content::embedded().files() {
        if !path.starts_with("bootstrap") {
            continue;
        }
        for doc in serde_yaml::Deserializer::from_slice(bytes) {
            let v = serde_yaml::Value::deserialize(doc).unwrap();
            // An ApplicationSet's template makes one Application per
            // generated element, all with the same destination here.
            let (spec, many) = match v["kind"].as_str() {
                Some("Application") => (&v["spec"], 1),
                Some("ApplicationSet") => (&v["spec"]["template"]["spec"], 2),
                _ => continue,
            };
            let opts: Vec<&str> = spec["syncPolicy"]["syncOptions"]
                .as_sequence()
                .map(|s| s.iter().filter_map(|o| o.as_str()).collect())
                .unwrap_or_default();
            if !opts.contains(&"CreateNamespace=true") {
                continue;
            }
            let ns = spec["destination"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let e = creators.entry(ns).or_insert((0, true));
            e.0 += many;
            e.1 &= opts.contains(&"ServerSideApply=true");
        }
    }
    assert!(creators.get("coffee").is_some_and(|c| c.0 >= 2), "{creators:?}");
    for (ns, (n, ssa)) in &creators {
        assert!(
            *n < 2 || *ssa,
            "namespace {ns} is created by {n} Applications, not all server-side"
        );
    }
}

/// Phase 1 applies the CRDs that phase 3's add-ons bring, before Argo CD
/// watches the cluster (see platform/external-secrets/crds/): the same
/// files Argo CD is handed in phase 3.
#[test]
fn phase_1_applies_the_crds_the_add_ons_bring() {
    let c = Content::embedded();
    let plan = crate::plan::Plan::load(&crate::plan::PhaseSource::Embedded, &c).unwrap();
    let applied: Vec<&str> = plan.phases[1]
        .steps
        .iter()
        .filter_map(|s| match s {
            crate::plan::Step::Apply { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    let file = |p: &str| -> serde_yaml::Value {
        let (_, bytes) = c.files().into_iter().find(|(f, _)| f == Path::new(p)).unwrap();
        serde_yaml::from_slice(bytes).unwrap()
    };
    let resources = |p: &str| -> Vec<String> {
        file(p)["resources"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    for addon in ["external-secrets", "argo-rollouts"] {
        let crds = format!("platform/{addon}/crds");
        assert!(
            applied.contains(&crds.as_str()),
            "phase 1 does not apply {crds}: {applied:?}"
        );
        let upstream = resources(&format!("{crds}/kustomization.yaml"));
        assert_eq!(upstream.len(), 1, "{crds}: one upstream file");
        let whole = resources(&format!("platform/{addon}/kustomization.yaml"));
        let file_name = upstream[0].rsplit('/').next().unwrap();
        assert!(
            whole.iter().any(|r| r == "crds" || r.ends_with(file_name)),
            "platform/{addon} does not hand Argo CD the CRDs of {crds}: {whole:?}"
        );
        // Argo CD leaves them alone when they match git: re-applying
        // only adds its field manager, a CRD event each.
        let app = file(&format!("bootstrap/phase-3/{addon}.yaml"));
        let opts = app["spec"]["syncPolicy"]["syncOptions"].as_sequence().unwrap();
        assert!(
            opts.iter().any(|o| o.as_str() == Some("ApplyOutOfSyncOnly=true")),
            "bootstrap/phase-3/{addon}.yaml re-applies the CRDs phase 1 applied"
        );
    }
}
