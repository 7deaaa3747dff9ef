//! Lesson 4 (CI by path) on a real kind cluster, where the EventListener's
//! pod serves and PipelineRuns run: the one lesson the test bed cannot show
//! (tests/learn.rs asserts it ends `skipped` there).
//!
//! `#[ignore]`d in `cargo test`, like tests/kind.rs. How the lead runs it,
//! on the real-kind lane with every image phases 1–4 run built (as for
//! `just test-kind-road`), plus the coffee pipeline's step image
//! `docker.io/alpine/git:v2.45.1` (manifests/gitops/ci/coffee/pipeline.yaml;
//! the lane must build or load an image under that name, as it did for the
//! former `cgr.dev/chainguard/git:latest`):
//!
//! ```sh
//! just testbed-build && tests/kind/lane.sh build all && tests/kind/lane.sh up
//! cargo build --tests && bash tests/mirror.sh
//! # a mirror with the images, as a presenter makes one (helm and kustomize on PATH):
//! tests/kind/lane.sh exec -- env PATH=$PWD/tests/testbed/bin:$PATH \
//!     KINDOPS_PINS=$PWD/tests/testbed/mirror/pins.yaml \
//!     target/debug/kindops fetch --images --into /tmp/lesson-mirror --mirror tests/testbed/mirror
//! tests/kind/lane.sh exec -- env KINDOPS_PINS=$PWD/tests/testbed/mirror/pins.yaml \
//!     KINDOPS_KIND_NODE_IMAGE=kindops.local/node:v1.36.3 KINDOPS_LESSONS_MIRROR=/tmp/lesson-mirror \
//!     cargo test --offline --test kind_lessons -- --ignored --nocapture
//! tests/kind/lane.sh down
//! ```
//!
//! (Tekton's digest-pinned shell image must be in that mirror as
//! tests/kind.rs `mirror_with_images` puts it there.) Not run by the
//! engineer who wrote it: the real-kind lane is the lead's.

mod support;

use std::process::{Command, Output, Stdio};
use support::bed::{show, stdout};
use support::kindops::Kindops;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: see this file's docs for how to run it"))
}

struct Learner {
    home: tempfile::TempDir,
}

impl Learner {
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd: Command = Kindops::new()
            .args(args)
            .home(self.home.path())
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .command();
        cmd.stdin(Stdio::null());
        cmd.output().unwrap()
    }

    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .env("KUBECONFIG", self.home.path().join("kubeconfig"))
            .args(["--context", "kind-ko-lessons"])
            .args(args)
            .output()
            .unwrap()
    }
}

fn pipelineruns(l: &Learner) -> Vec<serde_json::Value> {
    let out = l.kubectl(&["-n", "coffee-ci", "get", "pipelineruns", "-o", "json"]);
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

#[test]
#[ignore = "needs the real-kind lane with every image built: see the module docs"]
fn lesson_4_starts_exactly_one_pipelinerun_for_cart_and_none_for_neither() {
    let l = Learner {
        home: tempfile::tempdir().unwrap(),
    };
    let (img, m) = (env("KINDOPS_KIND_NODE_IMAGE"), env("KINDOPS_LESSONS_MIRROR"));
    let out = l.run(&[
        "up",
        "--no-tui",
        "--cluster",
        "ko-lessons",
        "--node-image",
        &img,
        "--mirror",
        &m,
        "--ui-port",
        "18083",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let before = pipelineruns(&l).len();

    let out = l.run(&["learn", "4", "--cluster", "ko-lessons", "--output", "json"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events: Vec<serde_json::Value> = text.lines().map(|x| serde_json::from_str(x).unwrap()).collect();
    let fin = events.iter().rfind(|e| e["event"] == "lesson_finished").unwrap();
    assert_eq!(fin["outcome"], "passed", "{text}");
    assert_eq!(
        events.iter().filter(|e| e["event"] == "change_made").count(),
        2,
        "two push events: {text}"
    );

    // Independently of the lesson's own report: exactly one new PipelineRun,
    // started by the cart trigger with cart's module path, none by order.
    let runs = pipelineruns(&l);
    assert_eq!(runs.len(), before + 1, "{runs:#?}");
    let run = runs
        .iter()
        .find(|r| r["metadata"]["labels"]["triggers.tekton.dev/eventlistener"] == "coffee")
        .expect("a PipelineRun of the coffee EventListener");
    assert_eq!(run["metadata"]["labels"]["triggers.tekton.dev/trigger"], "cart");
    let module = run["spec"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "MODULE_PATH")
        .unwrap()["value"]
        .clone();
    assert_eq!(module, "products/coffee/cart");

    // The step runs the pinned, preloaded image (no registry here).
    let pods = l.kubectl(&["-n", "coffee-ci", "get", "pods", "-o", "jsonpath={..image}"]);
    assert!(
        stdout(&pods).contains("docker.io/alpine/git:v2.45.1"),
        "{}",
        show(&pods)
    );

    // --undo deletes the runs; running the lesson again passes again.
    let out = l.run(&["learn", "4", "--undo", "--cluster", "ko-lessons"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(pipelineruns(&l).is_empty());
    let out = l.run(&["learn", "4", "--cluster", "ko-lessons"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let out = l.run(&["down", "--cluster", "ko-lessons"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}
