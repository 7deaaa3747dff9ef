//! CI's build base image in the local registry (issue 22). The coffee
//! pipeline's ko build (`manifests/gitops/ci/coffee/pipeline.yaml`, param
//! `BASE_IMAGE`) reads the base image of every product image from the
//! cluster's registry as `kindops-registry:5000/<path>`, where no pod and no
//! internet is needed. So the `local-registry` step puts the pinned image
//! ([`PIN`] in `manifests/upstream.yaml`) there: from the registry if it is
//! already in it, else from the Docker engine (loaded from `--mirror DIR`'s
//! archive, or pulled), tagged `localhost:<port>/<path>` and pushed.
//!
//! Without it a learner's push to `products/` fails in ko's build step
//! ("MANIFEST_UNKNOWN" for the base image). When the image cannot be had
//! (offline and no mirror), phase 0 still succeeds and says what CI will
//! lack and how to get it; nothing else depends on it.

use super::docker::{has_image, load_archive};
use super::CONTAINER_PORT;
use crate::engine::step::{StepCtx, StepError};
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{CreateImageOptions, PushImageOptions, TagImageOptions};
use bollard::Docker;
use futures::StreamExt;
use std::time::Duration;

/// The `manifests/upstream.yaml` image entry of ko's base image.
pub const PIN: &str = "ko-base";

/// The media types a manifest request accepts (distribution's
/// `registry/api/v2` content negotiation: OCI index and manifest, Docker
/// manifest list and schema 2), so a registry answers for any of them.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// An image reference without its registry host, as it is stored in the
/// local registry: `gcr.io/distroless/static-debian12:nonroot` →
/// `distroless/static-debian12:nonroot`; from the reference as
/// [`crate::images::normalize`] qualifies it (distribution/reference's
/// rules: a Docker Hub name gets `library/`, no tag gets `:latest`).
pub fn registry_path(image: &str) -> String {
    let full = crate::images::normalize(image);
    full.split_once('/').map(|(_, rest)| rest.to_string()).unwrap_or(full)
}

/// `(repository, tag)` of a path from [`registry_path`]
/// ([`crate::images::Reference`] as written; `latest` when it names no
/// tag; the path itself when it is not a reference).
fn repo_and_tag(path: &str) -> (String, String) {
    match crate::images::Reference::parse(path) {
        Ok(r) => (r.repository, r.tag.unwrap_or_else(|| "latest".into())),
        Err(_) => (path.to_string(), "latest".into()),
    }
}

/// The name ko reads the base image by, from inside the cluster: the
/// registry container's name on the kind network (pipeline.yaml's
/// `BASE_IMAGE` default; a unit test keeps the two equal).
pub fn in_cluster_reference(image: &str) -> String {
    format!("{}:{CONTAINER_PORT}/{}", super::CONTAINER, registry_path(image))
}

