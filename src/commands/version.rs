//! `kindops version [-o json]`: kindops's version, the commit it was built
//! from (recorded by `build.rs`), the kind release and node image it is made
//! for (`manifests/kind/versions.yaml`) and every pinned upstream version
//! (`manifests/upstream.yaml`, or `--pins`).

use super::Result;
use crate::report::Format;

pub fn run(output: Format) -> Result<u8> {
    let kind = crate::content::kind_versions();
    let pins = crate::upstream::pins();
    match output {
        Format::Json | Format::Yaml => {
            let upstream: Vec<serde_json::Value> = pins
                .iter()
                .map(|p| serde_json::json!({"name": p.name, "version": p.version, "file": p.file}))
                .collect();
            let v = serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "commit": env!("KINDOPS_COMMIT"),
                "kind": kind.kind,
                "node_image": kind.node_image,
                "upstream": upstream,
            });
            println!("{}", crate::report::document(output, &v)?);
        }
        Format::Text => {
            println!(
                "kindops {} (commit {})",
                env!("CARGO_PKG_VERSION"),
                env!("KINDOPS_COMMIT")
            );
            println!("  kind {} (node image {})", kind.kind, kind.node_image);
            for p in &pins {
                println!("  {:<18} {:<9} {}", p.name, p.version, p.file);
            }
        }
    }
    Ok(0)
}
