//! Image references: parsed by distribution's grammar, normalized as the
//! kubelet looks them up, and the names an archive gets.
//!
//! The grammar and the Docker Hub rules are not ours: [`Reference::parse`]
//! hands the text to `oci_spec::distribution::Reference` (the containers
//! org's crate; its regular expression is distribution/reference's
//! `regexp.go`, its domain split `normalize.go`'s `splitDockerDomain`), and
//! keeps beside its parts the repository and tag as the text wrote them,
//! which archive names and `docker tag` need.

use std::fmt;
use std::str::FromStr;

/// A parsed reference: `[registry/]path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The repository as written (`nginx`, `quay.io/argoproj/argocd`).
    pub repository: String,
    /// The tag as written (`None` when the text names none).
    pub tag: Option<String>,
    /// `algorithm:hex` as written (`sha256:` + 64 hex digits).
    pub digest: Option<String>,
    /// The registry host, Docker Hub's `docker.io` when none is written.
    pub registry: String,
    /// The path in that registry, `library/` added to a one-word Docker Hub name.
    pub path: String,
}

/// Why a text is not an image reference: the text and the grammar's own reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    pub text: String,
    pub reason: String,
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an image reference ({}); write [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], repository in lower case",
            self.text, self.reason
        )
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// Parses `text` by distribution's grammar (`oci_spec::distribution::Reference`).
    ///
    /// # Errors
    /// A [`ReferenceError`] naming the text: an empty name, characters the
    /// grammar refuses (an upper-case repository, `$`), a name over 255
    /// characters, a digest of the wrong length or an unknown algorithm.
    pub fn parse(text: &str) -> Result<Reference, ReferenceError> {
        let parsed = oci_spec::distribution::Reference::from_str(text).map_err(|e| ReferenceError {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        let digest = parsed.digest().map(str::to_string);
        let named = match &digest {
            Some(d) => text
                .strip_suffix(d.as_str())
                .and_then(|t| t.strip_suffix('@'))
                .unwrap_or(text),
            None => text,
        };
        // The crate answers `latest` for a text with neither tag nor digest;
        // a tag was written when the name part ends in `:tag` (a name
        // component cannot hold a `:`, so `latest` alone never does).
        let tag = parsed
            .tag()
            .filter(|t| named.strip_suffix(t).is_some_and(|n| n.ends_with(':')))
            .map(str::to_string);
        let repository = match &tag {
            Some(t) => named[..named.len() - t.len() - 1].to_string(),
            None => named.to_string(),
        };
        Ok(Reference {
            repository,
            tag,
            digest,
            registry: parsed.registry().to_string(),
            path: parsed.repository().to_string(),
        })
    }

    /// The fully qualified name containerd and the kubelet use
    /// (distribution/reference `normalize.go`: no registry → `docker.io/`, a
    /// single path component → `docker.io/library/`, no tag → `:latest`; a
    /// tag *and* a digest → the digest only, as containerd's
    /// `reference/docker.ParseDockerRef` does).
    pub fn normalized(&self) -> String {
        let name = format!("{}/{}", self.registry, self.path);
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{name}@{d}"),
            (None, Some(t)) => format!("{name}:{t}"),
            (None, None) => format!("{name}:latest"),
        }
    }

    /// Kubernetes's default pull policy when a container names no
    /// `imagePullPolicy` (k8s.io/kubernetes `pkg/apis/core/v1/defaults.go`
    /// SetDefaults_Container): `Always` for the tag `latest` or neither tag
    /// nor digest, else `IfNotPresent`.
    pub fn default_pull_policy(&self) -> &'static str {
        match (self.tag.as_deref(), self.digest.as_deref()) {
            (Some("latest"), _) | (None, None) => "Always",
            _ => "IfNotPresent",
        }
    }

    /// The tag an archive carries (`docker save` keeps tags, not digests):
    /// `repository:tag` as written, or for a digest-only reference
    /// `repository:sha256-<first 12 hex digits>`.
    pub fn archive_tag(&self) -> String {
        match (&self.tag, &self.digest) {
            (Some(t), _) => format!("{}:{t}", self.repository),
            (None, Some(d)) => {
                let hex = d.split_once(':').map(|(_, h)| h).unwrap_or(d);
                format!("{}:sha256-{}", self.repository, &hex[..hex.len().min(12)])
            }
            (None, None) => format!("{}:latest", self.repository),
        }
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Reference::parse(text)
    }
}

/// [`Reference::normalized`] of a text; a text that is not a reference is
/// returned as it is (nothing can pull it, so it equals no normalized name).
/// The edges that take references in (`--node-image`, the rendered
/// manifests, the mirror's image index) parse them and report the bad ones.
pub fn normalize(reference: &str) -> String {
    Reference::parse(reference).map_or_else(|_| reference.to_string(), |r| r.normalized())
}

/// [`Reference::default_pull_policy`] of a text (`IfNotPresent` for one
/// that is not a reference: the kubelet refuses it before any pull).
pub fn default_pull_policy(reference: &str) -> &'static str {
    Reference::parse(reference).map_or("IfNotPresent", |r| r.default_pull_policy())
}

