//! `kindops uninstall`: what kindops made in a cluster, and the order it goes.
//!
//! kindops changes only what it made, so it deletes only what it can tell
//! it made:
//! - every object with a `managedFields` entry of field manager `kindops`
//!   (its server-side applies, `cluster::apply::FIELD_MANAGER`) or the label
//!   `app.kubernetes.io/managed-by: kindops` (the secrets it generated,
//!   `secret_store::MANAGED_BY`), and the namespaces that hold such objects
//!   and were not there before kindops's first run (a bare `kind: Namespace`
//!   applied gets no managedFields entry);
//! - the Applications it registered, and those its ApplicationSets
//!   generated (`metadata.ownerReferences`), deleted with Argo CD's cascade
//!   (their `resources-finalizer.argocd.argoproj.io`: Argo CD deletes what
//!   it synced) while Argo CD still runs; the Application that runs Argo CD
//!   itself ([`SELF_MANAGED_MARK`]) is deleted without cascade, and what it
//!   manages (`status.resources`) goes with kindops's own objects;
//! - the namespaces Argo CD created for those Applications
//!   (`CreateNamespace=true`: Argo CD never deletes them, argo-cd issue
//!   #7875), but only those not there before kindops's first run, as
//!   recorded in `kube-system/kindops-state` (`engine::state::NAMESPACES_BEFORE`).
//!
//! Anything else is left, and an Application kindops did not make stops
//! the uninstall (deleting Argo CD's CRDs would delete it without its
//! cascade) unless `--force`.

pub mod delete;

use crate::argocd::{AppSummary, ARGOCD_NAMESPACE};
use crate::cluster::inventory::Object;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeSet;

/// The object the Application that runs Argo CD itself manages: upstream
/// `install.yaml` (v3.5.1) runs the application controller as this
/// StatefulSet. An Application with it in `status.resources` is deleted
/// without cascade: a cascade would delete Argo CD while it deletes.
pub const SELF_MANAGED_MARK: (&str, &str) = ("StatefulSet", "argocd-application-controller");

/// Namespaces never deleted, whatever their metadata says.
pub const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Whether kindops made the object: a `managedFields` entry of field
/// manager `kindops`, or the label `app.kubernetes.io/managed-by: kindops`.
pub fn made_by_kindops(meta: &ObjectMeta) -> bool {
    let (k, v) = crate::secret_store::MANAGED_BY;
    meta.labels.as_ref().and_then(|l| l.get(k)).is_some_and(|l| l == v)
        || meta
            .managed_fields
            .iter()
            .flatten()
            .any(|f| f.manager.as_deref() == Some(crate::cluster::apply::FIELD_MANAGER))
}

/// One Application as uninstall reads it.
#[derive(Debug, Clone)]
pub struct App {
    pub meta: ObjectMeta,
    pub summary: AppSummary,
    /// `spec.destination.namespace` when `spec.syncPolicy.syncOptions` has
    /// `CreateNamespace=true` (Argo CD created that namespace).
    pub created_namespace: Option<String>,
}

impl App {
    /// Reads `spec.destination.namespace` and `spec.syncPolicy.syncOptions`
    /// of an Application object (argoproj.io/v1alpha1).
    pub fn from_object(obj: &kube::api::DynamicObject) -> App {
        let d = &obj.data;
        let creates = d
            .pointer("/spec/syncPolicy/syncOptions")
            .and_then(|v| v.as_array())
            .is_some_and(|o| o.iter().any(|s| s.as_str() == Some("CreateNamespace=true")));
        let ns = d
            .pointer("/spec/destination/namespace")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty());
        App {
            meta: obj.metadata.clone(),
            summary: AppSummary::from_object(obj),
            created_namespace: ns.filter(|_| creates).map(str::to_string),
        }
    }

    pub fn name(&self) -> &str {
        &self.summary.name
    }

    fn runs_argo_cd(&self) -> bool {
        self.summary
            .resources
            .iter()
            .any(|r| r.kind == SELF_MANAGED_MARK.0 && r.name == SELF_MANAGED_MARK.1 && r.namespace == ARGOCD_NAMESPACE)
    }
}

/// A namespace kindops leaves, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub namespace: String,
    pub why: String,
}

/// What `kindops uninstall` deletes, in its order.
#[derive(Debug, Default)]
pub struct Plan {
    /// ApplicationSets kindops applied (argocd namespace), deleted first so
    /// they do not generate their Applications again.
    pub application_sets: Vec<String>,
    /// Applications deleted with Argo CD's cascade, while Argo CD runs.
    pub applications: Vec<String>,
    /// Applications that run Argo CD itself: deleted without cascade.
    pub self_managed: Vec<String>,
    /// Applications kindops did not make (stop the uninstall unless --force,
    /// which deletes them with cascade too).
    pub foreign_applications: Vec<String>,
    /// Admission webhook configurations, deleted before anything they admit.
    pub webhooks: Vec<Object>,
    /// Namespaced objects in namespaces that stay.
    pub namespaced: Vec<Object>,
    /// Namespaces deleted (with everything in them).
    pub namespaces: Vec<String>,
    /// Namespaces kindops or its Applications used, left, with why.
    pub kept: Vec<Kept>,
    /// Cluster-scoped objects other than namespaces, webhooks and CRDs.
    pub cluster_scoped: Vec<Object>,
    /// CustomResourceDefinitions, last: deleting one deletes its objects.
    pub crds: Vec<Object>,
}

