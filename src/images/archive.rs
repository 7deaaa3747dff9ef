//! The `<mirror>/images/` layout: `index.yaml` ([`ImageIndex`]) plus one
//! `docker save` archive per image. `kindops fetch --images` writes it
//! ([`save`]); `kindops up --mirror DIR` checks it before anything runs
//! ([`ImageIndex::verify`]) and phase 0 loads it into every kind node
//! (`engine::steps::load_images`).

use super::{archive_file, archive_tag, normalize, Reference};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The directory of image archives inside a mirror.
pub const IMAGES_DIR: &str = "images";
/// The index file inside [`IMAGES_DIR`].
pub const INDEX_FILE: &str = "index.yaml";

/// `<mirror>/images/index.yaml`: what `kindops fetch --images` saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageIndex {
    pub images: Vec<ArchiveEntry>,
}

/// One saved image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveEntry {
    /// The reference as the manifests write it.
    pub reference: String,
    /// The archive (`docker save` format) relative to `<mirror>/images/`.
    pub archive: String,
    /// sha256 of the archive file, hex.
    pub sha256: String,
    /// The name the archive carries ([`archive_tag`]); inside a node the
    /// reference is made to point at it.
    pub tag: String,
    /// The image ID (`sha256:` of its config, Docker's `Id`), which kindops
    /// also records on the image inside a node to know it is loaded.
    pub id: String,
}

impl ImageIndex {
    /// Reads `<mirror>/images/index.yaml`; `Ok(None)` when the mirror has no
    /// images. Errors name the file (and line:column of a parse error).
    pub fn read(mirror: &Path) -> Result<Option<ImageIndex>> {
        let path = mirror.join(IMAGES_DIR).join(INDEX_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow!("reading {}: {e}", path.display())),
        };
        let index: ImageIndex = serde_yaml::from_str(&text).map_err(|e| match e.location() {
            Some(l) => anyhow!("{}:{}:{}: {e}", path.display(), l.line(), l.column()),
            None => anyhow!("{}: {e}", path.display()),
        })?;
        for entry in &index.images {
            for text in [&entry.reference, &entry.tag] {
                Reference::parse(text).map_err(|e| {
                    anyhow!(
                        "{}: {e}; run `kindops fetch --images` again to rewrite the index",
                        path.display()
                    )
                })?;
            }
        }
        Ok(Some(index))
    }

    /// Writes `<mirror>/images/index.yaml` (entries sorted by reference).
    pub fn write(&self, mirror: &Path) -> Result<()> {
        let dir = mirror.join(IMAGES_DIR);
        std::fs::create_dir_all(&dir)?;
        let mut sorted = self.clone();
        sorted.images.sort_by(|a, b| a.reference.cmp(&b.reference));
        let header = "# Written by `kindops fetch --images`: one `docker save` archive per image.\n";
        let path = dir.join(INDEX_FILE);
        std::fs::write(&path, format!("{header}{}", serde_yaml::to_string(&sorted)?))
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The archive's path.
    pub fn archive_path(mirror: &Path, entry: &ArchiveEntry) -> PathBuf {
        mirror.join(IMAGES_DIR).join(&entry.archive)
    }

    /// The archive of `image` (a reference as `kindops images` lists it) in
    /// mirror directory `mirror`, if its index lists it; `Ok(None)` when
    /// the mirror has no images or not that one. Errors: as [`Self::read`].
    pub fn archive_of(mirror: &Path, image: &str) -> Result<Option<PathBuf>> {
        Ok(Self::read(mirror)?.and_then(|index| {
            index
                .images
                .iter()
                .find(|e| e.reference == image)
                .map(|e| Self::archive_path(mirror, e))
        }))
    }

    /// Checks every archive: present, and its sha256 as recorded. With
    /// `cache_dir`, a hash taken by an earlier run is reused while the file's
    /// stat data is unchanged ([`super::verified`]).
    ///
    /// Errors: the first bad entry, naming the image, the file and both
    /// hashes, with what to do.
    pub fn verify(&self, mirror: &Path, cache_dir: Option<&Path>) -> Result<()> {
        let mut verified = super::verified::Verified::load(cache_dir);
        let result = self.verify_with(mirror, &mut verified);
        verified.save();
        result
    }

    fn verify_with(&self, mirror: &Path, verified: &mut super::verified::Verified) -> Result<()> {
        for e in &self.images {
            let path = Self::archive_path(mirror, e);
            if e.archive.contains("..") || Path::new(&e.archive).is_absolute() {
                return Err(anyhow!(
                    "image {}: archive {:?} in {} is outside the images directory",
                    e.reference,
                    e.archive,
                    mirror.join(IMAGES_DIR).join(INDEX_FILE).display()
                ));
            }
            let got = verified.sha256(&path).map_err(|err| {
                anyhow!(
                    "image {}: archive {} cannot be read ({err}); run `kindops fetch --images --into {}` again where the images are",
                    e.reference,
                    path.display(),
                    mirror.display()
                )
            })?;
            if !got.eq_ignore_ascii_case(&e.sha256) {
                return Err(anyhow!(
                    "image {}: archive {} has sha256 {got}, the index records {}; the file is damaged or was replaced: run `kindops fetch --images --into {}` again",
                    e.reference,
                    path.display(),
                    e.sha256,
                    mirror.display()
                ));
            }
        }
        Ok(())
    }
}

