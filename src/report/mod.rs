//! Everything kindops prints outside the TUI, one module per thing printed:
//!
//! - [`events`]: `kindops up --no-tui` (plain lines or JSON lines per event).
//! - [`checks`]: one preflight check as a line (`kindops doctor`, phase 0's log).
//! - [`plan`]: `kindops plan`.
//! - [`status`]: `kindops status`.
//! - [`fetch`]: `kindops fetch`.
//! - [`images`]: `kindops images`.
//! - [`junit`]: `kindops up --junit FILE` (a JUnit XML report of the run).
//! - [`learn`]: `kindops learn` (the lesson list, and a lesson's plain/JSON lines).

pub mod checks;
pub mod events;
pub mod fetch;
pub mod images;
pub mod junit;
pub mod learn;
pub mod plan;
pub mod status;

pub use events::{json_line, plain_lines, print_stream};

/// Output format of `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people: tables, progress lines.
    Text,
    /// For programs: one JSON document (status, plan, images, version), or
    /// one JSON object per line as things happen (up, learn).
    Json,
}
