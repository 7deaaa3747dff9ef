//! kindops: bootstrap a local GitOps environment in phases, and watch Argo CD live.
//!
//! The flow, as the folders show it:
//! `plan` (phase files → typed steps) → `engine` (runs steps, emits typed
//! [`engine::event::Event`]s) → readers: `report` (plain/JSON lines) and `tui`.
//! The steps (`engine::steps`, one module per step kind) use the services:
//! `cluster` (the target, server-side apply, waits, outages), `docker` (the
//! container engine, the kind node), `host_checks`, `gitsource`, `render`,
//! `argocd`, `registry` (the local registry beside the kind cluster) and
//! `proc` (the one child runner); no service imports a step. `uninstall`
//! plans and carries out `kindops uninstall` (what kindops made, in order).
//! `upstream` resolves pinned artifacts (mirror, cache, checksums); `content`
//! is the GitOps tree kindops applies and publishes, `products` the user's
//! own product folders laid into it. `commands` holds one
//! module per subcommand (the binary is a thin `main` over it); `report`
//! holds one module per thing printed outside the TUI.

pub mod admission;
pub mod argocd;
pub mod ci;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod content;
pub mod delivery;
pub mod docker;
pub mod engine;
pub mod format;
pub mod gitsource;
pub mod host_checks;
pub mod images;
pub mod learn;
pub mod plan;
pub mod proc;
pub mod products;
pub mod registry;
pub mod render;
pub mod report;
pub mod secret_store;
pub mod tui;
pub mod uninstall;
pub mod upstream;
pub mod yaml_error;
