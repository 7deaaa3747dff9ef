//! The cluster kindops works on ([`Target`]: a kind cluster or an existing
//! kubeconfig context) and a checked client for it; [`apply`] (server-side
//! apply, kinds by discovery), [`wait`] (watch-based waits), [`outage`] (the
//! API server away mid-phase). Used by the engine's steps, the commands and
//! the lessons alike.

pub mod apply;
pub mod inventory;
pub mod outage;
mod unchanged;
pub mod wait;

use anyhow::{anyhow, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// The cluster kindops works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A kind cluster named `name`, context `kind-<name>`.
    Kind { name: String },
    /// An existing cluster: this kubeconfig context.
    Context { context: String },
}

impl Target {
    /// The kubeconfig context kindops uses.
    pub fn context(&self) -> String {
        match self {
            Target::Kind { name } => format!("kind-{name}"),
            Target::Context { context } => context.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Kind { name } => format!("kind cluster {name} (context kind-{name})"),
            Target::Context { context } => format!("existing cluster, context {context}"),
        }
    }
}

/// [`client_for`], and the credentials checked for the cluster-admin rights
/// installing kindops takes ([`cluster_admin`]); for `kindops up`.
///
/// Errors: those of [`client_for`], or the credentials lack cluster-admin
/// rights (naming the context and what to do).
pub async fn client_to_install(context: &str) -> Result<Client> {
    let client = client_for(context).await?;
    cluster_admin(&client, context).await?;
    Ok(client)
}

/// A client for `context` from the default kubeconfig (`$KUBECONFIG` or
/// `~/.kube/config`), checked with a `/version` call.
///
/// Errors: no such context (listing the ones there are), the API server
/// does not answer (naming its URL), or it refuses the credentials (401: an
/// expired token; 403), each with what to do.
pub async fn client_for(context: &str) -> Result<Client> {
    let kubeconfig =
        Kubeconfig::read().map_err(|e| anyhow!("cannot read the kubeconfig ($KUBECONFIG or ~/.kube/config): {e}"))?;
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
        return Err(anyhow!(
            "no context {context:?} in the kubeconfig; contexts there: {}. Pass --context with one of them",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let opts = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &opts)
        .await
        .map_err(|e| anyhow!("context {context}: cannot build a client: {e}"))?;
    let url = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| anyhow!("context {context}: {e}"))?;
    match tokio::time::timeout(std::time::Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(client),
        // kube-apiserver answers 401 to any request whose credentials fail
        // (an expired or revoked token), even for /version, which anonymous
        // users may read: a bearer token no authenticator accepts is an
        // error (k8s.io/apiserver v0.36.3 pkg/authentication/request/
        // bearertoken/bearertoken.go, `invalidToken`), and anonymous access
        // is only tried when no authenticator failed (k8s.io/kubernetes
        // v1.36.3 pkg/kubeapiserver/authenticator/config.go,
        // `union.NewFailOnError(authenticator, anonymous...)`).
        Ok(Err(kube::Error::Api(s))) if s.code == 401 => Err(anyhow!(
            "the API server of context {context} at {url} rejected its credentials (HTTP 401 Unauthorized): the token or client certificate in the kubeconfig has expired or is not valid for this cluster. \
             Get fresh credentials (kind: `kind export kubeconfig --name CLUSTER`; other clusters: your provider's login), check with `kubectl --context {context} get nodes`, then run again"
        )),
        Ok(Err(kube::Error::Api(s))) if s.code == 403 => Err(anyhow!(
            "the API server of context {context} at {url} refused access (HTTP 403 Forbidden: {}). kindops needs cluster-admin rights on its cluster: use a context that has them",
            s.message
        )),
        Ok(Err(e)) => Err(anyhow!(
            "the API server of context {context} at {url} does not answer: {e}. Is the cluster running? (kind: `docker ps`; then `kubectl --context {context} get nodes`)"
        )),
        Err(_) => Err(anyhow!(
            "the API server of context {context} at {url} did not answer within 10s. Is the cluster running? (`kubectl --context {context} get nodes`)"
        )),
    }
}

/// Checks that the credentials may do anything (cluster-admin): kindops
/// creates namespaces, CRDs and cluster roles. `/version` does not tell: the
/// default `system:public-info-viewer` ClusterRole lets every user read it
/// (k8s.io/kubernetes v1.36.3 plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
/// policy.go), so a token without rights passes it and would fail at the
/// first apply with a 403. Asked as `kubectl auth can-i '*' '*'` asks: a
/// SelfSubjectAccessReview (authorization.k8s.io/v1) for verb, group and
/// resource `*`, which every user may create (`system:basic-user`).
///
/// Errors: the review is not allowed, naming the context and the reason the
/// authorizer gave; the review itself failing (naming the API's words).
async fn cluster_admin(client: &Client, context: &str) -> Result<()> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some("*".into()),
                group: Some("*".into()),
                resource: Some("*".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(client.clone());
    let answer = api
        .create(&kube::api::PostParams::default(), &review)
        .await
        .map_err(|e| anyhow!("the API server of context {context} did not answer whether its credentials may install kindops (a SelfSubjectAccessReview): {e}"))?;
    let status = answer.status.unwrap_or_default();
    if status.allowed {
        return Ok(());
    }
    let why = status
        .reason
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "no RBAC rule allows it".into());
    Err(anyhow!(
        "the credentials of context {context} may not do everything kindops does (create namespaces, CRDs and cluster roles): `kubectl auth can-i '*' '*'` says no ({why}). \
         kindops needs cluster-admin rights on its cluster: use a context that has them (or ask your cluster's admin for a ClusterRoleBinding to cluster-admin), check with `kubectl --context {context} auth can-i '*' '*'`"
    ))
}
