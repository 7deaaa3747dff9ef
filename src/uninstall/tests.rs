use super::*;
use crate::argocd::ResourceStatus;
use crate::cluster::inventory::Resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::ApiResource;
use std::collections::BTreeMap;

const STATE: (&str, &str) = ("kube-system", "kindops-state");

fn resource(group: &str, kind: &str, plural: &str, namespaced: bool) -> Resource {
    Resource {
        api: ApiResource {
            group: group.into(),
            version: "v1".into(),
            api_version: if group.is_empty() {
                "v1".into()
            } else {
                format!("{group}/v1")
            },
            kind: kind.into(),
            plural: plural.into(),
        },
        namespaced,
    }
}

fn meta(ns: Option<&str>, name: &str, manager: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: ns.map(str::to_string),
        managed_fields: manager.map(|m| {
            vec![ManagedFieldsEntry {
                manager: Some(m.into()),
                operation: Some("Apply".into()),
                ..Default::default()
            }]
        }),
        ..Default::default()
    }
}

fn obj(group: &str, kind: &str, ns: Option<&str>, name: &str, manager: Option<&str>) -> Object {
    let plural = format!("{}s", kind.to_lowercase());
    Object {
        resource: resource(group, kind, &plural, ns.is_some()),
        meta: meta(ns, name, manager),
    }
}

fn app(name: &str, manager: Option<&str>, owner: Option<&str>, creates: Option<&str>, runs_argo: bool) -> App {
    App {
        meta: meta(Some("argocd"), name, manager),
        summary: AppSummary {
            name: name.into(),
            namespace: "argocd".into(),
            owner_appset: owner.map(str::to_string),
            resources: if runs_argo {
                vec![
                    ResourceStatus {
                        group: "apps".into(),
                        kind: "StatefulSet".into(),
                        namespace: "argocd".into(),
                        name: "argocd-application-controller".into(),
                        ..Default::default()
                    },
                    ResourceStatus {
                        group: "rbac.authorization.k8s.io".into(),
                        kind: "ClusterRole".into(),
                        name: "added-by-the-learner".into(),
                        ..Default::default()
                    },
                ]
            } else {
                Vec::new()
            },
            ..Default::default()
        },
        created_namespace: creates.map(str::to_string),
    }
}

/// A cluster after phase 4: kindops's objects, Argo CD's, the learner's own.
fn cluster() -> (Vec<Object>, Vec<App>) {
    let objects = vec![
        obj("", "Namespace", None, "default", None),
        obj("", "Namespace", None, "kube-system", Some("kindops")),
        obj("", "Namespace", None, "argocd", Some("kindops")),
        obj("", "Namespace", None, "coffee", Some("argocd-controller")),
        obj("", "Namespace", None, "mine", None),
        // Applied bare (no managedFields entry), known by what is in it.
        obj("", "Namespace", None, "bare", None),
        obj("", "ConfigMap", Some("bare"), "x", Some("kindops")),
        obj("", "ConfigMap", Some("argocd"), "argocd-cm", Some("kindops")),
        obj("", "ConfigMap", Some("kube-system"), "kindops-state", Some("kindops")),
        obj(
            "",
            "ConfigMap",
            Some("kube-public"),
            "local-registry-hosting",
            Some("kindops"),
        ),
        obj(
            "",
            "ConfigMap",
            Some("mine"),
            "notes",
            Some("kubectl-client-side-apply"),
        ),
        obj("", "Secret", Some("team-secrets"), "coffee-cart", None),
        obj(
            "argoproj.io",
            "ApplicationSet",
            Some("argocd"),
            "coffee",
            Some("kindops"),
        ),
        obj("argoproj.io", "Application", Some("argocd"), "argo-cd", Some("kindops")),
        obj(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            None,
            "argocd-server",
            Some("kindops"),
        ),
        obj(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            None,
            "added-by-the-learner",
            Some("argocd-controller"),
        ),
        obj("rbac.authorization.k8s.io", "ClusterRole", None, "admin", None),
        obj(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            None,
            "validation.webhook.pipeline.tekton.dev",
            Some("kindops"),
        ),
        obj(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            None,
            "applications.argoproj.io",
            Some("kindops"),
        ),
        obj(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            None,
            "theirs.example.com",
            None,
        ),
    ];
    let apps = vec![
        app("argo-cd", Some("kindops"), None, None, true),
        app(
            "external-secrets",
            Some("kindops"),
            None,
            Some("external-secrets"),
            false,
        ),
        app(
            "cart",
            Some("argocd-applicationset-controller"),
            Some("coffee"),
            Some("coffee"),
            false,
        ),
        app("theirs", Some("kubectl-client-side-apply"), None, Some("mine"), false),
    ];
    (objects, apps)
}

