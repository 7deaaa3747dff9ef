//! Watch-based waits with deadlines and a diagnosis.
//!
//! Every wait is a kube-runtime watcher (re-listing with backoff on errors,
//! never sleep-polling) with a deadline. On timeout the error names the stuck
//! object, its last condition or message, and what to look at next.
//! [`wait_rollouts_step`] and [`wait_applications_step`] are the wait steps.
//!
//! By what each part owns: `crds` (CRDs Established), `rollouts`
//! (Deployments and StatefulSets Available), `pods` (the first pod-level
//! reason a workload's pods do not start), `applications` (Applications
//! Synced+Healthy), `crd_refresh` (asking Argo CD to compare again once the
//! CRDs an Application waits for are Established); [`WaitError`] here.

pub mod applications;
mod crd_refresh;
mod crds;
pub mod pods;
mod rollouts;

pub use applications::applications_ready;
pub use crd_refresh::{crds_waited_for, CrdRefresher};
pub use crds::crds_established;
pub use rollouts::{deployment_state, rollouts_available, statefulset_state, RolloutState};

use super::outage;

/// Why a wait failed. `object` names the first object still not ready (the
/// stuck Deployment, the Application Argo CD gave up on), if any; `reason` is
/// the whole message (what `Display` prints).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitError {
    pub object: Option<String>,
    pub reason: String,
    /// What to do next, when the wait knows better than its step's generic
    /// hint (an image that cannot be pulled, a crash loop).
    pub hint: Option<String>,
}

impl WaitError {
    fn new(object: Option<String>, reason: String) -> Self {
        WaitError {
            object,
            reason,
            hint: None,
        }
    }

    /// The API server did not answer at the deadline: it is the object at
    /// fault ([`outage::API_SERVER`]).
    fn unreachable(reason: String) -> Self {
        WaitError::new(Some(outage::API_SERVER.to_string()), reason)
    }

    /// Whether the API server, not a watched object, is at fault.
    pub fn api_server_unreachable(&self) -> bool {
        self.object.as_deref() == Some(outage::API_SERVER)
    }
}

impl std::fmt::Display for WaitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for WaitError {}
