//! The coffee CI loop as kindops drives it from outside the cluster: a push
//! to the built-in git source becomes a GitHub-style push event for the
//! coffee EventListener ([`push_event`]), as a git host's webhook would send.
//!
//! What runs inside the cluster is in the GitOps content: the in-cluster git
//! server task pods clone from and push to (`ci/coffee/git-source.yaml`), the
//! shared Pipeline (`ci/coffee/pipeline.yaml`: clone → test → build with ko →
//! push → write-back) and the EventListener (`ci/coffee/trigger.yaml`).

pub mod push_event;

/// The namespace of the coffee CI (`bootstrap/phase-4/coffee-ci.yaml`).
pub const NAMESPACE: &str = "coffee-ci";
/// The EventListener push events go to.
pub const LISTENER: &str = "coffee";
/// Its Service (Triggers v0.37 `pkg/reconciler/eventlistener/resources`:
/// `el-<name>`, port `http-listener`).
pub const LISTENER_SERVICE: &str = "el-coffee";
/// The built-in git source as task pods reach it: `git daemon` in
/// `ci/coffee/git-source.yaml` (Service `git-source`, port 9418, base path
/// /var/lib/kindops/git).
pub const IN_CLUSTER_CLONE_URL: &str = "git://git-source.coffee-ci.svc/gitops.git";
/// The top folder whose changes start CI (seed 001: `products/` beside the
/// GitOps folders).
pub const PRODUCTS_DIR: &str = "products/";
