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

static PINS: &str = include_str!("../../manifests/upstream.yaml");

/// One pinned upstream artifact (an entry of `manifests/upstream.yaml` with
/// `file:` and `url:`).
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
    /// For packaged Helm charts (`helm package` layout: `NAME/Chart.yaml`,
    /// dependencies vendored under `NAME/charts/`): the path in the GitOps repo
    /// to unpack into.
    #[serde(default)]
    pub unpack: Option<String>,
}

/// One pinned container image that kindops runs itself, outside any manifest
/// (an entry of `manifests/upstream.yaml` with `image:` instead of `file:`):
/// the local registry of phase 0. Nothing is downloaded for it; `kindops
/// images` lists it and `--mirror` loads its archive into the Docker engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImagePin {
    pub name: String,
    pub version: String,
    /// The full reference, e.g. `docker.io/library/registry:3.1.2`.
    pub image: String,
    /// Where the release is published (for people; never fetched).
    pub url: String,
}

/// An entry as written: every field either kind of entry may have, checked
/// by [`Entry`]'s `TryFrom`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFields {
    name: String,
    version: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    unpack: Option<String>,
    #[serde(default)]
    image: Option<String>,
}

/// One entry of a pins file: an artifact or an image.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(try_from = "EntryFields")]
enum Entry {
    Artifact(Pin),
    Image(ImagePin),
}

impl TryFrom<EntryFields> for Entry {
    type Error = String;
    fn try_from(f: EntryFields) -> Result<Self, String> {
        let url = f.url.ok_or_else(|| format!("{}: missing field `url`", f.name))?;
        match f.image {
            Some(image) => {
                if let Some(k) = [
                    ("file", f.file.is_some()),
                    ("sha256", f.sha256.is_some()),
                    ("unpack", f.unpack.is_some()),
                ]
                .iter()
                .find_map(|(k, set)| set.then_some(*k))
                {
                    return Err(format!("{}: an image entry (`image:`) has no `{k}`", f.name));
                }
                Ok(Entry::Image(ImagePin {
                    name: f.name,
                    version: f.version,
                    image,
                    url,
                }))
            }
            None => Ok(Entry::Artifact(Pin {
                file: f
                    .file
                    .ok_or_else(|| format!("{}: missing field `file` (or `image:` for an image)", f.name))?,
                name: f.name,
                version: f.version,
                url,
                sha256: f.sha256,
                unpack: f.unpack,
            })),
        }
    }
}

/// Pins read from `--pins FILE` (or `$KINDOPS_PINS`), set once at start-up by
/// [`use_pins_file`]; `None` means the built-in `manifests/upstream.yaml`.
static PINS_OVERRIDE: std::sync::OnceLock<(Vec<Pin>, Vec<ImagePin>)> = std::sync::OnceLock::new();

fn builtin() -> (Vec<Pin>, Vec<ImagePin>) {
    split(serde_yaml::from_str(PINS).expect("manifests/upstream.yaml is checked by a unit test"))
}

fn split(entries: Vec<Entry>) -> (Vec<Pin>, Vec<ImagePin>) {
    let (mut pins, mut images) = (Vec::new(), Vec::new());
    for e in entries {
        match e {
            Entry::Artifact(p) => pins.push(p),
            Entry::Image(i) => images.push(i),
        }
    }
    (pins, images)
}

/// The pins in force: the file given to [`use_pins_file`], else the ones kindops ships.
pub fn pins() -> Vec<Pin> {
    match PINS_OVERRIDE.get() {
        Some(p) => p.0.clone(),
        None => builtin().0,
    }
}

/// The image pins in force (see [`ImagePin`]): the `--pins` file's, plus
/// the built-in ones it does not name (a pins file written for artifacts
/// only keeps kindops's own images).
pub fn image_pins() -> Vec<ImagePin> {
    let mut pins = PINS_OVERRIDE.get().map(|p| p.1.clone()).unwrap_or_default();
    for b in builtin().1 {
        if !pins.iter().any(|p| p.name == b.name) {
            pins.push(b);
        }
    }
    pins
}

/// The image pinned under `name` (`registry`; see [`image_pins`]).
pub fn image_pin(name: &str) -> ImagePin {
    image_pins()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("manifests/upstream.yaml pins the image {name} (checked by a unit test)"))
}

/// Parses a pins file (the shape of `manifests/upstream.yaml`).
///
/// Errors: unreadable file; what [`parse_pins_str`] refuses.
pub fn parse_pins(path: &Path) -> Result<Vec<Pin>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the pins file {}", path.display()))?;
    parse_pins_str(&path.display().to_string(), &text)
}

