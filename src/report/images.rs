//! `kindops images`: one line per image (phase, reference, status), its uses
//! indented below; or JSON (an array of images, each with `in_mirror` when a
//! mirror with images was given).

use super::Format;
use crate::images::{Image, ImageIndex};
use anyhow::Result;
use serde::Serialize;

#[derive(Serialize)]
struct ImageView<'a> {
    #[serde(flatten)]
    image: &'a Image,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_mirror: Option<bool>,
}

/// How many uses a text line lists before "+N more".
const USES_SHOWN: usize = 3;

pub fn print(images: &[Image], index: Option<&ImageIndex>, format: Format) -> Result<()> {
    let in_mirror = |i: &Image| index.map(|x| x.images.iter().any(|e| e.reference == i.reference));
    match format {
        Format::Json | Format::Yaml => {
            let views: Vec<ImageView> = images
                .iter()
                .map(|image| ImageView {
                    image,
                    in_mirror: in_mirror(image),
                })
                .collect();
            println!("{}", super::document(format, &views)?);
        }
        Format::Text => {
            for i in images {
                let phase = i.uses.iter().map(|u| u.phase).min().unwrap_or_default();
                let status = match (&i.not_preloadable, in_mirror(i)) {
                    (Some(_), _) => "NOT PRELOADABLE",
                    (None, Some(true)) => "in mirror",
                    (None, Some(false)) => "MISSING from mirror",
                    (None, None) => "preloadable",
                };
                println!("phase {phase}  {}  {status}", i.reference);
                for u in i.uses.iter().take(USES_SHOWN) {
                    println!(
                        "    {} ({} {}, {}, {})",
                        u.object,
                        container_word(&u.container),
                        u.container,
                        u.path,
                        u.pull_policy
                    );
                }
                if i.uses.len() > USES_SHOWN {
                    println!("    +{} more", i.uses.len() - USES_SHOWN);
                }
                if let Some(why) = &i.not_preloadable {
                    println!("    not preloadable: {why}");
                }
            }
            let n = images.iter().filter(|i| i.not_preloadable.is_none()).count();
            println!("{} images, {n} preloadable", images.len());
            if let Some(x) = index {
                let missing = images
                    .iter()
                    .filter(|i| i.not_preloadable.is_none() && in_mirror(i) == Some(false))
                    .count();
                println!(
                    "mirror: {} archives; {missing} preloadable images missing (the nodes will pull them)",
                    x.images.len()
                );
            }
        }
    }
    Ok(())
}

fn container_word(c: &str) -> &'static str {
    if c.starts_with('-') {
        "flag"
    } else {
        "container"
    }
}
