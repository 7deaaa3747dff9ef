//! Rendered kustomizations kept between runs, so a re-run of a converged
//! environment does not run `kubectl kustomize` again on the same input
//! (phase 1's four renders took ~2.9 s of a ~11 s re-run on the real kind
//! cluster: BENCHMARKS.md figure 6).
//!
//! The key is the materialized GitOps tree's digest ([`tree_digest`]: every
//! file's relative path and bytes), the path rendered, and the renderer
//! (`kubectl`'s resolved path, size and modification time): the same input
//! to the same program. Only renders without Helm are kept (a chart may draw
//! random values); [`super::render`] is one. One file per rendered
//! path, `<cache>/render/<path>-<key>.yaml`; a new key replaces the old file.

use anyhow::Result;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The digest (hex sha256) of every regular file under `root`: relative
/// path, length and bytes, in path order.
///
/// Errors: a file or directory that cannot be read.
pub fn tree_digest(root: &Path) -> std::io::Result<String> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                walk(&e.path(), files)?;
            } else if t.is_file() {
                files.push(e.path());
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f);
        let bytes = std::fs::read(&f)?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// What identifies the renderer: `kubectl`'s resolved path, size and
/// modification time (an upgraded kubectl renders anew).
fn renderer_identity() -> String {
    which::which("kubectl")
        .ok()
        .and_then(|p| {
            let m = std::fs::metadata(&p).ok()?;
            let mtime = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
            Some(format!("{}:{}:{}", p.display(), m.len(), mtime.as_nanos()))
        })
        .unwrap_or_default()
}

/// [`super::render`] of `rel` under `root` (a tree whose digest is
/// `digest`), from `cache` when an earlier run rendered the same input, else
/// rendered now and kept there. Plain YAML files (no kustomization) are read
/// as they are, not kept.
///
/// Errors: those of [`super::render`]; the cache itself never fails a
/// render (unreadable or unwritable, it is skipped).
pub async fn render(
    cache: &Path,
    digest: &str,
    root: &Path,
    rel: &str,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<String> {
    let dir = root.join(rel);
    let kustomized = dir.join("kustomization.yaml").is_file() || dir.join("kustomization.yml").is_file();
    if !kustomized {
        return super::render(root, rel, cancel).await;
    }
    let mut h = Sha256::new();
    for part in ["kindops-render-v1", digest, rel, &renderer_identity()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let key = hex::encode(h.finalize());
    let slug: String = rel
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let file = cache.join(format!("{slug}-{}.yaml", &key[..32]));
    if let Ok(text) = std::fs::read_to_string(&file) {
        return Ok(text);
    }
    let text = super::render(root, rel, cancel).await?;
    if std::fs::create_dir_all(cache).is_ok() {
        // One file per path: drop what older inputs left.
        if let Ok(old) = std::fs::read_dir(cache) {
            for e in old.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name
                    .strip_prefix(&slug)
                    .is_some_and(|r| r.len() == 38 && r.starts_with('-'))
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        // A temporary file renamed into place; dropped (removed) on any
        // failure, so a full disk keeps nothing partial.
        let _ = tempfile::NamedTempFile::new_in(cache)
            .and_then(|mut tmp| std::io::Write::write_all(&mut tmp, text.as_bytes()).map(|_| tmp))
            .and_then(|tmp| tmp.persist(&file).map_err(|e| e.error));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path, image: &str) {
        std::fs::create_dir_all(dir.join("app")).unwrap();
        std::fs::write(
            dir.join("app/kustomization.yaml"),
            "resources: [cm.yaml]\nnamePrefix: x-\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("app/cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{image: {image}}}\n"),
        )
        .unwrap();
    }

    /// With the real kubectl: a second render of the same tree comes from the
    /// cache file (proved by editing that file), a changed tree renders anew
    /// and replaces it.
    #[tokio::test]
    async fn same_input_comes_from_the_cache_and_a_change_renders_again() {
        if which::which("kubectl").is_err() {
            panic!("kubectl is needed (the README's install step puts it on PATH)");
        }
        let (root, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cancel = tokio_util::sync::CancellationToken::new();
        tree(root.path(), "a:1");
        let d1 = tree_digest(root.path()).unwrap();
        let first = render(cache.path(), &d1, root.path(), "app", &cancel).await.unwrap();
        assert!(first.contains("name: x-c") && first.contains("image: a:1"), "{first}");
        let files: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        std::fs::write(&files[0], "from: cache\n").unwrap();
        assert_eq!(
            render(cache.path(), &d1, root.path(), "app", &cancel).await.unwrap(),
            "from: cache\n"
        );

        tree(root.path(), "a:2");
        let d2 = tree_digest(root.path()).unwrap();
        assert_ne!(d1, d2);
        let second = render(cache.path(), &d2, root.path(), "app", &cancel).await.unwrap();
        assert!(second.contains("image: a:2"), "{second}");
        assert_eq!(
            std::fs::read_dir(cache.path()).unwrap().count(),
            1,
            "the old entry is replaced"
        );
    }
}
