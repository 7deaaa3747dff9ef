//! Knowing, without sending it, that a CustomResourceDefinition's
//! server-side apply would change nothing.
//!
//! A no-op apply of a large CRD still costs the API server its whole decode,
//! merge and managed-fields work: Argo CD's `applicationsets.argoproj.io`
//! (377 KB) took 964 ms on the real kind cluster, and phase 1's 48 CRDs
//! were most of a converged re-run's time (BENCHMARKS.md figure 6).
//!
//! kindops applies each CRD with the annotation [`ANNOTATION`]: the sha256 of
//! the configuration it applies. The next run skips the apply when the live
//! CRD (metadata only) carries the same digest and no other field manager
//! has written it since kindops did: every `managedFields` entry other than
//! kindops's own `Apply` one (status entries aside) is older. Any other
//! writer (`kubectl edit`, Argo CD applying it, a changed kindops) means the
//! apply is sent as before, so drift is still taken back.

use k8s_openapi::jiff::Timestamp;
use kube::api::DynamicObject;
use sha2::{Digest, Sha256};

/// The annotation holding the digest of the configuration kindops applied.
pub const ANNOTATION: &str = "kindops.io/applied-config-sha256";

/// Whether `gvk` is one kindops fingerprints (CustomResourceDefinitions: the
/// large, rarely edited objects).
pub fn fingerprinted(gvk: &kube::api::GroupVersionKind) -> bool {
    gvk.group == "apiextensions.k8s.io" && gvk.kind == "CustomResourceDefinition"
}

/// Puts the digest of `obj` (as it is, before the annotation) into its
/// annotations, and returns it.
pub fn stamp(obj: &mut DynamicObject) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&*obj).unwrap_or_default());
    let digest = hex::encode(h.finalize());
    obj.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(ANNOTATION.to_string(), digest.clone());
    digest
}

/// Whether `live` (metadata is enough) was last applied by `manager` with
/// the configuration whose digest is `digest`, and written by no one since.
pub fn still_applied(live: &kube::core::ObjectMeta, manager: &str, digest: &str) -> bool {
    let ours = live.annotations.as_ref().and_then(|a| a.get(ANNOTATION));
    if ours.map(String::as_str) != Some(digest) {
        return false;
    }
    let Some(fields) = &live.managed_fields else {
        return false;
    };
    let main = |f: &&k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry| {
        f.subresource.as_deref().unwrap_or("").is_empty()
    };
    let time = |f: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry| -> Option<Timestamp> {
        f.time.as_ref().map(|t| t.0)
    };
    let Some(mine) = fields
        .iter()
        .filter(main)
        .find(|f| f.manager.as_deref() == Some(manager) && f.operation.as_deref() == Some("Apply"))
        .and_then(time)
    else {
        return false;
    };
    fields
        .iter()
        .filter(main)
        .filter(|f| !(f.manager.as_deref() == Some(manager) && f.operation.as_deref() == Some("Apply")))
        .all(|f| time(f).is_some_and(|t| t < mine))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, Time};

    fn entry(manager: &str, op: &str, sub: Option<&str>, secs: i64) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(op.into()),
            subresource: sub.map(str::to_string),
            time: Some(Time(Timestamp::from_second(secs).unwrap())),
            ..Default::default()
        }
    }

    fn meta(digest: Option<&str>, fields: Vec<ManagedFieldsEntry>) -> kube::core::ObjectMeta {
        kube::core::ObjectMeta {
            annotations: digest.map(|d| [(ANNOTATION.to_string(), d.to_string())].into()),
            managed_fields: Some(fields),
            ..Default::default()
        }
    }

    #[test]
    fn the_digest_covers_the_object_and_lands_in_its_annotations() {
        let mut a: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "x.example.com"}, "spec": {"group": "example.com"}
        }))
        .unwrap();
        let mut b = a.clone();
        b.data["spec"]["group"] = "example.org".into();
        let (da, db) = (stamp(&mut a), stamp(&mut b));
        assert_ne!(da, db);
        assert_eq!(a.metadata.annotations.unwrap()[ANNOTATION], da);
    }

    #[test]
    fn skipped_only_when_the_digest_matches_and_no_one_wrote_since() {
        let ok = vec![
            entry("kube-apiserver", "Update", Some("status"), 200),
            entry("kindops", "Apply", None, 100),
        ];
        assert!(still_applied(&meta(Some("d"), ok.clone()), "kindops", "d"));
        // Another configuration, or none recorded.
        assert!(!still_applied(&meta(Some("other"), ok.clone()), "kindops", "d"));
        assert!(!still_applied(&meta(None, ok), "kindops", "d"));
        // Someone edited it after kindops's apply (or in the same second).
        for t in [150, 100] {
            let edited = vec![
                entry("kindops", "Apply", None, 100),
                entry("kubectl-edit", "Update", None, t),
            ];
            assert!(
                !still_applied(&meta(Some("d"), edited), "kindops", "d"),
                "edited at {t}"
            );
        }
        // An older writer is fine; no apply entry of kindops's is not.
        let older = vec![
            entry("argocd-controller", "Apply", None, 50),
            entry("kindops", "Apply", None, 100),
        ];
        assert!(still_applied(&meta(Some("d"), older), "kindops", "d"));
        let none = vec![entry("kindops", "Update", None, 100)];
        assert!(!still_applied(&meta(Some("d"), none), "kindops", "d"));
    }
}
