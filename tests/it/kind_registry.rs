//! The local registry of phase 0 on a real kind cluster (the real-kind
//! lane, `tests/kind/lane.sh`; issue 21): kind's "Local Registry" recipe
//! done by `kindops up`, a `docker push localhost:5001/…` from the host and
//! a pod pulling that name, a re-run, a killed registry healed, `down`
//! keeping the volume and `down --purge` removing it, a foreign container of
//! the same name left alone, a taken port refused with exit 2; and the
//! pull-through caches: phases 0–4 with no preload (but the one image
//! pinned by digest), every image pulled through them from a stand-in for
//! the internet, and a second cluster after `down` with `--offline` from the
//! caches alone, the stand-in stopped.
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

/// The stand-in for the internet's registries (the lane has none): one
/// plain registry holding every image the phases pull, each under its path
/// without the registry host (`quay.io/argoproj/argocd:v3.5.1` as
/// `argoproj/argocd:v3.5.1`; no two of the phases' images share a path), on
/// the kind network as `kotest-internet`, published on the lane's loopback
/// for the test's pushes. Every cache proxies it (`--upstream-mirror`).
const INTERNET: &str = "kotest-internet";
const INTERNET_PORT: &str = "5097";

/// Removes what an earlier run of the caches test left: the stand-in and
/// kindops's cache containers and volumes (only with kindops's label).
fn clear_caches() {
    docker_try(&["rm", "-f", INTERNET]);
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

/// The repositories each cache volume holds (`<volume>/docker/registry/v2/
/// repositories/<repo>/_manifests`), read with one throwaway container:
/// `host/repo` for every upstream host.
fn cached_repositories(hosts: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec!["run".into(), "--rm".into()];
    for h in hosts {
        args.push("-v".into());
        args.push(format!("kindops-cache-{}-data:/c/{h}:ro", h.replace('.', "-")));
    }
    args.extend(
        [
            "kindops.local/busybox:bookworm",
            "find",
            "/c",
            "-type",
            "d",
            "-name",
            "_manifests",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    stdout(&docker(&args))
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("/c/")?.strip_suffix("/_manifests")?;
            let (host, repo) = l.split_once("/docker/registry/v2/repositories/")?;
            Some(format!("{host}/{repo}"))
        })
        .collect()
}

/// `(repository, reference)` of every image of phases 0–4 a node pulls
/// from a cached registry: not pinned by digest (the lane cannot serve an
/// upstream digest), not one the Docker engine runs (the registry image) or
/// pushes into the local registry (CI's build base), not one that never runs
/// on kind.
fn pulled_images(l: &Learner, m: &str) -> Vec<(String, String)> {
    listed_images(l, "4", m)
        .iter()
        .filter(|i| i["not_preloadable"].is_null())
        .filter_map(|i| i["reference"].as_str())
        .filter(|r| {
            !r.contains('@') && !r.starts_with("docker.io/library/registry:") && !r.starts_with("gcr.io/distroless/")
        })
        .map(|r| {
            let (_, rest) = r.split_once('/').unwrap();
            (rest.to_string(), r.to_string())
        })
        .collect()
}

/// `docker tag` and `docker push` of every image into the stand-in, a few
/// at once.
fn fill_the_internet(images: &[(String, String)]) {
    std::thread::scope(|s| {
        for chunk in images.chunks(images.len().div_ceil(4)) {
            s.spawn(move || {
                for (path, reference) in chunk {
                    let at = format!("localhost:{INTERNET_PORT}/{path}");
                    docker(&["tag", reference, &at]);
                    docker(&["push", "-q", &at]);
                    docker(&["rmi", &at]);
                }
            });
        }
    });
}

/// Issue 21's road through the caches: every image of phases 0–4 (but the
/// one pinned by digest, preloaded) pulled by the node through kindops's
/// pull-through caches from a stand-in for the internet; then `down`, the
/// stand-in stopped, and a second cluster with `--offline` comes up from the
/// caches alone; then the caches made again as proxies with the stand-in
/// still gone start (distribution#4038 worked around) and serve.
#[test]
#[ignore = "needs the real-kind lane: just test-kind"]
fn phases_0_to_4_pull_through_the_caches_and_a_second_cluster_needs_no_upstream() {
    let l = Learner::new();
    let name = "ko-pull";
    let hosts: Vec<&str> = [
        "cgr.dev",
        "docker.io",
        "gcr.io",
        "ghcr.io",
        "public.ecr.aws",
        "quay.io",
        "registry.k8s.io",
    ]
    .into();
    clear_caches();
    // A cluster an earlier run left (its home is gone) goes first.
    let _ = l.command(&["down", "--cluster", name, "--force"]).output();
    let dir = tempfile::tempdir().unwrap();
    let (m, digest_ref) = mirror_with(&l, dir.path(), Saved::DigestPinnedOnly);
    let images = pulled_images(&l, &m);
    assert!(images.len() >= 15, "{images:?}");

    // The internet: every image, pushed as its publisher would.
    docker(&[
        "run",
        "-d",
        "--name",
        INTERNET,
        "-p",
        &format!("127.0.0.1:{INTERNET_PORT}:5000"),
        "docker.io/library/registry:3.1.2",
    ]);
    let t = Instant::now();
    while !docker_try(&["exec", INTERNET, "true"]).status.success() {
        assert!(t.elapsed() < Duration::from_secs(30), "the stand-in never started");
        std::thread::sleep(Duration::from_millis(200));
    }
    let t = Instant::now();
    fill_the_internet(&images);
    eprintln!(
        "[pull] {} images pushed to the stand-in in {:.1}s",
        images.len(),
        t.elapsed().as_secs_f64()
    );

    let mut flags: Vec<String> = vec![];
    for h in &hosts {
        flags.push("--upstream-mirror".into());
        flags.push(format!("{h}=http://{INTERNET}:5000"));
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let t = Instant::now();
    let out = l.up_to("0", name, "18181", &m, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("7 pull-through caches (kindops-cache-*)"),
        "{}",
        show(&out)
    );
    let phase_0 = t.elapsed();
    // The kind network exists now: the caches reach the stand-in there.
    docker(&["network", "connect", "kind", INTERNET]);
    let t = Instant::now();
    let out = l.up_to("4", name, "18181", &m, &flags);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    eprintln!(
        "[pull] first cluster through the caches: phase 0 {:.1}s, phases 1-4 {:.1}s",
        phase_0.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    let expected = [
        "argo-cd",
        "argo-rollouts",
        "cart",
        "coffee-ci",
        "external-secrets",
        "metrics-server",
        "order",
        "secret-store",
    ];
    let all_healthy = |l: &Learner| {
        let apps = applications(l, name);
        for app in expected {
            assert!(
                apps.iter().any(|(n, s, h)| n == app && s == "Synced" && h == "Healthy"),
                "{app}: {apps:?}"
            );
        }
    };
    all_healthy(&l);

    // Pulled, not loaded: in the node, only the digest-pinned image carries
    // kindops's load label; every other image the phases run came through
    // its registry's cache, which now holds its repository.
    let node = format!("{name}-control-plane");
    let node_images = stdout(&docker(&["exec", &node, "ctr", "-n", "k8s.io", "images", "ls"]));
    for line in node_images.lines().filter(|l| l.contains("io.kindops.image-id")) {
        assert!(
            line.starts_with("cgr.dev/chainguard/busybox") || line.starts_with(&digest_ref),
            "loaded, not pulled: {line}"
        );
    }
    // What the node runs (Tekton's step images are pulled by the first
    // PipelineRun, which this test does not start).
    let in_caches = cached_repositories(&hosts);
    let ran: Vec<&(String, String)> = images
        .iter()
        .filter(|(_, r)| {
            node_images
                .lines()
                .any(|l| l.split_whitespace().next() == Some(r.as_str()))
        })
        .collect();
    assert!(ran.len() >= 15, "the node runs only {ran:?}");
    for (path, reference) in ran {
        let host = reference.split('/').next().unwrap();
        let repo = path.split(':').next().unwrap();
        assert!(
            in_caches.contains(&format!("{host}/{repo}")),
            "{reference} is not in the cache of {host}: {in_caches:?}"
        );
    }

    // down: the caches' containers go, their volumes stay.
    let out = l.down(name);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("kept the 7 pull-through cache volumes"),
        "{}",
        show(&out)
    );

    // The internet gone, a new cluster, offline: everything from the caches.
    docker(&["stop", INTERNET]);
    let mut offline = flags.clone();
    offline.push("--offline");
    let t = Instant::now();
    let out = l.up_to("4", name, "18181", &m, &offline);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("offline: serving only what they hold"),
        "{}",
        show(&out)
    );
    eprintln!(
        "[pull] second cluster after down, the stand-in stopped, --offline: phases 0-4 in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    all_healthy(&l);
    let running = stdout(&docker(&["inspect", "-f", "{{.State.Running}}", INTERNET]));
    assert_eq!(running.trim(), "false", "the stand-in ran again");

    // Fault: a cache volume damaged (the bytes of metrics-server's blobs
    // overwritten in the registry.k8s.io cache), the image gone from the
    // node, its pod replaced: the phase's wait names the pod and the pull
    // error, and the hint says how to empty the caches.
    let cache = "kindops-cache-registry-k8s-io";
    let damaged = stdout(&docker(&[
        "exec",
        cache,
        "sh",
        "-c",
        "cd /var/lib/registry/docker/registry/v2 && for d in repositories/metrics-server/metrics-server/_layers/sha256/*; do h=${d##*/}; p=$(echo $h | cut -c1-2); echo damaged > blobs/sha256/$p/$h/data && echo $h; done",
    ]));
    assert!(damaged.lines().count() >= 2, "damaged only {damaged:?}");
    let metrics_image = images
        .iter()
        .map(|(_, r)| r.as_str())
        .find(|r| r.starts_with("registry.k8s.io/metrics-server/"))
        .unwrap();
    docker(&["exec", &node, "crictl", "rmi", metrics_image]);
    let deleted = l.kubectl(
        name,
        &[
            "-n",
            "kube-system",
            "delete",
            "pod",
            "-l",
            "k8s-app=metrics-server",
            "--wait=false",
        ],
    );
    assert!(deleted.status.success(), "{}", show(&deleted));
    let mut short = offline.clone();
    short.extend(["--timeout", "60s"]);
    let t = Instant::now();
    let out = l.up_to("3", name, "18181", &m, &short);
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        said.contains("pod kube-system/metrics-server")
            && (said.contains("ErrImagePull") || said.contains("ImagePullBackOff"))
            && said.contains("kindops down --purge"),
        "{said}"
    );
    eprintln!("[pull] a damaged cache named in {:.1}s", t.elapsed().as_secs_f64());

    // Online again (the stand-in still stopped): each cache is made again as
    // a proxy, starts without its remote, and serves what it holds.
    let out = l.up_to("0", name, "18181", &m, &flags);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text.contains(&format!(
            "the cache kindops-cache-ghcr-io served only what it holds (offline); made again serving proxying http://{INTERNET}:5000"
        )),
        "{text}"
    );
    let (log, events) = run_pod(
        &l,
        name,
        "proxy-no-remote",
        "ghcr.io/ko-build/ko:v0.19.1",
        "Always",
        "from-the-cache",
    );
    assert_eq!(log.trim(), "from-the-cache");
    assert!(events.contains("Successfully pulled image"), "{events}");
    let restarts = stdout(&docker(&[
        "inspect",
        "-f",
        "{{.RestartCount}}",
        "kindops-cache-ghcr-io",
    ]));
    assert_eq!(restarts.trim(), "0", "the cache restarted");

    // down --purge: the cache volumes too.
    let out = l.command(&["down", "--cluster", name, "--purge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("removed the 7 pull-through cache volumes"),
        "{}",
        show(&out)
    );
    let left = stdout(&docker(&["volume", "ls", "-q", "--filter", "label=io.kindops.cache"]));
    assert_eq!(left.trim(), "", "cache volumes left");
    docker(&["rm", "-f", INTERNET]);
}
