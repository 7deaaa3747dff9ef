//! `kindops uninstall`: remove what kindops installed in a cluster, and
//! nothing else (`crate::uninstall` decides what and in which order).
//! It prints the plan first and asks before deleting (`--yes` in CI;
//! `--dry-run` prints the plan only).

use super::{init_tracing_stderr, target, Error, Result};
use crate::argocd::application_resource;
use crate::cli::ClusterArgs;
use crate::cluster::inventory;
use crate::engine::state;
use crate::uninstall::{self, App, Plan};
use kube::api::{Api, DynamicObject, ListParams};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

/// `kindops uninstall`. Exit 0 once everything planned is gone (or nothing
/// of kindops's was there, or `dry_run`); [`Error::Bad`] (exit 2) for an
/// Application kindops did not make without `force`, or no `--yes` when
/// stdin is not a terminal, or the answer is not yes; [`Error::Failed`]
/// (exit 1) when a deletion or a wait fails (naming what is left).
pub async fn run(cluster: &ClusterArgs, dry_run: bool, yes: bool, force: bool, timeout: Duration) -> Result<u8> {
    init_tracing_stderr();
    let t = target(cluster)?;
    let context = t.context();
    let client = crate::cluster::client_for(&context).await?;
    let data = state::read_data(&client).await?;
    let before = state::namespaces_before(&data);
    let found = inventory::resources(&client).await?;
    for (group, why) in &found.skipped {
        eprintln!("note: API group {group} was not listed ({why}); objects of it are left as they are");
    }
    let objects = inventory::objects(&client, &found.resources).await?;
    let apps = applications(&client).await?;
    let st = (state::NAMESPACE, state::NAME);
    let plan = uninstall::plan(&objects, &apps, before.as_ref(), st);
    if plan.is_empty() && !data.is_empty() {
        println!(
            "nothing of kindops's is left in context {context} but its record {}/{}",
            st.0, st.1
        );
    } else if plan.is_empty() {
        println!("nothing of kindops's is in context {context}: nothing to uninstall");
        return Ok(0);
    } else {
        print_plan(&context, &plan, force);
    }
    if dry_run {
        println!("(--dry-run: nothing deleted)");
        return Ok(0);
    }
    if !plan.foreign_applications.is_empty() && !force {
        return Err(Error::Bad(format!(
            "Application(s) {} in namespace {} were not made by kindops; deleting Argo CD's CRDs would delete them without Argo CD's cascade, leaving what they synced. Delete them first (`kubectl -n {} delete application {}`), or pass --force to delete them with cascade too",
            plan.foreign_applications.join(", "),
            crate::argocd::ARGOCD_NAMESPACE,
            crate::argocd::ARGOCD_NAMESPACE,
            plan.foreign_applications[0]
        )));
    }
    if !yes {
        confirm(&context)?;
    }
    let said = |line: String| println!("{line}");
    let done = crate::uninstall::delete::run(&client, &plan, st, force, timeout, &said).await?;
    println!(
        "uninstalled kindops from context {context}: {} Application(s), {} namespace(s), {} other object(s), {} CRD(s)",
        done.applications, done.namespaces, done.objects, done.crds
    );
    let dir = crate::engine::cluster_dir(&crate::engine::default_data_dir(), &t);
    if dir.exists() {
        println!(
            "kept on this machine: {} (kindops's data for this cluster: your work clone and its commits; delete it yourself when you no longer want them)",
            dir.display()
        );
    }
    Ok(0)
}

/// Every Application in Argo CD's namespace; none when Argo CD's CRD is
/// not there (404).
async fn applications(client: &kube::Client) -> Result<Vec<App>> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), crate::argocd::ARGOCD_NAMESPACE, &application_resource());
    match api.list(&ListParams::default()).await {
        Ok(l) => Ok(l.items.iter().map(App::from_object).collect()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
        Err(e) => Err(Error::Failed(anyhow::anyhow!("listing Applications: {e}"))),
    }
}

fn print_plan(context: &str, p: &Plan, force: bool) {
    println!("kindops uninstall, context {context}, will delete:");
    if !p.application_sets.is_empty() {
        println!("  ApplicationSets: {}", p.application_sets.join(", "));
    }
    let mut cascade = p.applications.clone();
    if force {
        cascade.extend(p.foreign_applications.iter().cloned());
    }
    if !cascade.is_empty() {
        println!(
            "  Applications, with what Argo CD synced for them: {}",
            cascade.join(", ")
        );
    }
    if !p.self_managed.is_empty() {
        println!(
            "  Application(s) running Argo CD itself, without cascade: {}",
            p.self_managed.join(", ")
        );
    }
    if !p.namespaces.is_empty() {
        println!("  namespaces, with everything in them: {}", p.namespaces.join(", "));
    }
    for o in p.webhooks.iter().chain(&p.namespaced) {
        println!("  {}", o.describe());
    }
    if !p.cluster_scoped.is_empty() {
        println!(
            "  {} cluster-scoped object(s): {}",
            p.cluster_scoped.len(),
            kinds(&p.cluster_scoped)
        );
    }
    if !p.crds.is_empty() {
        println!(
            "  {} CustomResourceDefinition(s), and every object of those kinds",
            p.crds.len()
        );
    }
    for k in &p.kept {
        println!("kept namespace {}: {}", k.namespace, k.why);
    }
    if !p.foreign_applications.is_empty() && !force {
        println!(
            "not kindops's: Application(s) {} (see below)",
            p.foreign_applications.join(", ")
        );
    }
}

/// `ClusterRole ×12, ClusterRoleBinding ×10, ...`.
fn kinds(objects: &[inventory::Object]) -> String {
    let mut n = std::collections::BTreeMap::<&str, usize>::new();
    for o in objects {
        *n.entry(o.resource.api.kind.as_str()).or_default() += 1;
    }
    n.iter()
        .map(|(k, c)| format!("{k} ×{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Asks on the terminal; stdin not a terminal means "pass --yes".
fn confirm(context: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Bad(
            "stdin is not a terminal, so kindops cannot ask before deleting: run `kindops uninstall --dry-run` to see what goes, then again with --yes".into(),
        ));
    }
    print!("delete all of this from context {context}? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(anyhow::Error::from)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Error::Bad("nothing deleted (the answer was not yes)".into()))
    }
}
