//! Waiting for CustomResourceDefinitions to be Established.

use super::WaitError;
use crate::cluster::outage;
use anyhow::Result;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::Client;
use std::time::Duration;

/// Waits until every named CRD has `Established=True`. The watches resume
/// with backoff when the API server goes away and comes back, and a CRD the
/// restarted API server left un-Established is nudged
/// ([`outage::crd_established`]).
///
/// Errors: the deadline passes; the error lists the CRDs not yet Established,
/// or names the API server when it does not answer then.
pub async fn crds_established(
    client: &Client,
    names: &[String],
    timeout: Duration,
    sink: &outage::RecoverySink,
) -> Result<(), WaitError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let waits = names.iter().map(|n| {
        let api = api.clone();
        async move {
            tokio::time::timeout(timeout, outage::crd_established(api, n, sink))
                .await
                .map_err(|_| n.clone())
        }
    });
    let failed: Vec<String> = futures::future::join_all(waits)
        .await
        .into_iter()
        .filter_map(|r| r.err())
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    if let Some(why) = outage::unreachable(client).await {
        return Err(WaitError::unreachable(format!(
            "CustomResourceDefinition(s) not seen Established within {} ({}): {}",
            humantime::format_duration(timeout),
            failed.join(", "),
            outage::unreachable_message(&why)
        )));
    }
    Err(WaitError::new(
        Some(format!("CustomResourceDefinition {}", failed[0])),
        format!(
            "CustomResourceDefinition(s) not Established within {}: {}. Look at: kubectl get crd {} -o yaml (status.conditions)",
            humantime::format_duration(timeout),
            failed.join(", "),
            failed[0]
        ),
    ))
}
