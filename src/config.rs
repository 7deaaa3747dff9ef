//! `kindops.yaml`: the settings a presenter would otherwise retype as flags.
//!
//! Where it is read from (the first that exists): `--config FILE` (or
//! `KINDOPS_CONFIG`; then it must exist), `./kindops.yaml`, then
//! `$XDG_CONFIG_HOME/kindops/kindops.yaml` (`~/.config/kindops/kindops.yaml`
//! when `XDG_CONFIG_HOME` is unset, as the XDG Base Directory specification
//! says). One flat mapping; each key is a flag of `kindops up` written in
//! camelCase ([`KEYS`]; the JSON Schema `manifests/config/kindops.schema.json`
//! lists the same keys, which editors use to check the file). Relative paths
//! are read from the file's folder.
//!
//! Precedence, lowest first: kindops's default, the file, the environment
//! (`KINDOPS_CLUSTER`, ... on the flags that have one), the flag. A key the
//! file sets is applied only where clap says the value came from its default
//! ([`clap::parser::ValueSource`]).
//!
//! Errors (exit 2, one line, `FILE:LINE:COLUMN: message`, as for phase and
//! pins files, [`crate::yaml_error`]): YAML that does not parse, a value of
//! the wrong type or out of range, an unknown key (with the closest known
//! one).

use crate::cli::{ClusterArgs, Command, Effective, Origin, SourceArgs, UpArgs};
use crate::gitsource::OnConflict;
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// The file's name in a folder.
pub const FILE_NAME: &str = "kindops.yaml";

/// The JSON Schema of the file (draft 2020-12), as published in the repo.
pub const SCHEMA: &str = include_str!("../manifests/config/kindops.schema.json");

/// Every key the file may hold, with the flag it stands for and the flag's
/// environment variable (if it has one).
pub const KEYS: &[(&str, &str, Option<&str>)] = &[
    ("cluster", "--cluster", Some("KINDOPS_CLUSTER")),
    ("context", "--context", Some("KINDOPS_CONTEXT")),
    ("nodeImage", "--node-image", Some("KINDOPS_NODE_IMAGE")),
    ("uiPort", "--ui-port", Some("KINDOPS_UI_PORT")),
    ("workers", "--workers", Some("KINDOPS_WORKERS")),
    ("addons", "--addons", Some("KINDOPS_ADDONS")),
    ("products", "--product", None),
    ("upstreamMirrors", "--upstream-mirror", None),
    ("offline", "--offline", Some("KINDOPS_OFFLINE")),
    ("registry", "--no-registry", None),
    ("registryPort", "--registry-port", Some("KINDOPS_REGISTRY_PORT")),
    ("mirror", "--mirror", Some("KINDOPS_MIRROR")),
    ("phases", "--phases", None),
    ("repoUrl", "--repo-url", None),
    ("timeout", "--timeout", Some("KINDOPS_TIMEOUT")),
    ("keepContext", "--keep-context", None),
    ("onConflict", "--on-conflict", None),
];

/// What a `kindops.yaml` holds; every key optional.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The kind cluster's name (`--cluster`/`--name`).
    pub cluster: Option<String>,
    /// An existing cluster's kubeconfig context instead of kind (`--context`).
    pub context: Option<String>,
    /// The kind node image (`--node-image`).
    pub node_image: Option<String>,
    /// Host port of the Argo CD UI (`--ui-port`).
    pub ui_port: Option<u16>,
    /// Worker nodes beside the control plane, 0-9 (`--workers`).
    pub workers: Option<u8>,
    /// The add-ons phase 3 installs (`--addons`).
    pub addons: Option<Vec<String>>,
    /// Product folders of the user's (`--product`), read from the file's folder when relative.
    pub products: Option<Vec<PathBuf>>,
    /// Registry → the URL its pull-through cache proxies (`--upstream-mirror`).
    pub upstream_mirrors: Option<std::collections::BTreeMap<String, String>>,
    /// `true`: the caches serve only what they hold (`--offline`).
    pub offline: Option<bool>,
    /// `false`: no local registry (`--no-registry`).
    pub registry: Option<bool>,
    /// Host port of the local registry, 1-65535 (`--registry-port`).
    pub registry_port: Option<u16>,
    /// A mirror folder or http(s) base (`--mirror`).
    pub mirror: Option<String>,
    /// A folder of phase files (`--phases`).
    pub phases: Option<PathBuf>,
    /// The git URL Argo CD pulls from (`--repo-url`).
    pub repo_url: Option<String>,
    /// Deadline of every wait, e.g. `90s`, `10m` (`--timeout`).
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<std::time::Duration>,
    /// Keep the kubeconfig's current context (`--keep-context`).
    pub keep_context: Option<bool>,
    /// `keep-mine` or `take-kindops` (`--on-conflict`).
    pub on_conflict: Option<OnConflict>,
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<std::time::Duration>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => humantime::parse_duration(&s)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("timeout {s:?}: {e} (write e.g. 90s, 5m, 1h)"))),
    }
}