/// [`Reference::archive_tag`] of a text (the text itself for one that is not a reference).
pub fn archive_tag(reference: &str) -> String {
    Reference::parse(reference).map_or_else(|_| reference.to_string(), |r| r.archive_tag())
}

/// The archive's file name for a reference: its [`archive_tag`] with every
/// character but ASCII letters, digits, `.` and `-` turned into `_`, plus `.tar`.
pub fn archive_file(reference: &str) -> String {
    let safe: String = archive_tag(reference)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.tar")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    /// Cases from distribution/reference's `reference_test.go` and
    /// `normalize_test.go` (TestReferenceParse, TestParseNormalizedNamed).
    #[test]
    fn the_grammar_is_distributions() {
        let digest = format!("sha256:{HEX}");
        for (text, registry, path, tag, dig) in [
            ("test_com", "docker.io", "library/test_com", None, None),
            ("test.com:tag", "docker.io", "library/test.com", Some("tag"), None),
            ("test.com:5000", "docker.io", "library/test.com", Some("5000"), None),
            ("test.com/repo:tag", "test.com", "repo", Some("tag"), None),
            ("test:5000/repo", "test:5000", "repo", None, None),
            ("test:5000/repo:tag", "test:5000", "repo", Some("tag"), None),
            (
                &format!("test:5000/repo@{digest}"),
                "test:5000",
                "repo",
                None,
                Some(digest.as_str()),
            ),
            (
                &format!("test:5000/repo:tag@{digest}"),
                "test:5000",
                "repo",
                Some("tag"),
                Some(digest.as_str()),
            ),
            ("sometest", "docker.io", "library/sometest", None, None),
            ("a/a/a/a/a", "docker.io", "a/a/a/a/a", None, None),
            (
                "foo_bar.com:8080",
                "docker.io",
                "library/foo_bar.com",
                Some("8080"),
                None,
            ),
            (
                "foo/foo_bar.com:8080",
                "docker.io",
                "foo/foo_bar.com",
                Some("8080"),
                None,
            ),
            ("192.168.1.1/repo", "192.168.1.1", "repo", None, None),
            ("localhost/repo", "localhost", "repo", None, None),
            (
                "index.docker.io/library/redis",
                "docker.io",
                "library/redis",
                None,
                None,
            ),
            (
                "lowercase:Uppercase",
                "docker.io",
                "library/lowercase",
                Some("Uppercase"),
                None,
            ),
        ] {
            let r = Reference::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (
                    r.registry.as_str(),
                    r.path.as_str(),
                    r.tag.as_deref(),
                    r.digest.as_deref()
                ),
                (registry, path, tag, dig),
                "{text}"
            );
        }
        for bad in [
            "".to_string(),
            ":justtag".into(),
            format!("@sha256:{HEX}"),
            "repo@sha256:ffffffffffffffffffffffffffffffffff".into(),
            format!("validname@invaliddigest:{HEX}"),
            "Uppercase:tag".into(),
            "test:5000/Uppercase/lowercase:tag".into(),
            "aa/asdf$$^/aa".into(),
            "a".repeat(256),
        ] {
            let e = Reference::parse(&bad).expect_err(&bad);
            assert!(e.to_string().contains("not an image reference"), "{e}");
        }
    }

    #[test]
    fn references_keep_what_was_written_normalize_and_name_their_archives() {
        let digest = format!("sha256:{HEX}");
        let r = Reference::parse(&format!("localhost:5000/a/b:1.0@{digest}")).unwrap();
        assert_eq!(r.repository, "localhost:5000/a/b");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert_eq!(r.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(Reference::parse("localhost:5000/a").unwrap().tag, None);
        assert_eq!(Reference::parse("latest:latest").unwrap().repository, "latest");
        assert_eq!(normalize("redis"), "docker.io/library/redis:latest");
        assert_eq!(normalize("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            normalize("quay.io/argoproj/argocd:v3.5.1"),
            "quay.io/argoproj/argocd:v3.5.1"
        );
        assert_eq!(
            normalize(&format!("ghcr.io/t/c:v1@{digest}")),
            format!("ghcr.io/t/c@{digest}"),
            "a tag next to a digest is dropped, as the kubelet's lookup does"
        );
        assert_eq!(normalize("Not/A/Reference"), "Not/A/Reference");
        assert_eq!(
            archive_tag(&format!("cgr.dev/chainguard/busybox@{digest}")),
            "cgr.dev/chainguard/busybox:sha256-ffffffffffff"
        );
        assert_eq!(archive_tag(&format!("ghcr.io/t/c:v1@{digest}")), "ghcr.io/t/c:v1");
        assert_eq!(archive_tag("redis"), "redis:latest", "as written, not normalized");
        assert_eq!(
            archive_file("quay.io/argoproj/argocd:v3.5.1"),
            "quay.io_argoproj_argocd_v3.5.1.tar"
        );
        assert_eq!(default_pull_policy("a:latest"), "Always");
        assert_eq!(default_pull_policy("a"), "Always");
        assert_eq!(default_pull_policy(&format!("a@{digest}")), "IfNotPresent");
        assert_eq!(default_pull_policy("a:1"), "IfNotPresent");
    }
}
