//! Carrying out a [`Plan`](super::Plan), in its order, each wait bounded.
//!
//! Order and why: ApplicationSets (else they generate their Applications
//! again) → Applications with cascade, waited for while Argo CD still runs
//! (their finalizer is Argo CD's) → the self-managed Application, its
//! finalizers removed first (no cascade: Argo CD's objects go below) →
//! admission webhooks (else they refuse what follows once their Service is
//! gone) → namespaced objects in namespaces that stay → namespaces, waited
//! for → cluster-scoped objects → CRDs, waited for → the state ConfigMap.
//! Every API call goes through `cluster::outage::retried` (transient errors
//! retried with backoff); a 404 counts as deleted.

use super::Plan;
use crate::argocd::{application_resource, applicationset_resource, ARGOCD_NAMESPACE};
use crate::cluster::inventory::Object;
use crate::cluster::outage::{retried, RecoverySink};
use anyhow::{anyhow, Context as _, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::Client;
use std::time::{Duration, Instant};

/// How often a wait looks again, and says what it still waits for.
const POLL: Duration = Duration::from_secs(2);
const SAY_EVERY: Duration = Duration::from_secs(15);

/// What was deleted, by part of the plan (for the closing line).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub applications: usize,
    pub namespaces: usize,
    pub objects: usize,
    pub crds: usize,
}

/// Deletes what `plan` names, in its order; `say` gets one line per part.
/// With `force`, the Applications kindops did not make go with cascade too.
/// Each wait (Applications, namespaces, CRDs) has `timeout`.
///
/// Errors: an API call fails (naming the object); a wait passes `timeout`,
/// naming what is left and the next step.
pub async fn run(
    client: &Client,
    plan: &Plan,
    state: (&str, &str),
    force: bool,
    timeout: Duration,
    say: &dyn Fn(String),
) -> Result<Deleted> {
    let mut done = Deleted::default();
    let sets: Api<DynamicObject> = Api::namespaced_with(client.clone(), ARGOCD_NAMESPACE, &applicationset_resource());
    for name in &plan.application_sets {
        if gone_or(
            delete(&sets, name).await,
            &format!("ApplicationSet {ARGOCD_NAMESPACE}/{name}"),
        )? {
            say(format!("deleted ApplicationSet {name}"));
        }
    }
    let apps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ARGOCD_NAMESPACE, &application_resource());
    let mut cascade: Vec<String> = plan.applications.clone();
    if force {
        cascade.extend(plan.foreign_applications.iter().cloned());
    }
    for name in &cascade {
        let what = format!("Application {ARGOCD_NAMESPACE}/{name}");
        if gone_or(with_cascade(&apps, name).await, &what)? {
            gone_or(delete(&apps, name).await, &what)?;
        }
    }
    if !cascade.is_empty() {
        say(format!(
            "deleting Applications {} with cascade: Argo CD deletes what each synced",
            cascade.join(", ")
        ));
        wait_gone(&apps, &cascade, timeout, say, |left| {
            format!(
                "Argo CD has not finished deleting Application(s) {} in {}s (each waits on its finalizer resources-finalizer.argocd.argoproj.io until Argo CD has deleted what it synced). See why: `kubectl -n {ARGOCD_NAMESPACE} get application {} -o yaml` (status.conditions, status.operationState); then run `kindops uninstall` again. To leave its resources and go on: `kubectl -n {ARGOCD_NAMESPACE} patch application {} --type merge -p '{{\"metadata\":{{\"finalizers\":null}}}}'`",
                left.join(", "),
                timeout.as_secs(),
                left[0],
                left[0]
            )
        })
        .await?;
        say(format!(
            "deleted Applications {} and what Argo CD synced for them",
            cascade.join(", ")
        ));
        done.applications += cascade.len();
    }
    for name in &plan.self_managed {
        let patch = Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}}));
        let pp = PatchParams::default();
        let r = retried(&RecoverySink::none(), || apps.patch(name, &pp, &patch)).await;
        gone_or(r.map(|_| ()), &format!("Application {ARGOCD_NAMESPACE}/{name}"))?;
        if gone_or(
            delete(&apps, name).await,
            &format!("Application {ARGOCD_NAMESPACE}/{name}"),
        )? {
            say(format!(
                "deleted Application {name} without cascade (it runs Argo CD itself; Argo CD's objects go next)"
            ));
            done.applications += 1;
        }
    }
    for o in &plan.webhooks {
        done.objects += usize::from(delete_object(client, o).await?);
    }
    if !plan.webhooks.is_empty() {
        say(format!(
            "deleted {} admission webhook configuration(s)",
            plan.webhooks.len()
        ));
    }
    for o in &plan.namespaced {
        if delete_object(client, o).await? {
            done.objects += 1;
            say(format!("deleted {}", o.describe()));
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for ns in &plan.namespaces {
        gone_or(delete(&namespaces, ns).await, &format!("Namespace {ns}"))?;
    }
    if !plan.namespaces.is_empty() {
        say(format!("deleting namespaces {}", plan.namespaces.join(", ")));
        wait_gone(&namespaces, &plan.namespaces, timeout, say, |left| {
            format!(
                "namespace(s) {} still Terminating after {}s. See what holds it: `kubectl get namespace {} -o jsonpath='{{.status.conditions}}'` (objects with finalizers left, or an API the namespace controller cannot list); then run `kindops uninstall` again",
                left.join(", "),
                timeout.as_secs(),
                left[0]
            )
        })
        .await?;
        say(format!("deleted namespaces {}", plan.namespaces.join(", ")));
        done.namespaces = plan.namespaces.len();
    }
    for o in &plan.cluster_scoped {
        done.objects += usize::from(delete_object(client, o).await?);
    }
    if !plan.cluster_scoped.is_empty() {
        say(format!(
            "deleted {} cluster-scoped object(s)",
            plan.cluster_scoped.len()
        ));
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd_names: Vec<String> = plan.crds.iter().map(|o| o.name().to_string()).collect();
    for name in &crd_names {
        gone_or(delete(&crds, name).await, &format!("CustomResourceDefinition {name}"))?;
    }
    if !crd_names.is_empty() {
        wait_gone(&crds, &crd_names, timeout, say, |left| {
            format!(
                "CustomResourceDefinition(s) {} still there after {}s: objects of that kind with finalizers left (their controller is gone). See them: `kubectl get {} -A`; then run `kindops uninstall` again",
                left.join(", "),
                timeout.as_secs(),
                left[0]
            )
        })
        .await?;
        say(format!(
            "deleted {} CustomResourceDefinition(s) and their objects",
            crd_names.len()
        ));
        done.crds = crd_names.len();
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), state.0);
    if gone_or(
        delete(&cms, state.1).await,
        &format!("ConfigMap {}/{}", state.0, state.1),
    )? {
        say(format!(
            "deleted ConfigMap {}/{} (kindops's record of this cluster)",
            state.0, state.1
        ));
    }
    Ok(done)
}

/// Argo CD's cascade finalizer: deleting an Application that has it makes
/// Argo CD delete what the Application synced first (Argo CD v3.5.1
/// `pkg/apis/application/v1alpha1/types.go`, `ResourcesFinalizerName`;
/// `/background` and `/foreground` variants share the prefix).
pub const CASCADE_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// Adds [`CASCADE_FINALIZER`] to Application `name` unless it has one (as
/// `argocd app delete --cascade` does), keeping its other finalizers.
async fn with_cascade(apps: &Api<DynamicObject>, name: &str) -> Result<(), kube::Error> {
    let app = retried(&RecoverySink::none(), || apps.get(name)).await?;
    let mut finalizers = app.metadata.finalizers.unwrap_or_default();
    if finalizers.iter().any(|f| f.starts_with(CASCADE_FINALIZER)) {
        return Ok(());
    }
    finalizers.push(CASCADE_FINALIZER.to_string());
    let patch = Patch::Merge(serde_json::json!({"metadata": {"finalizers": finalizers}}));
    let pp = PatchParams::default();
    retried(&RecoverySink::none(), || apps.patch(name, &pp, &patch)).await?;
    Ok(())
}

/// One delete, transient errors retried. `Ok(true)`: deleted (or deleting).
async fn delete<K>(api: &Api<K>, name: &str) -> Result<(), kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let dp = DeleteParams::background();
    retried(&RecoverySink::none(), || api.delete(name, &dp)).await?;
    Ok(())
}

