//! `kindops fetch --into DIR`: every pinned upstream artifact, as a mirror.

use super::{init_tracing_stderr, Result};
use crate::report;
use crate::upstream::{pins, Mirror, Upstream};
use std::path::Path;

pub async fn run(into: &Path, mirror: Option<&str>) -> Result<u8> {
    init_tracing_stderr();
    let up = Upstream {
        mirror: mirror.map(Mirror::parse),
        cache_dir: Upstream::default_cache_dir(),
    };
    let done = up.fill_mirror(&pins(), into).await?;
    report::fetch::print(&done, into);
    Ok(0)
}
