//! git as the tests run it: `git -C DIR ARGS`, the way a learner does (the
//! test bed's and the lane's git sources are plain repositories on disk).

use super::bed::show;
use std::path::Path;
use std::process::{Command, Output};

/// `git -C dir ARGS`, whatever it exits with.
pub fn output(dir: &Path, args: &[&str]) -> Output {
    Command::new("git").arg("-C").arg(dir).args(args).output().unwrap()
}

/// `git -C dir ARGS`, which must succeed (else the test fails naming the
/// folder, the arguments and git's output); its stdout, trimmed.
#[track_caller]
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        show(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git -C dir show REV:PATH`: the file's bytes as text at that revision,
/// `None` when it is not there.
pub fn show_file(dir: &Path, rev_path: &str) -> Option<String> {
    let out = output(dir, &["show", rev_path]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
