//! The `load-images` step (phase 0, after `create-cluster`): the image
//! archives of a `--mirror DIR` (`DIR/images/`, written by `kindops fetch
//! --images`; see [`crate::images`]) loaded into every node of the kind
//! cluster, so phases 1–4 start their pods without a registry.
//!
//! Each archive goes in with `kind load image-archive FILE --name CLUSTER
//! --nodes N,...` (kind runs `ctr -n k8s.io images import` in each node).
//! Inside each node kindops then labels the image with its ID
//! ([`ID_LABEL`]) so a re-run sees it is there, and for a reference pinned by
//! digest (`repo@sha256:…`, e.g. Tekton's `-shell-image`) tags the image with
//! that reference (`ctr -n k8s.io images tag`): the kubelet looks a digest
//! reference up by that name and then finds it present.

use crate::cluster::Target;
use crate::docker::container_cli;
use crate::engine::step::{Done, StepCtx, StepError, StepResult};
use crate::images::{normalize, ArchiveEntry, ImageIndex, Reference};
use crate::upstream::Mirror;
use futures::{stream, StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// The containerd image label kindops sets on what it loaded: the image ID
/// (`sha256:` of the config) of the archive it came from.
pub const ID_LABEL: &str = "io.kindops.image-id";

/// `ctr -n k8s.io images ls` in `node`: image name → its labels (`k=v,...`).
async fn node_images(ctx: &StepCtx<'_>, node: &str) -> std::result::Result<BTreeMap<String, String>, StepError> {
    let args: Vec<String> = ["exec", node, "ctr", "-n", "k8s.io", "images", "ls"]
        .map(str::to_string)
        .into();
    let fin = crate::proc::run(container_cli(), &args, None, &[], ctx.cancel, |_, _| {}).await?;
    if !fin.success {
        return Err(StepError::new(format!("listing the images of node {node} failed"))
            .object(format!("node {node}"))
            .tail(fin.tail));
    }
    // REF TYPE DIGEST SIZE PLATFORMS LABELS: the name first, the labels last.
    Ok(fin
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?.to_string();
            Some((name, words.last().unwrap_or("-").to_string()))
        })
        .collect())
}

/// `ctr -n k8s.io ARGS` in `node`, failing with its output.
async fn ctr(ctx: &StepCtx<'_>, node: &str, args: &[&str]) -> std::result::Result<(), StepError> {
    let mut all: Vec<String> = ["exec", node, "ctr", "-n", "k8s.io"].map(str::to_string).into();
    all.extend(args.iter().map(|a| a.to_string()));
    let fin = crate::proc::run(container_cli(), &all, None, &[], ctx.cancel, |_, _| {}).await?;
    if !fin.success {
        return Err(
            StepError::new(format!("`ctr {}` in node {node} failed", args.join(" ")))
                .object(format!("node {node}"))
                .tail(fin.tail),
        );
    }
    Ok(())
}

/// How many archives are imported at once: as many as the machine has CPUs,
/// 2 to 4. `ctr images import` hashes and unpacks each archive (CPU and disk);
/// measured in a kind node on this project's 2-CPU machine (argocd 448 MiB +
/// Tekton resolvers 276 MiB): 16.2 s one after the other, 12.0 s two at once.
fn load_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

/// One archive to load: the `n`th of the index, into the nodes `on`; `size`
/// in bytes; the image's `tag`, its digest reference (`alias`) if it has
/// one, and the [`ID_LABEL`] `label` (`k=v`) it gets in each node.
struct Load {
    n: usize,
    entry: ArchiveEntry,
    on: Vec<String>,
    size: u64,
    tag: String,
    alias: Option<String>,
    label: String,
}

/// Loads one archive into its nodes (`kind load image-archive`), then labels
/// it with its image ID and, for a digest reference, tags it with that
/// reference in each node (see the module docs). Returns its size in bytes.
async fn load_one(
    ctx: &StepCtx<'_>,
    name: &str,
    dir: &std::path::Path,
    Load {
        n,
        entry,
        on,
        size,
        tag,
        alias,
        label,
    }: Load,
    total: usize,
) -> std::result::Result<u64, StepError> {
    let path = ImageIndex::archive_path(dir, &entry);
    ctx.say(format!(
        "loading {n}/{total} {} ({:.0} MiB) into {}",
        entry.reference,
        size as f64 / 1048576.0,
        on.join(", ")
    ));
    let args: Vec<String> = vec![
        "load".into(),
        "image-archive".into(),
        path.display().to_string(),
        "--name".into(),
        name.to_string(),
        "--nodes".into(),
        on.join(","),
    ];
    let fin = ctx.run_child("kind", &args, &[], ctx.cancel).await?;
    if !fin.success {
        return Err(StepError::new(format!(
            "loading image {} from {} into the nodes failed",
            entry.reference,
            path.display()
        ))
        .object(format!("image {}", entry.reference))
        .hint("check the archive with `docker load -i FILE`; `kindops fetch --images --into DIR` writes it again")
        .tail(fin.tail));
    }
    for node in &on {
        ctr(ctx, node, &["images", "label", &tag, &label]).await?;
        if let Some(a) = &alias {
            ctr(ctx, node, &["images", "tag", "--force", &tag, a]).await?;
        }
    }
    Ok(size)
}

