//! `publish-repo` with the real git, against a built-in bare repository
//! in a temporary data dir, and a learner's clone of it.
use super::*;
use crate::content::Content;
use crate::engine::event::Failure;
use crate::engine::step::RunState;
use crate::engine::{Emitter, Settings};
use crate::gitsource::OnConflict;
use crate::plan::{PhaseSource, Plan};
use std::path::PathBuf;
use std::process::Command;
use tokio_util::sync::CancellationToken;

fn settings(data: &Path) -> Settings {
    Settings::for_tests(4, data)
}

/// Runs the `publish-repo` step with `files` as kindops's content.
async fn publish_files(settings: &Settings, files: &[(&str, &str)]) -> Result<Done, Failure> {
    let tree = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = tree.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let events = Emitter::new(tx);
    let cancel = CancellationToken::new();
    let plan = Plan::load(&PhaseSource::Embedded, &Content::embedded()).unwrap();
    let mut run = RunState {
        tree: Some(tree),
        ..Default::default()
    };
    let mut ctx = StepCtx {
        phase: 2,
        step: 0,
        events: &events,
        cancel: &cancel,
        settings,
        plan: &plan,
        run: &mut run,
    };
    publish_repo_step(&mut ctx).await.map_err(|e| e.into_failure())
}

/// Real git as the learner; the bare repository's hook is skipped (it
/// would run this test binary as `kindops refresh`).
fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=learner", "-c", "user.email=learner@localhost"])
        .args(args)
        .env(crate::gitsource::push_hook::PUBLISHING_ENV, "1")
        .output()
        .unwrap()
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bare(s: &Settings) -> PathBuf {
    s.git_source().unwrap().local_bare.unwrap()
}

/// Every ref of the bare repository and where it points.
fn refs(s: &Settings) -> String {
    git_ok(&bare(s), &["for-each-ref", "--format=%(refname) %(objectname)"])
}