/// A file that was read: where, its text (for line numbers) and what it says.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub text: String,
    pub settings: Settings,
}

impl Loaded {
    /// `FILE:LINE` of top-level key `key`, or `FILE` when it is not found
    /// as a plain `key:` line.
    pub fn place_of(&self, key: &str) -> String {
        let line = crate::yaml_error::yaml_lines(&self.text).iter().position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        });
        match line {
            Some(i) => format!("{}:{}", self.path.display(), i + 1),
            None => self.path.display().to_string(),
        }
    }
}

/// Which file to read: `explicit` (from `--config`/`KINDOPS_CONFIG`, which
/// must exist), else `./kindops.yaml`, else the user's config folder's.
/// `None` when there is none.
pub fn find(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let here = PathBuf::from(FILE_NAME);
    if here.is_file() {
        return Some(here);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let user = base.join("kindops").join(FILE_NAME);
    user.is_file().then_some(user)
}

/// Reads and checks the file at `path`.
///
/// Errors: the file cannot be read; `FILE:LINE:COLUMN: message` for YAML
/// that does not parse, a bad value or an unknown key (naming the closest
/// known key).
pub fn load(path: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading the config file {}: {e}", path.display()))?;
    let file = path.display().to_string();
    let settings = if text.trim().is_empty() {
        Settings::default()
    } else {
        parse(&file, &text)?
    };
    let mut settings = settings;
    // Relative paths are read from the file's folder.
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Some(p) = settings.phases.as_mut().filter(|p| p.is_relative()) {
        *p = dir.join(&*p);
    }
    for p in settings.products.iter_mut().flatten().filter(|p| p.is_relative()) {
        *p = dir.join(&*p);
    }
    if let Some(m) = settings
        .mirror
        .as_mut()
        .filter(|m| !m.starts_with("http://") && !m.starts_with("https://") && Path::new(m.as_str()).is_relative())
    {
        *m = dir.join(&*m).display().to_string();
    }
    let loaded = Loaded {
        path: path.to_path_buf(),
        text,
        settings,
    };
    check(&loaded)?;
    Ok(loaded)
}

/// The checks the flags get (clap's value parsers and ranges), named at
/// the key's line: serde's own errors carry a line and column, but an
/// error raised for a value that parsed (a port 0) would be placed at the
/// top of the file.
fn check(loaded: &Loaded) -> Result<(), String> {
    let s = &loaded.settings;
    let problems = [
        (
            "cluster",
            s.cluster
                .as_deref()
                .and_then(crate::cli::cluster_name_problem)
                .map(String::from),
        ),
        (
            "mirror",
            s.mirror
                .as_deref()
                .and_then(crate::upstream::Mirror::problem)
                .map(String::from),
        ),
        (
            "nodeImage",
            s.node_image.as_deref().and_then(crate::cli::node_image_problem),
        ),
        (
            "registryPort",
            (s.registry_port == Some(0)).then(|| "port 0: give a port from 1 to 65535".to_string()),
        ),
        (
            "addons",
            s.addons.as_ref().and_then(|names| {
                names
                    .iter()
                    .find(|n| !crate::plan::addons::NAMES.contains(&n.as_str()))
                    .map(|n| {
                        let close = crate::plan::addons::NAMES
                            .iter()
                            .find(|k| strsim::jaro_winkler(n, k) > 0.8)
                            .map(|k| format!(" (did you mean `{k}`?)"))
                            .unwrap_or_default();
                        format!(
                            "`{n}` is not an add-on{close}; the add-ons are {}",
                            crate::plan::addons::NAMES.join(", ")
                        )
                    })
            }),
        ),
        (
            "products",
            s.products
                .iter()
                .flatten()
                .find_map(|d| crate::products::Product::parse(&d.display().to_string()).err()),
        ),
        (
            "upstreamMirrors",
            s.upstream_mirrors
                .iter()
                .flatten()
                .find_map(|(host, url)| crate::registry::caches::parse_mirror(&format!("{host}={url}")).err()),
        ),
        (
            "workers",
            s.workers
                .filter(|n| *n > 9)
                .map(|n| format!("{n} workers: give 0 to 9 (each is a node container of ~1 GiB)")),
        ),
    ];
    if let Some((key, problem)) = problems.into_iter().find_map(|(k, p)| p.map(|p| (k, p))) {
        return Err(format!("{}: {key}: {problem}", loaded.place_of(key)));
    }
    if let Some(p) = s.phases.as_ref().filter(|p| !p.is_dir()) {
        return Err(format!(
            "{}: phases: {}: no such directory (a folder of phase-N.yaml files)",
            loaded.place_of("phases"),
            p.display()
        ));
    }
    Ok(())
}

fn parse(file: &str, text: &str) -> Result<Settings, String> {
    serde_yaml::from_str(text).map_err(|e| {
        let d = crate::yaml_error::describe(&e, text);
        let at = match (d.line, d.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        let message = match unknown_key(&d.message) {
            Some(key) => format!(
                "unknown key `{key}`{}",
                closest(&key)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default()
            ),
            None => d.message,
        };
        format!(
            "{file}{at}: {message}. A kindops.yaml is one mapping of these keys: {} (`kindops config --schema` prints its JSON Schema)",
            KEYS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The key of serde's "unknown field `KEY`, expected one of ..." message.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The known key closest to `key` (Jaro-Winkler similarity, case ignored),
/// when close enough to be a likely typo.
fn closest(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (k.0, strsim::jaro_winkler(&key.to_lowercase(), &k.0.to_lowercase())))
        .filter(|(_, score)| *score > 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// The clap argument id (the field's name) of a key.
fn arg_id(key: &str) -> &'static str {
    match key {
        "cluster" => "cluster",
        "context" => "context",
        "nodeImage" => "node_image",
        "uiPort" => "ui_port",
        "workers" => "workers",
        "addons" => "addons",
        "products" => "products",
        "upstreamMirrors" => "upstream_mirrors",
        "offline" => "offline",
        "registry" => "no_registry",
        "registryPort" => "registry_port",
        "mirror" => "mirror",
        "phases" => "phases",
        "repoUrl" => "repo_url",
        "timeout" => "timeout",
        "keepContext" => "keep_context",
        "onConflict" => "on_conflict",
        _ => unreachable!("a key of KEYS"),
    }
}

/// Whether the value of argument `id` in `m` was given (flag or
/// environment), so the file must not replace it.
fn given(m: &ArgMatches, id: &str) -> bool {
    m.try_get_raw(id).is_ok()
        && matches!(
            m.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
}

fn set<T: Clone>(m: &ArgMatches, id: &str, from_file: &Option<T>, slot: &mut T) {
    if let (false, Some(v)) = (given(m, id), from_file) {
        *slot = v.clone();
    }
}

fn set_opt<T: Clone>(m: &ArgMatches, id: &str, from_file: &Option<T>, slot: &mut Option<T>) {
    if let (false, Some(v)) = (given(m, id), from_file) {
        *slot = Some(v.clone());
    }
}

fn cluster(m: &ArgMatches, s: &Settings, c: &mut ClusterArgs) {
    set(m, "cluster", &s.cluster, &mut c.cluster);
    // --context chooses an existing cluster instead of kind: only when the
    // command line does not name a kind cluster either.
    if !given(m, "cluster") {
        set_opt(m, "context", &s.context, &mut c.context);
    }
}

fn source(m: &ArgMatches, s: &Settings, a: &mut SourceArgs) {
    set_opt(
        m,
        "mirror",
        &s.mirror.as_deref().map(crate::upstream::Mirror::parse),
        &mut a.mirror,
    );
    set_opt(m, "phases", &s.phases, &mut a.phases);
}

fn up(m: &ArgMatches, s: &Settings, a: &mut UpArgs) {
    cluster(m, s, &mut a.cluster);
    source(m, s, &mut a.source);
    set_opt(m, "node_image", &s.node_image, &mut a.node_image);
    set(m, "ui_port", &s.ui_port, &mut a.ui_port);
    set(m, "workers", &s.workers, &mut a.workers);
    set(m, "addons", &s.addons, &mut a.addons);
    if let (false, Some(mirrors)) = (given(m, "upstream_mirrors"), &s.upstream_mirrors) {
        // Checked by `load`.
        a.upstream_mirrors = mirrors
            .iter()
            .filter_map(|(host, url)| crate::registry::caches::parse_mirror(&format!("{host}={url}")).ok())
            .collect();
    }
    if let (false, Some(dirs)) = (given(m, "products"), &s.products) {
        // Checked by `load`.
        a.products = dirs
            .iter()
            .filter_map(|d| crate::products::Product::parse(&d.display().to_string()).ok())
            .collect();
    }
    set(m, "registry_port", &s.registry_port, &mut a.registry_port);
    if !given(m, "no_registry") && !given(m, "registry_port") {
        if let Some(on) = s.registry {
            a.no_registry = !on;
        }
    }
    set_opt(m, "repo_url", &s.repo_url, &mut a.repo_url);
    set_opt(m, "timeout", &s.timeout, &mut a.timeout);
    set(m, "keep_context", &s.keep_context, &mut a.keep_context);
    set(m, "offline", &s.offline, &mut a.offline);
    set_opt(m, "on_conflict", &s.on_conflict, &mut a.on_conflict);
}

/// Applies the file's settings to `command` wherever the value came from a
/// default; `sub` is the subcommand's matches.
pub fn apply(command: &mut Command, sub: &ArgMatches, s: &Settings) {
    match command {
        Command::Up(a) => up(sub, s, a),
        Command::Config(a) => up(sub, s, &mut a.up),
        Command::Plan(a) | Command::Images(a) => source(sub, s, &mut a.source),
        Command::Status { cluster: c, .. }
        | Command::Down { cluster: c, .. }
        | Command::Doctor { cluster: c }
        | Command::Uninstall { cluster: c, .. }
        | Command::Refresh { cluster: c, .. } => cluster(sub, s, c),
        Command::Open(a) => {
            cluster(sub, s, &mut a.cluster);
            set(sub, "ui_port", &s.ui_port, &mut a.ui_port);
        }
        Command::Learn(a) => {
            cluster(sub, s, &mut a.cluster);
            set_opt(sub, "repo_url", &s.repo_url, &mut a.repo_url);
        }
        Command::Fetch { .. } | Command::Completion { .. } | Command::Version { .. } => {}
    }
}

/// Whether `command` reads the config file (those that take a cluster, a
/// mirror or phases).
pub fn used_by(command: &Command) -> bool {
    !matches!(
        command,
        Command::Fetch { .. } | Command::Completion { .. } | Command::Version { .. }
    )
}

/// The effective settings of `kindops up` with the flags in `up` (after
/// [`apply`]), and where each came from.
pub fn effective(up: &UpArgs, sub: &ArgMatches, file: Option<&Loaded>) -> Vec<Effective> {
    let value = |key: &str| -> serde_json::Value {
        use serde_json::json;
        match key {
            "cluster" => json!(up.cluster.cluster),
            "context" => json!(up.cluster.context),
            "nodeImage" => json!(up.node_image),
            "uiPort" => json!(up.ui_port),
            "workers" => json!(up.workers),
            "addons" => json!(up.addons),
            "products" => json!(up
                .products
                .iter()
                .map(|p| p.dir.display().to_string())
                .collect::<Vec<_>>()),
            "upstreamMirrors" => json!(up
                .upstream_mirrors
                .iter()
                .cloned()
                .collect::<std::collections::BTreeMap<_, _>>()),
            "offline" => json!(up.offline),
            "registry" => json!(!up.no_registry),
            "registryPort" => json!(up.registry_port),
            "mirror" => json!(up.source.mirror.as_ref().map(ToString::to_string)),
            "phases" => json!(up.source.phases),
            "repoUrl" => json!(up.repo_url),
            "timeout" => json!(up.timeout.map(|t| humantime::format_duration(t).to_string())),
            "keepContext" => json!(up.keep_context),
            "onConflict" => json!(up.on_conflict.map(|c| match c {
                OnConflict::KeepMine => "keep-mine",
                OnConflict::TakeKindops => "take-kindops",
            })),
            _ => serde_json::Value::Null,
        }
    };
    let in_file = |key: &str| -> bool {
        let Some(f) = file else { return false };
        let s = &f.settings;
        match key {
            "cluster" => s.cluster.is_some(),
            "context" => s.context.is_some(),
            "nodeImage" => s.node_image.is_some(),
            "uiPort" => s.ui_port.is_some(),
            "workers" => s.workers.is_some(),
            "addons" => s.addons.is_some(),
            "products" => s.products.is_some(),
            "upstreamMirrors" => s.upstream_mirrors.is_some(),
            "offline" => s.offline.is_some(),
            "registry" => s.registry.is_some(),
            "registryPort" => s.registry_port.is_some(),
            "mirror" => s.mirror.is_some(),
            "phases" => s.phases.is_some(),
            "repoUrl" => s.repo_url.is_some(),
            "timeout" => s.timeout.is_some(),
            "keepContext" => s.keep_context.is_some(),
            "onConflict" => s.on_conflict.is_some(),
            _ => false,
        }
    };
    KEYS.iter()
        .map(|&(key, flag, env)| {
            let id = arg_id(key);
            let origin = match sub.value_source(id) {
                Some(ValueSource::CommandLine) => Origin::Flag(flag.to_string()),
                Some(ValueSource::EnvVariable) => Origin::Env(env.unwrap_or_default().to_string()),
                _ if in_file(key) => Origin::File(file.map(|f| f.place_of(key)).unwrap_or_default()),
                _ => Origin::Default,
            };
            Effective {
                key,
                value: value(key),
                origin,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
