//! `kindops doctor`: the preflight checks alone, worded as phase 0 words them.

use super::Result;
use crate::cli::ClusterArgs;
use crate::engine;
use crate::report::checks;

pub async fn run(cluster: &ClusterArgs) -> Result<u8> {
    let mut found = vec![];
    if cluster.context.is_none() {
        found.extend(crate::docker::container_engine().await);
        found.extend(crate::host_checks::binaries(&crate::docker::kind_binaries()));
        found.extend(crate::host_checks::inotify());
    } else {
        found.extend(crate::host_checks::binaries(&["kubectl", "git"]));
    }
    found.extend(crate::host_checks::disk(&engine::default_data_dir()));
    checks::print(&found);
    Ok(if crate::host_checks::verdict(&found).is_ok() {
        0
    } else {
        1
    })
}
