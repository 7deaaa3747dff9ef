//! Fault suite (issue 13), phases 2–4 with the real Argo CD, on one private
//! test bed (Argo CD takes ~1 GiB and most of a core), the faults in turn:
//!
//! - SIGTERM while the GitOps repo is published: exit 130, nothing left, the
//!   work clone intact; SIGKILL while phase 2 waits for its Application;
//! - the git source unreachable (a remote that refuses connections; a bare
//!   repository path that is not a directory): exit 1 naming the source and
//!   the next step, the work clone intact; then a re-run publishes and
//!   converges, and the work clone is private (0700, `.git/config` 0600);
//! - Argo CD's repo-server killed while phase 3 waits, started again 10 s
//!   later: the same run completes;
//! - the application-controller killed while phase 4 waits and left down:
//!   the deadline names the Application and says the controller has not
//!   reconciled it; started again, a re-run converges;
//! - a learner's commit pushed while the application-controller is down:
//!   the re-run does not take the Applications' Synced+Healthy of the commit
//!   before for done; the deadline says Argo CD has not compared again.
//!
//! No secret (Argo CD's admin password, the bed's client key) in any output.
//! Recovery times are printed, not asserted.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::bed::{show, testbed_phases, Bed};
use support::fault::{assert_no_secret, assert_nothing_left, Running};
use support::kindops::Kindops;
use support::learner::LearnerClone;

const HUNG: Duration = Duration::from_secs(600);

fn up<'b>(bed: &'b Bed, phase: &str, phases: &str) -> Kindops<'b> {
    Kindops::up(bed).args(["--phase", phase, "--phases", phases, "--timeout", "5m"])
}

/// kindops's work clone for the bed's context.
fn work_clone(bed: &Bed) -> PathBuf {
    bed.home.path().join("data/kindops/context-kindops-testbed/gitops-work")
}

/// `git fsck` and `git status` pass in the work clone: nothing corrupt.
#[track_caller]
fn work_clone_intact(work: &Path) {
    for args in [&["fsck", "--no-progress"][..], &["status", "--porcelain"][..]] {
        support::git::ok(work, args);
    }
}