/// Parses the text of a pins file named `file` (for messages).
///
/// Errors: a YAML or shape error as one line, `FILE:LINE:COLUMN: message`
/// (see [`crate::yaml_error`] for what that line guarantees).
pub fn parse_pins_str(file: &str, text: &str) -> Result<Vec<Pin>> {
    Ok(parse_entries(file, text)?.0)
}

fn parse_entries(file: &str, text: &str) -> Result<(Vec<Pin>, Vec<ImagePin>)> {
    serde_yaml::from_str(text).map(split).map_err(|e| {
        let d = crate::yaml_error::describe(&e, text);
        let at = match (d.line, d.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        anyhow::anyhow!(
            "{file}{at}: {}. A pins file is a list of {{name, version, file, url, sha256}} as in kindops's manifests/upstream.yaml",
            d.message
        )
    })
}

/// `--pins FILE`: use the pins in `path` instead of the built-in ones for the
/// rest of this process (e.g. a newer release, or a workshop's own artifacts).
/// Call once, before anything resolves pins.
pub fn use_pins_file(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the pins file {}", path.display()))?;
    let entries = parse_entries(&path.display().to_string(), &text)?;
    let _ = PINS_OVERRIDE.set(entries);
    Ok(())
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

    /// Why `s` is not a mirror: neither an http(s) base nor a directory
    /// that exists.
    pub fn problem(s: &str) -> Option<&'static str> {
        let url = s.starts_with("http://") || s.starts_with("https://");
        (!url && !Path::new(s).is_dir()).then_some(
            "no such directory (a mirror is a directory or an http(s) base; `kindops fetch --into DIR` makes one)",
        )
    }

    /// [`Mirror::parse`] of a mirror that must be there: an http(s) base,
    /// or a directory that exists (clap's value parser of every `--mirror`,
    /// and `kindops.yaml`'s `mirror`).
    ///
    /// Errors: a directory that does not exist, saying what a mirror is.
    pub fn parse_existing(s: &str) -> Result<Mirror, String> {
        match Mirror::problem(s) {
            Some(problem) => Err(problem.to_string()),
            None => Ok(Mirror::parse(s)),
        }
    }
}

/// As it was given: the directory's path or the http(s) base.
impl std::fmt::Display for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mirror::Dir(d) => write!(f, "{}", d.display()),
            Mirror::Http(u) => f.write_str(u),
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

/// A progress line every this many bytes of a download.
const PROGRESS_EVERY: u64 = 1 << 20;

/// Download deadlines: a stalled server must not hang phase 0 (or CI) forever.
/// Connect: 30 s; each read: 60 s without a byte, or `$KINDOPS_DOWNLOAD_TIMEOUT`
/// (a humantime duration such as `10s` or `5m`) for slow links.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn read_timeout() -> std::time::Duration {
    std::env::var("KINDOPS_DOWNLOAD_TIMEOUT")
        .ok()
        .and_then(|v| humantime::parse_duration(&v).ok())
        .unwrap_or(READ_TIMEOUT)
}

