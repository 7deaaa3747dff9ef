//! Records the git commit kindops is built from (`kindops version`), when
//! it is built from a git checkout; a packaged crate says `unknown`.

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KINDOPS_COMMIT={commit}");
    // A new commit or checkout moves HEAD's reflog (in a worktree `.git` is
    // a file and this path does not exist: then only a clean build updates it).
    if std::path::Path::new(".git/logs/HEAD").exists() {
        println!("cargo:rerun-if-changed=.git/logs/HEAD");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