fn argocd(bed: &Bed, sub: &str, proc: &str) {
    let out = bed.script(&[sub, proc]);
    assert!(out.status.success(), "{sub} {proc}: {}", show(&out));
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn argo_cd_and_git_source_faults_during_phases_2_to_4() {
    let bed = Bed::private("flt-argocd", true);
    let phases = testbed_phases(bed.home.path());
    let home = bed.home.path().to_path_buf();
    let mut outputs = String::new();
    up(&bed, "1", &phases).run().assert_code(0);

    // SIGTERM while publishing, once the work clone exists: as Ctrl-C,
    // the work clone intact.
    let mut run = Running::spawn(up(&bed, "2", &phases).command());
    run.wait_line("-> publish the GitOps repo", HUNG);
    let t = std::time::Instant::now();
    while !work_clone(&bed).join(".git").exists() {
        assert!(t.elapsed() < HUNG, "publish made no work clone");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run.signal(Signal::SIGTERM);
    let (code, text) = run.finish();
    assert_eq!(code, Some(130), "{text}");
    assert_nothing_left(&home);
    work_clone_intact(&work_clone(&bed));
    outputs.push_str(&text);

    // SIGKILL while phase 2 waits for Argo CD to sync itself.
    let mut run = Running::spawn(up(&bed, "2", &phases).command());
    run.wait_line("-> wait for Applications", HUNG);
    run.signal(Signal::SIGKILL);
    let (code, text) = run.finish();
    assert_eq!(code, None, "{text}");
    assert_nothing_left(&home);
    outputs.push_str(&text);

    // The git source unreachable: a remote that refuses connections.
    let down = "git://127.0.0.1:9/gitops.git";
    let out = Kindops::new()
        .args([
            "up",
            "--no-tui",
            "--phase",
            "2",
            "--phases",
            &phases,
            "--repo-url",
            down,
        ])
        .context()
        .mirror()
        .in_bed(&bed)
        .run();
    let text = out.assert_code(1).stdout();
    assert!(text.contains(&format!("object: git source {down}")), "{text}");
    assert!(text.contains("next:   check that you can push there"), "{text}");
    work_clone_intact(&work_clone(&bed));
    outputs.push_str(&text);

    // ... a bare repository path that is not a directory.
    let bare = bed.home.path().join("git/gitops.git");
    let saved = bed.home.path().join("git/gitops.git.saved");
    std::fs::rename(&bare, &saved).unwrap();
    std::fs::write(&bare, "not a repository\n").unwrap();
    let text = up(&bed, "2", &phases).run().assert_code(1).stdout();
    assert!(
        text.contains(&format!("object: git source {}", bed.repo_url())),
        "{text}"
    );
    assert!(
        text.contains(&format!("creating the bare repository {}", bare.display())),
        "{text}"
    );
    work_clone_intact(&work_clone(&bed));
    std::fs::remove_file(&bare).unwrap();
    std::fs::rename(&saved, &bare).unwrap();
    outputs.push_str(&text);

    // The source back: the re-run publishes and converges; the work clone,
    // which holds the remote URL and its credentials, is private.
    let t0 = Instant::now();
    let text = up(&bed, "2", &phases).run().assert_code(0).stdout().to_string();
    assert!(text.contains("==> phase 2: done"), "{text}");
    eprintln!(
        "fault git-source: re-run of phase 2 converged in {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(mode(&work_clone(&bed)), 0o700);
    assert_eq!(mode(&work_clone(&bed).join(".git/config")), 0o600);
    outputs.push_str(&text);

    // Argo CD's repo-server killed while phase 3 waits, back 10 s later.
    let mut run = Running::spawn(up(&bed, "3", &phases).command());
    run.wait_line("-> wait for Applications", HUNG);
    argocd(&bed, "argocd-kill", "repo-server");
    std::thread::sleep(Duration::from_secs(10));
    argocd(&bed, "argocd-start", "repo-server");
    let back = Instant::now();
    let (at, _) = run.wait_line("==> phase 3: done", HUNG);
    eprintln!(
        "fault repo-server: phase 3 done {:.1}s after the repo-server was back",
        at.saturating_duration_since(back).as_secs_f64()
    );
    let (code, text) = run.finish();
    assert_eq!(code, Some(0), "{text}");
    assert_nothing_left(&home);
    let seen: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("-> wait for Applications"))
        .filter(|l| l.contains(".. "))
        .collect();
    eprintln!("fault repo-server: the wait's progress lines: {seen:#?}");
    // The outage was noticed and named while the wait kept going.
    assert!(
        seen.iter().any(|l| l.contains("Argo CD's repo-server does not answer")),
        "the wait never named the repo-server:\n{text}"
    );
    outputs.push_str(&text);

    // The application-controller killed while phase 4 waits, left down: the
    // deadline names the Application and what to look at.
    let mut run = Running::spawn(
        Kindops::up(&bed)
            .args(["--phase", "4", "--phases", &phases, "--timeout", "30s"])
            .command(),
    );
    run.wait_line("-> wait for Applications", HUNG);
    argocd(&bed, "argocd-kill", "application-controller");
    let (code, text) = run.finish();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("object: Application argocd/"), "{text}");
    assert!(text.contains("application-controller"), "{text}");
    outputs.push_str(&text);
    argocd(&bed, "argocd-start", "application-controller");
    let back = Instant::now();
    let text = up(&bed, "4", &phases).run().assert_code(0).stdout().to_string();
    assert!(text.contains("==> phase 4: done"), "{text}");
    eprintln!(
        "fault application-controller: re-run of phase 4 converged in {:.1}s after the controller was back",
        back.elapsed().as_secs_f64()
    );
    outputs.push_str(&text);

    // A learner's commit lands while the application-controller is down: the
    // Applications still say Synced+Healthy, from their comparison of the
    // commit before. The re-run asks Argo CD to compare the new one and must
    // not count that old Synced+Healthy: the deadline says so.
    argocd(&bed, "argocd-kill", "application-controller");
    let clone = LearnerClone::new(&bed);
    clone.write("NOTES.md", "a learner's note\n");
    clone.push_in(&bed, "a note");
    let out = Kindops::up(&bed)
        .args(["--phase", "4", "--phases", &phases, "--timeout", "15s"])
        .run();
    let text = out.assert_code(1).stdout().to_string();
    assert!(text.contains("object: Application argocd/"), "{text}");
    assert!(text.contains("from before the refresh kindops asked for"), "{text}");
    outputs.push_str(&text);
    argocd(&bed, "argocd-start", "application-controller");
    let text = up(&bed, "4", &phases).run().assert_code(0).stdout().to_string();
    assert!(text.contains("==> phase 4: done"), "{text}");
    outputs.push_str(&text);

    // Every phase recorded; nothing left; no secret anywhere.
    let state = bed.kubectl_ok(&[
        "-n",
        "kube-system",
        "get",
        "configmap",
        "kindops-state",
        "-o",
        "jsonpath={.data}",
    ]);
    for n in 1..=4 {
        assert!(state.contains(&format!("phase-{n}")), "{state}");
    }
    assert_nothing_left(&home);
    assert_no_secret(&bed, &outputs);
}