/// Saves `reference` from the Docker engine's image store into
/// `<mirror>/images/` as a `docker save` archive carrying [`archive_tag`],
/// pulling it first when the store lacks it (`POST /images/create`), tagging
/// it (`POST /images/{name}/tag`) and streaming `GET /images/{name}/get`
/// into `<file>.part`, hashed on the way, renamed when complete.
/// `known`: the index's entry from an earlier fetch; when its image ID and
/// archive still match, nothing is written ([`Saved::Current`]); when the
/// engine lacks the image but the mirror's archive is intact, it is kept
/// ([`Saved::Kept`]: a mirror can be filled from several machines).
///
/// Errors: not in the store, not in the mirror, and the pull failed
/// (offline, unknown image, needs a login), naming the image; I/O on the mirror.
pub async fn save(
    docker: &bollard::Docker,
    reference: &str,
    mirror: &Path,
    known: Option<&ArchiveEntry>,
) -> Result<(ArchiveEntry, Saved)> {
    use bollard::query_parameters::{CreateImageOptions, TagImageOptions};
    use futures::StreamExt;
    use sha2::Digest;
    use std::io::Write;
    let intact = |k: &ArchiveEntry| {
        crate::upstream::sha256_file(&ImageIndex::archive_path(mirror, k))
            .is_ok_and(|h| h.eq_ignore_ascii_case(&k.sha256))
    };
    let inspect = match docker.inspect_image(reference).await {
        Ok(i) => i,
        Err(_) => {
            if let Some(k) = known.filter(|k| intact(k)) {
                return Ok((k.clone(), Saved::Kept));
            }
            let opts = CreateImageOptions {
                from_image: Some(reference.to_string()),
                ..Default::default()
            };
            let mut pull = docker.create_image(Some(opts), None, None);
            while let Some(step) = pull.next().await {
                step.map_err(|e| {
                    anyhow!("image {reference}: not in the Docker engine's image store, and pulling it failed: {e}")
                })?;
            }
            docker
                .inspect_image(reference)
                .await
                .map_err(|e| anyhow!("image {reference}: pulled, but the engine does not show it: {e}"))?
        }
    };
    let id = inspect.id.clone().unwrap_or_default();
    let tag = archive_tag(reference);
    let file = archive_file(reference);
    let path = mirror.join(IMAGES_DIR).join(&file);
    if let Some(k) = known.filter(|k| k.id == id && k.archive == file && k.tag == tag && intact(k)) {
        return Ok((k.clone(), Saved::Current));
    }
    let split = Reference::parse(&tag)?;
    let has_tag = inspect
        .repo_tags
        .iter()
        .flatten()
        .any(|t| normalize(t) == normalize(&tag));
    if !has_tag {
        let opts = TagImageOptions {
            repo: Some(split.repository.clone()),
            tag: split.tag.clone(),
        };
        docker
            .tag_image(reference, Some(opts))
            .await
            .map_err(|e| anyhow!("image {reference}: tagging it {tag} failed: {e}"))?;
    }
    std::fs::create_dir_all(mirror.join(IMAGES_DIR))?;
    let part = path.with_extension("tar.part");
    let mut out = std::fs::File::create(&part).with_context(|| format!("creating {}", part.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut stream = docker.export_image(&tag);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| anyhow!("image {reference}: saving it from the Docker engine failed: {e}"))?;
        hasher.update(&chunk);
        out.write_all(&chunk)
            .with_context(|| format!("writing {}", part.display()))?;
    }
    out.sync_all()?;
    drop(out);
    std::fs::rename(&part, &path).with_context(|| format!("renaming {} to {}", part.display(), path.display()))?;
    Ok((
        ArchiveEntry {
            reference: reference.to_string(),
            archive: file,
            sha256: hex::encode(hasher.finalize()),
            tag,
            id,
        },
        Saved::Written,
    ))
}

/// What [`save`] did with one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The archive was written (new, or the image changed).
    Written,
    /// The mirror's archive is of the same image already.
    Current,
    /// The engine does not have the image; the mirror's intact archive stays.
    Kept,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_round_trips_and_a_damaged_or_missing_archive_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ImageIndex::read(dir.path()).unwrap(), None);
        std::fs::create_dir_all(dir.path().join(IMAGES_DIR)).unwrap();
        let file = dir.path().join(IMAGES_DIR).join("a_1.tar");
        std::fs::write(&file, b"archive").unwrap();
        let sha = crate::upstream::sha256_file(&file).unwrap();
        let index = ImageIndex {
            images: vec![ArchiveEntry {
                reference: "reg.io/a:1".into(),
                archive: "a_1.tar".into(),
                sha256: sha.clone(),
                tag: "reg.io/a:1".into(),
                id: "sha256:00".into(),
            }],
        };
        index.write(dir.path()).unwrap();
        let back = ImageIndex::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, index);
        back.verify(dir.path(), None).unwrap();
        std::fs::write(&file, b"archivX").unwrap();
        let e = back.verify(dir.path(), None).unwrap_err().to_string();
        assert!(
            e.contains("reg.io/a:1") && e.contains("a_1.tar") && e.contains(&sha),
            "{e}"
        );
        std::fs::remove_file(&file).unwrap();
        let e = back.verify(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("reg.io/a:1") && e.contains("cannot be read"), "{e}");
        std::fs::write(
            dir.path().join(IMAGES_DIR).join(INDEX_FILE),
            "images:\n  - reference: x\n    bogus: 1\n",
        )
        .unwrap();
        let e = ImageIndex::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("index.yaml:3:"), "{e}");
        let mut bad = index.clone();
        bad.images[0].reference = "reg.io/A:1".into();
        bad.write(dir.path()).unwrap();
        let e = ImageIndex::read(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("index.yaml")
                && e.contains("`reg.io/A:1` is not an image reference")
                && e.contains("kindops fetch --images"),
            "{e}"
        );
    }
}
