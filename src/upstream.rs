//! Pinned upstream artifacts: where they come from, the cache, the mirror.
//!
//! Pins live in `manifests/upstream.yaml` (name, version, file, url, sha256).
//! Every artifact is resolved, and its checksum checked, before anything is
//! applied: from `--mirror` (a directory or an http(s) base laid out as
//! `<mirror>/<name>/<file>`), else from the cache
//! (`$XDG_CACHE_HOME/kindops/upstream/<name>/<file>`), else downloaded from its
//! `url` into the cache. Pins without a published sha256 are trusted on first
//! use: the first hash seen is recorded beside the cached file
//! (`<file>.sha256`) and a later different one is refused.

use anyhow::{Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

static PINS: &str = include_str!("../manifests/upstream.yaml");

/// One pinned upstream artifact (an entry of `manifests/upstream.yaml`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    pub name: String,
    pub version: String,
    /// File name in the mirror and the cache.
    pub file: String,
    /// Where it is downloaded from when neither mirror nor cache has it.
    pub url: String,
    /// Lowercase hex SHA-256 of the bytes, when known.
    pub sha256: Option<String>,
    /// For chart archives: the path in the GitOps repo to unpack into.
    #[serde(default)]
    pub unpack: Option<String>,
}

/// Every pin kindops ships.
pub fn pins() -> Vec<Pin> {
    serde_yaml::from_str(PINS).expect("manifests/upstream.yaml is checked by a unit test")
}

/// A pin resolved to a local file whose checksum was checked.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub pin: Pin,
    pub path: PathBuf,
    pub sha256: String,
    /// `mirror DIR`, `mirror URL`, `cache` or `download URL`: where the bytes came from.
    pub origin: String,
}

/// Why an artifact could not be used. Nothing is applied when any pin fails.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("checksum mismatch for {name} {version} from {location}: expected sha256 {expected}, got {actual}. The file is corrupt or not the pinned release; delete it (or fix the mirror) and run again")]
    ChecksumMismatch {
        name: String,
        version: String,
        location: String,
        expected: String,
        actual: String,
    },
    #[error("{name} {version} is not available: {location}: {reason}. Fill a mirror with `kindops fetch --into DIR` on a machine with internet, then pass --mirror DIR")]
    Missing {
        name: String,
        version: String,
        location: String,
        reason: String,
    },
}

/// Where artifacts are read from.
#[derive(Debug, Clone)]
pub enum Mirror {
    Dir(PathBuf),
    Http(String),
}

impl Mirror {
    /// `--mirror PATH_OR_URL`: `http://` / `https://` is an HTTP base, anything else a directory.
    pub fn parse(s: &str) -> Mirror {
        if s.starts_with("http://") || s.starts_with("https://") {
            Mirror::Http(s.trim_end_matches('/').to_string())
        } else {
            Mirror::Dir(PathBuf::from(s))
        }
    }
}

/// Resolves pins through the mirror and the cache.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub mirror: Option<Mirror>,
    pub cache_dir: PathBuf,
}

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