/// A 404 is "already gone" (`Ok(false)`); any other error names `what`.
fn gone_or(r: Result<(), kube::Error>, what: &str) -> Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(anyhow!(e)).with_context(|| format!("deleting {what}")),
    }
}

async fn delete_object(client: &Client, o: &Object) -> Result<bool> {
    let api: Api<DynamicObject> = match o.namespace() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &o.resource.api),
        None => Api::all_with(client.clone(), &o.resource.api),
    };
    gone_or(delete(&api, o.name()).await, &o.describe())
}

/// Waits until none of `names` exists; says what is left every
/// [`SAY_EVERY`]. Errors: `timeout` passes (message from `stuck`, given
/// what is left), or a read fails.
async fn wait_gone<K>(
    api: &Api<K>,
    names: &[String],
    timeout: Duration,
    say: &dyn Fn(String),
    stuck: impl Fn(&[String]) -> String,
) -> Result<()>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let start = Instant::now();
    let mut said = Instant::now();
    loop {
        let mut left = Vec::new();
        for n in names {
            if retried(&RecoverySink::none(), || api.get_opt(n)).await?.is_some() {
                left.push(n.clone());
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(anyhow!(stuck(&left)));
        }
        if said.elapsed() >= SAY_EVERY {
            say(format!(
                "  still deleting {} ({}s)",
                left.join(", "),
                start.elapsed().as_secs()
            ));
            said = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
}
