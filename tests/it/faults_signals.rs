//! Fault suite (issue 13), kindops itself stopped mid-phase: SIGTERM in an
//! apply while its render's `kubectl kustomize` child runs (seen in `/proc`
//! first), and SIGTERM/Ctrl-C (SIGINT) in a wait, exit 130 leaving no
//! process; SIGKILL in an apply while its child runs takes the child with it
//! (its parent-death signal); SIGKILL in an apply and in a wait leaves
//! nothing a re-run cannot converge from (the state ConfigMap, what was
//! applied). One private test bed, the faults in turn.
//! Publish (phase 2) is interrupted in `faults_argocd.rs`; `kind create
//! cluster` in `tests/it/kind.rs` (the real-kind lane).

use crate::support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::bed::Bed;
use support::fault::{
    assert_no_secret, assert_nothing_left, assert_phase_1_rerun_changes_nothing, child_running, group_members,
    path_with, slow_kustomize, stick, unstick, Running,
};
use support::kindops::Kindops;

const HUNG: Duration = Duration::from_secs(300);

/// Runs phase 1, sends `sig` once a line with `at` appears; returns the exit
/// code and the output, after checking nothing of the run is left.
fn interrupt(bed: &Bed, at: &str, sig: Signal) -> (Option<i32>, String) {
    let mut run = Running::spawn(Kindops::up(bed).args(["--phase", "1"]).command());
    run.wait_line(at, HUNG);
    run.signal(sig);
    let (code, text) = run.finish();
    assert_nothing_left(bed.home.path());
    assert_no_secret(bed, &text);
    (code, text)
}

/// Like [`interrupt`], with a child surely running when the signal lands:
/// the render cache emptied and the render of `path` held by
/// [`slow_kustomize`]; `sig` is sent once the step line `at` is out and the
/// child (`kubectl kustomize ... path`) is seen in `/proc`. Then checks the
/// child's whole process group is gone within 5 s of kindops's exit (the
/// held render would otherwise run 30 s more). Returns the exit code and the
/// output.
fn interrupt_with_child(bed: &Bed, at: &str, path: &str, sig: Signal) -> (Option<i32>, String) {
    let _ = std::fs::remove_dir_all(bed.home.path().join("cache/kindops/render"));
    let bin = slow_kustomize(bed.home.path());
    let mut run = Running::spawn(
        Kindops::up(bed)
            .args(["--phase", "1"])
            .env("PATH", path_with(&bin))
            .env("KINDOPS_TEST_HOLD", path)
            .command(),
    );
    run.wait_line(at, HUNG);
    let (pid, pgid) = child_running(bed.home.path(), "kubectl kustomize", HUNG);
    run.signal(sig);
    let (code, text) = run.finish();
    let exited = Instant::now();
    while !group_members(pgid).is_empty() {
        assert!(
            exited.elapsed() < Duration::from_secs(5),
            "{sig}: the child {pid} (group {pgid}) outlived kindops: {:?}\n{text}",
            group_members(pgid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "{sig} in `{at}` with child {pid} running: its group gone {:.2}s after kindops exited",
        exited.elapsed().as_secs_f64()
    );
    assert_nothing_left(bed.home.path());
    assert_no_secret(bed, &text);
    (code, text)
}

fn state_keys(bed: &Bed) -> String {
    let out = bed.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "configmap",
        "kindops-state",
        "-o",
        "jsonpath={.data}",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sigterm_sigint_and_sigkill_mid_phase_1_then_a_rerun_converges() {
    let bed = Bed::private("flt-signals", false);

    // SIGKILL in an apply, on an empty cluster, while its render runs:
    // the child dies with kindops (its parent-death signal), and nothing
    // is left to clean up for the re-run but what was applied so far.
    let (code, text) = interrupt_with_child(&bed, "-> apply platform/tekton", "platform/tekton", Signal::SIGKILL);
    assert_eq!(code, None, "killed by SIGKILL:\n{text}");
    assert!(
        !state_keys(&bed).contains("phase-1"),
        "phase 1 recorded although killed"
    );

    // SIGTERM in an apply while its render runs: as Ctrl-C, the child's
    // group stopped.
    let (code, text) = interrupt_with_child(&bed, "-> apply platform/argo-cd", "platform/argo-cd", Signal::SIGTERM);
    assert_eq!(code, Some(130), "{text}");
    assert!(
        text.contains("kindops: interrupted; run `kindops up` again to resume"),
        "{text}"
    );

    // In a wait that cannot finish: SIGTERM, Ctrl-C, then SIGKILL.
    stick(&bed);
    for (sig, want) in [
        (Signal::SIGTERM, Some(130)),
        (Signal::SIGINT, Some(130)),
        (Signal::SIGKILL, None),
    ] {
        let (code, text) = interrupt(&bed, "-> wait for rollouts", sig);
        assert_eq!(code, want, "{sig} in wait-rollouts:\n{text}");
        if want.is_some() {
            assert!(text.contains("kindops: interrupted"), "{text}");
        }
    }
    assert!(
        !state_keys(&bed).contains("phase-1"),
        "phase 1 recorded although interrupted"
    );

    // The cause gone, a re-run converges and records the phase.
    unstick(&bed);
    let again = Kindops::up(&bed).args(["--phase", "1"]).run();
    let t = again.assert_code(0).stdout();
    assert!(t.contains("==> phase 1: done"), "{t}");
    assert!(t.contains("13 workloads Available"), "{t}");
    assert!(state_keys(&bed).contains("phase-1"), "{}", state_keys(&bed));
    // ... to the same end state as an undisturbed run: nothing left to change.
    assert_phase_1_rerun_changes_nothing(&bed);
}