/// Whether the registry on `127.0.0.1:<port>` serves a manifest for
/// `path` (`HEAD /v2/<repo>/manifests/<tag>`: 200, else not).
async fn in_registry(port: u16, path: &str) -> Result<bool, String> {
    let (repo, tag) = repo_and_tag(path);
    let url = format!("http://127.0.0.1:{port}/v2/{repo}/manifests/{tag}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let r = client
        .head(&url)
        .header(reqwest::header::ACCEPT, MANIFEST_ACCEPT)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(r.status().is_success())
}

/// `docker pull IMAGE` through the engine API (`POST /images/create`); the
/// engine's own error otherwise.
async fn pull(docker: &Docker, image: &str) -> Result<(), String> {
    let opts = CreateImageOptions {
        from_image: Some(image.to_string()),
        ..Default::default()
    };
    let mut s = docker.create_image(Some(opts), None, None);
    while let Some(item) = s.next().await {
        let info = item.map_err(|e| e.to_string())?;
        if let Some(e) = info.error_detail.and_then(|d| d.message) {
            return Err(e);
        }
    }
    Ok(())
}

/// `docker tag IMAGE localhost:<port>/<path>` then `docker push` of it
/// (`POST /images/{name}/tag`, `POST /images/{name}/push`).
async fn push(docker: &Docker, image: &str, port: u16, path: &str) -> Result<(), String> {
    let (repo, tag) = repo_and_tag(path);
    let target = format!("localhost:{port}/{repo}");
    docker
        .tag_image(
            image,
            Some(TagImageOptions {
                repo: Some(target.clone()),
                tag: Some(tag.to_string()),
            }),
        )
        .await
        .map_err(|e| format!("docker tag {image} {target}:{tag}: {e}"))?;
    let opts = PushImageOptions {
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut s = docker.push_image(&target, Some(opts), Some(DockerCredentials::default()));
    while let Some(item) = s.next().await {
        let info = item.map_err(|e| format!("docker push {target}:{tag}: {e}"))?;
        if let Some(e) = info.error_detail.and_then(|d| d.message) {
            return Err(format!("docker push {target}:{tag}: {e}"));
        }
    }
    Ok(())
}

/// Puts ko's base image into the local registry on `127.0.0.1:<port>`
/// unless it is there. Returns whether it pushed. Errors only on cancel;
/// an image that cannot be had is said (with the next step) and left.
pub(crate) async fn ensure(ctx: &StepCtx<'_>, docker: &Docker, at: &str, port: u16) -> Result<bool, StepError> {
    let image = crate::upstream::image_pin(PIN).image;
    let path = registry_path(&image);
    let inside = in_cluster_reference(&image);
    match in_registry(port, &path).await {
        Ok(true) => return Ok(false),
        Ok(false) => {}
        Err(e) => {
            ctx.say(format!(
                "warning: could not ask the local registry for CI's build base image ({e}); CI's builds need {inside}"
            ));
            return Ok(false);
        }
    }
    if !has_image(docker, &image).await {
        let archive = match &ctx.settings.mirror {
            Some(crate::upstream::Mirror::Dir(dir)) => crate::images::ImageIndex::archive_of(dir, &image)?,
            _ => None,
        };
        if let Some(path) = archive {
            ctx.say(format!(
                "loading {image} from {} into the Docker engine",
                path.display()
            ));
            load_archive(docker, at, &path)
                .await
                .map_err(|e| StepError::new(e.to_string()).object(format!("image {image}")))?;
        } else {
            ctx.say(format!("$ docker pull {image}"));
            let pulled = tokio::select! {
                r = pull(docker, &image) => r,
                _ = ctx.cancel.cancelled() => return Err(StepError::new(format!("interrupted while pulling {image}"))),
            };
            if let Err(e) = pulled {
                ctx.say(format!(
                    "warning: CI's build base image {image} is not in the local registry and could not be pulled ({e}); a push to products/ will fail in its build step until it is there. Where there is internet: run `kindops up` again; offline: `kindops fetch --images` on a machine with internet, then `kindops up --mirror DIR`"
                ));
                return Ok(false);
            }
        }
    }
    push(docker, &image, port, &path).await.map_err(|e| {
        StepError::new(e)
            .object(format!("image {image}"))
            .hint("`docker logs kindops-registry` tells why the registry refused it")
    })?;
    ctx.say(format!(
        "pushed CI's build base image {image} into the local registry as localhost:{port}/{path} (ko reads it as {inside})"
    ));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_loses_its_registry_host_only() {
        assert_eq!(
            registry_path("gcr.io/distroless/static-debian12:nonroot"),
            "distroless/static-debian12:nonroot"
        );
        assert_eq!(registry_path("localhost:5001/app:1"), "app:1");
        assert_eq!(registry_path("library/registry:3"), "library/registry:3");
        assert_eq!(registry_path("busybox"), "library/busybox:latest");
        assert_eq!(
            repo_and_tag("distroless/static-debian12:nonroot"),
            ("distroless/static-debian12".to_string(), "nonroot".to_string())
        );
        assert_eq!(repo_and_tag("a/b"), ("a/b".to_string(), "latest".to_string()));
    }

    /// One source of truth: the pipeline's `BASE_IMAGE` default is the
    /// pinned image under the registry's in-cluster name.
    #[test]
    fn the_pipelines_base_image_is_the_pinned_one_in_the_local_registry() {
        let pin = crate::upstream::image_pin(PIN);
        assert_eq!(pin.image, "gcr.io/distroless/static-debian12:nonroot");
        let pipeline: serde_yaml::Value =
            serde_yaml::from_str(include_str!("../../manifests/gitops/ci/coffee/pipeline.yaml")).unwrap();
        let default = pipeline["spec"]["params"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "BASE_IMAGE")
            .and_then(|p| p["default"].as_str())
            .unwrap()
            .to_string();
        assert_eq!(default, in_cluster_reference(&pin.image));
        // The lane tags its stand-in with the same name (tests/kind/recipes.sh step_ko).
        let lane = include_str!("../../tests/kind/recipes.sh");
        assert!(
            lane.contains(&format!("KO_BASE_IMAGE={}\n", pin.image)),
            "the lane's recipes name the pin"
        );
    }
}
