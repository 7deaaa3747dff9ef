//! `kindops open APPLICATION`: what a product runs, asked of the product
//! itself. The Application (namespace argocd) names its Service in
//! `status.resources`; kindops asks that Service through the API server's
//! service proxy (`GET /api/v1/namespaces/NS/services/NAME:PORT/proxy/`,
//! as `kubectl get --raw` does), so it works on kind and with `--context`
//! alike, with no port-forward and no port on the host. The coffee services
//! (`manifests/gitops/products/coffee/*/server.go`) answer `GET /` with JSON
//! `{"name", "version" (the git commit they were built from), "secret"
//! ("present" | "absent"), "secret_sha256" (the first 12 hex digits of the
//! SHA-256 of the secret's value, never the value)}`; any other answer is
//! printed as it came.
//!
//! Exit 0 when the Service answered; 1 when it did not (named, with the
//! Application's sync status and health); 2 for an Application that does
//! not exist (the products there are listed).

use super::{init_tracing_stderr, target, Error, Result};
use crate::argocd::ARGOCD_NAMESPACE;
use crate::argocd::{application_resource, AppSummary};
use crate::cli::OpenArgs;
use crate::report::Format;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DynamicObject, ListParams};

/// What a product's Service answered, as `-o json` prints it.
#[derive(Debug, serde::Serialize)]
struct Answer {
    application: String,
    /// `namespace/name` of the Service asked.
    service: String,
    sync: String,
    health: String,
    /// The git revision Argo CD synced (`status.sync.revision`).
    revision: String,
    /// The body: its JSON where it is JSON, else its text.
    answer: serde_json::Value,
}

pub async fn run(args: &OpenArgs, app: &str) -> Result<u8> {
    init_tracing_stderr();
    let t = target(&args.cluster)?;
    let client = crate::cluster::client_for(&t.context()).await?;
    let apps: Api<DynamicObject> = Api::namespaced_with(client.clone(), ARGOCD_NAMESPACE, &application_resource());
    let found = apps
        .get_opt(app)
        .await
        .map_err(|e| anyhow::anyhow!("reading Application {ARGOCD_NAMESPACE}/{app} on {}: {e}", t.describe()))?;
    let Some(obj) = found else {
        let products: Vec<String> = apps
            .list(&ListParams::default())
            .await
            .map_err(|e| anyhow::anyhow!("listing the Applications on {}: {e}", t.describe()))?
            .items
            .iter()
            .map(AppSummary::from_object)
            .filter(|a| a.owner_appset.is_some())
            .map(|a| a.name)
            .collect();
        return Err(Error::Bad(format!(
            "there is no Application {app} in namespace {ARGOCD_NAMESPACE} on the {}; {}",
            t.describe(),
            if products.is_empty() {
                "no product Application exists yet: `kindops up --phase 4` makes cart and order".to_string()
            } else {
                format!("the products' Applications: {}", products.join(", "))
            }
        )));
    };
    let a = AppSummary::from_object(&obj);
    let state = format!(
        "Application {app} is {} and {}{}",
        or_unknown(&a.sync),
        or_unknown(&a.health),
        if a.health_message.is_empty() {
            String::new()
        } else {
            format!(" ({})", a.health_message)
        }
    );
    let Some(svc) = a.resources.iter().find(|r| r.kind == "Service" && r.group.is_empty()) else {
        return Err(Error::Failed(anyhow::anyhow!(
            "Application {app} manages no Service, so there is nothing to ask; {state}. `kindops status` shows why"
        )));
    };
    let services: Api<Service> = Api::namespaced(client.clone(), &svc.namespace);
    let port = services
        .get_opt(&svc.name)
        .await
        .map_err(|e| anyhow::anyhow!("reading Service {}: {e}", svc.qualified_name()))?
        .and_then(|s| s.spec?.ports?.into_iter().next())
        .map(|p| (p.name.unwrap_or_else(|| p.port.to_string()), p.port))
        .ok_or_else(|| {
            Error::Failed(anyhow::anyhow!(
                "Service {} of Application {app} does not exist (or has no port); {state}",
                svc.qualified_name()
            ))
        })?;
    let (port, number) = port;
    let path = format!(
        "/api/v1/namespaces/{}/services/{}:{port}/proxy/",
        svc.namespace, svc.name
    );
    let request = http::Request::get(&path)
        .body(Vec::new())
        .map_err(anyhow::Error::from)?;
    let body = client.request_text(request).await.map_err(|e| {
        Error::Failed(anyhow::anyhow!(
            "Service {} of Application {app} did not answer ({e}); {state}. Its pods: `kubectl --context {} -n {} get pods`",
            svc.qualified_name(),
            t.context(),
            svc.namespace
        ))
    })?;
    let answer = Answer {
        application: app.to_string(),
        service: svc.qualified_name(),
        sync: a.sync.clone(),
        health: a.health.clone(),
        revision: a.revision.clone(),
        answer: serde_json::from_str(&body).unwrap_or_else(|_| serde_json::Value::String(body.trim().to_string())),
    };
    match args.output {
        Format::Json | Format::Yaml => println!("{}", crate::report::document(args.output, &answer)?),
        _ => print_text(&answer, &t.context(), &svc.namespace, &svc.name, number),
    }
    Ok(0)
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "not yet compared"
    } else {
        s
    }
}

fn print_text(a: &Answer, context: &str, namespace: &str, service: &str, port: i32) {
    println!(
        "{} answers (Service {}; Application {}: {}, {}, at {}):",
        a.application,
        a.service,
        a.application,
        or_unknown(&a.sync),
        or_unknown(&a.health),
        a.revision.get(..7).unwrap_or(&a.revision)
    );
    match &a.answer {
        serde_json::Value::Object(m) if m.contains_key("version") => {
            for (k, v) in m {
                let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                let note = match k.as_str() {
                    "version" => "  (the git commit it was built from)",
                    "secret_sha256" if !v.is_empty() => {
                        "  (of the secret's value: it changes when the value is rotated)"
                    }
                    _ => "",
                };
                println!("  {k:<8} {v}{note}");
            }
        }
        other => println!(
            "  {}",
            other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string())
        ),
    }
    println!(
        "in a browser: `kubectl --context {context} -n {namespace} port-forward svc/{service} 8081:{port}`, then http://localhost:8081"
    );
}
