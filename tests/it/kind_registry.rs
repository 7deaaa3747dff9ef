//! The local registry of phase 0 on a real kind cluster (the real-kind
//! lane, `tests/kind/lane.sh`; issue 21): kind's "Local Registry" recipe
//! done by `kindops up`, a `docker push localhost:5001/…` from the host and
//! a pod pulling that name, a re-run, a killed registry healed, `down`
//! keeping the volume and `down --purge` removing it, a foreign container of
//! the same name left alone, a taken port refused with exit 2; and the
//! pull-through caches: a second cluster after `down` pulls from them what
//! the first pulled, with the upstream registry gone.
//!
//! `#[ignore]`d in `cargo test`; `just test-kind` runs it inside the lane's
//! namespace (`DOCKER_HOST` set, `KINDOPS_KIND_NODE_IMAGE` naming the node
//! image). The registry container and volume names are kindops's fixed ones
//! (`kindops-registry`, `kindops-registry-data`): the test needs the lane to
//! itself (hold `/tmp/kindops-lane-use.lock`), and it ends with `down
//! --purge`, which empties the registry.

use crate::support;

use std::process::Output;
use std::time::{Duration, Instant};
use support::bed::{mirror, show, stdout};
use support::lane::*;

const REGISTRY: &str = "kindops-registry";
const VOLUME: &str = "kindops-registry-data";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `docker ARGS` that may fail.
fn docker_try(args: &[&str]) -> Output {
    std::process::Command::new("docker").args(args).output().unwrap()
}

