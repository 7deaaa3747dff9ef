//! `kindops open`: where the Argo CD UI is, opened in a browser where a
//! desktop is present; the admin password only with `--show-secrets`.
//! `kindops open APPLICATION` asks a product instead (`open_product.rs`).
//!
//! On a kind cluster kindops made, the UI is argocd-server's NodePort
//! 30080 (`manifests/gitops/platform/argo-cd/argocd-server-nodeport.yaml`),
//! which the kind config maps to `127.0.0.1:<--ui-port>` on the host
//! (`manifests/kind/cluster.yaml`); the port is read back from the node
//! container's port bindings, so `up --ui-port 9090` is found without
//! repeating it. On `--context` the UI is reached through `kubectl
//! port-forward`, which is printed, not started.

use super::{init_tracing_stderr, target, Error, Result};
use crate::argocd::actions::{admin_password, admin_password_command, ADMIN_USER};
use crate::argocd::ARGOCD_NAMESPACE;
use crate::cli::OpenArgs;
use crate::cluster::{self, Target};
use k8s_openapi::api::core::v1::Service;
use kube::Api;

/// The Service that serves the UI (Argo CD's install manifest).
const SERVER: &str = "argocd-server";

pub async fn run(args: &OpenArgs) -> Result<u8> {
    if let Some(app) = &args.app {
        return super::open_product::run(args, app).await;
    }
    init_tracing_stderr();
    let t = target(&args.cluster)?;
    let client = cluster::client_for(&t.context()).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), ARGOCD_NAMESPACE);
    let found = services
        .get_opt(SERVER)
        .await
        .map_err(|e| anyhow::anyhow!("reading Service {ARGOCD_NAMESPACE}/{SERVER} on {}: {e}", t.describe()))?;
    if found.is_none() {
        let up = match &t {
            Target::Kind { name } if name == "kindops" => "kindops up --phase 1".to_string(),
            Target::Kind { name } => format!("kindops up --phase 1 --cluster {name}"),
            Target::Context { context } => format!("kindops up --phase 1 --context {context}"),
        };
        return Err(Error::Bad(format!(
            "Argo CD is not installed on the {}: Service {ARGOCD_NAMESPACE}/{SERVER} does not exist. Install it with `{up}`",
            t.describe()
        )));
    }
    let url = match &t {
        Target::Kind { name } => {
            let port = match crate::docker::kind_node::kind_ui_port(name).await {
                Ok(p) => p,
                Err(why) => {
                    eprintln!("kindops: {why}; assuming --ui-port {}", args.ui_port);
                    args.ui_port
                }
            };
            format!("http://localhost:{port}")
        }
        Target::Context { .. } => {
            let p = args.ui_port;
            println!("Argo CD UI, once this runs in another terminal:");
            println!("  kubectl -n {ARGOCD_NAMESPACE} port-forward svc/{SERVER} {p}:80");
            format!("http://localhost:{p}")
        }
    };
    println!("Argo CD UI: {url}");
    if args.show_secrets {
        match admin_password(&client, ARGOCD_NAMESPACE).await? {
            Some(pw) => {
                println!("user:       {ADMIN_USER}");
                println!("password:   {pw}");
            }
            None => println!(
                "user:       {ADMIN_USER}; Secret {ARGOCD_NAMESPACE}/argocd-initial-admin-secret is gone (deleted after the password was changed?)"
            ),
        }
    } else {
        println!(
            "user:       {ADMIN_USER}; the password: `kindops open --show-secrets`, or {}",
            admin_password_command(ARGOCD_NAMESPACE)
        );
    }
    match browser(&t, args.no_browser, &|k| std::env::var(k).ok()) {
        Browser::Open => match webbrowser::open(&url) {
            Ok(()) => println!("opened {url} in your browser"),
            Err(e) => eprintln!("kindops: could not start a browser ({e}); open {url} yourself"),
        },
        Browser::Skip(why) => println!("not opening a browser: {why}"),
    }
    Ok(0)
}

#[derive(Debug, PartialEq, Eq)]
enum Browser {
    Open,
    Skip(&'static str),
}

/// Whether to start a browser: never with `--no-browser`, never for
/// `--context` (the port-forward is not running yet), never without a
/// desktop (Linux and other Unixes: neither `DISPLAY` nor
/// `WAYLAND_DISPLAY` set, as over SSH or in CI; macOS always has one).
fn browser(t: &Target, no_browser: bool, env: &dyn Fn(&str) -> Option<String>) -> Browser {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    if no_browser {
        Browser::Skip("--no-browser")
    } else if matches!(t, Target::Context { .. }) {
        Browser::Skip("start the port-forward first, then open the URL")
    } else if cfg!(target_os = "macos") || set("DISPLAY") || set("WAYLAND_DISPLAY") {
        Browser::Open
    } else {
        Browser::Skip("no desktop here (DISPLAY and WAYLAND_DISPLAY are unset)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_starts_only_on_a_desktop_for_a_kind_cluster() {
        let kind = Target::Kind { name: "kindops".into() };
        let ctx = Target::Context { context: "prod".into() };
        let none = |_: &str| None;
        let x11 = |k: &str| (k == "DISPLAY").then(|| ":0".to_string());
        let wayland = |k: &str| (k == "WAYLAND_DISPLAY").then(|| "wayland-0".to_string());
        let empty = |k: &str| (k == "DISPLAY").then(String::new);
        assert_eq!(browser(&kind, false, &x11), Browser::Open);
        assert_eq!(browser(&kind, false, &wayland), Browser::Open);
        assert_eq!(browser(&kind, true, &x11), Browser::Skip("--no-browser"));
        assert!(matches!(browser(&ctx, false, &x11), Browser::Skip(_)));
        if !cfg!(target_os = "macos") {
            assert!(matches!(browser(&kind, false, &none), Browser::Skip(w) if w.starts_with("no desktop")));
            assert!(matches!(browser(&kind, false, &empty), Browser::Skip(_)));
        }
    }
}