impl Plan {
    /// Nothing of kindops's is in the cluster.
    pub fn is_empty(&self) -> bool {
        self.application_sets.is_empty()
            && self.applications.is_empty()
            && self.self_managed.is_empty()
            && self.webhooks.is_empty()
            && self.namespaced.is_empty()
            && self.namespaces.is_empty()
            && self.cluster_scoped.is_empty()
            && self.crds.is_empty()
    }
}

fn is_kind(o: &Object, group: &str, kind: &str) -> bool {
    o.resource.api.group == group && o.resource.api.kind == kind
}

/// Plans the uninstall from every object's metadata (`objects`, from
/// `cluster::inventory`), the Applications (`apps`) and the namespaces
/// recorded before kindops's first run (`before`; `None` when that run
/// predates the record: then a namespace Argo CD created is kept, since
/// kindops cannot tell whether it was there before). `state` (the
/// `kube-system/kindops-state` ConfigMap) is left out: it goes last, after
/// everything else is gone.
pub fn plan(objects: &[Object], apps: &[App], before: Option<&BTreeSet<String>>, state: (&str, &str)) -> Plan {
    let mut p = Plan::default();
    let kindops_sets: BTreeSet<String> = objects
        .iter()
        .filter(|o| is_kind(o, "argoproj.io", "ApplicationSet") && made_by_kindops(&o.meta))
        .map(|o| o.name().to_string())
        .collect();
    p.application_sets = kindops_sets.iter().cloned().collect();
    let mut argo_created = BTreeSet::new();
    let mut self_resources = BTreeSet::new();
    for a in apps {
        let ours = made_by_kindops(&a.meta)
            || a.summary
                .owner_appset
                .as_ref()
                .is_some_and(|s| kindops_sets.contains(s));
        if !ours {
            p.foreign_applications.push(a.name().to_string());
            continue;
        }
        if a.runs_argo_cd() {
            p.self_managed.push(a.name().to_string());
            self_resources.extend(
                a.summary
                    .resources
                    .iter()
                    .map(|r| (r.group.clone(), r.kind.clone(), r.namespace.clone(), r.name.clone())),
            );
        } else {
            p.applications.push(a.name().to_string());
        }
        argo_created.extend(a.created_namespace.clone());
    }

    // Namespaces: kindops's own, and those Argo CD created for its Applications.
    let live: BTreeSet<&str> = objects
        .iter()
        .filter(|o| is_kind(o, "", "Namespace"))
        .map(Object::name)
        .collect();
    let applied: BTreeSet<String> = objects
        .iter()
        .filter(|o| is_kind(o, "", "Namespace") && made_by_kindops(&o.meta))
        .map(|o| o.name().to_string())
        .collect();
    let mut candidates: BTreeSet<String> = applied.clone();
    candidates.extend(argo_created.into_iter().filter(|n| live.contains(n.as_str())));
    // A namespace kindops applied bare (`kind: Namespace` and a name: the
    // API server records no managedFields entry for an apply that sets no
    // field) is known by what kindops put in it, when the record says it
    // was not there before.
    if let Some(before) = before {
        candidates.extend(
            objects
                .iter()
                .filter(|o| made_by_kindops(&o.meta))
                .filter_map(|o| o.namespace())
                .filter(|n| live.contains(n) && !before.contains(*n))
                .map(str::to_string),
        );
    }
    for ns in candidates {
        let why = if SYSTEM_NAMESPACES.contains(&ns.as_str()) {
            Some("a namespace of Kubernetes itself".to_string())
        } else if before.is_some_and(|b| b.contains(&ns)) {
            Some(format!(
                "it was there before kindops's first run here ({}/{} `{}`)",
                state.0,
                state.1,
                crate::engine::state::NAMESPACES_BEFORE
            ))
        } else if before.is_none() && !applied.contains(&ns) {
            Some(format!(
                "Argo CD created it for an Application, and kindops's first run here predates its record of the namespaces that were there before ({}/{} has no `{}`)",
                state.0,
                state.1,
                crate::engine::state::NAMESPACES_BEFORE
            ))
        } else {
            None
        };
        match why {
            Some(why) => p.kept.push(Kept { namespace: ns, why }),
            None => p.namespaces.push(ns),
        }
    }

    let goes: BTreeSet<&str> = p.namespaces.iter().map(String::as_str).collect();
    for o in objects {
        let self_managed = self_resources.contains(&(
            o.resource.api.group.clone(),
            o.resource.api.kind.clone(),
            o.namespace().unwrap_or_default().to_string(),
            o.name().to_string(),
        ));
        if !(made_by_kindops(&o.meta) || self_managed) {
            continue;
        }
        if is_kind(o, "argoproj.io", "Application") || is_kind(o, "argoproj.io", "ApplicationSet") {
            continue;
        }
        if o.namespace() == Some(state.0) && o.name() == state.1 && is_kind(o, "", "ConfigMap") {
            continue;
        }
        match o.namespace() {
            Some(ns) if goes.contains(ns) => {}
            Some(_) => p.namespaced.push(o.clone()),
            None if is_kind(o, "", "Namespace") => {}
            None if is_kind(o, "admissionregistration.k8s.io", "ValidatingWebhookConfiguration")
                || is_kind(o, "admissionregistration.k8s.io", "MutatingWebhookConfiguration") =>
            {
                p.webhooks.push(o.clone())
            }
            None if is_kind(o, "apiextensions.k8s.io", "CustomResourceDefinition") => p.crds.push(o.clone()),
            None => p.cluster_scoped.push(o.clone()),
        }
    }
    p
}

#[cfg(test)]
mod tests;
