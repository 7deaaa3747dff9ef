//! Unit tests of the registry's pure parts: hosts.toml, the KEP-1755
//! ConfigMap, labels, the image pin.

use super::*;

#[test]
fn hosts_toml_names_the_registry_container_as_kinds_guide_does() {
    let text = hosts_toml();
    // kind's guide writes exactly this table: [host."http://${reg_name}:5000"]
    assert_eq!(text.trim(), "[host.\"http://kindops-registry:5000\"]", "{text}");
    // It parses back as containerd reads it: one host, no server override.
    let v: toml::Value = toml::from_str(&text).unwrap();
    let hosts = v.get("host").and_then(|h| h.as_table()).unwrap();
    assert_eq!(hosts.keys().collect::<Vec<_>>(), ["http://kindops-registry:5000"]);
    assert!(v.get("server").is_none());
    assert_eq!(
        hosts_toml_path(5001),
        "/etc/containerd/certs.d/localhost:5001/hosts.toml"
    );
}

#[test]
fn a_host_with_capabilities_renders_them() {
    let file = HostsToml {
        server: Some("https://registry-1.docker.io".into()),
        host: BTreeMap::from([(
            "http://kindops-cache-docker:5000".to_string(),
            HostConfig {
                capabilities: Some(vec!["pull".into(), "resolve".into()]),
                skip_verify: None,
            },
        )]),
    };
    let v: toml::Value = toml::from_str(&toml::to_string(&file).unwrap()).unwrap();
    assert_eq!(v["server"].as_str(), Some("https://registry-1.docker.io"));
    assert_eq!(
        v["host"]["http://kindops-cache-docker:5000"]["capabilities"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn the_hosting_configmap_follows_kep_1755() {
    let cm = local_registry_hosting(5002);
    assert_eq!(cm.metadata.name.as_deref(), Some("local-registry-hosting"));
    assert_eq!(cm.metadata.namespace.as_deref(), Some("kube-public"));
    let data = cm.data.unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["localRegistryHosting.v1"]);
    let v: serde_yaml::Value = serde_yaml::from_str(&data["localRegistryHosting.v1"]).unwrap();
    assert_eq!(v["host"].as_str(), Some("localhost:5002"));
    assert_eq!(v["hostFromClusterNetwork"].as_str(), Some("kindops-registry:5000"));
    assert_eq!(v["hostFromContainerRuntime"].as_str(), Some("localhost:5002"));
    assert_eq!(
        v["help"].as_str(),
        Some("https://kind.sigs.k8s.io/docs/user/local-registry/")
    );
}

#[test]
fn only_kindops_labelled_objects_are_ours() {
    use std::collections::HashMap;
    assert!(is_ours(Some(&our_labels())));
    assert!(!is_ours(None));
    assert!(!is_ours(Some(&HashMap::new())));
    let other = HashMap::from([(ROLE_LABEL.to_string(), "cache".to_string())]);
    assert!(!is_ours(Some(&other)));
    let foreign = HashMap::from([("com.docker.compose.project".to_string(), "x".to_string())]);
    assert!(!is_ours(Some(&foreign)));
}

#[test]
fn the_registry_image_is_pinned_once() {
    let pin = crate::upstream::image_pin("registry");
    assert_eq!(pin.image, "docker.io/library/registry:3.1.2");
    assert_eq!(pin.version, "v3.1.2");
    // The lane's recipe (tests/kind/recipes.sh step_registry) reads the same
    // line to build and tag the lane's image.
    let lane = include_str!("../../tests/kind/recipes.sh");
    assert!(
        lane.contains("docker\\.io\\/library\\/registry:"),
        "the lane's recipes read the pin"
    );
}

#[test]
fn listening_sockets_are_found_by_port_in_proc_net_tcp() {
    let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1389 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1389 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
";
    assert_eq!(port::listening_inodes(table, 5001), ["4242"]);
    assert_eq!(port::listening_inodes(table, 8080), ["4444"]);
    assert!(port::listening_inodes(table, 5002).is_empty());
}

#[test]
fn a_taken_port_names_the_process_and_the_flags() {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let p = l.local_addr().unwrap().port();
    let e = port::check(p, None).unwrap_err();
    assert!(e.contains(&format!("127.0.0.1:{p} is in use")), "{e}");
    assert!(e.contains("--registry-port") && e.contains("--no-registry"), "{e}");
    // This test process holds it: named when /proc tells it.
    if std::path::Path::new("/proc/net/tcp").exists() {
        assert!(e.contains(&format!("(pid {})", std::process::id())), "{e}");
    }
    assert_eq!(port::check(p, Some(p)), Ok(()), "our own registry's port is not taken");
}

#[test]
fn the_containerd_patch_sets_config_path_to_certs_d() {
    let v: toml::Value = toml::from_str(CONTAINERD_CONFIG_PATCH).unwrap();
    assert_eq!(
        v["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"].as_str(),
        Some(CERTS_D)
    );
}

#[test]
fn the_pipelines_registry_host_is_the_registry_container() {
    assert_eq!(crate::delivery::pipeline_runs::REGISTRY_HOST, CONTAINER);
    let pipeline = include_str!("../../manifests/gitops/ci/coffee/pipeline.yaml");
    assert!(
        pipeline.contains(&format!("default: {CONTAINER}:{CONTAINER_PORT}")),
        "pipeline.yaml REGISTRY"
    );
}
