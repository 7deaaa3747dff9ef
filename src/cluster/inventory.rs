//! Every object the API server serves, as metadata: what `kindops
//! uninstall` reads to find what kindops made.
//!
//! Discovery goes group by group (`kube::discovery::group`, the preferred
//! version of each), so one aggregated API whose backend does not answer
//! (an APIService `Available=False`, e.g. `v1beta1.metrics.k8s.io` before
//! metrics-server serves) is skipped and named instead of failing the whole
//! listing, as `kubectl api-resources` reports "unable to retrieve the
//! complete list of server APIs" and goes on.

use anyhow::{Context as _, Result};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, ObjectMeta};
use kube::discovery::{verbs, ApiCapabilities, Scope};
use kube::Client;

/// One API resource that can be listed and deleted.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Group, version, kind and plural (`kube::api::ApiResource`).
    pub api: ApiResource,
    /// Namespaced (`true`) or cluster-scoped.
    pub namespaced: bool,
}

/// One object's metadata and the resource it belongs to.
#[derive(Debug, Clone)]
pub struct Object {
    pub resource: Resource,
    /// `metadata` as the API server returned it (managedFields included).
    pub meta: ObjectMeta,
}

impl Object {
    pub fn name(&self) -> &str {
        self.meta.name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.meta.namespace.as_deref()
    }

    /// `Kind namespace/name` or `Kind name`, as messages name objects.
    pub fn describe(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.resource.api.kind, self.name()),
            None => format!("{} {}", self.resource.api.kind, self.name()),
        }
    }
}

/// What [`resources`] found.
#[derive(Debug, Default)]
pub struct Discovered {
    pub resources: Vec<Resource>,
    /// Groups whose discovery failed, with the error (an aggregated API with
    /// no backend answering).
    pub skipped: Vec<(String, String)>,
}

/// Every resource (preferred version of each group) that supports both
/// `list` and `delete`; subresources are not resources here.
///
/// Errors: the group list itself cannot be read (`/apis`, `/api`).
pub async fn resources(client: &Client) -> Result<Discovered> {
    let groups = client
        .list_api_groups()
        .await
        .context("listing the API groups (/apis)")?;
    let mut names: Vec<String> = vec![kube::discovery::ApiGroup::CORE_GROUP.to_string()];
    names.extend(groups.groups.into_iter().map(|g| g.name));
    let mut out = Discovered::default();
    // Asking an unavailable aggregated API would only be retried (kube's
    // client retries 503s) until it fails: skip it, saying why.
    let down = unavailable_groups(client).await?;
    for name in names {
        if let Some(why) = down.get(&name) {
            out.skipped.push((name, why.clone()));
            continue;
        }
        match kube::discovery::group(client, &name).await {
            Ok(g) => {
                for (api, caps) in g.recommended_resources() {
                    if usable(&caps) {
                        out.resources.push(Resource {
                            api,
                            namespaced: caps.scope == Scope::Namespaced,
                        });
                    }
                }
            }
            Err(e) => out.skipped.push((name, e.to_string())),
        }
    }
    Ok(out)
}

/// Groups every APIService of which reports `Available=False`
/// (apiregistration.k8s.io/v1 `status.conditions`), with the condition's
/// reason and message.
async fn unavailable_groups(client: &Client) -> Result<std::collections::BTreeMap<String, String>> {
    use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
    let api: Api<APIService> = Api::all(client.clone());
    let list = api.list(&ListParams::default()).await.context("listing APIServices")?;
    let mut up = std::collections::BTreeSet::new();
    let mut down = std::collections::BTreeMap::new();
    for s in list.items {
        let Some(group) = s.spec.as_ref().and_then(|sp| sp.group.clone()) else {
            continue;
        };
        let cond = s
            .status
            .as_ref()
            .and_then(|st| st.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Available"));
        match cond {
            Some(c) if c.status == "False" => {
                down.insert(
                    group,
                    format!(
                        "APIService {} is not Available: {} {}",
                        s.metadata.name.unwrap_or_default(),
                        c.reason.clone().unwrap_or_default(),
                        c.message.clone().unwrap_or_default()
                    ),
                );
            }
            _ => {
                up.insert(group);
            }
        }
    }
    down.retain(|g, _| !up.contains(g));
    Ok(down)
}

fn usable(caps: &ApiCapabilities) -> bool {
    caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::DELETE)
}

/// Every object of `resources`, all namespaces, metadata only
/// (`list_metadata`, one request per resource), each uid once.
///
/// Errors: a list fails (naming the resource); a resource that vanished
/// since discovery (404, a CRD deleted meanwhile) is skipped.
pub async fn objects(client: &Client, resources: &[Resource]) -> Result<Vec<Object>> {
    let mut out = Vec::new();
    for r in resources {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &r.api);
        let list = match api.list_metadata(&ListParams::default()).await {
            Ok(l) => l,
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("listing {} ({})", r.api.plural, r.api.api_version));
            }
        };
        out.extend(list.items.into_iter().map(|o| Object {
            resource: r.clone(),
            meta: o.metadata,
        }));
    }
    // A kind served by two groups (Event: core v1 and events.k8s.io) is
    // listed twice: keep the first of each uid.
    let mut seen = std::collections::HashSet::new();
    out.retain(|o| o.meta.uid.as_ref().is_none_or(|u| seen.insert(u.clone())));
    Ok(out)
}
