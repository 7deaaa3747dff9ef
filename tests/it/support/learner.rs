//! A learner's working clone of a test bed's git source: commits as
//! `learner`, pushes from inside the bed's network namespace (so the git
//! source's post-receive hook reaches the bed's API server).

use super::bed::{show, Bed};
use std::path::PathBuf;
use std::process::Command;

/// A working clone of the git source, as a user would have.
pub struct LearnerClone {
    pub dir: PathBuf,
}

impl LearnerClone {
    pub fn new(bed: &Bed) -> LearnerClone {
        let dir = bed.home.path().join(format!("clone-{}", super::unique_name("c")));
        let url = bed.repo_url();
        let out = Command::new("git")
            .args(["clone", "-q", &url, dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
        LearnerClone { dir }
    }
    pub fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(["-c", "user.name=learner", "-c", "user.email=learner@localhost"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {}: {}", args.join(" "), show(&out));
    }
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    /// Commits everything and pushes from inside the bed's namespace, as a
    /// learner whose shell reaches the cluster: the git source's post-receive
    /// hook (written by kindops) then asks Argo CD to refresh. Returns the
    /// push's output (the hook's messages are on its stderr).
    pub fn push_in(&self, bed: &Bed, msg: &str) -> std::process::Output {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        let dir = self.dir.display().to_string();
        let out = bed
            .command("git", &[] as &[(&str, &str)])
            .args(["-C", &dir, "push", "-q", "origin", "HEAD:main"])
            .output()
            .unwrap();
        assert!(out.status.success(), "git push: {}", show(&out));
        out
    }
}
