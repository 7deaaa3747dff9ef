//! The GitOps loop on the real-kind lane (issue 22): a learner's `git push`
//! of a change to `products/coffee/cart`, and what must follow with nothing
//! else done: the push event, one PipelineRun (cart's) whose TaskRuns
//! Succeed, the image in the registry under the commit's tag, CI's write-back
//! commit touching only `apps/coffee/cart`, Rollout coffee/cart-app going
//! through its canary steps (50 %, a pause, 100 %) to that image, and cart
//! answering over HTTP with the new commit; order not rebuilt.

use super::bed::{show, stdout};
/// `git ARGS` in `dir` (asserting it worked); its trimmed stdout.
pub use super::git::ok as git;
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
    as_learner(dir, &["commit", "-q", "-m", message]);
}

/// `git revert` of `commit` in `dir` as the learner (its default message).
fn revert_as_learner(dir: &Path, commit: &str) {
    as_learner(dir, &["revert", "--no-edit", commit]);
}

/// `git ARGS` in `dir` with the learner as author and committer.
fn as_learner(dir: &Path, args: &[&str]) {
    let mut all = vec!["-c", "user.name=learner", "-c", "user.email=learner@example.invalid"];
    all.extend_from_slice(args);
    git(dir, &all);
}

/// Condition `t` of a Tekton or Kubernetes object, if it has one.
pub fn condition<'a>(o: &'a serde_json::Value, t: &str) -> Option<&'a serde_json::Value> {
    o["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == t)
}

/// What the loop took, from the push.
// Its fields are the figures the tests print (`{:?}`), hence read only through Debug.
#[allow(dead_code)]
#[derive(Debug)]
pub struct LoopTimes {
    pub pipeline_started: Duration,
    pub pipeline_done: Duration,
    pub write_back: Duration,
    /// The first answer with the new commit (from the canary's pod, at 50 %).
    pub serving: Duration,
    /// The Rollout fully promoted: Healthy, past its last step, the new
    /// ReplicaSet the stable one.
    pub promoted: Duration,
    /// Each Rollout state seen (image, step, phase, ready).
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
    assert!(
        !said.contains("ERROR") && !said.contains("kube_client"),
        "the hook showed the learner log lines, not only what it did: {said}"
    );
    eprintln!("[loop] git push returned in {push_took:?}: {}", said.trim());