impl Upstream {
    /// The default cache: `$XDG_CACHE_HOME/kindops/upstream` (or `~/.cache/...`).
    pub fn default_cache_dir() -> PathBuf {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir)
            .join("kindops")
            .join("upstream")
    }

    /// Resolves every pin. Errors name the artifact, where it was looked for,
    /// and (for a mismatch) both hashes.
    pub async fn resolve_all(&self, pins: &[Pin]) -> Result<Vec<Resolved>> {
        let mut out = Vec::with_capacity(pins.len());
        for pin in pins {
            out.push(self.resolve(pin).await?);
        }
        Ok(out)
    }

    /// Resolves one pin (see the module docs for the order).
    pub async fn resolve(&self, pin: &Pin) -> Result<Resolved> {
        let cached = self.cache_dir.join(&pin.name).join(&pin.file);
        match &self.mirror {
            Some(Mirror::Dir(dir)) => {
                let path = dir.join(&pin.name).join(&pin.file);
                if !path.is_file() {
                    return Err(UpstreamError::Missing {
                        name: pin.name.clone(),
                        version: pin.version.clone(),
                        location: path.display().to_string(),
                        reason: "no such file in the mirror directory".into(),
                    }
                    .into());
                }
                let sha = sha256_file(&path)?;
                self.check(pin, &path.display().to_string(), &sha, &cached)?;
                Ok(Resolved {
                    pin: pin.clone(),
                    path: path.clone(),
                    sha256: sha,
                    origin: format!("mirror {}", dir.display()),
                })
            }
            Some(Mirror::Http(base)) => {
                let url = format!("{base}/{}/{}", pin.name, pin.file);
                self.download(pin, &url, &cached).await
            }
            None => {
                if cached.is_file() {
                    let sha = sha256_file(&cached)?;
                    self.check(pin, &cached.display().to_string(), &sha, &cached)?;
                    return Ok(Resolved {
                        pin: pin.clone(),
                        path: cached,
                        sha256: sha,
                        origin: "cache".into(),
                    });
                }
                self.download(pin, &pin.url.clone(), &cached).await
            }
        }
    }

    /// Checks `actual` against the pin, or against the hash first seen for it.
    fn check(&self, pin: &Pin, location: &str, actual: &str, cached: &Path) -> Result<()> {
        let seen = cached.with_file_name(format!("{}.sha256", pin.file));
        let expected = match &pin.sha256 {
            Some(s) => Some(s.clone()),
            None => std::fs::read_to_string(&seen).ok().map(|s| s.trim().to_string()),
        };
        match expected {
            Some(e) if e != actual => Err(UpstreamError::ChecksumMismatch {
                name: pin.name.clone(),
                version: pin.version.clone(),
                location: location.to_string(),
                expected: e,
                actual: actual.to_string(),
            }
            .into()),
            Some(_) => Ok(()),
            None => {
                // Trust on first use: remember what we saw.
                std::fs::create_dir_all(seen.parent().unwrap())?;
                std::fs::write(&seen, format!("{actual}\n"))?;
                Ok(())
            }
        }
    }

    async fn download(&self, pin: &Pin, url: &str, cached: &Path) -> Result<Resolved> {
        let missing = |reason: String| UpstreamError::Missing {
            name: pin.name.clone(),
            version: pin.version.clone(),
            location: url.to_string(),
            reason,
        };
        let resp = reqwest::get(url).await.map_err(|e| missing(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(missing(format!("HTTP {}", resp.status())).into());
        }
        let bytes = resp.bytes().await.map_err(|e| missing(e.to_string()))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        self.check(pin, url, &sha, cached)?;
        let dir = cached.parent().unwrap();
        std::fs::create_dir_all(dir)?;
        // Write then rename: an interrupted download never leaves a partial file.
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::fs::write(tmp.path(), &bytes)?;
        tmp.persist(cached)
            .with_context(|| format!("storing {}", cached.display()))?;
        Ok(Resolved {
            pin: pin.clone(),
            path: cached.to_path_buf(),
            sha256: sha,
            origin: format!("download {url}"),
        })
    }

    /// `kindops fetch --into DIR`: resolves every pin and copies it to
    /// `DIR/<name>/<file>`, a layout `--mirror DIR` reads. Returns the resolved pins.
    pub async fn fill_mirror(&self, pins: &[Pin], into: &Path) -> Result<Vec<Resolved>> {
        let resolved = self.resolve_all(pins).await?;
        for r in &resolved {
            let target = into.join(&r.pin.name).join(&r.pin.file);
            std::fs::create_dir_all(target.parent().unwrap())?;
            if r.path != target {
                std::fs::copy(&r.path, &target).with_context(|| format!("writing {}", target.display()))?;
            }
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_and_are_unique() {
        let p = pins();
        assert!(p.len() >= 8);
        let mut files: Vec<_> = p.iter().map(|p| format!("{}/{}", p.name, p.file)).collect();
        files.sort();
        files.dedup();
        assert_eq!(files.len(), p.len());
        for pin in &p {
            if let Some(s) = &pin.sha256 {
                assert_eq!(s.len(), 64, "{}", pin.name);
            }
        }
    }

    #[tokio::test]
    async fn mirror_dir_checks_checksum_and_names_both_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let pin = Pin {
            name: "demo".into(),
            version: "v1".into(),
            file: "install.yaml".into(),
            url: "https://example.invalid/install.yaml".into(),
            sha256: Some("0".repeat(64)),
            unpack: None,
        };
        std::fs::create_dir_all(dir.path().join("demo")).unwrap();
        std::fs::write(dir.path().join("demo/install.yaml"), b"kind: List\n").unwrap();
        let up = Upstream {
            mirror: Some(Mirror::Dir(dir.path().into())),
            cache_dir: cache.path().into(),
        };
        let err = up.resolve(&pin).await.unwrap_err().to_string();
        let actual = sha256_file(&dir.path().join("demo/install.yaml")).unwrap();
        assert!(
            err.contains(&"0".repeat(64)) && err.contains(&actual) && err.contains("install.yaml"),
            "{err}"
        );
        // Correct pin resolves.
        let ok = Pin {
            sha256: Some(actual.clone()),
            ..pin.clone()
        };
        assert_eq!(up.resolve(&ok).await.unwrap().sha256, actual);
        // Missing file names the path.
        let missing = Pin {
            file: "nope.yaml".into(),
            ..ok
        };
        let err = up.resolve(&missing).await.unwrap_err().to_string();
        assert!(err.contains("nope.yaml") && err.contains("kindops fetch"), "{err}");
    }

    #[tokio::test]
    async fn unpinned_artifacts_are_trusted_on_first_use_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let pin = Pin {
            name: "demo".into(),
            version: "v1".into(),
            file: "a.yaml".into(),
            url: "https://example.invalid/a.yaml".into(),
            sha256: None,
            unpack: None,
        };
        std::fs::create_dir_all(dir.path().join("demo")).unwrap();
        std::fs::write(dir.path().join("demo/a.yaml"), b"one\n").unwrap();
        let up = Upstream {
            mirror: Some(Mirror::Dir(dir.path().into())),
            cache_dir: cache.path().into(),
        };
        up.resolve(&pin).await.unwrap();
        std::fs::write(dir.path().join("demo/a.yaml"), b"two\n").unwrap();
        let err = up.resolve(&pin).await.unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
    }

    #[tokio::test]
    async fn shared_upstream_mirror_resolves_every_pin() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream");
        if !shared.is_dir() {
            panic!("../shared/upstream is missing beside the repo: {}", shared.display());
        }
        let cache = tempfile::tempdir().unwrap();
        let up = Upstream {
            mirror: Some(Mirror::Dir(shared)),
            cache_dir: cache.path().into(),
        };
        let all = up.resolve_all(&pins()).await.unwrap();
        assert_eq!(all.len(), pins().len());
    }
}
