//! A pins file's text (`--pins FILE`), as `kindops::upstream::parse_pins_str`
//! reads it (`parse_pins` reads the file and calls it).
//!
//! Input: the file's text (lossy UTF-8: a file that is not UTF-8 is refused
//! before parsing, by `read_to_string`, with the file's name).
//! Properties (a violation panics, so libFuzzer keeps the input):
//! - no panic inside the parser;
//! - an error names the file and holds to `kindops::yaml_error::check_shown`
//!   (one line, bounded, position inside the file);
//! - when the YAML does not deserialize, the error carries serde_yaml's
//!   position, and goes without one only where serde_yaml has none.
#![no_main]

use kindops::upstream::{parse_pins_str, Pin};
use kindops::yaml_error::{check_shown, NO_POSITION};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "/tmp/pins dir/pins.yaml";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = parse_pins_str(FILE, &text) {
        // `{:#}`: the whole chain, as `kindops` prints an error.
        let shown = format!("{e:#}");
        let position = match check_shown(&shown, FILE, &text) {
            Ok(p) => p,
            Err(why) => panic!("{why}"),
        };
        if let Err(yaml) = serde_yaml::from_str::<Vec<Pin>>(&text) {
            match yaml.location() {
                Some(_) => assert!(
                    position.is_some(),
                    "serde_yaml has a position, kindops shows none: {shown}"
                ),
                None => assert!(position.is_none() && shown.contains(NO_POSITION), "{shown}"),
            }
        }
    }
});
