//! The command line (clap).

use crate::report::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kindops",
    version,
    about = "Bootstrap a local GitOps environment in phases, and watch Argo CD live."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Read upstream pins (name, version, file, url, sha256) from this file
    /// instead of the built-in manifests/upstream.yaml.
    #[arg(long, global = true, value_name = "FILE", env = "KINDOPS_PINS")]
    pub pins: Option<PathBuf>,
    /// Use this kubeconfig file instead of $KUBECONFIG or ~/.kube/config,
    /// as kubectl's --kubeconfig: kindops, kubectl and kind all read it, and
    /// a kind cluster kindops creates writes its context there.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// More log lines on stderr (in the TUI: in its log file): -v info,
    /// -vv debug, -vvv trace. The default is warn (the TUI's file: info).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Errors only in the log; `refresh` prints nothing when it worked.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The log filter, e.g. `debug` or `kindops=trace,kube=info`
    /// (tracing's EnvFilter syntax, as `KINDOPS_LOG`; this flag wins over
    /// it and over -v/-q).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Read settings from this kindops.yaml instead of ./kindops.yaml or
    /// $XDG_CONFIG_HOME/kindops/kindops.yaml (flags and their environment
    /// variables win over it; `kindops config` shows what is in effect).
    #[arg(long, global = true, value_name = "FILE", env = "KINDOPS_CONFIG")]
    pub config: Option<PathBuf>,
}

impl Cli {
    /// The log filter the flags ask for (`--log-level`, else `-v`/`-q`),
    /// `None` to keep `KINDOPS_LOG` or the default.
    pub fn log_filter(&self) -> Option<String> {
        self.log_level.clone().or(match (self.verbose, self.quiet) {
            (0, true) => Some("error".into()),
            (0, false) => None,
            (1, _) => Some("info".into()),
            (2, _) => Some("debug".into()),
            _ => Some("trace".into()),
        })
    }
}

