//! kindops: bootstrap a local GitOps environment in phases, and watch Argo CD live.
//!
//! The flow, as the folders show it:
//! `plan` (phase files → typed steps) → `engine` (runs steps, emits typed
//! [`engine::event::Event`]s) → readers: `report` (plain/JSON lines) and `tui`.
//! `upstream` resolves pinned artifacts (mirror, cache, checksums); `content`
//! is the GitOps tree kindops applies and publishes.

pub mod argo;
pub mod cli;
pub mod content;
pub mod engine;
pub mod plan;
pub mod planview;
pub mod report;
pub mod statusview;
pub mod tui;
pub mod upstream;
