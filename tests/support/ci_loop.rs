//! The GitOps loop on the real-kind lane (issue 22): a learner's `git push`
//! of a change to `products/coffee/cart`, and what must follow with nothing
//! else done: the push event, one PipelineRun (cart's) whose TaskRuns
//! Succeed, the image in the registry under the commit's tag, CI's write-back
//! commit touching only `apps/coffee/cart`, Deployment coffee/cart-app
//! rolled out to that image, and cart answering over HTTP with the new
//! commit; order not rebuilt. (The Rollout canary of issue 22 is not done.)

use super::bed::show;
use super::lane::{containers, docker, Learner};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The registry name the pipeline pushes to (ci/coffee/pipeline.yaml
/// REGISTRY) and the host port the lane's tests read it on.
pub const REGISTRY_NAME: &str = "kindops-registry";
pub const REGISTRY_HOST: &str = "127.0.0.1:5001";
/// ko's base image in the registry (pipeline.yaml BASE_IMAGE).
pub const BASE_REPO: &str = "distroless/static-debian12:nonroot";

/// Readies the cluster's registry for CI: STAND-IN for what issue 21's
/// phase 0 does (a `kindops-registry` container on the kind network,
/// published at 127.0.0.1:5001, containerd mapping `localhost:5001` to it)
/// when that container is not there (a cluster made with `--no-registry`).
/// Then checks that the registry serves ko's base image, which phase 0
/// pushed there (the lane's STAND-IN kindops.local/static under
/// gcr.io/distroless/static-debian12:nonroot's name, from the mirror);
/// the test pushes nothing. Returns what it started, for [`teardown`].
pub fn prepare_registry(l: &Learner, cluster: &str) -> Vec<String> {
    let mut made = vec![];
    let node = format!("{cluster}-control-plane");
    let hosts = "/etc/containerd/certs.d/localhost:5001/hosts.toml";
    let mapped = Command::new("docker")
        .args(["exec", &node, "test", "-f", hosts])
        .status()
        .unwrap()
        .success();
    if !mapped {
        if !containers().iter().any(|c| c == REGISTRY_NAME) {
            let name = format!("{cluster}-loop-registry");
            docker(&[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                "kind",
                "--network-alias",
                REGISTRY_NAME,
                "-p",
                &format!("{REGISTRY_HOST}:5000"),
                "docker.io/library/registry:3.1.2",
            ]);
            made.push(name);
        }
        // containerd: pulls of localhost:5001/... go to the registry (kind's
        // "local registry" recipe: config_path + hosts.toml).
        let script = format!(
            "set -e; d=/etc/containerd/certs.d/localhost:5001; mkdir -p $d; \
             printf '[host.\"http://{REGISTRY_NAME}:5000\"]\\n' > $d/hosts.toml; \
             grep -q config_path /etc/containerd/config.toml || \
             printf '\\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\\n  config_path = \"/etc/containerd/certs.d\"\\n' >> /etc/containerd/config.toml; \
             systemctl restart containerd"
        );
        docker(&["exec", &node, "sh", "-c", &script]);
        let t = Instant::now();
        while !l.kubectl(cluster, &["get", "--raw", "/readyz"]).status.success() {
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "API server not back after containerd restart"
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    // The lane's kindnetd STAND-IN does not masquerade (tests/kind/README.md):
    // a pod's packets to a container of the kind network (the registry) keep
    // the pod's address, which nothing there routes back. Real kindnetd
    // masquerades traffic that leaves the pod network; the same rule here.
    docker(&[
        "exec",
        &node,
        "sh",
        "-c",
        "r='-s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE'; \
         iptables -t nat -C POSTROUTING $r 2>/dev/null || iptables -t nat -A POSTROUTING $r",
    ]);
    assert!(
        registry_serves(BASE_REPO),
        "phase 0 did not push ko's base image {BASE_REPO} into the registry"
    );
    made
}

/// Whether the registry on [`REGISTRY_HOST`] serves a manifest for
/// `repo:tag` (`HEAD /v2/<repo>/manifests/<tag>`, as `docker pull` asks).
pub fn registry_serves(reference: &str) -> bool {
    let (repo, tag) = reference.rsplit_once(':').unwrap();
    Command::new("curl")
        .args([
            "-sfI",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json",
            &format!("http://{REGISTRY_HOST}/v2/{repo}/manifests/{tag}"),
        ])
        .status()
        .unwrap()
        .success()
}

/// Removes the containers [`prepare_registry`] started.
pub fn teardown(made: &[String]) {
    for c in made {
        let _ = Command::new("docker").args(["rm", "-f", c]).output();
    }
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", show(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(out)))
}

/// `git add -A` and a commit in `dir` as the learner (user `learner`).
pub fn commit_as_learner(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(
        dir,
        &[
            "-c",
            "user.name=learner",
            "-c",
            "user.email=learner@example.invalid",
            "commit",
            "-q",
            "-m",
            message,
        ],
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn condition<'a>(o: &'a serde_json::Value, t: &str) -> Option<&'a serde_json::Value> {
    o["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == t)
}

/// What the loop took, from the push.
#[derive(Debug)]
pub struct LoopTimes {
    pub pipeline_started: Duration,
    pub pipeline_done: Duration,
    pub write_back: Duration,
    pub serving: Duration,
    pub steps: Vec<String>,
    /// The learner's commit, which cart now answers with.
    pub commit: String,
}

/// The learner's push to `products/coffee/cart`, as a learner does it (a
/// clone of the built-in git source, an edit, `git push`), then waits until
/// cart answers with the new commit, and checks everything the loop did.
pub fn push_cart_and_wait(l: &Learner, cluster: &str) -> LoopTimes {
    let bare = l.git_dir(cluster).join("gitops.git");
    let work = l.home.path().join("loop-clone");
    let _ = std::fs::remove_dir_all(&work);
    git(
        l.home.path(),
        &["clone", "-q", &bare.display().to_string(), &work.display().to_string()],
    );
    let runs_before: Vec<String> = pipelineruns(l, cluster)
        .iter()
        .filter_map(|r| r["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let order_before = git(&work, &["log", "-1", "--format=%H", "--", "apps/coffee/order"]);
    let file = work.join("products/coffee/cart/server.go");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{text}\n// A learner's change ({}).\n", std::process::id()),
    )
    .unwrap();
    commit_as_learner(&work, "cart: a learner's change");
    let commit = git(&work, &["rev-parse", "HEAD"]);
    let pushed = Instant::now();
    let push = Command::new("git")
        .arg("-C")
        .arg(&work)
        .args(["push", "origin", "HEAD:main"])
        .output()
        .unwrap();
    let push_took = pushed.elapsed();
    assert!(push.status.success(), "git push: {}", show(&push));
    let said = String::from_utf8_lossy(&push.stderr).to_string();
    assert!(
        said.contains("kindops: CI: push event sent") && said.contains("products/coffee/cart"),
        "the hook did not send the push event: {said}"
    );
    eprintln!("[loop] git push returned in {push_took:?}: {}", said.trim());

    // Wait until cart answers with the commit, noting what the Deployment does.
    let mut steps: Vec<String> = vec![];
    let (mut started, mut done, mut written) = (None, None, None);
    let served = loop {
        let el = pushed.elapsed();
        assert!(
            el < Duration::from_secs(600),
            "cart never answered with {commit} (Deployment states seen {steps:?}); PipelineRuns: {}",
            serde_json::to_string_pretty(&pipelineruns(l, cluster)).unwrap_or_default()
        );
        let d = l.kubectl(
            cluster,
            &["-n", "coffee", "get", "deployment", "cart-app", "-o", "json"],
        );
        if d.status.success() {
            let r: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap_or_default();
            let s = format!(
                "{} updated {} ready {}",
                r["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or("?"),
                r["status"]["updatedReplicas"],
                r["status"]["readyReplicas"],
            );
            if steps.last() != Some(&s) {
                eprintln!("[loop] {:>6.1}s Deployment cart-app: {s}", el.as_secs_f64());
                steps.push(s);
            }
        }
        let ours: Vec<serde_json::Value> = pipelineruns(l, cluster)
            .into_iter()
            .filter(|r| !runs_before.iter().any(|n| r["metadata"]["name"] == n.as_str()))
            .collect();
        if started.is_none() && !ours.is_empty() {
            started = Some(el);
        }
        if done.is_none()
            && ours
                .iter()
                .any(|r| condition(r, "Succeeded").is_some_and(|c| c["status"] != "Unknown"))
        {
            done = Some(el);
        }
        if written.is_none() {
            let _ = Command::new("git")
                .arg("-C")
                .arg(&work)
                .args(["fetch", "-q", "origin"])
                .output();
            if git(&work, &["rev-list", "--count", &format!("{commit}..origin/main")]) != "0" {
                written = Some(el);
            }
        }
        let answer = l.kubectl(
            cluster,
            &[
                "get",
                "--raw",
                "/api/v1/namespaces/coffee/services/cart-app:http/proxy/",
            ],
        );
        if answer.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap_or_default();
            if v["version"] == commit.as_str() {
                assert_eq!(v["name"], "cart", "{v}");
                assert!(v["secret"] == "present" || v["secret"] == "absent", "{v}");
                break el;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("[loop] cart answers with {commit} {served:?} after the push");

    // Exactly one new PipelineRun, cart's, for this commit; it and its
    // TaskRuns Succeeded (their condition, not their creation).
    let ours: Vec<serde_json::Value> = pipelineruns(l, cluster)
        .into_iter()
        .filter(|r| !runs_before.iter().any(|n| r["metadata"]["name"] == n.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "{}", serde_json::to_string_pretty(&ours).unwrap());
    let run = &ours[0];
    let param = |n: &str| {
        run["spec"]["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .map(|p| p["value"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert_eq!(param("MODULE_PATH"), "products/coffee/cart");
    assert_eq!(param("REVISION"), commit);
    assert_eq!(run["metadata"]["labels"]["triggers.tekton.dev/trigger"], "cart");
    assert_eq!(condition(run, "Succeeded").unwrap()["status"], "True", "{run}");
    let trs = json(&l.kubectl(
        cluster,
        &[
            "-n",
            "coffee-ci",
            "get",
            "taskruns",
            "-l",
            &format!("tekton.dev/pipelineRun={}", run["metadata"]["name"].as_str().unwrap()),
            "-o",
            "json",
        ],
    ));
    let trs = trs["items"].as_array().unwrap();
    assert!(!trs.is_empty());
    for tr in trs {
        assert_eq!(condition(tr, "Succeeded").unwrap()["status"], "True", "{tr}");
        let steps: Vec<&str> = tr["status"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["name"].as_str())
            .collect();
        assert_eq!(steps, ["clone", "test", "build", "write-back"], "{tr}");
        for s in tr["status"]["steps"].as_array().unwrap() {
            assert_eq!(s["terminated"]["exitCode"], 0, "{s}");
        }
    }

    // The image is in the registry under the commit's tag.
    let tags = Command::new("curl")
        .args(["-sf", &format!("http://{REGISTRY_HOST}/v2/coffee/cart/tags/list")])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&tags.stdout).contains(&commit),
        "registry tags: {}",
        show(&tags)
    );

    // CI's write-back: one commit after the learner's, by kindops CI,
    // touching only apps/coffee/cart, naming the image by the commit.
    git(&work, &["fetch", "-q", "origin"]);
    let after: Vec<String> = git(&work, &["rev-list", &format!("{commit}..origin/main")])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(after.len(), 1, "commits after the learner's: {after:?}");
    assert_eq!(git(&work, &["log", "-1", "--format=%an", &after[0]]), "kindops CI");
    assert_eq!(
        git(&work, &["show", "--format=", "--name-only", &after[0]]),
        "apps/coffee/cart/kustomization.yaml"
    );
    let kust = git(
        &work,
        &["show", &format!("{}:apps/coffee/cart/kustomization.yaml", after[0])],
    );
    assert!(kust.contains(&format!("newTag: \"{commit}\"")), "{kust}");
    assert!(kust.contains("newName: localhost:5001/coffee/cart"), "{kust}");

    // Deployment cart-app runs the image CI built.
    let d = json(&l.kubectl(
        cluster,
        &["-n", "coffee", "get", "deployment", "cart-app", "-o", "json"],
    ));
    let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(image, format!("localhost:5001/coffee/cart:{commit}"));
    // order was not rebuilt: no PipelineRun for it, its overlay unchanged.
    assert!(!ours
        .iter()
        .any(|r| r["metadata"]["labels"]["triggers.tekton.dev/trigger"] == "order"));
    assert_eq!(
        git(
            &work,
            &["log", "-1", "--format=%H", "origin/main", "--", "apps/coffee/order"]
        ),
        order_before
    );
    // `kindops status --output json` shows the run (src/delivery): module,
    // commit, state.
    let status = l
        .command(&["status", "--cluster", cluster, "--output", "json"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", show(&status));
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let shown = v["pipeline_runs"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == run["metadata"]["name"]))
        .unwrap_or_else(|| panic!("no entry for the run in `kindops status`: {v}"));
    assert_eq!(shown["module"], "products/coffee/cart", "{shown}");
    assert_eq!(shown["revision"], commit.as_str(), "{shown}");
    assert_eq!(shown["state"], "succeeded", "{shown}");
    let times = LoopTimes {
        pipeline_started: started.unwrap_or_default(),
        pipeline_done: done.unwrap_or_default(),
        write_back: written.unwrap_or_default(),
        serving: served,
        steps,
        commit: commit.clone(),
    };
    eprintln!("[loop] push → serving: {times:?}");
    times
}

/// The PipelineRuns in coffee-ci.
pub fn pipelineruns(l: &Learner, cluster: &str) -> Vec<serde_json::Value> {
    let v = json(&l.kubectl(cluster, &["-n", "coffee-ci", "get", "pipelineruns", "-o", "json"]));
    v["items"].as_array().cloned().unwrap_or_default()
}
