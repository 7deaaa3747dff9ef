//! `kindops fetch`: each artifact written, then how to use the mirror.

use crate::upstream::Resolved;
use std::path::Path;

pub fn print(done: &[Resolved], into: &Path) {
    for r in done {
        println!("{}/{}  sha256 {}  ({})", r.pin.name, r.pin.file, r.sha256, r.origin);
    }
    println!(
        "{} artifacts in {}; use --mirror {}",
        done.len(),
        into.display(),
        into.display()
    );
}
