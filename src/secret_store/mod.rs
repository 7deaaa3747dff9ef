//! The team's secret store on a laptop: namespace `team-secrets` (see
//! `manifests/gitops/platform/secret-store/`), one Secret per product
//! service, read by External Secrets' `kubernetes` provider through the
//! ClusterSecretStore `team-secrets`.
//!
//! kindops seeds it: each service's Secret (`<prefix><service>`, one key) is
//! created with a random value when it is missing, and left alone when it
//! exists (a re-run, or a value the learner rotated, is kept). Values never
//! leave this module except through [`Seeded::value`], which the engine shows
//! only with `--show-secrets`.

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::ByteString;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Client;
use std::collections::BTreeMap;

/// Label kindops puts on what it creates (and checks before deleting).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kindops");

/// Bytes of randomness in a generated value (written as 64 hex digits).
pub const VALUE_BYTES: usize = 32;

/// One service's Secret in the store after [`seed`].
#[derive(Clone, PartialEq, Eq)]
pub struct Seeded {
    /// Secret name in the store's namespace, e.g. `coffee-cart`.
    pub name: String,
    /// True when this run created it; false when it existed and was kept.
    pub created: bool,
    /// The key's value (UTF-8); `None` when the existing Secret lacks the key.
    pub value: Option<String>,
}

impl std::fmt::Debug for Seeded {
    // Never prints the value (a Debug of a step result may reach a log).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seeded")
            .field("name", &self.name)
            .field("created", &self.created)
            .field("value", &self.value.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Why seeding stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("namespace {0} does not exist: the secret-store Application creates it (platform/secret-store); is it Synced? (kubectl -n argocd get application secret-store)")]
    NoNamespace(String),
    #[error("Secret {namespace}/{name}: {source}")]
    Api {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("no randomness from the operating system: {0}")]
    Random(String),
}

/// A new random value: [`VALUE_BYTES`] bytes from the operating system's
/// CSPRNG (getrandom), hex-encoded.
pub fn new_value() -> Result<String, SeedError> {
    let mut b = [0u8; VALUE_BYTES];
    getrandom::fill(&mut b).map_err(|e| SeedError::Random(e.to_string()))?;
    Ok(hex::encode(b))
}

/// Ensures Secret `<prefix><service>` with `key` exists in `namespace` for
/// each of `services`: creates it with a [`new_value`] (labelled
/// [`MANAGED_BY`] and `app.kubernetes.io/part-of: <part_of>`) when it is
/// missing, keeps it as it is when it exists. Returns one [`Seeded`] per
/// service, in the order given.
///
/// Errors: the namespace is missing ([`SeedError::NoNamespace`]); an API call
/// fails ([`SeedError::Api`], naming the Secret).
pub async fn seed(
    client: &Client,
    namespace: &str,
    services: &[String],
    prefix: &str,
    key: &str,
    part_of: &str,
) -> Result<Vec<Seeded>, SeedError> {
    let ns: Api<Namespace> = Api::all(client.clone());
    let api_err = |name: &str| {
        let (namespace, name) = (namespace.to_string(), name.to_string());
        move |source| SeedError::Api {
            namespace,
            name,
            source,
        }
    };
    if ns.get_opt(namespace).await.map_err(api_err(""))?.is_none() {
        return Err(SeedError::NoNamespace(namespace.to_string()));
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut out = Vec::with_capacity(services.len());
    for svc in services {
        let name = format!("{prefix}{svc}");
        if let Some(s) = api.get_opt(&name).await.map_err(api_err(&name))? {
            let value = s
                .data
                .and_then(|d| d.get(key).map(|b| String::from_utf8_lossy(&b.0).to_string()));
            out.push(Seeded {
                name,
                created: false,
                value,
            });
            continue;
        }
        let value = new_value()?;
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                labels: Some(BTreeMap::from([
                    (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
                    ("app.kubernetes.io/part-of".to_string(), part_of.to_string()),
                ])),
                ..Default::default()
            },
            data: Some(BTreeMap::from([(
                key.to_string(),
                ByteString(value.clone().into_bytes()),
            )])),
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        let created = match api.create(&PostParams::default(), &secret).await {
            Ok(_) => true,
            // Created meanwhile (another kindops run): keep that one.
            Err(kube::Error::Api(s)) if s.code == 409 => false,
            Err(e) => return Err(api_err(&name)(e)),
        };
        out.push(Seeded {
            name,
            created,
            value: created.then_some(value),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_random_hex_of_the_documented_length() {
        let (a, b) = (new_value().unwrap(), new_value().unwrap());
        assert_eq!(a.len(), VALUE_BYTES * 2);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Seeded {
            name: "coffee-cart".into(),
            created: true,
            value: Some("s3cr3t-value".into()),
        };
        let d = format!("{s:?}");
        assert!(d.contains("coffee-cart") && !d.contains("s3cr3t"), "{d}");
    }
}
