//! One module per step kind of `phases/*.yaml`, named as the step is
//! (`create-cluster` → `create_cluster`), each with its body
//! `<step>_step(ctx, ..)`. Steps use the services (`crate::cluster`,
//! `crate::docker`, ...); no service imports a step.

pub(crate) mod apply;
pub(crate) mod create_cluster;
pub(crate) mod preflight;
pub(crate) mod publish_repo;
pub(crate) mod wait_applications;
pub(crate) mod wait_rollouts;