#[test]
fn deletes_what_kindops_made_in_order_and_nothing_else() {
    let (objects, apps) = cluster();
    let before: BTreeSet<String> = ["default", "kube-system", "mine"].map(str::to_string).into();
    let p = plan(&objects, &apps, Some(&before), STATE);
    assert_eq!(p.application_sets, ["coffee"]);
    assert_eq!(p.applications, ["external-secrets", "cart"]);
    assert_eq!(p.self_managed, ["argo-cd"]);
    assert_eq!(p.foreign_applications, ["theirs"]);
    // argocd (applied), bare (holds kindops's objects) and coffee (Argo CD
    // created it for cart); not external-secrets: no such namespace is live.
    assert_eq!(p.namespaces, ["argocd", "bare", "coffee"]);
    let names = |v: &[Object]| v.iter().map(|o| o.describe()).collect::<Vec<_>>();
    assert_eq!(
        names(&p.webhooks),
        ["ValidatingWebhookConfiguration validation.webhook.pipeline.tekton.dev"]
    );
    // argocd-cm goes with its namespace; the state ConfigMap goes last, apart.
    assert_eq!(names(&p.namespaced), ["ConfigMap kube-public/local-registry-hosting"]);
    // The learner's ClusterRole added to Argo CD's own Application goes too.
    assert_eq!(
        names(&p.cluster_scoped),
        ["ClusterRole argocd-server", "ClusterRole added-by-the-learner"]
    );
    assert_eq!(names(&p.crds), ["CustomResourceDefinition applications.argoproj.io"]);
    assert_eq!(p.kept.len(), 1, "{:?}", p.kept);
    assert_eq!(p.kept[0].namespace, "kube-system");
}

#[test]
fn a_namespace_there_before_the_first_run_is_kept() {
    let (objects, apps) = cluster();
    let before: BTreeSet<String> = ["default", "kube-system", "argocd", "coffee", "bare"]
        .map(str::to_string)
        .into();
    let p = plan(&objects, &apps, Some(&before), STATE);
    assert!(p.namespaces.is_empty(), "{:?}", p.namespaces);
    // bare is no candidate at all: it holds kindops's objects, but was there.
    assert!(p.namespaced.iter().any(|o| o.describe() == "ConfigMap bare/x"));
    let kept: Vec<&str> = p.kept.iter().map(|k| k.namespace.as_str()).collect();
    assert_eq!(kept, ["argocd", "coffee", "kube-system"]);
    assert!(
        p.kept[0].why.contains("before kindops's first run"),
        "{}",
        p.kept[0].why
    );
    // Then argocd's objects are deleted one by one.
    assert!(p
        .namespaced
        .iter()
        .any(|o| o.describe() == "ConfigMap argocd/argocd-cm"));
}

#[test]
fn without_the_record_argo_cd_namespaces_are_kept_and_kindops_ones_go() {
    let (objects, apps) = cluster();
    let p = plan(&objects, &apps, None, STATE);
    // Without the record a namespace is not deleted for what it holds.
    assert_eq!(p.namespaces, ["argocd"]);
    assert!(p.namespaced.iter().any(|o| o.describe() == "ConfigMap bare/x"));
    let coffee = p.kept.iter().find(|k| k.namespace == "coffee").expect("coffee kept");
    assert!(coffee.why.contains("predates"), "{}", coffee.why);
}

#[test]
fn the_label_marks_what_kindops_created_without_applying() {
    let mut m = meta(Some("team-secrets"), "coffee-cart", None);
    assert!(!made_by_kindops(&m));
    m.labels = Some(BTreeMap::from([(
        "app.kubernetes.io/managed-by".into(),
        "kindops".into(),
    )]));
    assert!(made_by_kindops(&m));
    // The lessons' own field manager is not kindops's install.
    assert!(!made_by_kindops(&meta(None, "x", Some("kindops-learn"))));
}

#[test]
fn nothing_of_kindops_is_an_empty_plan() {
    let objects = vec![
        obj("", "Namespace", None, "default", None),
        obj("", "ConfigMap", Some("default"), "x", None),
    ];
    let p = plan(&objects, &[], None, STATE);
    assert!(p.is_empty());
}