/// The `load-images` step (see the module docs). Unchanged when there is no
/// kind cluster (`--context`), no mirror directory, or no images in it, or
/// when every node has every image already.
///
/// Errors: `kind get nodes` or `kind load image-archive` fails (naming the
/// image, its archive and the node); `ctr` in a node fails.
pub(crate) async fn load_images_step(ctx: &mut StepCtx<'_>) -> StepResult {
    let settings = ctx.settings;
    let name = match &settings.target {
        Target::Context { context } => {
            return Ok(Done::unchanged(format!(
                "existing cluster (context {context}): its nodes pull images themselves"
            )))
        }
        Target::Kind { name } => name.clone(),
    };
    let Some(Mirror::Dir(dir)) = &settings.mirror else {
        return Ok(Done::unchanged(
            "no --mirror directory: the nodes pull images from their registries",
        ));
    };
    // Read and checked (archives present, hashes as recorded) by `kindops
    // up` before the run started.
    let Some(index) = settings.mirror_images.clone() else {
        return Ok(Done::unchanged(format!(
            "{} has no images/ (`kindops fetch --images` writes them): the nodes pull images from their registries",
            dir.display()
        )));
    };
    let args: Vec<String> = ["get", "nodes", "--name", &name].map(str::to_string).into();
    let fin = ctx.run_child("kind", &args, &[], ctx.cancel).await?;
    let nodes: Vec<String> = fin
        .stdout
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if !fin.success || nodes.is_empty() {
        return Err(StepError::new(format!("`kind get nodes --name {name}` found no nodes"))
            .object(format!("kind cluster {name}"))
            .hint("check `kind get clusters` and `docker ps`; `kindops down` then `kindops up` makes the cluster again")
            .tail(fin.tail));
    }
    let mut present = BTreeMap::new();
    for node in &nodes {
        present.insert(node.clone(), node_images(ctx, node).await?);
    }
    // Images kindops runs as containers of the engine (the registry) are
    // loaded there by their own step, not into the nodes.
    let engine_images: Vec<String> = crate::upstream::image_pins().into_iter().map(|p| p.image).collect();
    let index = ImageIndex {
        images: index
            .images
            .into_iter()
            .filter(|e| !engine_images.contains(&e.reference))
            .collect(),
    };
    let total = index.images.len();
    // What each node lacks, largest archive first (with a few imports at once
    // the longest one should not start last).
    let mut work: Vec<Load> = Vec::new();
    for (i, entry) in index.images.iter().enumerate() {
        let tag = normalize(&entry.tag);
        let alias = Reference::parse(&entry.reference)
            .ok()
            .and_then(|r| r.digest.is_some().then(|| r.normalized()));
        let label = format!("{ID_LABEL}={}", entry.id);
        let missing: Vec<String> = nodes
            .iter()
            .filter(|n| {
                let imgs = &present[*n];
                let has = |r: &str| imgs.get(r).is_some_and(|l| l.split(',').any(|kv| kv == label));
                !has(&tag) || alias.as_deref().is_some_and(|a| !imgs.contains_key(a))
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            let size = std::fs::metadata(ImageIndex::archive_path(dir, entry))
                .map(|m| m.len())
                .unwrap_or(0);
            work.push(Load {
                n: i + 1,
                entry: entry.clone(),
                on: missing,
                size,
                tag,
                alias,
                label,
            });
        }
    }
    work.sort_by_key(|w| std::cmp::Reverse(w.size));
    let ctx = &*ctx;
    let (loaded, bytes) = stream::iter(work)
        .map(|w| load_one(ctx, &name, dir, w, total))
        .buffer_unordered(load_concurrency())
        .try_fold((0usize, 0u64), |(n, b), size| async move { Ok((n + 1, b + size)) })
        .await?;
    let msg = format!(
        "{loaded} of {total} images loaded into {} node(s) ({:.0} MiB); {} already there",
        nodes.len(),
        bytes as f64 / 1048576.0,
        total - loaded
    );
    Ok(Done::new(loaded > 0, msg))
}