    // Wait until cart answers with the commit and its Rollout is fully
    // promoted, noting each state the Rollout goes through.
    let mut steps: Vec<String> = vec![];
    let mut canary_seen = false;
    let image = format!("localhost:5001/coffee/cart:{commit}");
    let (mut started, mut done, mut written, mut served) = (None, None, None, None);
    let promoted = loop {
        let el = pushed.elapsed();
        assert!(
            el < Duration::from_secs(600),
            "cart never answered with {commit} from a fully promoted Rollout (served: {served:?}; Rollout states seen {steps:?}); PipelineRuns: {}",
            serde_json::to_string_pretty(&pipelineruns(l, cluster)).unwrap_or_default()
        );
        let d = l.kubectl(cluster, &["-n", "coffee", "get", "rollout", "cart-app", "-o", "json"]);
        let mut fully_promoted = false;
        if d.status.success() {
            let r: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap_or_default();
            let st = &r["status"];
            let now = r["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or("?");
            let s = format!(
                "{now} step {}/{} {} ready {} stable {} current {}",
                st["currentStepIndex"],
                r["spec"]["strategy"]["canary"]["steps"].as_array().map_or(0, Vec::len),
                st["phase"].as_str().unwrap_or("?"),
                st["readyReplicas"],
                st["stableRS"].as_str().unwrap_or("?"),
                st["currentPodHash"].as_str().unwrap_or("?"),
            );
            if steps.last() != Some(&s) {
                eprintln!("[loop] {:>6.1}s Rollout cart-app: {s}", el.as_secs_f64());
                steps.push(s);
            }
            // The canary: the new image, at the pause step (index 1, after
            // setWeight 50), while the stable ReplicaSet is still the old one.
            canary_seen |= now == image && st["currentStepIndex"] == 1 && st["stableRS"] != st["currentPodHash"];
            fully_promoted = now == image
                && st["phase"] == "Healthy"
                && st["currentStepIndex"] == 2
                && st["stableRS"].is_string()
                && st["stableRS"] == st["currentPodHash"];
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
        if served.is_none() && answer.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap_or_default();
            if v["version"] == commit.as_str() {
                assert_eq!(v["name"], "cart", "{v}");
                assert!(v["secret"] == "present" || v["secret"] == "absent", "{v}");
                eprintln!("[loop] {:>6.1}s cart answers with {commit}", el.as_secs_f64());
                served = Some(el);
            }
        }
        if served.is_some() && fully_promoted {
            break el;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let served = served.unwrap_or_default();
    eprintln!("[loop] cart answers with {commit} {served:?} after the push; Rollout promoted after {promoted:?}");
    // The Rollout went through its canary: the new version ran beside the
    // old one at the pause step before it replaced it.
    assert!(
        canary_seen,
        "no canary step seen (the new image at step 1 with the old one stable): {steps:?}"
    );

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

    // Every cart answer now comes from the new version (both pods promoted).
    for _ in 0..6 {
        let answer = l.kubectl(
            cluster,
            &[
                "get",
                "--raw",
                "/api/v1/namespaces/coffee/services/cart-app:http/proxy/",
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap_or_default();
        assert_eq!(v["version"], commit.as_str(), "after promotion: {}", show(&answer));
    }
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
    // ... and the Rollout, promoted: past its last step, 100 %, the new image.
    let ro = v["rollouts"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["namespace"] == "coffee" && r["name"] == "cart-app")
        })
        .unwrap_or_else(|| panic!("no Rollout coffee/cart-app in `kindops status`: {v}"));
    assert_eq!(ro["phase"], "Healthy", "{ro}");
    assert_eq!(ro["step"], serde_json::json!([2, 2]), "{ro}");
    assert_eq!(ro["set_weight"], 100, "{ro}");
    assert_eq!(ro["image"], image.as_str(), "{ro}");
    let times = LoopTimes {
        pipeline_started: started.unwrap_or_default(),
        pipeline_done: done.unwrap_or_default(),
        write_back: written.unwrap_or_default(),
        serving: served,
        promoted,
        steps,
        commit: commit.clone(),
    };
    eprintln!("[loop] push → serving: {times:?}");
    times
}

/// cart's answer through the API server's service proxy (`version`, `name`,
/// `secret`), or Null when it does not answer.
fn cart_answer(l: &Learner, cluster: &str) -> serde_json::Value {
    let answer = l.kubectl(
        cluster,
        &[
            "get",
            "--raw",
            "/api/v1/namespaces/coffee/services/cart-app:http/proxy/",
        ],
    );
    if !answer.status.success() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&answer.stdout).unwrap_or_default()
}

fn rollout(l: &Learner, cluster: &str) -> serde_json::Value {
    json(&l.kubectl(cluster, &["-n", "coffee", "get", "rollout", "cart-app", "-o", "json"]))
}

/// The learner's clone of the built-in git source (made by
/// [`push_cart_and_wait`]), at the git source's main now.
pub fn learner_clone(l: &Learner) -> std::path::PathBuf {
    let work = l.home.path().join("loop-clone");
    git(&work, &["fetch", "-q", "origin"]);
    git(&work, &["reset", "-q", "--hard", "origin/main"]);
    work
}

/// Pushes HEAD of the clone `work` as the learner (`git push origin
/// HEAD:main`), and returns its commit.
pub fn push(work: &Path) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(work)
        .args(["push", "origin", "HEAD:main"])
        .output()
        .unwrap();
    assert!(out.status.success(), "git push: {}", show(&out));
    git(work, &["rev-parse", "HEAD"])
}

/// Polls `f` every 500 ms until it returns Some, for at most `secs` seconds.
fn poll<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            eprintln!("[loop] {:>6.1}s {what}", t.elapsed().as_secs_f64());
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(secs), "not within {secs}s: {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The names of the PipelineRuns in coffee-ci now.
fn run_names(l: &Learner, cluster: &str) -> Vec<String> {
    pipelineruns(l, cluster)
        .iter()
        .filter_map(|r| r["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

/// Waits (at most `secs`) for a PipelineRun not in `before` to end, asserts
/// that it failed, and returns it with `kindops status --output json` and
/// that run's entry in it.
fn failed_run_after(
    l: &Learner,
    cluster: &str,
    before: &[String],
    what: &str,
    secs: u64,
) -> (serde_json::Value, serde_json::Value, serde_json::Value) {
    let run = poll(what, secs, || {
        pipelineruns(l, cluster).into_iter().find(|r| {
            !before.iter().any(|n| r["metadata"]["name"] == n.as_str())
                && condition(r, "Succeeded").is_some_and(|c| c["status"] != "Unknown")
        })
    });
    assert_eq!(condition(&run, "Succeeded").unwrap()["status"], "False", "{run}");
    let status = l
        .command(&["status", "--cluster", cluster, "--output", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_default();
    let shown = v["pipeline_runs"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == run["metadata"]["name"]))
        .cloned()
        .unwrap_or_else(|| panic!("no entry for the failed run in `kindops status`: {}", show(&status)));
    assert_eq!(shown["state"], "failed", "{shown}");
    (run, v, shown)
}

/// After a failed run: CI wrote nothing back (`main` is still the learner's
/// `pushed`) and cart still answers with `good`.
fn assert_untouched(l: &Learner, cluster: &str, work: &Path, pushed: &str, good: &str) {
    git(work, &["fetch", "-q", "origin"]);
    assert_eq!(
        git(work, &["rev-parse", "origin/main"]),
        pushed,
        "CI wrote something back for a failed run"
    );
    assert_eq!(
        cart_answer(l, cluster)["version"],
        good,
        "cart still serves the last good commit"
    );
}

/// What stops a broken change (issue 22: a failing test, a version whose readiness fails), after
/// [`push_cart_and_wait`] left cart serving `good`:
/// 1. a push whose test fails: cart's PipelineRun fails in its test step,
///    `kindops status` names the test, nothing is built or written back,
///    and cart keeps answering with `good`;
/// 2. a push whose tests pass but whose server listens on the wrong port,
///    so its readiness probe never passes: CI builds and writes it back,
///    the Rollout's canary never turns Available, the Rollout aborts after
///    its progress deadline (60 s) and turns Degraded, and cart keeps
///    answering with `good` from the stable pods;
/// 3. the learner reverts the port change (`git revert`): a new run, and
///    the Rollout promotes the fixed version.
///
/// Returns the revert commit, which cart answers with at the end.
pub fn push_broken_and_recover(l: &Learner, cluster: &str, good: &str) -> String {
    let work = l.home.path().join("loop-clone");
    git(&work, &["fetch", "-q", "origin"]);
    git(&work, &["reset", "-q", "--hard", "origin/main"]);

    // 1. A failing test.
    let before = run_names(l, cluster);
    std::fs::write(
        work.join("products/coffee/cart/broken_test.go"),
        "package main\n\nimport \"testing\"\n\n// A learner's broken change: CI must stop before it builds.\nfunc TestALearnersBrokenChange(t *testing.T) { t.Fatal(\"broken on purpose\") }\n",
    )
    .unwrap();
    commit_as_learner(&work, "cart: a change with a failing test");
    let failing = push(&work);
    let (_, _, shown) = failed_run_after(l, cluster, &before, "the failing-test PipelineRun ended", 300);
    assert_eq!(shown["revision"], failing.as_str(), "{shown}");
    assert!(
        shown["failed_tests"]
            .as_str()
            .unwrap_or_default()
            .contains("TestALearnersBrokenChange"),
        "`kindops status` names the failing test: {shown}"
    );
    let tr = &shown["task_runs"][0];
    let step = |n: &str| {
        tr["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|x| x["name"] == n))
            .cloned()
    };
    assert_ne!(
        step("test").map(|s| s["exit_code"].clone()),
        Some(serde_json::json!(0)),
        "{tr}"
    );
    assert!(step("build").is_none_or(|s| s["exit_code"] != 0), "the build ran: {tr}");
    assert!(
        !registry_serves(&format!("coffee/cart:{failing}")),
        "an image was pushed for the failing commit"
    );
    assert_untouched(l, cluster, &work, &failing, good);
    eprintln!("[loop] failing test: {failing} stopped in the test step, nothing built; cart serves {good}");

    // 2. Tests pass, readiness never does: the server listens on 8081, the
    // Pod's probe asks 8080 (the mini-service base's `http` port). Two
    // commits in one push: the learner reverts the failing test, then moves
    // the port; the push event names the tip, so one PipelineRun builds it.
    let before = run_names(l, cluster);
    revert_as_learner(&work, &failing);
    let main_go = work.join("products/coffee/cart/main.go");
    let text = std::fs::read_to_string(&main_go).unwrap();
    assert!(text.contains("addr := \":8080\""), "{text}");
    std::fs::write(&main_go, text.replace("addr := \":8080\"", "addr := \":8081\"")).unwrap();
    commit_as_learner(&work, "cart: listen on 8081");
    let unready = push(&work);
    let image = format!("localhost:5001/coffee/cart:{unready}");
    let stable_before = rollout(l, cluster)["status"]["stableRS"].clone();
    let aborted = poll("the Rollout aborted the unready version", 420, || {
        let r = rollout(l, cluster);
        let img = r["spec"]["template"]["spec"]["containers"][0]["image"].clone();
        (img == image.as_str() && r["status"]["abort"] == true).then_some(r)
    });
    assert_eq!(aborted["status"]["phase"], "Degraded", "{}", aborted["status"]);
    assert_eq!(
        aborted["status"]["stableRS"], stable_before,
        "the stable version is still the old one"
    );
    let ours: Vec<_> = pipelineruns(l, cluster)
        .into_iter()
        .filter(|r| !before.iter().any(|n| r["metadata"]["name"] == n.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "one run for the unready commit");
    assert_eq!(
        condition(&ours[0], "Succeeded").unwrap()["status"],
        "True",
        "its tests pass"
    );
    for _ in 0..6 {
        assert_eq!(
            cart_answer(l, cluster)["version"],
            good,
            "the old version keeps serving after the abort"
        );
    }
    let apps = l
        .command(&["status", "--cluster", cluster, "--output", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&apps.stdout).unwrap_or_default();
    let ro = v["rollouts"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "cart-app"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (ro["aborted"].clone(), ro["phase"].clone()),
        (true.into(), "Degraded".into()),
        "{ro}"
    );
    eprintln!(
        "[loop] unready version {unready}: Rollout aborted ({}); cart serves {good}",
        aborted["status"]["message"]
    );

    // 3. The learner reverts the port change (the failing test is already
    // gone); the fixed version rolls out.
    git(&work, &["fetch", "-q", "origin"]);
    git(&work, &["rebase", "-q", "origin/main"]);
    revert_as_learner(&work, &unready);
    let fixed = push(&work);
    let image = format!("localhost:5001/coffee/cart:{fixed}");
    poll("the reverted version promoted and serving", 420, || {
        let r = rollout(l, cluster);
        let st = &r["status"];
        (r["spec"]["template"]["spec"]["containers"][0]["image"] == image.as_str()
            && st["phase"] == "Healthy"
            && st["abort"] != true
            && st["stableRS"] == st["currentPodHash"]
            && cart_answer(l, cluster)["version"] == fixed.as_str())
        .then_some(())
    });
    fixed
}

/// A registry that is down (issue 22's bad input): with the registry
/// container stopped, a learner's push to `products/coffee/cart` fails in
/// cart's build step (ko cannot reach `kindops-registry:5000`), nothing is
/// written back, cart keeps answering with `good`, and `kindops status`
/// (text and JSON) says what to do: `kindops up --phase 0` starts the
/// registry again. Returns the failed run's name. The caller restarts the
/// registry as the message says.
pub fn push_with_registry_down(l: &Learner, cluster: &str, good: &str) -> String {
    let work = l.home.path().join("loop-clone");
    git(&work, &["fetch", "-q", "origin"]);
    git(&work, &["reset", "-q", "--hard", "origin/main"]);
    let before = run_names(l, cluster);
    docker(&["stop", REGISTRY_NAME]);
    let file = work.join("products/coffee/cart/server.go");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}// A change pushed while the registry is down.\n")).unwrap();
    commit_as_learner(&work, "cart: a change while the registry is down");
    let pushed = push(&work);
    let (run, v, shown) = failed_run_after(l, cluster, &before, "the PipelineRun with the registry down ended", 420);
    let name = run["metadata"]["name"].as_str().unwrap().to_string();
    let failed: Vec<&str> = shown["task_runs"][0]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["state"] == "failed")
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(failed, ["build"], "the build step failed, nothing before it: {shown}");
    let next = v["next_steps"][name.as_str()].as_str().unwrap_or_default();
    assert!(
        next.contains("registry (kindops-registry") && next.contains("`kindops up --phase 0`"),
        "`kindops status -o json` next_steps for {name}: {next:?}; logs: {}",
        v["failed_step_logs"][name.as_str()]
    );
    let text = l.command(&["status", "--cluster", cluster]).output().unwrap();
    assert!(
        stdout(&text).contains("  next: the cluster's registry (kindops-registry"),
        "{}",
        show(&text)
    );
    assert_untouched(l, cluster, &work, &pushed, good);
    eprintln!(
        "[loop] registry down: {name} failed in its build step; status says: {next}; logs: {}",
        v["failed_step_logs"][name.as_str()]
    );
    name
}

/// ko's image, every step of the coffee pipeline runs it
/// (`ci/coffee/pipeline.yaml` `stepTemplate.image`).
const STEP_IMAGE: &str = "ghcr.io/ko-build/ko:v0.19.1";

/// A pipeline step image missing offline (issue 22's bad input): the kind
/// node loses ko's image (`crictl rmi`, as a node that never got the
/// preload has none), and the lane has no internet to pull it from. A
/// learner's push to `products/coffee/cart` then fails: Tekton fails the
/// TaskRun with `TaskRunImagePullFailed`; `kindops status` (text and JSON)
/// names the image and says to load it with `kindops up --phase 0 --mirror
/// DIR`; nothing is written back and cart keeps answering with `good`.
/// Returns the failed run's name; the caller runs phase 0 with its mirror,
/// as the message says.
pub fn push_with_step_image_missing(l: &Learner, cluster: &str, good: &str) -> String {
    let work = l.home.path().join("loop-clone");
    git(&work, &["fetch", "-q", "origin"]);
    git(&work, &["reset", "-q", "--hard", "origin/main"]);
    let before = run_names(l, cluster);
    docker(&["exec", &format!("{cluster}-control-plane"), "crictl", "rmi", STEP_IMAGE]);
    let file = work.join("products/coffee/cart/server.go");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        format!("{text}// A change pushed while ko's image is missing.\n"),
    )
    .unwrap();
    commit_as_learner(&work, "cart: a change while the step image is missing");
    let pushed = push(&work);
    let (run, v, shown) = failed_run_after(l, cluster, &before, "the PipelineRun without its step image ended", 420);
    let name = run["metadata"]["name"].as_str().unwrap().to_string();
    let tr = &shown["task_runs"][0];
    assert_eq!(tr["reason"], "TaskRunImagePullFailed", "{shown}");
    assert!(
        tr["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|s| s["exit_code"] != 0 && s["image"] == STEP_IMAGE),
        "no step ran, each names its image: {tr}"
    );
    let next = v["next_steps"][name.as_str()].as_str().unwrap_or_default();
    assert!(
        next.contains(&format!("does not have {STEP_IMAGE}")) && next.contains("`kindops up --phase 0 --mirror DIR`"),
        "`kindops status -o json` next_steps for {name}: {next:?}; the TaskRun: {tr}"
    );
    let text = l.command(&["status", "--cluster", cluster]).output().unwrap();
    assert!(
        stdout(&text).contains(&format!("  next: the node does not have {STEP_IMAGE}")),
        "{}",
        show(&text)
    );
    assert_untouched(l, cluster, &work, &pushed, good);
    eprintln!(
        "[loop] step image missing: {name} failed ({}); status says: {next}",
        tr["message"]
    );
    name
}

/// A learner's new product gets CI the way `ci/coffee/trigger.yaml` says
/// (seed 000's documented step), with `apps/coffee/tea` already there (the
/// road made it): (1) a Trigger for tea, a copy of cart's, pushed and synced
/// by Argo CD (Application coffee-ci); (2) tea's code, a copy of cart's
/// named tea, pushed **without tests**: tea's PipelineRun fails in its test
/// step, `kindops status` says the module has no tests, nothing is built;
/// (3) its test added: the run Succeeds, CI writes tea's image back into
/// `apps/coffee/tea`, and tea answers as tea with that commit. Only tea's
/// runs start. Returns the commit tea serves.
pub fn new_product_gets_ci(l: &Learner, cluster: &str) -> String {
    let work = learner_clone(l);
    assert!(
        work.join("apps/coffee/tea/kustomization.yaml").is_file(),
        "the road adds apps/coffee/tea first"
    );

    // 1. The Trigger: cart's, with tea in its paths and MODULE_PATH.
    let file = work.join("ci/coffee/trigger.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let (start, end) = (
        text.find("    - name: cart\n").expect("cart's Trigger"),
        text.find("    - name: order\n").expect("order's Trigger"),
    );
    let tea_trigger = text[start..end].replace("cart", "tea");
    std::fs::write(&file, format!("{}{tea_trigger}{}", &text[..end], &text[end..])).unwrap();
    commit_as_learner(&work, "ci: a Trigger for tea");
    let trigger_commit = push(&work);
    poll("the EventListener has tea's Trigger", 240, || {
        let out = l.kubectl(
            cluster,
            &[
                "-n",
                "coffee-ci",
                "get",
                "eventlistener",
                "coffee",
                "-o",
                "jsonpath={.spec.triggers[*].name}",
            ],
        );
        stdout(&out).split_whitespace().any(|t| t == "tea").then_some(())
    });
    let synced = l
        .command(&[
            "status",
            "--cluster",
            cluster,
            "--wait",
            "--app",
            "coffee-ci",
            "--timeout",
            "180s",
        ])
        .output()
        .unwrap();
    assert_eq!(synced.status.code(), Some(0), "{}", show(&synced));
    // The listener's sink reads its Triggers through an informer: a moment.
    std::thread::sleep(Duration::from_secs(3));
    eprintln!("[loop] tea's Trigger {} synced", &trigger_commit[..7]);

    // 2. tea's code without tests.
    let before = run_names(l, cluster);
    let src = work.join("products/coffee/cart");
    let dst = work.join("products/coffee/tea");
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["go.mod", "main.go", "server.go"] {
        let t = std::fs::read_to_string(src.join(f)).unwrap();
        std::fs::write(dst.join(f), t.replace("cart", "tea")).unwrap();
    }
    commit_as_learner(&work, "tea: the service, no tests yet");
    let untested = push(&work);
    let (run, v, shown) = failed_run_after(l, cluster, &before, "tea's run without tests ended", 300);
    let name = run["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(shown["module"], "products/coffee/tea", "{shown}");
    assert_eq!(shown["revision"], untested.as_str(), "{shown}");
    assert_eq!(shown["failed_tests"], "no tests", "{shown}");
    let next = v["next_steps"][name.as_str()].as_str().unwrap_or_default();
    assert!(
        next.contains("products/coffee/tea has no tests (*_test.go)"),
        "`kindops status -o json` next_steps for {name}: {next:?}"
    );
    assert!(
        !registry_serves(&format!("coffee/tea:{untested}")),
        "an image was pushed for tea without tests"
    );
    let ours: Vec<String> = run_names(l, cluster)
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    assert_eq!(ours, std::slice::from_ref(&name), "only tea's run started");
    eprintln!("[loop] tea without tests: {name} failed in its test step; status says: {next}");

    // 3. Its test: the run Succeeds and tea rolls out as tea.
    let before = run_names(l, cluster);
    let t = std::fs::read_to_string(src.join("server_test.go")).unwrap();
    std::fs::write(dst.join("server_test.go"), t.replace("cart", "tea")).unwrap();
    commit_as_learner(&work, "tea: its tests");
    let tested = push(&work);
    let answer = poll("tea answers as tea with its tested commit", 420, || {
        let o = l
            .command(&["open", "tea", "--cluster", cluster, "-o", "json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (v["answer"]["name"] == "tea" && v["answer"]["version"] == tested.as_str()).then_some(v)
    });
    assert_eq!(answer["answer"]["secret"], "present", "{answer}");
    let ours: Vec<serde_json::Value> = pipelineruns(l, cluster)
        .into_iter()
        .filter(|r| !before.iter().any(|n| r["metadata"]["name"] == n.as_str()))
        .collect();
    assert_eq!(ours.len(), 1, "one run for tea's tested commit: {ours:?}");
    assert_eq!(condition(&ours[0], "Succeeded").unwrap()["status"], "True");
    git(&work, &["fetch", "-q", "origin"]);
    let kustomization = git(&work, &["show", "origin/main:apps/coffee/tea/kustomization.yaml"]);
    assert!(
        kustomization.contains("newName: localhost:5001/coffee/tea") && kustomization.contains(&tested),
        "CI wrote tea's image back: {kustomization}"
    );
    eprintln!("[loop] tea with its tests: built, written back, serving {tested}");
    tested
}

/// The PipelineRuns in coffee-ci.
pub fn pipelineruns(l: &Learner, cluster: &str) -> Vec<serde_json::Value> {
    let v = json(&l.kubectl(cluster, &["-n", "coffee-ci", "get", "pipelineruns", "-o", "json"]));
    v["items"].as_array().cloned().unwrap_or_default()
}