/// A pod running `image` once (`echo MARKER`), waited until Succeeded; its
/// log and the events' messages.
fn run_pod(l: &Learner, cluster: &str, pod: &str, image: &str, policy: &str, marker: &str) -> (String, String) {
    let out = l.kubectl(
        cluster,
        &[
            "run",
            pod,
            "--restart=Never",
            &format!("--image-pull-policy={policy}"),
            "--image",
            image,
            "--command",
            "--",
            "/bin/sh",
            "-c",
            &format!("echo {marker}"),
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    let waited = l.kubectl(
        cluster,
        &[
            "wait",
            "--for=jsonpath={.status.phase}=Succeeded",
            &format!("pod/{pod}"),
            "--timeout=120s",
        ],
    );
    let events = l.kubectl(
        cluster,
        &[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={pod}"),
            "-o",
            "custom-columns=REASON:.reason,MESSAGE:.message",
        ],
    );
    assert!(waited.status.success(), "{}\n{}", show(&waited), show(&events));
    let log = l.kubectl(cluster, &["logs", pod]);
    (stdout(&log), stdout(&events))
}

#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn phase_0_runs_a_local_registry_pods_pull_what_the_host_pushed_and_down_keeps_its_volume() {
    let l = Learner::new();
    let name = "ko-reg";
    let m = mirror();
    // A registry an earlier lane test left (kindops's: its label) goes;
    // anything else of that name is not this test's to remove.
    if containers().iter().any(|c| c == REGISTRY) {
        let labels = stdout(&docker(&["inspect", "-f", "{{json .Config.Labels}}", REGISTRY]));
        assert!(
            labels.contains("\"io.kindops.role\":\"registry\""),
            "a container {REGISTRY} kindops did not make is there: this test needs the lane to itself"
        );
        docker(&["rm", "-f", REGISTRY]);
    }
    // So is its volume (what earlier tests pushed, CI's build base among
    // them): this test sees the registry's first start, empty.
    if docker_try(&["volume", "inspect", VOLUME]).status.success() {
        let labels = stdout(&docker(&["volume", "inspect", "-f", "{{json .Labels}}", VOLUME]));
        assert!(
            labels.contains("\"io.kindops.role\":\"registry\""),
            "a volume {VOLUME} kindops did not make is there: this test needs the lane to itself"
        );
        docker(&["volume", "rm", VOLUME]);
    }

    // A container of that name kindops did not make is never touched.
    let foreign = docker(&["create", "--name", REGISTRY, "kindops.local/busybox:bookworm", "true"]);
    let foreign_id = stdout(&foreign).trim().to_string();
    let t0 = Instant::now();
    let out = l.phase_0_args(name, "18180", &m, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text.contains(&format!(
            "a container named {REGISTRY} exists but kindops did not make it"
        )) && text.contains("--no-registry"),
        "{text}"
    );
    let still = stdout(&docker(&["inspect", "-f", "{{.Id}} {{.State.Status}}", REGISTRY]));
    assert_eq!(
        still.trim(),
        format!("{foreign_id} created"),
        "the foreign container was touched"
    );
    eprintln!(
        "phase 0 with a foreign registry container: {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    docker(&["rm", REGISTRY]);

    // The registry's port taken by another process: exit 2 before anything
    // runs, naming the port, the process and the flag.
    let held = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let out = l.phase_0_args(name, "18180", &m, &["--registry-port", &port]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        err.contains(&format!("127.0.0.1:{port} is in use"))
            && err.contains(&format!("(pid {})", std::process::id()))
            && err.contains("--registry-port"),
        "{err}"
    );
    assert!(!containers().iter().any(|c| c == REGISTRY), "nothing started");
    drop(held);

    // The default road: the registry on 127.0.0.1:5001, containerd's
    // hosts.toml in the node, the KEP-1755 ConfigMap.
    let t0 = Instant::now();
    let out = l.phase_0_args(name, "18180", &m, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    eprintln!(
        "phase 0 (cluster there, registry created): {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        text.contains(&format!(
            "created container {REGISTRY} (docker.io/library/registry:3.1.2, 127.0.0.1:5001"
        )) && text.contains("/etc/containerd/certs.d/localhost:5001/hosts.toml")
            && text.contains("/etc/containerd/certs.d/docker.io/hosts.toml"),
        "{text}"
    );
    // CI's build base image (ko's), from the lane's engine into the registry.
    assert!(
        text.contains("pushed CI's build base image gcr.io/distroless/static-debian12:nonroot into the local registry as localhost:5001/distroless/static-debian12:nonroot (ko reads it as kindops-registry:5000/distroless/static-debian12:nonroot)"),
        "{text}"
    );
    assert!(support::ci_loop::registry_serves("distroless/static-debian12:nonroot"));
    let labels = stdout(&docker(&["inspect", "-f", "{{json .Config.Labels}}", REGISTRY]));
    assert!(labels.contains("\"io.kindops.role\":\"registry\""), "{labels}");
    let hosting = l.kubectl(
        name,
        &[
            "-n",
            "kube-public",
            "get",
            "configmap",
            "local-registry-hosting",
            "-o",
            "jsonpath={.data.localRegistryHosting\\.v1}",
        ],
    );
    assert!(stdout(&hosting).contains("host: localhost:5001"), "{}", show(&hosting));

    // Pushed on the host, pulled by a pod under the same name: the kubelet
    // pulls it (the node never had it).
    let image = "localhost:5001/kotest/hello:1";
    docker(&["tag", "kindops.local/busybox:bookworm", image]);
    let t0 = Instant::now();
    docker(&["push", image]);
    eprintln!("docker push {image}: {:.1}s", t0.elapsed().as_secs_f64());
    docker(&["rmi", image]);
    let t = Instant::now();
    while !l.kubectl(name, &["get", "serviceaccount", "default"]).status.success() {
        assert!(t.elapsed() < Duration::from_secs(120), "no default ServiceAccount");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (log, events) = run_pod(
        &l,
        name,
        "pulled",
        image,
        "IfNotPresent",
        "pulled-from-kindops-registry",
    );
    assert_eq!(log.trim(), "pulled-from-kindops-registry");
    assert!(
        events.contains(&format!("Successfully pulled image \"{image}\"")),
        "{events}"
    );

    // A re-run finds everything in place.
    let out = l.phase_0_args(name, "18180", &m, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text.contains("ok (unchanged) local registry localhost:5001"), "{text}");

    // Killed: a re-run starts it again, and the pushed image is still
    // served (from the volume): a pod pulls it again (Always).
    docker(&["kill", REGISTRY]);
    let out = l.phase_0_args(name, "18180", &m, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text.contains(&format!("started the stopped container {REGISTRY}")),
        "{text}"
    );
    let (log, events) = run_pod(&l, name, "pulled-again", image, "Always", "still-there");
    assert_eq!(log.trim(), "still-there");
    assert!(events.contains("Successfully pulled image"), "{events}");

    // down: cluster and registry container gone, the volume (the images) kept.
    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains(&format!("removed the registry container {REGISTRY}")),
        "{}",
        show(&out)
    );
    assert!(!containers().iter().any(|c| c == REGISTRY));
    let vol = stdout(&docker(&["volume", "inspect", "-f", "{{json .Labels}}", VOLUME]));
    assert!(vol.contains("\"io.kindops.role\":\"registry\""), "{vol}");

    // down --purge: the volume too.
    let out = l.command(&["down", "--cluster", name, "--purge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains(&format!("removed the registry volume {VOLUME}")),
        "{}",
        show(&out)
    );
    assert!(
        !docker_try(&["volume", "inspect", VOLUME]).status.success(),
        "the volume is still there"
    );
}

/// The stand-in for an upstream registry on the internet (the lane has
/// none): a plain registry container on the kind network, published on the
/// lane's loopback for the test's push.
const UPSTREAM: &str = "kotest-upstream";
const UPSTREAM_PORT: &str = "5098";
const CACHE: &str = "kindops-cache-docker-io";

/// Removes what an earlier run of the caches test left: the stand-in and
/// kindops's cache containers and volumes (only with kindops's label).
fn clear_caches() {
    docker_try(&["rm", "-f", UPSTREAM]);
    for c in containers().into_iter().filter(|c| c.starts_with("kindops-cache-")) {
        let labels = stdout(&docker(&["inspect", "-f", "{{json .Config.Labels}}", &c]));
        assert!(
            labels.contains("\"io.kindops.role\":\"registry\""),
            "{c} is not kindops's: {labels}"
        );
        docker(&["rm", "-f", &c]);
    }
    let volumes = stdout(&docker(&["volume", "ls", "-q", "--filter", "label=io.kindops.cache"]));
    for v in volumes.lines().filter(|v| !v.is_empty()) {
        docker(&["volume", "rm", v]);
    }
}

/// A cache's files for a repository (`docker/registry/v2/repositories/<repo>`
/// in its volume), read with a throwaway container.
fn cached(volume: &str, repo: &str) -> bool {
    docker_try(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/d:ro"),
        "kindops.local/busybox:bookworm",
        "test",
        "-d",
        &format!("/d/docker/registry/v2/repositories/{repo}/_manifests"),
    ])
    .status
    .success()
}

#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn pull_through_caches_serve_a_second_cluster_after_down_with_the_upstream_gone() {
    let l = Learner::new();
    let name = "ko-cache";
    let m = mirror();
    clear_caches();
    let mirror_flag = format!("docker.io=http://{UPSTREAM}:5000");
    // A cluster an earlier run left (its home is gone) goes first.
    let _ = l.command(&["down", "--cluster", name, "--force"]).output();

    // Phase 0 makes a cache per upstream; docker.io's proxies the stand-in.
    let out = l.phase_0_args(name, "18181", &m, &["--upstream-mirror", &mirror_flag]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text.contains(&format!("cache of docker.io: created container {CACHE}"))
            && text.contains("7 pull-through caches (kindops-cache-*)"),
        "{text}"
    );
    let env = stdout(&docker(&["inspect", "-f", "{{json .Config.Env}}", CACHE]));
    assert!(
        env.contains(&format!("REGISTRY_PROXY_REMOTEURL=http://{UPSTREAM}:5000")),
        "{env}"
    );
    let node = format!("{name}-control-plane");
    let hosts = stdout(&docker(&[
        "exec",
        &node,
        "cat",
        "/etc/containerd/certs.d/docker.io/hosts.toml",
    ]));
    assert!(
        hosts.contains("server = \"https://registry-1.docker.io\"") && hosts.contains(&format!("http://{CACHE}:5000")),
        "{hosts}"
    );

    // The "internet": an image only the stand-in has, pushed there from the
    // host; a pod names it as a Docker Hub image.
    docker(&[
        "run",
        "-d",
        "--name",
        UPSTREAM,
        "--network",
        "kind",
        "-p",
        &format!("127.0.0.1:{UPSTREAM_PORT}:5000"),
        "docker.io/library/registry:3.1.2",
    ]);
    let pushed = format!("localhost:{UPSTREAM_PORT}/kotest/upstream-only:1");
    docker(&["tag", "kindops.local/busybox:bookworm", &pushed]);
    let t = Instant::now();
    while !docker_try(&["push", &pushed]).status.success() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the stand-in never took the push"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    docker(&["rmi", &pushed]);
    let image = "docker.io/kotest/upstream-only:1";
    let t = Instant::now();
    while !l.kubectl(name, &["get", "serviceaccount", "default"]).status.success() {
        assert!(t.elapsed() < Duration::from_secs(120), "no default ServiceAccount");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (log, events) = run_pod(&l, name, "through-cache", image, "IfNotPresent", "via-the-cache");
    assert_eq!(log.trim(), "via-the-cache");
    assert!(
        events.contains(&format!("Successfully pulled image \"{image}\"")),
        "{events}"
    );
    assert!(
        cached(&format!("{CACHE}-data"), "kotest/upstream-only"),
        "the cache kept nothing"
    );

    // down: the cluster and the cache containers go, their volumes stay.
    let out = l.down(name);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        said.contains("removed the 7 pull-through cache containers")
            && said.contains("kept the 7 pull-through cache volumes"),
        "{said}"
    );
    assert!(!containers().iter().any(|c| c.starts_with("kindops-cache-")));

    // The upstream gone, a new cluster: the pod's image comes from the cache.
    docker(&["stop", UPSTREAM]);
    let out = l.phase_0_args(name, "18181", &m, &["--upstream-mirror", &mirror_flag]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let t = Instant::now();
    while !l.kubectl(name, &["get", "serviceaccount", "default"]).status.success() {
        assert!(t.elapsed() < Duration::from_secs(120), "no default ServiceAccount");
        std::thread::sleep(Duration::from_millis(500));
    }
    let t = Instant::now();
    let (log, events) = run_pod(&l, name, "from-cache-only", image, "IfNotPresent", "upstream-gone");
    eprintln!(
        "pod of an image only the cache has, upstream stopped: Succeeded in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(log.trim(), "upstream-gone");
    assert!(
        events.contains(&format!("Successfully pulled image \"{image}\"")),
        "{events}"
    );

    // down --purge: the cache volumes too.
    let out = l.command(&["down", "--cluster", name, "--purge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("removed the 7 pull-through cache volumes"),
        "{}",
        show(&out)
    );
    assert!(!docker_try(&["volume", "inspect", &format!("{CACHE}-data")])
        .status
        .success());
    docker(&["rm", "-f", UPSTREAM]);
}
