//! `kindops doctor`: the preflight checks alone, worded as phase 0 words them.

use super::Result;
use crate::cli::ClusterArgs;
use crate::engine::{self, preflight};
use crate::report::checks;

pub async fn run(cluster: &ClusterArgs) -> Result<u8> {
    let mut found = vec![];
    if cluster.context.is_none() {
        found.extend(preflight::container_engine().await);
        found.extend(preflight::binaries(&preflight::kind_binaries()));
        found.extend(preflight::inotify());
    } else {
        found.extend(preflight::binaries(&["kubectl", "git"]));
    }
    found.extend(preflight::disk(&engine::default_data_dir()));
    checks::print(&found);
    Ok(if preflight::verdict(&found).is_ok() { 0 } else { 1 })
}
