//! Fault suite (issue 13), the API server: kube-apiserver killed (SIGKILL)
//! while phase 1 runs, on a private test bed each.
//!
//! - killed during the apply and again during the wait, restarted a few
//!   seconds later each time: the phase completes in the same run;
//! - killed and not restarted: the wait's deadline names the API server as
//!   unreachable and what to do; the API server back, a re-run converges.
//!
//! Each also checks the promise of every fault: no process of the run left,
//! no secret in the output. Recovery times are printed (`--nocapture`) for
//! the README's reliability table, never asserted.

mod support;

use std::time::{Duration, Instant};

use support::bed::{show, testbed_phases, Bed};
use support::fault::{assert_no_secret, assert_nothing_left, stick, unstick, Running};
use support::kindops::Kindops;

/// How long a test waits for a line before calling the run hung.
const HUNG: Duration = Duration::from_secs(300);

fn kill_apiserver(bed: &Bed) {
    let out = bed.script(&["kill-apiserver"]);
    assert!(out.status.success(), "kill-apiserver: {}", show(&out));
}

/// Starts kube-apiserver again; returns when it answers `/readyz`.
fn start_apiserver(bed: &Bed) -> Instant {
    let out = bed.script(&["start-apiserver"]);
    assert!(out.status.success(), "start-apiserver: {}", show(&out));
    Instant::now()
}

#[test]
fn apiserver_killed_during_apply_and_during_the_wait_the_phase_still_completes() {
    let bed = Bed::private("flt-apisrv", false);
    let mut run = Running::spawn(Kindops::up(&bed).args(["--phase", "1"]).command());

    // During the first apply: the server-side apply requests and the CRD wait.
    run.wait_line("-> apply platform/argo-cd", HUNG);
    kill_apiserver(&bed);
    std::thread::sleep(Duration::from_secs(3));
    let back1 = start_apiserver(&bed);
    let (at, line) = run.wait_line("  ok", HUNG);
    eprintln!(
        "fault apiserver-during-apply: step finished {:.1}s after the API server was back ({})",
        at.saturating_duration_since(back1).as_secs_f64(),
        line.trim()
    );

    // During the wait for rollouts, held open by a Deployment that cannot
    // become Available; removed once the API server is back, the wait must
    // see it through its resumed watch.
    run.wait_line("-> apply platform/argo-rollouts/crds", HUNG);
    stick(&bed);
    run.wait_line("-> wait for rollouts", HUNG);
    kill_apiserver(&bed);
    std::thread::sleep(Duration::from_secs(3));
    start_apiserver(&bed);
    let unstuck = Instant::now();
    unstick(&bed);
    let (at, _) = run.wait_line("workloads Available (", HUNG);
    eprintln!(
        "fault apiserver-during-wait: wait finished {:.1}s after the API server was back and the Deployment deleted",
        at.saturating_duration_since(unstuck).as_secs_f64()
    );

    let home = bed.home.path().to_path_buf();
    let (code, text) = run.finish();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("==> phase 1: done"), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
    assert_nothing_left(&home);
    assert_no_secret(&bed, &text);

    // The same end state as an undisturbed run: a re-run changes nothing.
    let again = Kindops::up(&bed).args(["--phase", "1"]).run();
    let t = again.assert_code(0).stdout();
    for l in t.lines().filter(|l| l.contains("objects (")) {
        assert!(l.contains(", 0 changed"), "re-run changed objects: {l}\n{t}");
    }
}

#[test]
fn apiserver_killed_and_not_restarted_the_deadline_names_it_and_a_rerun_converges() {
    let bed = Bed::private("flt-apidown", false);
    stick(&bed);
    // A 10 s deadline for the wait only (`--timeout` would also cut the
    // apply's CRD wait, which needs longer on a loaded machine).
    let phases = testbed_phases(bed.home.path());
    let p1 = std::path::Path::new(&phases).join("phase-1.yaml");
    let text = std::fs::read_to_string(&p1).unwrap();
    let wait = "    namespaces: [argocd, tekton-pipelines, tekton-pipelines-resolvers]\n    timeout: 10m\n";
    assert!(text.contains(wait), "phase-1.yaml changed shape: {text}");
    std::fs::write(&p1, text.replace(wait, &wait.replace("10m", "10s"))).unwrap();
    let mut run = Running::spawn(Kindops::up(&bed).args(["--phase", "1", "--phases", &phases]).command());
    run.wait_line("-> wait for rollouts", HUNG);
    kill_apiserver(&bed);
    let home = bed.home.path().to_path_buf();
    let (code, text) = run.finish();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("workloads not seen Available within 10s"), "{text}");
    assert!(text.contains("object: API server"), "{text}");
    assert!(text.contains("the API server does not answer"), "{text}");
    assert!(text.contains("next:   is the cluster running?"), "{text}");
    assert!(text.contains("kindops: failed: API server"), "{text}");
    assert_nothing_left(&home);
    assert_no_secret(&bed, &text);

    // Back within KWOK's 40 s node lease: a longer outage makes the node
    // controller mark every pod NotReady, and KWOK never sets them Ready
    // again (a test-bed limit; a kubelet would).
    let back = start_apiserver(&bed);
    unstick(&bed);
    let again = Kindops::up(&bed).args(["--phase", "1", "--timeout", "3m"]).run();
    let t = again.assert_code(0).stdout();
    assert!(t.contains("==> phase 1: done"), "{t}");
    eprintln!(
        "fault apiserver-down: re-run converged in {:.1}s after the API server was back",
        back.elapsed().as_secs_f64()
    );
}
