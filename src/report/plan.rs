//! `kindops plan`: phases, steps, object counts and images, as text or JSON.

use super::Format;
use crate::upstream::pins;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Serialize)]
pub struct StepView {
    pub label: String,
    pub objects: Option<usize>,
    pub images: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PhaseView {
    pub phase: u8,
    pub title: String,
    pub steps: Vec<StepView>,
}

pub fn print(views: &[PhaseView], format: Format) -> Result<()> {
    match format {
        Format::Json | Format::Yaml => println!("{}", super::document(format, views)?),
        Format::Text => {
            for v in views {
                println!("phase {}: {}", v.phase, v.title);
                for s in &v.steps {
                    let count = s.objects.map(|n| format!(" — {n} objects")).unwrap_or_default();
                    let note = s.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                    println!("  - {}{count}{note}", s.label);
                    for i in &s.images {
                        println!("      image {i}");
                    }
                }
            }
            let pins = pins();
            println!(
                "upstream artifacts pinned: {}",
                pins.iter()
                    .map(|p| format!("{} {}", p.name, p.version))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(())
}
