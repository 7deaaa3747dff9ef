//! Fault suite (issue 13), kindops itself stopped mid-phase: SIGTERM and
//! Ctrl-C (SIGINT) in an apply (whose render runs `kubectl kustomize` as a
//! child) and in a wait exit 130 leaving no process; SIGKILL in an apply and
//! in a wait leaves nothing a re-run cannot converge from (the state
//! ConfigMap, what was applied). One private test bed, the faults in turn.
//! Publish (phase 2) is interrupted in `faults_argocd.rs`; `kind create
//! cluster` in `tests/kind.rs` (the real-kind lane).

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::bed::Bed;
use support::fault::{
    assert_no_secret, assert_nothing_left, assert_phase_1_rerun_changes_nothing, stick, unstick, Running,
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

    // SIGKILL in an apply, on an empty cluster: nothing to clean up for the
    // re-run but what was applied so far.
    let (code, text) = interrupt(&bed, "-> apply platform/tekton", Signal::SIGKILL);
    assert_eq!(code, None, "killed by SIGKILL:\n{text}");
    assert!(
        !state_keys(&bed).contains("phase-1"),
        "phase 1 recorded although killed"
    );

    // SIGTERM in an apply (while its render or requests run): as Ctrl-C.
    let (code, text) = interrupt(&bed, "-> apply platform/argo-cd", Signal::SIGTERM);
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
    assert!(t.contains("14 workloads Available"), "{t}");
    assert!(state_keys(&bed).contains("phase-1"), "{}", state_keys(&bed));
    // ... to the same end state as an undisturbed run: nothing left to change.
    assert_phase_1_rerun_changes_nothing(&bed);
}