/// Which cluster: a kind cluster kindops manages, or an existing context.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Use the existing cluster of this kubeconfig context instead of a kind cluster.
    #[arg(long, value_name = "CTX", env = "KINDOPS_CONTEXT")]
    pub context: Option<String>,
    /// Name of the kind cluster (context `kind-NAME`); `--name` as kind and idpbuilder say.
    #[arg(
        long,
        visible_alias = "name",
        value_name = "NAME",
        default_value = "kindops",
        env = "KINDOPS_CLUSTER",
        value_parser = cluster_name_arg
    )]
    pub cluster: String,
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Read upstream manifests from this directory or http(s) base (`<mirror>/<name>/<file>`).
    #[arg(long, value_name = "PATH_OR_URL", env = "KINDOPS_MIRROR", value_parser = crate::upstream::Mirror::parse_existing)]
    pub mirror: Option<crate::upstream::Mirror>,
    /// Read phase files from this directory instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub phases: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run phases 0..=N (default all), converging: what is done is left as it is.
    Up(UpArgs),
    /// Show the phases, their steps, object counts and images, offline.
    Plan(ListArgs),
    /// Show recorded phase progress and every Argo CD Application's sync status and health.
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Output: text (a table), json or yaml (one document).
        #[arg(short = 'o', long, value_enum, default_value = "text")]
        output: Format,
        /// Open the live Applications view (full screen).
        #[arg(long, conflicts_with = "wait")]
        watch: bool,
        /// Wait until every Application is Synced and Healthy: exit 0 then,
        /// exit 1 at the deadline naming the first that is not (for CI).
        #[arg(long)]
        wait: bool,
        /// With --wait: the deadline (default 5m), e.g. `90s`, `10m`.
        #[arg(long, value_name = "D", requires = "wait", value_parser = humantime::parse_duration)]
        timeout: Option<std::time::Duration>,
        /// With --wait: only this Application (repeatable), e.g. `--app cart`.
        #[arg(long = "app", value_name = "NAME", requires = "wait")]
        apps: Vec<String>,
    },
    /// Print the Argo CD UI's URL, and open it where a desktop is present; with
    /// APPLICATION, what that product runs (its version, from its Service).
    Open(OpenArgs),
    /// Delete the kind cluster kindops created (never an existing --context cluster,
    /// nor a kind cluster kindops did not create, unless --force).
    Down {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Also remove the local registry's volume kindops-registry-data
        /// (every image pushed to localhost:PORT is lost).
        #[arg(long)]
        purge: bool,
        /// Delete the kind cluster even if kindops did not create it (its
        /// data folder has no kind-config.yaml of `kindops up`).
        #[arg(long)]
        force: bool,
    },
    /// Remove what kindops installed in a cluster (for a `--context` cluster;
    /// `kindops down` deletes a kind cluster whole): its Applications with
    /// Argo CD's cascade, then every object of field manager `kindops`, the
    /// namespaces it and its Applications created, and its CRDs. Nothing
    /// else: an Application kindops did not make stops it (unless --force).
    Uninstall {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Print what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask before deleting (needed when stdin is not a terminal).
        #[arg(short = 'y', long)]
        yes: bool,
        /// Also delete (with cascade) the Applications kindops did not make;
        /// without it they stop the uninstall, since deleting Argo CD's CRDs
        /// would delete them without their cascade.
        #[arg(long)]
        force: bool,
        /// How long each wait may take (Argo CD's cascade, namespaces, CRDs),
        /// e.g. `90s`, `10m`.
        #[arg(long, value_name = "D", default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Run the preflight checks only.
    Doctor {
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Download every pinned upstream artifact into DIR, a mirror for `--mirror DIR`.
    Fetch {
        #[arg(long, value_name = "DIR")]
        into: PathBuf,
        /// Read from another mirror instead of the upstream URLs.
        #[arg(long, value_name = "PATH_OR_URL", value_parser = crate::upstream::Mirror::parse_existing)]
        mirror: Option<crate::upstream::Mirror>,
        /// Also save every preloadable image the phases run into DIR/images/
        /// (one `docker save` archive each, from the Docker engine's image
        /// store, pulled first where missing), for `kindops up --mirror DIR`.
        #[arg(long)]
        images: bool,
        /// With --images: the images of phases 0..=N only.
        #[arg(long, value_name = "N", requires = "images")]
        phase: Option<u8>,
        /// With --images: only this image (repeatable; a reference as
        /// `kindops images` lists it), e.g. to save again one that changed.
        #[arg(long = "image", value_name = "REF", requires = "images")]
        only: Vec<String>,
    },
    /// List every container image phases 0..=N run, where each is used, and
    /// whether it can be preloaded (with --mirror DIR: whether DIR has it).
    Images(ListArgs),
    /// Ask Argo CD to look at git now (every Application and ApplicationSet),
    /// as a git host's push webhook would. The built-in git source runs it
    /// after every push.
    Refresh {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Print nothing when it worked: the global `-q/--quiet` (set from
        /// it by `main`, not a flag of its own).
        #[arg(skip)]
        quiet: bool,
        /// Read git's post-receive input (`<old> <new> <ref>` lines) on stdin
        /// and, for a push to main touching products/, also send the coffee
        /// EventListener a GitHub-style push event (the built-in git source's
        /// hook passes it; run inside that bare repository).
        #[arg(long)]
        post_receive: bool,
    },
    /// Print a shell completion script, generated from this command line's
    /// definition (`completions` works too).
    #[command(alias = "completions")]
    Completion {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print kindops's version, the commit it was built from and every
    /// pinned upstream version (Argo CD, Tekton, kind, ...).
    Version {
        /// Output: text, json or yaml.
        #[arg(short = 'o', long, value_enum, default_value = "text")]
        output: Format,
    },
    /// Hands-on lessons after phase 4: list them, or run one (by number or
    /// name), checked live against the cluster.
    Learn(LearnArgs),
    /// Print the settings `kindops up` would use with these flags, and where
    /// each came from: flag, environment, kindops.yaml:LINE or default.
    Config(ConfigArgs),
}

/// `kindops config`: the flags of `kindops up`, and `--schema`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub up: UpArgs,
    /// Print the JSON Schema of kindops.yaml instead (for editors: save it
    /// and point `# yaml-language-server: $schema=FILE` at it).
    #[arg(long)]
    pub schema: bool,
    /// The effective settings, computed by `main` from clap's value sources
    /// and the file (not a flag).
    #[arg(skip)]
    pub effective: Vec<Effective>,
    /// The config file that was read, if any (set by `main`).
    #[arg(skip)]
    pub file: Option<PathBuf>,
}

/// The shells `kindops completion` writes a script for (clap_complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    /// `source <(kindops completions bash)`, e.g. in ~/.bashrc.
    Bash,
    /// Save as `_kindops` in a directory of `$fpath`.
    Zsh,
    /// Save as ~/.config/fish/completions/kindops.fish.
    Fish,
    /// `kindops completion powershell | Out-String | Invoke-Expression`, e.g. in $PROFILE.
    Powershell,
}

#[derive(Debug, Clone, Args)]
pub struct OpenArgs {
    /// A product's Application (`cart`, `order`, or one you added under
    /// apps/coffee/): ask its Service what runs (its name, the git commit it
    /// was built from, whether its secret is there) instead of opening the
    /// Argo CD UI.
    #[arg(value_name = "APPLICATION")]
    pub app: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output of `open APPLICATION`: text, json or yaml (the Service's answer as it gave it).
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: Format,
    /// Host port of the Argo CD UI, as given to `kindops up --ui-port`: on
    /// kind, used when the node's port mapping cannot be read; with
    /// --context, the local port of the port-forward to run.
    #[arg(long, value_name = "PORT", default_value_t = 8080, env = "KINDOPS_UI_PORT")]
    pub ui_port: u16,
    /// Print the URL only; never start a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Also print the Argo CD admin user and password.
    #[arg(long)]
    pub show_secrets: bool,
}

/// `kindops learn [LESSON]`.
#[derive(Debug, Clone, Args)]
pub struct LearnArgs {
    /// The lesson to run, by number (1-5) or name; without it, the lessons are listed.
    #[arg(value_name = "LESSON")]
    pub lesson: Option<String>,
    /// Take back what the lesson changed (after an interrupted run).
    #[arg(long)]
    pub undo: bool,
    /// Presenter mode: wait for Enter before each step.
    #[arg(long)]
    pub step: bool,
    /// Plain lines instead of the full-screen view (the default when stdout is not a terminal).
    #[arg(long)]
    pub no_tui: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The git source `kindops up` published to (default: kindops's own, kind only).
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,
    /// Output: text, json (one object per line as things happen) or yaml
    /// (one `---` document per event).
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: Format,
    /// Deadline of each wait for an outcome (default 5m).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
}

/// What `plan` and `images` list: phases 0..=N, from which sources, how printed.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Phases 0..=N (default all).
    #[arg(long, value_name = "N")]
    pub phase: Option<u8>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output: text, json or yaml.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: Format,
}

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Run phases 0..=N (0 cluster, 1 Argo CD + Tekton, 2 self-managed Argo CD, 3 add-ons, 4 products).
    #[arg(long, value_name = "N")]
    pub phase: Option<u8>,
    /// Plain progress lines instead of the full-screen view (the default when stdout is not a terminal).
    #[arg(long)]
    pub no_tui: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Git URL Argo CD pulls from, and kindops publishes to (default: kindops's own git source, kind only).
    #[arg(long, value_name = "URL")]
    pub repo_url: Option<String>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output: text (progress lines), json (one object per line as things
    /// happen) or yaml (one `---` document per event).
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: Format,
    /// Also write a JUnit XML report to FILE (one testsuite per phase, one
    /// testcase per step), with any --output; written even when the run fails
    /// or is interrupted.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Deadline for every wait (e.g. 90s, 5m), instead of each step's own.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration, env = "KINDOPS_TIMEOUT")]
    pub timeout: Option<std::time::Duration>,
    /// Presenter mode: pause before each phase until a key is pressed (TUI).
    #[arg(long)]
    pub step: bool,
    /// Print secrets a phase offers (the Argo CD admin password) on the terminal.
    #[arg(long)]
    pub show_secrets: bool,
    /// The kind node image (default: the one kind v0.32 pins for Kubernetes
    /// v1.36, by digest; see manifests/kind/versions.yaml). For a local or
    /// mirrored image on restricted networks.
    #[arg(long, value_name = "REF", env = "KINDOPS_NODE_IMAGE", value_parser = node_image_arg)]
    pub node_image: Option<String>,
    /// Host port of the Argo CD UI on kind.
    #[arg(long, value_name = "PORT", default_value_t = 8080, env = "KINDOPS_UI_PORT")]
    pub ui_port: u16,
    /// Worker nodes beside the kind control-plane node, 0-9 (kind's
    /// `role: worker`). Used when kindops creates the cluster; an existing
    /// one keeps its nodes (`kindops down` first to change them).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=9), env = "KINDOPS_WORKERS", conflicts_with = "context")]
    pub workers: u8,
    /// When a file kindops's new content changes was changed on main too
    /// (by your commits): keep main's version, or take kindops's. Without
    /// it such a run stops, names the files and pushes nothing.
    #[arg(long, value_enum, value_name = "CHOICE")]
    pub on_conflict: Option<crate::gitsource::OnConflict>,
    /// Keep your kubeconfig's current context: `kind create cluster` makes
    /// kind-<name> the current one; with this, kindops sets the previous
    /// one back afterwards (use `kubectl --context kind-<name>` then).
    #[arg(long)]
    pub keep_context: bool,
    /// Host port of the local registry on kind (127.0.0.1): push to
    /// localhost:PORT/NAME:TAG, pods pull the same name.
    #[arg(long, value_name = "PORT", default_value_t = crate::registry::DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..), env = "KINDOPS_REGISTRY_PORT")]
    pub registry_port: u16,
    /// No local registry and no pull-through caches (bring your own; see
    /// README, "Local registry").
    #[arg(long, conflicts_with_all = ["registry_port", "upstream_mirrors"])]
    pub no_registry: bool,
    /// The registry a pull-through cache proxies instead of the public one
    /// (repeatable): REGISTRY=URL, e.g. docker.io=https://mirror.corp:5000
    /// (a corporate mirror). Used when kindops makes the cache container.
    #[arg(long = "upstream-mirror", value_name = "REGISTRY=URL", value_parser = crate::registry::caches::parse_mirror)]
    pub upstream_mirrors: Vec<(String, String)>,
    /// No network to the public registries (a workshop room): each
    /// pull-through cache serves what it holds and asks no upstream, so a
    /// cluster made after `kindops down` starts its pods at once instead of
    /// waiting, per image, for the upstream's lookups to time out. An image
    /// no cache holds cannot be pulled; `--mirror DIR` preloads archives.
    /// KINDOPS_OFFLINE takes 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "KINDOPS_OFFLINE", value_parser = clap::builder::BoolishValueParser::new(), conflicts_with = "no_registry")]
    pub offline: bool,
    /// The platform add-ons phase 3 installs, comma-separated (default all
    /// three). Phase 4 needs external-secrets and argo-rollouts; leaving
    /// one out does not remove it from a cluster that has it.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = crate::plan::addons::NAMES, default_values_t = crate::plan::addons::NAMES.map(String::from), env = "KINDOPS_ADDONS")]
    pub addons: Vec<String>,
    /// A product folder of yours, deployed as coffee is (repeatable): one
    /// folder per service inside, each a kustomization or YAML manifests;
    /// published as apps/<folder>/ with an ApplicationSet <folder> whose
    /// Applications are <folder>-<service> in namespace <folder>.
    #[arg(long = "product", value_name = "DIR", value_parser = crate::products::Product::parse)]
    pub products: Vec<crate::products::Product>,
}

/// Where one effective setting of `kindops up` came from (`kindops config`,
/// [`crate::config::effective`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// kindops's own default (or unset).
    Default,
    /// `FILE:LINE` of the config file.
    File(String),
    /// The environment variable.
    Env(String),
    /// The command line flag.
    Flag(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(p) => write!(f, "{p}"),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// One effective setting of `kindops up`: its key, value (JSON; `null` when
/// unset) and origin.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Effective {
    pub key: &'static str,
    pub value: serde_json::Value,
    pub origin: Origin,
}

/// Why kind would refuse `name` as a cluster name, if it would (kind v0.32.0
/// `pkg/internal/apis/config/validate.go`: names match `^[a-z0-9.-]+$`).
pub fn cluster_name_problem(name: &str) -> Option<&'static str> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '-');
    (!valid).then_some("kind cluster names are lowercase letters, digits, '.' and '-' (e.g. kindops, team-a)")
}

/// `--cluster`'s value parser: [`cluster_name_problem`] as clap's error.
fn cluster_name_arg(name: &str) -> Result<String, String> {
    match cluster_name_problem(name) {
        Some(problem) => Err(problem.to_string()),
        None => Ok(name.to_string()),
    }
}

/// `--node-image`'s value parser: [`node_image_problem`] as clap's error.
fn node_image_arg(image: &str) -> Result<String, String> {
    match node_image_problem(image) {
        Some(problem) => Err(problem),
        None => Ok(image.to_string()),
    }
}

/// Why `image` is not an image reference, if it is not: distribution's
/// grammar by [`crate::images::Reference::parse`], with the grammar's reason
/// and the form to write.
pub fn node_image_problem(image: &str) -> Option<String> {
    crate::images::Reference::parse(image).err().map(|e| {
        format!(
            "not an image reference ({}); write REPOSITORY[:TAG][@sha256:DIGEST], e.g. kindest/node:v1.36.1 or a local image as `docker images` lists it",
            e.reason
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from([&["kindops"][..], args].concat())
    }

    #[test]
    fn verbosity_flags_become_the_log_filter() {
        for (args, want) in [
            (&["plan"][..], None),
            (&["plan", "-v"], Some("info")),
            (&["-vv", "plan"], Some("debug")),
            (&["plan", "-vvvv"], Some("trace")),
            (&["plan", "-q"], Some("error")),
            (&["plan", "-v", "--log-level", "kindops=trace"], Some("kindops=trace")),
        ] {
            let cli = parse(args).unwrap();
            assert_eq!(cli.log_filter().as_deref(), want, "{args:?}");
        }
        let e = parse(&["plan", "-v", "-q"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    /// `refresh --quiet` (the git source's hook says it) is the global flag.
    #[test]
    fn refresh_quiet_is_the_global_quiet() {
        let cli = parse(&["refresh", "--quiet", "--post-receive"]).unwrap();
        assert!(cli.quiet);
        assert!(matches!(cli.command, Command::Refresh { post_receive: true, .. }));
    }
}
