//! A phase file's text, as `kindops::plan::parse_phase` reads it.
//!
//! Input: the first byte picks the phase the file name says (`b'0' + N`
//! reads as phase N, any byte works), the rest is the file's text (lossy UTF-8:
//! a file that is not UTF-8 is refused before parsing, by `read_to_string`).
//! Properties (a violation panics, so libFuzzer keeps the input):
//! - no panic inside the parser;
//! - an `Ok` phase has the expected number and at least one step;
//! - an error names the file and holds to `kindops::yaml_error::check_shown`
//!   (one line, bounded, position inside the file);
//! - when the YAML does not deserialize, the error carries serde_yaml's
//!   position, and goes without one only where serde_yaml has none.
#![no_main]

use kindops::content::Content;
use kindops::plan::{parse_phase, Phase, MAX_PHASE};
use kindops::yaml_error::{check_shown, NO_POSITION};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "phases/phase-x.yaml";

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let expect = first.wrapping_sub(b'0') % (MAX_PHASE + 1);
    let text = String::from_utf8_lossy(rest);
    match parse_phase(FILE, &text, expect, &Content::embedded()) {
        Ok(phase) => {
            assert_eq!(phase.phase, expect);
            assert!(!phase.steps.is_empty());
            assert_eq!(phase.source, FILE);
        }
        Err(e) => {
            let shown = e.to_string();
            assert_eq!(e.file, FILE);
            assert_eq!(e.line.is_some(), e.column.is_some(), "{shown}");
            if let Err(why) = check_shown(&shown, FILE, &text) {
                panic!("{why}");
            }
            if let Err(yaml) = serde_yaml::from_str::<Phase>(&text) {
                match yaml.location() {
                    Some(_) => assert!(
                        e.line.is_some(),
                        "serde_yaml has a position, kindops shows none: {shown}"
                    ),
                    None => assert!(e.line.is_none() && shown.ends_with(NO_POSITION), "{shown}"),
                }
            }
        }
    }
});