/// The HTTP client for downloads: rustls with both the platform's root
/// certificates (`rustls-tls-native-roots`: a TLS-inspecting proxy's CA that
/// the OS trusts works) and the bundled Mozilla roots (`rustls-tls`), and the
/// deadlines above. Proxies come from the usual `HTTPS_PROXY`/`NO_PROXY`.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(read_timeout()))
        .read_timeout(read_timeout())
        .user_agent(concat!("kindops/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("reqwest client with rustls")
}

/// An error with its sources (reqwest's own Display hides the cause: timeout, TLS, DNS).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// `<file>.sha256` beside a mirrored artifact: the hash `kindops fetch` saw
/// (`sha256sum` format: `HEX  FILE`).
fn recorded_hash_path(artifact: &Path) -> PathBuf {
    let mut name = artifact.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    artifact.with_file_name(name)
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
        self.resolve_all_reporting(pins, &|_| {}).await
    }

    /// [`Self::resolve_all`], telling `progress` how large downloads advance
    /// (a line per MiB, e.g. `downloading argo-cd install-v3.5.1.yaml: 1024 of 1872 KiB`).
    pub async fn resolve_all_reporting(
        &self,
        pins: &[Pin],
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Vec<Resolved>> {
        let mut out = Vec::with_capacity(pins.len());
        for pin in pins {
            out.push(self.resolve_reporting(pin, progress).await?);
        }
        Ok(out)
    }

    /// Resolves one pin (see the module docs for the order).
    pub async fn resolve(&self, pin: &Pin) -> Result<Resolved> {
        self.resolve_reporting(pin, &|_| {}).await
    }

    async fn resolve_reporting(&self, pin: &Pin, progress: &(dyn Fn(String) + Sync)) -> Result<Resolved> {
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
                // A pin with no published hash: the mirror's own record (written
                // by `kindops fetch`) must match the bytes it serves.
                if pin.sha256.is_none() {
                    if let Ok(recorded) = std::fs::read_to_string(recorded_hash_path(&path)) {
                        let recorded = recorded.split_whitespace().next().unwrap_or_default().to_string();
                        if recorded != sha {
                            return Err(UpstreamError::ChecksumMismatch {
                                name: pin.name.clone(),
                                version: pin.version.clone(),
                                location: format!(
                                    "{} (hash recorded by `kindops fetch` in {})",
                                    path.display(),
                                    recorded_hash_path(&path).display()
                                ),
                                expected: recorded,
                                actual: sha,
                            }
                            .into());
                        }
                    }
                }
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
                self.download(pin, &url, &cached, progress).await
            }
            None => {
                if cached.is_file() {
                    let sha = sha256_file(&cached)?;
                    if let Err(e) = self.check(pin, &cached.display().to_string(), &sha, &cached) {
                        // The cache is kindops's own: a damaged copy (truncated,
                        // altered) is removed, so the next run downloads it again
                        // instead of failing the same way for ever.
                        return Err(match std::fs::remove_file(&cached) {
                            Ok(()) => e.context(format!(
                                "removed the damaged copy {} from the cache; run again to download it",
                                cached.display()
                            )),
                            Err(_) => e,
                        });
                    }
                    return Ok(Resolved {
                        pin: pin.clone(),
                        path: cached,
                        sha256: sha,
                        origin: "cache".into(),
                    });
                }
                self.download(pin, &pin.url.clone(), &cached, progress).await
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

    async fn download(
        &self,
        pin: &Pin,
        url: &str,
        cached: &Path,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Resolved> {
        use std::io::Write;
        let missing = |reason: String| UpstreamError::Missing {
            name: pin.name.clone(),
            version: pin.version.clone(),
            location: url.to_string(),
            reason,
        };
        let mut resp = http_client().get(url).send().await.map_err(|e| {
            let stalled = if e.is_timeout() {
                format!(
                    " (no answer within {}s: a stalled server or proxy; KINDOPS_DOWNLOAD_TIMEOUT sets the limit)",
                    read_timeout().as_secs()
                )
            } else {
                String::new()
            };
            missing(format!("{}{stalled}", error_chain(&e)))
        })?;
        if !resp.status().is_success() {
            return Err(missing(format!("HTTP {}", resp.status())).into());
        }
        let dir = cached.parent().unwrap();
        std::fs::create_dir_all(dir)?;
        // Write then rename: an interrupted download never leaves a partial file.
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        let total = resp.content_length();
        let (mut got, mut hasher, mut last_report) = (0u64, Sha256::new(), 0u64);
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| missing(format!("{} after {got} bytes", error_chain(&e))))?
        {
            hasher.update(&chunk);
            // On failure (a full disk) the temporary file is removed on drop:
            // nothing partial stays in the cache.
            tmp.write_all(&chunk).with_context(|| {
                format!(
                    "writing {} {} into the cache {} after {got} bytes (nothing partial was kept; free space there, or pass --mirror DIR)",
                    pin.name,
                    pin.file,
                    dir.display()
                )
            })?;
            got += chunk.len() as u64;
            if got - last_report >= PROGRESS_EVERY {
                last_report = got;
                progress(match total {
                    Some(t) => format!(
                        "downloading {} {}: {} of {} KiB",
                        pin.name,
                        pin.file,
                        got >> 10,
                        t >> 10
                    ),
                    None => format!("downloading {} {}: {} KiB", pin.name, pin.file, got >> 10),
                });
            }
        }
        let sha = hex::encode(hasher.finalize());
        self.check(pin, url, &sha, cached)?;
        tmp.as_file()
            .sync_all()
            .with_context(|| format!("writing {} {} into the cache {}", pin.name, pin.file, dir.display()))?;
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
    /// `DIR/<name>/<file>`, a layout `--mirror DIR` reads, with the sha256 it
    /// saw beside it (`<file>.sha256`, checked by `--mirror DIR` for pins that
    /// have no published hash). Returns the resolved pins.
    pub async fn fill_mirror(&self, pins: &[Pin], into: &Path) -> Result<Vec<Resolved>> {
        let resolved = self.resolve_all(pins).await?;
        for r in &resolved {
            let target = into.join(&r.pin.name).join(&r.pin.file);
            std::fs::create_dir_all(target.parent().unwrap())?;
            if r.path != target {
                std::fs::copy(&r.path, &target).with_context(|| format!("writing {}", target.display()))?;
            }
            let record = recorded_hash_path(&target);
            std::fs::write(&record, format!("{}  {}\n", r.sha256, r.pin.file))
                .with_context(|| format!("writing {}", record.display()))?;
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests;
