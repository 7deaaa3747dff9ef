//! The `create-cluster` step ([`create_cluster_step`]): a kind cluster
//! kindops creates, its node started when stopped and its git mount checked;
//! with `--context`, nothing (the cluster is an existing kubeconfig context).

use crate::cluster::{client_for, Target};
use crate::docker::container_cli;
use crate::docker::kind_node::{inspect_node, kind_ui_port, node_name};
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::gitsource;
use crate::proc::{self, exit_text as exit};
use kube::config::Kubeconfig;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a cancelled `create-cluster` may take to delete the cluster
/// this run was creating (`kind delete cluster` takes ~6 s) and stop its
/// children.
pub(crate) const CANCEL_GRACE: Duration = Duration::from_secs(60);

/// `kind get WHAT...` (`args`): the names it prints, one a line.
///
/// Errors: kind fails (no Docker, wrong provider): `why(exit)` says what
/// that leaves unknown, with kind's last lines and what to check.
async fn kind_get(
    ctx: &StepCtx<'_>,
    args: &[&str],
    name: &str,
    why: impl FnOnce(String) -> String,
) -> std::result::Result<Vec<String>, StepError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let fin = proc::run("kind", &args, None, &[], ctx.cancel, |_, _| {}).await?;
    if !fin.success {
        return Err(StepError::new(why(exit(fin.code)))
            .object(format!("kind cluster {name}"))
            .hint(format!("run `kind {}` yourself: kind must reach the container engine (Docker running; KIND_EXPERIMENTAL_PROVIDER if you use podman or nerdctl)", args.join(" ")))
            .tail(fin.tail));
    }
    Ok(fin
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Whether kind has a cluster `name` (`kind get clusters`).
///
/// Errors: `kind get clusters` fails (no Docker, wrong provider): then
/// nothing may be created nor cleaned up, since what exists is unknown.
pub(crate) async fn kind_cluster_exists(ctx: &StepCtx<'_>, name: &str) -> std::result::Result<bool, StepError> {
    let clusters = kind_get(ctx, &["get", "clusters"], name, |code| {
        format!("`kind get clusters` failed (exit {code}), so kindops cannot tell whether cluster {name} exists")
    })
    .await?;
    Ok(clusters.iter().any(|c| c == name))
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
        started = ensure_nodes_running(ctx, name).await?;
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
    gitsource::prepare_builtin_dirs(&git_dir, None)?;
    let config_path = dir.join("kind-config.yaml");
    let node_image = settings
        .node_image
        .clone()
        .unwrap_or_else(|| crate::content::kind_versions().node_image);
    let config = crate::content::kind_config(&crate::content::KindOptions {
        cluster: name,
        git_dir: &git_dir,
        ui_port: settings.ui_port,
        workers: settings.workers,
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

/// The node containers of kind cluster `name` (`kind get nodes --name`):
/// `<name>-control-plane`, and `<name>-worker`, `<name>-worker2`, ... for
/// `--workers`.
///
/// Errors: `kind get nodes` fails.
async fn kind_nodes(ctx: &StepCtx<'_>, name: &str) -> std::result::Result<Vec<String>, StepError> {
    kind_get(ctx, &["get", "nodes", "--name", name], name, |code| {
        format!("`kind get nodes --name {name}` failed (exit {code}), so kindops cannot tell which nodes cluster {name} has")
    })
    .await
}

/// Every node of kind cluster `name` running: the control-plane node first
/// ([`ensure_node_running`]), then each worker. `Ok(true)` when one was
/// started. A worker count other than `--workers` is said, not changed
/// (kind cannot add or remove nodes of a cluster).
pub(crate) async fn ensure_nodes_running(ctx: &StepCtx<'_>, name: &str) -> std::result::Result<bool, StepError> {
    let control_plane = node_name(name);
    let mut started = ensure_node_running(ctx, name, &control_plane).await?;
    let workers: Vec<String> = kind_nodes(ctx, name)
        .await?
        .into_iter()
        .filter(|n| *n != control_plane)
        .collect();
    for w in &workers {
        started |= ensure_node_running(ctx, name, w).await?;
    }
    if workers.len() != usize::from(ctx.settings.workers) {
        ctx.say(format!(
            "kind cluster {name} has {} worker node(s); --workers {} applies only to a new cluster (`kindops down`, then `kindops up --workers {}`)",
            workers.len(),
            ctx.settings.workers,
            ctx.settings.workers
        ));
    }
    Ok(started)
}

/// A kind cluster's node (`node`) must run before anything else can: after `docker
/// stop`, or a reboot with Podman (kind sets no restart policy there; with
/// Docker it sets `--restart=on-failure:1`, kind v0.32.0
/// `pkg/cluster/internal/providers/podman/provision.go` and `docker/provision.go`),
/// the node is `exited` and `kind get clusters` still lists the cluster.
/// kindops starts it (its cluster, and `kindops up` is how a learner
/// resumes), says so, and returns true; running: false.
///
/// Errors: the node is missing (another node of the cluster only), paused,
/// or will not start, each naming the node and what to do.
pub(crate) async fn ensure_node_running(
    ctx: &StepCtx<'_>,
    name: &str,
    node: &str,
) -> std::result::Result<bool, StepError> {
    let node = node.to_string();
    let cli = container_cli();
    let object = format!("kind node {node}");
    let state = inspect_node(&node).await.map_err(|e| {
        StepError::new(e)
            .object(object.clone())
            .hint("check that the container engine runs")
    })?;
    let Some(state) = state else {
        return Err(StepError::new(format!(
            "kind lists cluster {name}, but its node container {node} does not exist (removed by hand?)"
        ))
        .object(object)
        .hint(format!(
            "`kindops down --cluster {name}` removes what is left, then `kindops up` makes it again"
        )));
    };
    match state.status.as_str() {
        "running" => Ok(false),
        "paused" => Err(StepError::new(format!("kind node {node} is paused"))
            .object(object)
            .hint(format!("`{cli} unpause {node}`, then run again"))),
        status => {
            ctx.say(format!(
                "kind node {node} is not running ({status}: stopped with `{cli} stop`, or not restarted after the engine or the machine restarted); starting it"
            ));
            ctx.say(format!("$ {cli} start {node}"));
            let args = ["start".to_string(), node.clone()];
            let fin = proc::run(cli, &args, None, &[], ctx.cancel, |_, _| {}).await?;
            if !fin.success {
                return Err(StepError::new(format!(
                    "kind node {node} was {status} and `{cli} start {node}` failed (exit {})",
                    exit(fin.code)
                ))
                .object(object)
                .hint(format!(
                    "read the engine's message below; `{cli} logs {node}` shows why the node stops. If it cannot be started, `kindops down --cluster {name}` and `kindops up` make the cluster again (what is only in the cluster is lost; your git source stays)"
                ))
                .tail(fin.tail));
            }
            ctx.say(format!("ok      node {node} started; waiting for its API server"));
            Ok(true)
        }
    }
}

/// The node (`<name>-control-plane`) must see kindops's git source: a
/// canary file written on the host must be visible at
/// [`gitsource::IN_CLUSTER_GIT_DIR`] in the node (`<cli> exec NODE test
/// -f`); the node's mounts come from [`inspect_node`]. Checked on an
/// existing cluster and right after `kind create cluster` (`fresh`).
///
/// Errors, each naming the folder and what to do:
/// - the node mounts nothing there: made by hand or by an older kindops;
/// - it mounts the folder but does not see the canary: on a fresh cluster,
///   the engine's VM does not share the folder (the engine made an empty
///   one: Docker Desktop's file sharing, Colima's `mounts:`, Podman
///   machine volumes); on an existing one, also the folder re-made since
///   the cluster was created (a bind mount keeps the old folder).
pub(crate) async fn check_git_mount(ctx: &StepCtx<'_>, name: &str, fresh: bool) -> std::result::Result<(), StepError> {
    let git_dir = ctx.settings.cluster_dir().join("git");
    gitsource::prepare_builtin_dirs(&git_dir, None)?;
    let canary = format!(".kindops-canary-{}", std::process::id());
    let host_file = git_dir.join(&canary);
    std::fs::write(&host_file, b"kindops mount check\n").map_err(anyhow::Error::from)?;
    let cli = container_cli();
    let node = node_name(name);
    let args = [
        "exec",
        &node,
        "test",
        "-f",
        &format!("{}/{canary}", gitsource::IN_CLUSTER_GIT_DIR),
    ]
    .map(str::to_string);
    ctx.say(format!("$ {cli} {}", args.join(" ")));
    let fin = proc::run(cli, &args, None, &[], ctx.cancel, |_, _| {}).await;
    let _ = std::fs::remove_file(&host_file);
    let fin = fin?;
    if fin.success {
        ctx.say(format!(
            "ok      git mount {} is mounted in node {node}",
            git_dir.display()
        ));
        return Ok(());
    }
    let object = format!("kind cluster {name}");
    let mount = inspect_node(&node).await.ok().flatten().and_then(|n| {
        n.mounts
            .into_iter()
            .find(|(_, dest)| dest == gitsource::IN_CLUSTER_GIT_DIR)
    });
    let Some((source, _)) = mount else {
        return Err(StepError::new(format!(
            "kind cluster {name} does not mount kindops's git source ({} at {} in node {node}): it was made by hand or by an older kindops. Argo CD would read an empty folder",
            git_dir.display(),
            gitsource::IN_CLUSTER_GIT_DIR
        ))
        .object(object)
        .hint(format!(
            "recreate it with kindops (`kindops down --cluster {name}`, then `kindops up`), or keep it and pass --repo-url with a git remote Argo CD can reach"
        ))
        .tail(fin.tail));
    };
    let share = crate::docker::engine_product().await.share_fix(&git_dir);
    if fresh {
        return Err(StepError::new(format!(
            "the new kind node {node} mounts {source} at {}, but sees an empty folder there: the container engine does not share {} with this machine, so it made an empty folder of its own. Argo CD would read nothing",
            gitsource::IN_CLUSTER_GIT_DIR,
            git_dir.display()
        ))
        .object(format!("folder {}", git_dir.display()))
        .hint(format!(
            "{share}; then `kindops down --cluster {name}` and `kindops up` (or keep the cluster and pass --repo-url with a git remote Argo CD can reach)"
        ))
        .tail(fin.tail));
    }
    Err(StepError::new(format!(
        "kind node {node} mounts {source} at {}, but does not see kindops's files there: the folder {} was deleted and made again since the cluster was created (the node still holds the old one), or the container engine does not share it. Argo CD would read an empty folder",
        gitsource::IN_CLUSTER_GIT_DIR,
        git_dir.display()
    ))
    .object(object)
    .hint(format!(
        "recreate the cluster so that it mounts the folder again (`kindops down --cluster {name}`, then `kindops up`); if the folder was not re-made: {share}"
    ))
    .tail(fin.tail))
}
