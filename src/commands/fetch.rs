//! `kindops fetch --into DIR [--images]`: every pinned upstream artifact, and
//! with `--images` every preloadable image the phases run, as a mirror for
//! `kindops up --mirror DIR`.

use super::{check_phase, init_tracing_stderr, Error, Result};
use crate::images::{self, ImageIndex};
use crate::report;
use crate::upstream::{pins, Mirror, Upstream};
use std::path::Path;

pub async fn run(
    into: &Path,
    mirror: Option<&Mirror>,
    with_images: bool,
    phase: Option<u8>,
    only: &[String],
) -> Result<u8> {
    init_tracing_stderr();
    let up = Upstream {
        mirror: mirror.cloned(),
        cache_dir: Upstream::default_cache_dir(),
    };
    let done = up.fill_mirror(&pins(), into).await?;
    report::fetch::print(&done, into);
    if !with_images {
        return Ok(0);
    }
    let upto = check_phase(phase)?;
    // The mirror now holds every artifact: render from it.
    let mut list = super::images::list(upto, Some(&Mirror::Dir(into.to_path_buf())), None).await?;
    if let Some(unknown) = only.iter().find(|r| !list.iter().any(|i| &i.reference == *r)) {
        return Err(Error::Bad(format!(
            "--image {unknown}: not an image phases 0..={upto} run (`kindops images` lists them, references as the manifests write them)"
        )));
    }
    if !only.is_empty() {
        list.retain(|i| only.contains(&i.reference));
    }
    let (docker, at) = crate::docker::connect().map_err(|e| {
        Error::Failed(anyhow::anyhow!(
            "{}; `kindops fetch --images` saves images from the Docker engine (DOCKER_HOST, docker context)",
            e.unwrap_or_else(|| "kindops cannot reach this Docker endpoint itself (ssh://)".into())
        ))
    })?;
    let mut index = ImageIndex::read(into)
        .map_err(|e| Error::Bad(format!("{e:#}")))?
        .unwrap_or_default();
    let mut failed = Vec::new();
    for image in &list {
        if let Some(why) = &image.not_preloadable {
            println!("skipped  {}: {why}", image.reference);
            continue;
        }
        let known = index.images.iter().find(|e| e.reference == image.reference).cloned();
        match images::save(&docker, &image.reference, into, known.as_ref()).await {
            Ok((entry, saved)) => {
                let size = std::fs::metadata(ImageIndex::archive_path(into, &entry))
                    .map(|m| m.len())
                    .unwrap_or(0);
                println!(
                    "{}  {}  {} ({:.1} MiB, sha256 {})",
                    match saved {
                        images::Saved::Written => "saved  ",
                        images::Saved::Current => "current",
                        images::Saved::Kept => "kept   ",
                    },
                    entry.reference,
                    entry.archive,
                    size as f64 / 1048576.0,
                    &entry.sha256[..12]
                );
                index.images.retain(|e| e.reference != entry.reference);
                index.images.push(entry);
                // Written after every image: an interrupted fetch keeps what it saved.
                index.write(into)?;
            }
            Err(e) => {
                println!("FAILED   {e:#}");
                failed.push(image.reference.clone());
            }
        }
    }
    index.write(into)?;
    println!(
        "{} image archives in {} (from the Docker engine at {at}); use --mirror {}",
        index.images.len(),
        into.join(images::IMAGES_DIR).display(),
        into.display()
    );
    if failed.is_empty() {
        Ok(0)
    } else {
        Err(Error::Failed(anyhow::anyhow!(
            "{} images could not be saved: {}. Pull them where they can be reached (or build them), then run `kindops fetch --images` again: it keeps what it saved",
            failed.len(),
            failed.join(", ")
        )))
    }
}