/// A learner's fresh clone of the bare repository.
fn clone(s: &Settings, into: &Path) -> PathBuf {
    let dir = into.join(format!("clone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    git_ok(into, &["clone", "-q", bare(s).to_str().unwrap(), dir.to_str().unwrap()]);
    dir
}

fn commit_and_push(dir: &Path, files: &[(&str, &str)], msg: &str) {
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git_ok(dir, &["add", "-A"]);
    git_ok(dir, &["commit", "-q", "-m", msg]);
    git_ok(dir, &["push", "-q", "origin", "HEAD:main"]);
}

/// A file as `main` of the bare repository has it (`None`: absent).
fn on_main(s: &Settings, rel: &str) -> Option<String> {
    let out = git(&bare(s), &["show", &format!("main:{rel}")]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

const V1: &[(&str, &str)] = &[
    ("apps/coffee/cart/replicas.yaml", "replicas: 1\n"),
    ("platform/a.yaml", "a: 1\n"),
    ("platform/b.yaml", "b: 1\n"),
];

fn v2(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> = V1
        .iter()
        .filter(|(p, _)| !changes.iter().any(|(c, _)| c == p))
        .copied()
        .collect();
    v.extend_from_slice(changes);
    v
}

#[tokio::test]
async fn a_rerun_keeps_the_learners_commits_and_publishes_only_what_kindops_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    // First publish, into a repository that does not exist yet.
    let done = publish_files(&s, V1).await.unwrap();
    assert!(done.changed, "{done:?}");
    assert_eq!(on_main(&s, "platform/a.yaml").as_deref(), Some("a: 1\n"));

    // The learner changes a shipped file and adds one of their own.
    let c = clone(&s, tmp.path());
    commit_and_push(
        &c,
        &[
            ("apps/coffee/cart/replicas.yaml", "replicas: 3\n"),
            ("mine/notes.yaml", "n: 1\n"),
        ],
        "learner",
    );

    // The same content again: nothing to publish, nothing pushed.
    let before = refs(&s);
    let done = publish_files(&s, V1).await.unwrap();
    assert!(!done.changed, "{done:?}");
    assert_eq!(refs(&s), before, "a re-run with the same content pushed something");
    assert_eq!(
        on_main(&s, "apps/coffee/cart/replicas.yaml").as_deref(),
        Some("replicas: 3\n")
    );
    assert_eq!(on_main(&s, "mine/notes.yaml").as_deref(), Some("n: 1\n"));

    // A new content version that changes another file: that change is
    // merged, the learner's stay.
    let done = publish_files(&s, &v2(&[("platform/a.yaml", "a: 2\n")])).await.unwrap();
    assert!(done.changed, "{done:?}");
    assert_eq!(on_main(&s, "platform/a.yaml").as_deref(), Some("a: 2\n"));
    assert_eq!(
        on_main(&s, "apps/coffee/cart/replicas.yaml").as_deref(),
        Some("replicas: 3\n")
    );
    assert_eq!(on_main(&s, "mine/notes.yaml").as_deref(), Some("n: 1\n"));
    // The learner's commit is in main's history, untouched.
    let log = git_ok(&bare(&s), &["log", "--format=%an %s", "main"]);
    assert!(log.contains("learner learner"), "{log}");
}

#[tokio::test]
async fn a_conflicting_content_change_stops_naming_the_file_and_pushes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    publish_files(&s, V1).await.unwrap();
    let c = clone(&s, tmp.path());
    commit_and_push(&c, &[("apps/coffee/cart/replicas.yaml", "replicas: 3\n")], "learner");

    let before = refs(&s);
    let conflicting = v2(&[
        ("apps/coffee/cart/replicas.yaml", "replicas: 2\n"),
        ("platform/a.yaml", "a: 2\n"),
    ]);
    let f = publish_files(&s, &conflicting).await.unwrap_err();
    let text = format!("{} / {:?} / {:?}", f.reason, f.object, f.hint);
    assert!(text.contains("apps/coffee/cart/replicas.yaml"), "{text}");
    assert!(
        !text.contains("platform/a.yaml"),
        "only the conflicting file is named: {text}"
    );
    let hint = f.hint.clone().unwrap_or_default();
    assert!(
        hint.contains("--on-conflict keep-mine") && hint.contains("--on-conflict take-kindops"),
        "{hint}"
    );
    assert_eq!(refs(&s), before, "a conflict pushed something");
    assert_eq!(
        on_main(&s, "apps/coffee/cart/replicas.yaml").as_deref(),
        Some("replicas: 3\n")
    );

    // `--on-conflict keep-mine`: the learner's file stays, kindops's other change is merged.
    let keep = Settings {
        on_conflict: Some(OnConflict::KeepMine),
        ..s.clone()
    };
    assert!(publish_files(&keep, &conflicting).await.unwrap().changed);
    assert_eq!(
        on_main(&s, "apps/coffee/cart/replicas.yaml").as_deref(),
        Some("replicas: 3\n")
    );
    assert_eq!(on_main(&s, "platform/a.yaml").as_deref(), Some("a: 2\n"));
    // Settled: the same content again changes nothing.
    let before = refs(&s);
    assert!(!publish_files(&s, &conflicting).await.unwrap().changed);
    assert_eq!(refs(&s), before);

    // A later version changes that line again: `--on-conflict take-kindops`.
    let v3 = v2(&[
        ("apps/coffee/cart/replicas.yaml", "replicas: 4\n"),
        ("platform/a.yaml", "a: 2\n"),
    ]);
    publish_files(&s, &v3).await.unwrap_err();
    let take = Settings {
        on_conflict: Some(OnConflict::TakeKindops),
        ..s.clone()
    };
    assert!(publish_files(&take, &v3).await.unwrap().changed);
    assert_eq!(
        on_main(&s, "apps/coffee/cart/replicas.yaml").as_deref(),
        Some("replicas: 4\n")
    );
    let log = git_ok(&bare(&s), &["log", "--format=%an %s", "main"]);
    assert!(
        log.contains("learner learner"),
        "the learner's commit stays in history: {log}"
    );
}

#[tokio::test]
async fn a_repo_published_by_an_older_kindops_is_merged_without_reverting_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    // What an older kindops left: a bare repository whose main has the
    // learner's own file (pushed before that publish) and kindops's
    // commit of its content on top, then a learner edit of a shipped file.
    let b = bare(&s);
    std::fs::create_dir_all(&b).unwrap();
    git_ok(&b, INIT_BARE);
    let old = tmp.path().join("old-work");
    std::fs::create_dir_all(&old).unwrap();
    git_ok(&old, &["init", "-q", "--initial-branch=main", "."]);
    git_ok(&old, &["remote", "add", "origin", b.to_str().unwrap()]);
    commit_and_push(
        &old,
        &[("apps/coffee/tea/kustomization.yaml", "tea: 1\n")],
        "learner's tea",
    );
    for (rel, text) in V1 {
        let p = old.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git_ok(&old, &["add", "-A"]);
    let out = Command::new("git")
        .args(git_args(
            &old,
            &["commit", "-q", "-m", "kindops 0.1.0: publish GitOps content (phase 2)"],
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    git_ok(&old, &["push", "-q", "origin", "HEAD:main"]);
    let c = clone(&s, tmp.path());
    commit_and_push(&c, &[("apps/coffee/cart/replicas.yaml", "replicas: 3\n")], "learner");

    let done = publish_files(&s, &v2(&[("platform/a.yaml", "a: 2\n")])).await.unwrap();
    assert!(done.changed, "{done:?}");
    assert_eq!(
        on_main(&s, "apps/coffee/tea/kustomization.yaml").as_deref(),
        Some("tea: 1\n")
    );
    assert_eq!(
        on_main(&s, "apps/coffee/cart/replicas.yaml").as_deref(),
        Some("replicas: 3\n")
    );
    assert_eq!(on_main(&s, "platform/a.yaml").as_deref(), Some("a: 2\n"));
}

#[tokio::test]
async fn a_learner_can_amend_and_force_push_to_the_builtin_repo() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    publish_files(&s, V1).await.unwrap();
    let c = clone(&s, tmp.path());
    commit_and_push(&c, &[("mine/a.yaml", "x: 1\n")], "learner");
    std::fs::write(c.join("mine/a.yaml"), "x: 2\n").unwrap();
    git_ok(&c, &["commit", "-q", "-a", "--amend", "-m", "learner, amended"]);
    git_ok(&c, &["push", "-q", "--force", "origin", "HEAD:main"]);
    assert_eq!(on_main(&s, "mine/a.yaml").as_deref(), Some("x: 2\n"));
    // kindops's next run keeps the amended commit.
    let done = publish_files(&s, V1).await.unwrap();
    assert!(!done.changed, "{done:?}");
    assert_eq!(on_main(&s, "mine/a.yaml").as_deref(), Some("x: 2\n"));
    // The owner's own later choice to refuse them stays.
    git_ok(&bare(&s), &["config", "receive.denyNonFastForwards", "true"]);
    publish_files(&s, V1).await.unwrap();
    assert_eq!(
        git_ok(&bare(&s), &["config", "--get", "receive.denyNonFastForwards"]).trim(),
        "true"
    );
}

/// A work clone an interrupted run left half made (`git init` killed before
/// it wrote HEAD; `remote add` never ran) is made again, and so is one whose
/// half-made successor was left beside it; the source and its refs are
/// untouched.
#[tokio::test]
async fn a_half_made_work_clone_is_made_again_and_the_source_is_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    publish_files(&s, V1).await.unwrap();
    let before = refs(&s);
    let work = s.cluster_dir().join("gitops-work");
    for break_it in [
        |w: &Path| std::fs::remove_file(w.join(".git/HEAD")).unwrap(),
        |w: &Path| {
            git_ok(w, &["remote", "remove", "origin"]);
        },
    ] {
        break_it(&work);
        std::fs::create_dir_all(work.with_extension("new").join(".git")).unwrap();
        let done = publish_files(&s, V1).await.unwrap();
        assert!(!done.changed, "{done:?}");
        assert_eq!(refs(&s), before);
        assert!(!work.with_extension("new").exists());
        git_ok(&work, &["fsck", "--no-progress"]);
        assert_eq!(
            git_ok(&work, &["remote", "get-url", "origin"]).trim(),
            bare(&s).display().to_string()
        );
    }
}
