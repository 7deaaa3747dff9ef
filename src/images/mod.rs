//! The container images the phases run, and the mirror's image archives.
//!
//! - [`inventory`]: which images phases 0–4 run, read from the rendered
//!   manifests and charts ([`inventory()`], `kindops images`).
//! - [`archive`]: the `<mirror>/images/` layout ([`ImageIndex`]), written by
//!   `kindops fetch --images` ([`save`]) and loaded into kind nodes by phase 0
//!   (`engine::steps::load_images`).
//! - [`reference`]: image references parsed by distribution's grammar
//!   (the `oci-spec` crate), normalized as the kubelet looks them up, and
//!   the names an archive gets.

pub mod archive;
pub mod inventory;
pub mod reference;
pub mod verified;

pub use archive::{save, ArchiveEntry, ImageIndex, Saved, IMAGES_DIR, INDEX_FILE};
pub use inventory::{application_paths, collect_uses, group, inventory, Image, ImageUse};
pub use reference::{archive_file, archive_tag, default_pull_policy, normalize, Reference};
