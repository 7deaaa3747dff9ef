//! `kindops uninstall --context`: after phases 0–4 on a private test bed
//! with the real Argo CD, uninstall leaves the cluster's API objects as they
//! were before `kindops up` (compared by kind, namespace and name), keeps
//! what the learner made, and stops on an Application kindops did not make.

use crate::support;

use std::collections::BTreeSet;
use support::bed::{show, stdout, testbed_phases, Bed};
use support::kindops::Kindops;

/// Every API object the bed serves as `Kind namespace/name` lines, but
/// Events (written all the time by the control plane, never by kindops).
/// `kubectl get` of every listable kind, whatever its exit code: an
/// aggregated API with no backend (metrics.k8s.io on the bed, see
/// `argocd.rs`) makes it exit 1 after printing the rest.
fn snapshot(bed: &Bed) -> BTreeSet<String> {
    let kinds = stdout(&bed.kubectl(&["api-resources", "--verbs=list,delete", "-o", "name"]));
    let kinds: Vec<&str> = kinds
        .lines()
        .map(str::trim)
        .filter(|k| !k.is_empty() && *k != "events" && *k != "events.events.k8s.io")
        .collect();
    assert!(kinds.contains(&"namespaces"), "{kinds:?}");
    let out = bed.kubectl(&[
        "get",
        &kinds.join(","),
        "-A",
        "--ignore-not-found",
        "--no-headers",
        "-o",
        "custom-columns=KIND:.kind,NS:.metadata.namespace,NAME:.metadata.name",
    ]);
    let set: BTreeSet<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        set.iter().any(|l| l.starts_with("Namespace <none> kube-system")),
        "{}",
        show(&out)
    );
    set
}

fn uninstall(bed: &Bed, args: &[&str]) -> std::process::Output {
    Kindops::new()
        .arg("uninstall")
        .context()
        .args(args)
        .in_bed(bed)
        .run()
        .out
}

#[test]
fn uninstall_leaves_the_cluster_as_kindops_found_it() {
    let bed = Bed::private("uninstall", true);
    // The learner's own namespace and object, there before kindops.
    bed.kubectl_ok(&["create", "namespace", "mine"]);
    bed.kubectl_ok(&["-n", "mine", "create", "configmap", "notes", "--from-literal=k=v"]);
    let before = snapshot(&bed);

    let phases = testbed_phases(bed.home.path());
    let out = Kindops::up(&bed)
        .args(["--phase", "4", "--phases", &phases, "--timeout", "5m"])
        .run()
        .out;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let installed = snapshot(&bed);
    for l in [
        "Namespace <none> argocd",
        "Namespace <none> coffee",
        "Application argocd cart",
        "CustomResourceDefinition <none> applications.argoproj.io",
    ] {
        assert!(installed.contains(l), "phase 4 should have made {l}");
    }

    // --dry-run names what goes and deletes nothing.
    let out = uninstall(&bed, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let plan = stdout(&out);
    for want in [
        "ApplicationSets: coffee",
        "Application(s) running Argo CD itself, without cascade: argo-cd",
        "namespaces, with everything in them: ",
        "(--dry-run: nothing deleted)",
    ] {
        assert!(plan.contains(want), "{want:?} not in the plan:\n{plan}");
    }
    assert!(
        !plan.contains(" mine"),
        "the learner's namespace is not kindops's:\n{plan}"
    );
    assert_eq!(snapshot(&bed), installed, "--dry-run deleted something");

    // Not a terminal and no --yes: exit 2, nothing deleted.
    let out = uninstall(&bed, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"), "{}", show(&out));

    // An Application kindops did not make stops it (exit 2, naming it).
    let theirs = bed.home.path().join("theirs.yaml");
    std::fs::write(
        &theirs,
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: theirs\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: file:///nowhere.git\n    path: .\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: mine\n",
    )
    .unwrap();
    bed.kubectl_ok(&["create", "-f", theirs.to_str().unwrap()]);
    let out = uninstall(&bed, &["--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("theirs") && err.contains("--force"), "{}", show(&out));
    assert!(
        snapshot(&bed).contains("Application argocd cart"),
        "the refused uninstall deleted something"
    );
    bed.kubectl_ok(&["-n", "argocd", "delete", "application", "theirs"]);

    // The uninstall: exit 0, and the cluster as it was before `kindops up`.
    let out = uninstall(&bed, &["--yes", "--timeout", "3m"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = stdout(&out);
    assert!(text.contains("uninstalled kindops from context"), "{text}");
    // kindops's data for this cluster on this machine (the work clone) stays.
    let kept = bed.home.path().join("data/kindops/context-kindops-testbed");
    assert!(kept.is_dir(), "{} is gone", kept.display());
    assert!(
        text.contains(&format!("kept on this machine: {}", kept.display())),
        "{text}"
    );
    let after = snapshot(&bed);
    let left: Vec<&String> = after.difference(&before).collect();
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(
        left.is_empty() && lost.is_empty(),
        "left behind: {left:#?}\nlost: {lost:#?}\nuninstall said:\n{text}"
    );

    // Again: nothing of kindops's is there.
    let out = uninstall(&bed, &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        stdout(&out).contains("nothing of kindops's is in context"),
        "{}",
        show(&out)
    );
}
