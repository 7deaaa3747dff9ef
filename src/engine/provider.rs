//! Where the cluster comes from: a kind cluster kindops creates (the
//! `create-cluster` step, [`create_cluster_step`]), or an existing kubeconfig
//! context.

use super::kind_node::{check_git_mount, ensure_node_running};
pub use super::kind_node::{kind_ui_port, UI_NODE_PORT};
use super::step::{Done, StepCtx, StepError, StepResult};
use super::git_source;
use crate::proc;
use anyhow::{anyhow, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio_util::sync::CancellationToken;

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

/// The container CLI kind drives, picked as kind v0.32.0 picks its provider
/// (cached for the process; see [`detect_container_cli`]).
pub fn container_cli() -> &'static str {
    static CLI: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    CLI.get_or_init(|| {
        detect_container_cli(
            std::env::var("KIND_EXPERIMENTAL_PROVIDER").ok().as_deref(),
            std::env::var_os("PATH").unwrap_or_default(),
        )
    })
}

/// The container CLI kind v0.32.0 drives, given `KIND_EXPERIMENTAL_PROVIDER`
/// and a `PATH`: one of `docker`, `nerdctl`, `finch`, `nerdctl.lima`, `podman`.
///
/// Upstream (kind v0.32.0):
/// - `pkg/internal/runtime/runtime.go` (`GetDefault`): a set
///   `KIND_EXPERIMENTAL_PROVIDER` wins (`podman`, `docker`, `nerdctl`,
///   `finch`, `nerdctl.lima`); another value is ignored (kind warns).
/// - else `pkg/cluster/provider.go` (`DetectNodeProvider`): docker if
///   `docker -v` prints one line starting `Docker version`, else nerdctl if
///   `nerdctl -v` prints `nerdctl version…` (or `finch -v` prints
///   `finch version…`), else podman if `podman -v` prints `podman version…`;
///   with none of them, `NewProvider` falls back to docker.
///   (`pkg/cluster/internal/providers/{docker,nerdctl,podman}/util.go`, `IsAvailable`.)
///
/// So a `docker` that is Podman's shim (`docker -v` → `podman version 5…`)
/// means podman, as for kind. The CLIs are looked up in `path` only (the
/// `which` crate) and run with `-v`; nothing else is read.
pub fn detect_container_cli(env_provider: Option<&str>, path: std::ffi::OsString) -> &'static str {
    match env_provider {
        Some("podman") => return "podman",
        Some("docker") => return "docker",
        Some("nerdctl") => return "nerdctl",
        Some("finch") => return "finch",
        Some("nerdctl.lima") => return "nerdctl.lima",
        _ => {}
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    // One line starting with `prefix` from `<cli> -v` (kind's IsAvailable).
    let answers = |cli: &str, prefix: &str| -> bool {
        let Ok(bin) = which::which_in(cli, Some(&path), &cwd) else {
            return false;
        };
        let Ok(out) = std::process::Command::new(bin)
            .arg("-v")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
        else {
            return false;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        out.status.success() && lines.len() == 1 && lines[0].starts_with(prefix)
    };
    if answers("docker", "Docker version") {
        "docker"
    } else if answers("nerdctl", "nerdctl version") {
        "nerdctl"
    } else if answers("finch", "finch version") {
        "finch"
    } else if answers("podman", "podman version") {
        "podman"
    } else {
        "docker"
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

/// Whether kind has a cluster `name` (`kind get clusters`).
///
/// Errors: `kind get clusters` fails (no Docker, wrong provider): then
/// nothing may be created nor cleaned up, since what exists is unknown.
pub(crate) async fn kind_cluster_exists(ctx: &StepCtx<'_>, name: &str) -> std::result::Result<bool, StepError> {
    let args = ["get", "clusters"].map(str::to_string);
    let fin = proc::run("kind", &args, None, &[], ctx.cancel, |_, _| {}).await?;
    if !fin.success {
        return Err(StepError::new(format!(
            "`kind get clusters` failed (exit {}), so kindops cannot tell whether cluster {name} exists",
            exit(fin.code)
        ))
        .object(format!("kind cluster {name}"))
        .hint("run `kind get clusters` yourself: kind must reach the container engine (Docker running; KIND_EXPERIMENTAL_PROVIDER if you use podman or nerdctl)")
        .tail(fin.tail));
    }
    Ok(fin.stdout.lines().any(|l| l.trim() == name))
}

pub(crate) fn exit(code: Option<i32>) -> String {
    code.map(|c| c.to_string()).unwrap_or_else(|| "signal".into())
}

/// The `create-cluster` step: a kind cluster `name` (with kindops's git
/// source mounted) unless it exists, whose mount is then checked; with
/// `--context`, nothing. A failed or cancelled `kind create` deletes the
/// partial cluster, but only one this run was creating.
pub(crate) async fn create_cluster_step(ctx: &mut StepCtx<'_>) -> StepResult {
    let settings = ctx.settings;
    let name = match &settings.target {
        Target::Context { context } => {
            return Ok(Done::unchanged(format!(
                "using the existing cluster of context {context}; no kind cluster created"
            )));
        }
        Target::Kind { name } => name.as_str(),
    };
    let context = format!("kind-{name}");
    let mut changed = false;
    let mut started = false;
    if kind_cluster_exists(ctx, name).await? {
        ctx.say(format!("kind cluster {name} exists; not creating it"));
        started = ensure_node_running(ctx, name).await?;
        match kind_ui_port(name).await {
            Ok(mapped) if mapped != settings.ui_port => ctx.say(format!(
                "the Argo CD UI of kind cluster {name} is on host port {mapped} (the --ui-port it was made with); --ui-port {} applies only to a new cluster",
                settings.ui_port
            )),
            _ => {}
        }
        if settings.repo_url.is_none() {
            check_git_mount(ctx, name, false).await?;
        }
    } else {
        create_kind_cluster(ctx, name).await?;
        changed = true;
        if settings.repo_url.is_none() {
            check_git_mount(ctx, name, true).await?;
        }
    }
    // A node just started: its API server needs some seconds to answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(if started { 180 } else { 0 });
    let client = loop {
        match client_for(&context).await {
            Err(_) if std::time::Instant::now() < deadline && !ctx.cancel.is_cancelled() => {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await
            }
            other => break other,
        }
    };
    changed |= started;
    let client = client.map_err(|e| {
        StepError::new(format!("{e:#}"))
            .object(format!("context {context}"))
            .hint(format!("`kind get kubeconfig --name {name}` shows kind's kubeconfig; `kind export kubeconfig --name {name}` restores the context"))
    })?;
    ctx.set_client(client, context.clone());
    Ok(Done::new(
        changed,
        if changed && !started {
            format!("created kind cluster {name}, context {context}")
        } else if started {
            format!("started the stopped node of kind cluster {name}, context {context}")
        } else {
            format!("kind cluster {name} exists, context {context}")
        },
    ))
}

/// `kind create cluster` with kindops's config; on failure or cancel, `kind
/// delete cluster` of what it left, unless another run made the cluster meanwhile.
async fn create_kind_cluster(ctx: &StepCtx<'_>, name: &str) -> std::result::Result<(), StepError> {
    let settings = ctx.settings;
    let dir = settings.cluster_dir();
    let git_dir = dir.join("git");
    git_source::prepare_builtin_dirs(&git_dir, None)?;
    let config_path = dir.join("kind-config.yaml");
    let node_image = settings
        .node_image
        .clone()
        .unwrap_or_else(|| crate::content::kind_versions().node_image);
    let config = crate::content::kind_config(&crate::content::KindOptions {
        cluster: name,
        git_dir: &git_dir,
        ui_port: settings.ui_port,
        node_image: &node_image,
        cgroup_v1: ctx.run.cgroup_v1,
    })?;
    if ctx.run.cgroup_v1 {
        ctx.say("cgroup v1 host: the kind config sets failCgroupV1: false for the kubelet");
    }
    std::fs::write(&config_path, config).map_err(anyhow::Error::from)?;
    let args: Vec<String> = ["create", "cluster", "--name", name, "--config"]
        .iter()
        .map(|s| s.to_string())
        .chain([config_path.display().to_string()])
        .collect();
    let previous_context = current_context();
    ctx.say(format!("$ kind {}", args.join(" ")));
    let created = ctx.run_child("kind", &args, &[], ctx.cancel).await;
    let interrupted = created.is_err() && ctx.cancel.is_cancelled();
    let fin = match created {
        Ok(fin) => fin,
        Err(e) if !interrupted => return Err(e.into()),
        Err(e) => proc::Finished {
            tail: vec![format!("{e:#}")],
            ..Default::default()
        },
    };
    if fin.success {
        return after_create_context(ctx, name, previous_context).await;
    }
    let object = format!("kind cluster {name}");
    // Another kindops (or the user) made it meanwhile: not ours to delete.
    if fin.output.contains("already exist") {
        return Err(StepError::new(format!(
            "kind cluster {name} appeared while this run was creating it; it was left as it is"
        ))
        .object(object)
        .hint("run `kindops up` again: it uses the existing cluster")
        .tail(fin.tail));
    }
    // Leave nothing behind: kind may have created the node container.
    ctx.say(format!("$ kind delete cluster --name {name}"));
    let del_args = ["delete", "cluster", "--name", name].map(str::to_string);
    // Not cancellable: the cleanup must finish even after Ctrl-C.
    let del = ctx.run_child("kind", &del_args, &[], &CancellationToken::new()).await;
    let cleaned = matches!(del, Ok(ref f) if f.success);
    if interrupted {
        return Err(StepError::new(format!(
            "interrupted while creating kind cluster {name}; {}",
            if cleaned {
                "the partial cluster was deleted"
            } else {
                "deleting the partial cluster failed: run `kind delete cluster --name NAME`"
            }
            .replace("NAME", name)
        ))
        .object(object)
        .hint("run `kindops up` again to create it"));
    }
    let image_hint = if fin.output.contains("pull") || fin.output.contains("image") {
        "kind could not get its node image: with no internet, `docker load -i kindest-node.tar` from a workshop copy (then run again), or pass --node-image with a node image the engine already has"
    } else {
        "read kind's output above; `kind create cluster` must work on this machine"
    };
    Err(StepError::new(format!(
        "`kind create cluster` failed (exit {}); {}",
        exit(fin.code),
        if cleaned {
            "the partial cluster was deleted"
        } else {
            "cleaning up with `kind delete cluster` also failed"
        }
    ))
    .object(object)
    .hint(image_hint)
    .tail(fin.tail))
}

/// The kubeconfig's current context (`$KUBECONFIG`, merged as kubectl
/// does, or `~/.kube/config`; kube's `Kubeconfig::read`); None when unset
/// or unreadable.
fn current_context() -> Option<String> {
    Kubeconfig::read()
        .ok()
        .and_then(|k| k.current_context)
        .filter(|c| !c.is_empty())
}

/// After `kind create cluster`, which makes `kind-<name>` the current
/// context (kind `pkg/cluster/internal/kubeconfig/internal/kubeconfig/merge.go`,
/// `merge`: `existing.CurrentContext = kind.CurrentContext` when
/// `updateKubeContext`, which `kind create cluster` sets):
/// says so, and with `--keep-context` sets `previous` back with `kubectl
/// config use-context` (which writes to the file kubectl picks from a
/// `$KUBECONFIG` list, as the user's own kubectl would).
///
/// Errors: `kubectl config use-context` fails (naming the context and the
/// command to run by hand).
async fn after_create_context(
    ctx: &StepCtx<'_>,
    name: &str,
    previous: Option<String>,
) -> std::result::Result<(), StepError> {
    let kind_context = format!("kind-{name}");
    let previous = match previous {
        Some(p) if p != kind_context => p,
        _ => {
            ctx.say(format!("kind made {kind_context} your kubeconfig's current context"));
            return Ok(());
        }
    };
    if !ctx.settings.keep_context {
        ctx.say(format!(
            "kind made {kind_context} your kubeconfig's current context (it was {previous}): plain `kubectl` now talks to this cluster. `kubectl config use-context {previous}` switches back; `kindops up --keep-context` keeps yours"
        ));
        return Ok(());
    }
    let args = ["config", "use-context", previous.as_str()].map(str::to_string);
    ctx.say(format!("$ kubectl {}", args.join(" ")));
    let fin = proc::run("kubectl", &args, None, &[], ctx.cancel, |_, _| {}).await?;
    if !fin.success {
        return Err(StepError::new(format!(
            "kind made {kind_context} the current context and `kubectl config use-context {previous}` failed (exit {})",
            exit(fin.code)
        ))
        .object(format!("context {previous}"))
        .hint(format!(
            "run `kubectl config use-context {previous}` yourself; the cluster itself is ready"
        ))
        .tail(fin.tail));
    }
    ctx.say(format!(
        "ok      current context set back to {previous} (--keep-context); this cluster is context {kind_context} (`kubectl --context {kind_context} ...`)"
    ));
    Ok(())
}

#[cfg(test)]
#[path = "provider_tests.rs"]
mod tests;
