//! Files in a container, through the Docker engine's archive API (bollard):
//! how kindops reads and writes containerd's `hosts.toml` in kind nodes and
//! a helper script in a registry container, without `docker exec`.

use bollard::query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions};
use futures::TryStreamExt;

/// A file's text from a container (`GET /containers/{id}/archive`); None
/// when it is missing or unreadable.
pub async fn read_file(docker: &bollard::Docker, node: &str, path: &str) -> Option<String> {
    let opts = DownloadFromContainerOptions { path: path.to_string() };
    let chunks: Vec<Vec<u8>> = docker
        .download_from_container(node, Some(opts))
        .map_ok(|b| b.to_vec())
        .try_collect()
        .await
        .ok()?;
    let data = chunks.concat();
    let mut archive = tar::Archive::new(data.as_slice());
    let mut entry = archive.entries().ok()?.next()?.ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).ok()?;
    Some(text)
}

/// Writes `text` at absolute `path` in a container (file mode `mode`), with
/// its parent directories (`PUT /containers/{id}/archive` of a tar at `/`;
/// the container may be stopped).
pub async fn write_file(docker: &bollard::Docker, node: &str, path: &str, text: &str, mode: u32) -> anyhow::Result<()> {
    let rel = path.trim_start_matches('/');
    let mut builder = tar::Builder::new(Vec::new());
    let mut dir = String::new();
    let parents: Vec<&str> = rel.split('/').collect();
    for part in &parents[..parents.len() - 1] {
        dir = if dir.is_empty() {
            part.to_string()
        } else {
            format!("{dir}/{part}")
        };
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        builder.append_data(&mut h, format!("{dir}/"), std::io::empty())?;
    }
    let mut h = tar::Header::new_gnu();
    h.set_mode(mode);
    h.set_size(text.len() as u64);
    builder.append_data(&mut h, rel, text.as_bytes())?;
    let data = builder.into_inner()?;
    let opts = UploadToContainerOptions {
        path: "/".into(),
        ..Default::default()
    };
    docker
        .upload_to_container(node, Some(opts), bollard::body_full(data.into()))
        .await?;
    Ok(())
}
