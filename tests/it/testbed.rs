//! Integration tests of the test bed itself: a real control plane (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler) with KWOK nodes,
//! in a network namespace with only loopback up.
//!
//! Run inside the test bed: `just test`, or
//! `tests/testbed/testbed.sh up && tests/testbed/testbed.sh exec -- cargo test --test it -- testbed::`.
//!
//! Tests that need isolation (Argo CD's install manifest, killing the API
//! server, tearing down) start a private test bed of their own, one at a time.

use crate::support;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::bed::{show, Bed};
use support::{kubectl, kubectl_ok, unique_name, wait_for, TestNamespace};

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("bad JSON from kubectl ({e}): {out}"))
}

fn apply_stdin(kubeconfig: &std::path::Path, ns: &str, yaml: &str) {
    use std::io::Write;
    let mut child = support::kubectl::Kubectl::new()
        .kubeconfig(kubeconfig)
        .command(&["-n", ns, "apply", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    child.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn deployment_yaml(name: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: registry.k8s.io/pause:3.10
        ports:
        - containerPort: 8080
"#
    )
}

/// Pods of `app=NAME` in `ns` as JSON items.
fn pods(ns: &str, app: &str) -> Vec<Value> {
    let out = kubectl_ok(&["-n", ns, "get", "pods", "-l", &format!("app={app}"), "-o", "json"]);
    json(&out)["items"].as_array().cloned().unwrap_or_default()
}

fn pod_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["status"]["conditions"]
            .as_array()
            .map(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            .unwrap_or(false)
}

#[test]
fn deployment_becomes_available_and_its_pods_go_away_on_delete() {
    let ns = TestNamespace::new("tb-deploy");
    let name = "web";
    apply_stdin(&Bed::shared().kubeconfig, &ns.name, &deployment_yaml(name, 3));
    kubectl_ok(&[
        "-n",
        &ns.name,
        "wait",
        "--for=condition=Available",
        &format!("deployment/{name}"),
        "--timeout=120s",
    ]);

    // A ReplicaSet owned by the Deployment was created.
    let rs = json(&kubectl_ok(&[
        "-n",
        &ns.name,
        "get",
        "replicasets",
        "-l",
        &format!("app={name}"),
        "-o",
        "json",
    ]));
    let rs = rs["items"].as_array().unwrap();
    assert_eq!(rs.len(), 1, "expected one ReplicaSet: {rs:?}");
    assert_eq!(rs[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment");
    assert_eq!(rs[0]["status"]["readyReplicas"], 3);

    // Its pods were scheduled onto KWOK nodes and are Running/Ready.
    let ps = wait_for("3 Running/Ready pods", Duration::from_secs(60), || {
        let ps = pods(&ns.name, name);
        (ps.len() == 3 && ps.iter().all(pod_ready)).then_some(ps)
    });
    for p in &ps {
        let node = p["spec"]["nodeName"].as_str().expect("pod not scheduled");
        let n = json(&kubectl_ok(&["get", "node", node, "-o", "json"]));
        assert_eq!(
            n["metadata"]["annotations"]["kwok.x-k8s.io/node"], "fake",
            "node {node} is not a KWOK node"
        );
        assert!(p["status"]["podIP"].is_string(), "pod has no IP: {p}");
    }

    // Deleting the Deployment removes its ReplicaSet and pods; none stays Terminating.
    kubectl_ok(&[
        "-n",
        &ns.name,
        "delete",
        "deployment",
        name,
        "--wait=true",
        "--timeout=60s",
    ]);
    wait_for(
        "pods of the deleted Deployment to be gone",
        Duration::from_secs(60),
        || pods(&ns.name, name).is_empty().then_some(()),
    );
    let rs = json(&kubectl_ok(&["-n", &ns.name, "get", "replicasets", "-o", "json"]));
    assert!(
        rs["items"].as_array().unwrap().is_empty(),
        "ReplicaSet left behind: {rs}"
    );
}

/// Interfaces visible to this process: inside the test bed only `lo`.
fn interfaces() -> Vec<String> {
    std::fs::read_to_string("/proc/self/net/dev")
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|s| s.trim().to_string()))
        .collect()
}

fn assert_unreachable_at_once(addr: SocketAddr) {
    let start = Instant::now();
    let res = TcpStream::connect_timeout(&addr, Duration::from_secs(3));
    let took = start.elapsed();
    let err = match res {
        Ok(_) => panic!("connected to {addr}: the test bed's network is not isolated"),
        Err(e) => e,
    };
    assert!(
        matches!(err.kind(), ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable),
        "connect to {addr} failed, but not as unreachable: {err:?} (kind {:?})",
        err.kind()
    );
    assert!(
        took < Duration::from_millis(500),
        "connect to {addr} took {took:?}; it must fail at once"
    );
}

fn apiserver_addr() -> SocketAddr {
    let kc = std::fs::read_to_string(&Bed::shared().kubeconfig).unwrap();
    let server = kc
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .expect("no server in kubeconfig");
    server
        .parse()
        .unwrap_or_else(|e| panic!("server {server} is not IP:port: {e}"))
}

#[test]
fn network_is_loopback_only_and_fake_addresses_are_unreachable() {
    // This test process itself runs in the test bed's namespace: only lo.
    assert_eq!(
        interfaces(),
        vec!["lo".to_string()],
        "tests must run inside the test bed's network namespace"
    );

    // The API server answers on loopback.
    let api = apiserver_addr();
    assert!(api.ip().is_loopback(), "API server {api} is not on loopback");
    TcpStream::connect_timeout(&api, Duration::from_secs(3)).expect("API server not reachable on loopback");
    assert_eq!(kubectl_ok(&["get", "--raw", "/readyz"]).trim(), "ok");

    // The `kubernetes` Service's ClusterIP is unreachable at once.
    let cluster_ip = kubectl_ok(&[
        "-n",
        "default",
        "get",
        "service",
        "kubernetes",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    let cluster_ip: std::net::IpAddr = cluster_ip.trim().parse().unwrap();
    assert!(!cluster_ip.is_loopback());
    assert_unreachable_at_once(SocketAddr::new(cluster_ip, 443));

    // So is a pod IP that KWOK gave a Running pod.
    let ns = TestNamespace::new("tb-net");
    apply_stdin(&Bed::shared().kubeconfig, &ns.name, &deployment_yaml("target", 1));
    let ip = wait_for("a pod IP", Duration::from_secs(90), || {
        pods(&ns.name, "target")
            .iter()
            .find(|p| pod_ready(p))
            .and_then(|p| p["status"]["podIP"].as_str().map(str::to_string))
    });
    let ip: std::net::IpAddr = ip.parse().unwrap();
    assert!(!ip.is_loopback(), "pod IP {ip} is loopback");
    assert_unreachable_at_once(SocketAddr::new(ip, 8080));
}

#[tokio::test]
async fn rust_kube_client_with_rustls_accepts_the_kubeconfig() {
    use k8s_openapi::api::core::v1::Node;
    let kc = kube::config::Kubeconfig::read_from(&Bed::shared().kubeconfig).expect("read kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("kubeconfig -> config");
    let client = kube::Client::try_from(cfg).expect("client (rustls, client certificate)");
    let version = client.apiserver_version().await.expect("GET /version");
    assert!(version.git_version.starts_with("v1."), "unexpected version {version:?}");
    assert_ne!(version.git_version, "v0.0.0", "version not stamped");
    let nodes = kube::Api::<Node>::all(client)
        .list(&Default::default())
        .await
        .expect("list nodes");
    assert!(!nodes.items.is_empty(), "no nodes");
}

// ------------------------------------------------------------------ private test beds

/// Private test beds are started one at a time to bound RAM and CPU.
static PRIVATE: Mutex<()> = Mutex::new(());

/// The pids of a bed's processes, by name (`<dir>/pids/<name>.pid`).
fn pid_files(bed: &Bed) -> Vec<(String, i32)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(bed.dir.join("pids")).expect("pids dir") {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        let pid = std::fs::read_to_string(&p).unwrap().trim().parse().unwrap();
        v.push((name, pid));
    }
    v.sort();
    v
}

fn alive(pid: i32) -> bool {
    // A zombie still has /proc/PID; only count processes that can still run.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

fn netns_list() -> String {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn argocd_install_manifest_is_accepted_and_becomes_available() {
    let _serial = PRIVATE.lock().unwrap_or_else(|e| e.into_inner());
    let manifest = support::shared_dir().join("upstream/argo-cd/install-v3.5.1.yaml");
    assert!(manifest.is_file(), "missing test data {}", manifest.display());
    let mut tb = Bed::private("argocd", false);

    tb.kubectl_ok(&["create", "namespace", "argocd"]);
    let m = manifest.to_str().unwrap();
    tb.kubectl_ok(&["-n", "argocd", "apply", "--server-side", "--force-conflicts", "-f", m]);
    // Server-side apply converges: applying again is accepted and changes nothing.
    tb.kubectl_ok(&["-n", "argocd", "apply", "--server-side", "--force-conflicts", "-f", m]);

    tb.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/applications.argoproj.io",
        "crd/applicationsets.argoproj.io",
        "crd/appprojects.argoproj.io",
    ]);
    let deploys = json(&tb.kubectl_ok(&["-n", "argocd", "get", "deployments", "-o", "json"]));
    assert_eq!(
        deploys["items"].as_array().unwrap().len(),
        6,
        "Argo CD has 6 Deployments"
    );
    tb.kubectl_ok(&[
        "-n",
        "argocd",
        "wait",
        "--for=condition=Available",
        "deployment",
        "--all",
        "--timeout=180s",
    ]);
    tb.kubectl_ok(&[
        "-n",
        "argocd",
        "rollout",
        "status",
        "statefulset/argocd-application-controller",
        "--timeout=180s",
    ]);
    let sts = json(&tb.kubectl_ok(&[
        "-n",
        "argocd",
        "get",
        "statefulset",
        "argocd-application-controller",
        "-o",
        "json",
    ]));
    assert_eq!(
        sts["status"]["readyReplicas"], sts["spec"]["replicas"],
        "StatefulSet not ready: {}",
        sts["status"]
    );
    assert_eq!(
        sts["status"]["availableReplicas"], sts["spec"]["replicas"],
        "StatefulSet not available: {}",
        sts["status"]
    );

    // The CRDs serve: an AppProject can be created and read back.
    tb.kubectl_ok(&["-n", "argocd", "get", "appprojects.argoproj.io"]);

    let out = tb.down();
    assert!(out.status.success(), "down failed: {}", show(&out));
}

#[test]
fn apiserver_restart_keeps_etcd_data() {
    let _serial = PRIVATE.lock().unwrap_or_else(|e| e.into_inner());
    let mut tb = Bed::private("restart", false);
    let ns = unique_name("restart");
    tb.kubectl_ok(&["create", "namespace", &ns]);
    tb.kubectl_ok(&["-n", &ns, "create", "configmap", "kept", "--from-literal=answer=42"]);
    let uid_before = tb.kubectl_ok(&["-n", &ns, "get", "configmap", "kept", "-o", "jsonpath={.metadata.uid}"]);

    // Kill kube-apiserver hard, by its pid file.
    let pid_file = tb.dir.join("pids/kube-apiserver.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let st = Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    assert!(st.success());
    wait_for("kube-apiserver to die", Duration::from_secs(10), || {
        (!alive(pid)).then_some(())
    });
    let out = tb.kubectl(&["get", "--raw", "/readyz", "--request-timeout=3s"]);
    assert!(!out.status.success(), "API server still answers after SIGKILL");

    let out = tb.script(&["start-apiserver"]);
    assert!(out.status.success(), "start-apiserver failed: {}", show(&out));
    let new_pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert_ne!(new_pid, pid);
    assert!(alive(new_pid));

    let data = tb.kubectl_ok(&["-n", &ns, "get", "configmap", "kept", "-o", "jsonpath={.data.answer}"]);
    assert_eq!(data, "42");
    let uid_after = tb.kubectl_ok(&["-n", &ns, "get", "configmap", "kept", "-o", "jsonpath={.metadata.uid}"]);
    assert_eq!(uid_before, uid_after, "the ConfigMap was recreated, not kept");
    // And the restarted server still serves writes.
    tb.kubectl_ok(&["-n", &ns, "create", "configmap", "after-restart"]);

    let out = tb.down();
    assert!(out.status.success(), "down failed: {}", show(&out));
}

#[test]
fn down_leaves_no_process_namespace_or_work_dir() {
    let _serial = PRIVATE.lock().unwrap_or_else(|e| e.into_inner());
    let mut tb = Bed::private("down", false);
    let pids = pid_files(&tb);
    let names: Vec<&str> = pids.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    ] {
        assert!(names.contains(&want), "no pid file for {want}: {names:?}");
    }
    assert!(pids.iter().all(|(_, p)| alive(*p)), "not all alive after up: {pids:?}");
    assert!(netns_list()
        .lines()
        .any(|l| l.split_whitespace().next() == Some(&tb.name)));

    // A second `up` with the same name reuses the running one.
    let again = tb.script(&["up"]);
    assert!(again.status.success(), "second up failed: {}", show(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already up"),
        "{}",
        show(&again)
    );
    assert_eq!(pid_files(&tb), pids, "second up started new processes");

    let out = tb.down();
    assert!(out.status.success(), "down failed: {}", show(&out));
    let left: Vec<_> = pids.iter().filter(|(_, p)| alive(*p)).collect();
    assert!(left.is_empty(), "processes left after down: {left:?}");
    assert!(
        !netns_list()
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&tb.name)),
        "namespace {} left after down:\n{}",
        tb.name,
        netns_list()
    );
    assert!(!tb.dir.exists(), "work dir {} left after down", tb.dir.display());

    // down is idempotent.
    let out = tb.script(&["down"]);
    assert!(out.status.success(), "second down failed: {}", show(&out));
}

#[test]
fn shared_testbed_status_reports_up() {
    let tb = Bed::shared();
    let out = tb.script(&["status"]);
    assert!(out.status.success(), "status: {}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("up:"));
    assert!(kubectl(&["get", "nodes"]).status.success());
}
