//! Unit tests of the phase-file parser (`super`), fuzz regressions included.

use super::*;

fn content() -> Content {
    Content::embedded()
}

#[test]
fn embedded_phases_parse_and_validate() {
    let plan = Plan::load(&PhaseSource::Embedded, &content()).unwrap();
    assert_eq!(plan.phases.len(), 5);
    for (i, p) in plan.phases.iter().enumerate() {
        assert_eq!(p.phase as usize, i);
        assert!(!p.explain.trim().is_empty(), "phase {i} has no explanation");
    }
    assert!(matches!(plan.phases[0].steps[0], Step::Preflight {}));
}

#[test]
fn unknown_step_type_names_file_and_line() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: apply\n    path: platform/argo-cd\n  - type: run-shell\n    cmd: rm -rf /\n";
    let e = parse_phase("phases/phase-1.yaml", text, 1, &content()).unwrap_err();
    assert_eq!(e.file, "phases/phase-1.yaml");
    assert!(e.message.contains("run-shell"), "{e}");
    assert!(e.line.is_some(), "{e}");
}

#[test]
fn missing_field_is_an_error() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: apply\n";
    let e = parse_phase("x.yaml", text, 1, &content()).unwrap_err();
    assert!(e.message.contains("path"), "{e}");
}

#[test]
fn unknown_field_is_an_error() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: apply\n    path: platform/argo-cd\n    pathh: x\n";
    let e = parse_phase("x.yaml", text, 1, &content()).unwrap_err();
    assert!(e.message.contains("pathh"), "{e}");
}

#[test]
fn bad_reference_names_the_line() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: apply\n    path: platform/nope\n";
    let e = parse_phase("x.yaml", text, 1, &content()).unwrap_err();
    assert_eq!((e.line, e.column), (Some(6), Some(11)), "{e}");
    assert!(e.message.contains("platform/nope"));
}

#[test]
fn bad_duration_and_wrong_number() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: wait-rollouts\n    namespaces: [argocd]\n    timeout: soon\n";
    let e = parse_phase("x.yaml", text, 1, &content()).unwrap_err();
    assert!(e.message.contains("bad duration"), "{e}");
    let text = "phase: 2\ntitle: t\nexplain: e\nsteps:\n  - type: note\n    text: hi\n";
    let e = parse_phase("x.yaml", text, 1, &content()).unwrap_err();
    assert!(e.message.contains("phase 2"), "{e}");
    assert_eq!(e.line, Some(1));
}

/// An input a fuzz run found (`tests/fuzz/regressions/phase_file/NAME`),
/// read as the `phase_file` target reads it: the phase the file name says
/// (first byte, `b'0' + N`), then the text.
fn fuzz_input(name: &str) -> (u8, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions/phase_file")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (first, rest) = data.split_first().expect("a byte for the phase");
    (
        first.wrapping_sub(b'0') % (MAX_PHASE + 1),
        String::from_utf8_lossy(rest).into_owned(),
    )
}

const FILE: &str = "phases/phase-x.yaml";

/// The error line for `text`, checked against what every error line guarantees.
fn error_line(text: &str, expect: u8) -> (PlanError, String) {
    let e = parse_phase(FILE, text, expect, &content()).expect_err("an error");
    let shown = e.to_string();
    if let Err(why) = crate::yaml_error::check_shown(&shown, FILE, text) {
        panic!("{why}");
    }
    (e, shown)
}

#[test]
fn every_fuzz_regression_holds_the_error_guarantees() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/regressions/phase_file");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let (expect, text) = fuzz_input(entry.unwrap().file_name().to_str().unwrap());
        error_line(&text, expect);
        n += 1;
    }
    assert!(n >= 4, "{n} regressions");
}

// Found by `cargo fuzz` (target phase_file): libyaml puts the end of a file
// with no final line break on a line after the last one.
#[test]
fn fuzz_eof_in_comment_is_the_end_of_the_last_line() {
    let (expect, text) = fuzz_input("eof-in-comment");
    assert_eq!(text, "#");
    let (e, shown) = error_line(&text, expect);
    assert_eq!((e.line, e.column), (Some(1), Some(2)), "{shown}");
}

#[test]
fn fuzz_eof_in_simple_key_is_inside_the_file() {
    let (expect, text) = fuzz_input("eof-in-simple-key");
    let (e, shown) = error_line(&text, expect);
    assert_eq!(e.line, Some(2), "{shown}");
    assert!(shown.contains("could not find expected ':'"), "{shown}");
    // libyaml's context (where the key started) stays in the message.
    assert!(
        shown.contains("while scanning a simple key at line 2 column 1"),
        "{shown}"
    );
}

// Found by `cargo fuzz`: a tab (and so any control character or line
// break) inside an unknown key was copied into the error line.
#[test]
fn fuzz_tab_in_unknown_field_is_escaped() {
    let (expect, text) = fuzz_input("tab-in-unknown-field");
    let (_, shown) = error_line(&text, expect);
    assert!(!shown.contains('\t') && shown.contains("\\t"), "{shown}");
    assert!(shown.contains("expected one of `phase`"), "{shown}");
}

// Found by `cargo fuzz`: a document that is one long string came back whole
// in "invalid type: string ...".
#[test]
fn fuzz_long_string_is_cut_not_echoed() {
    let (expect, text) = fuzz_input("long-string-echoed");
    let (_, shown) = error_line(&text, expect);
    assert!(shown.chars().count() < 400, "{shown}");
    assert!(
        shown.contains(" … ") && shown.ends_with("expected struct Phase"),
        "{shown}"
    );
}

// Found by hand while writing the targets (same properties).
#[test]
fn line_breaks_in_a_value_are_escaped() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: \"a\\nb\"\n";
    let (e, shown) = error_line(text, 1);
    assert_eq!((e.line, e.column), (Some(5), Some(11)), "{shown}");
    assert!(shown.contains("unknown variant `a\\nb`"), "{shown}");
}

#[test]
fn a_control_character_is_placed_by_its_offset_not_at_1_1() {
    // serde_yaml gives libyaml's reader errors the position 1:1 and says
    // "at position 17" (a byte offset) in the message.
    let (e, shown) = error_line("phase: 1\ntitle: t\u{1}\n", 1);
    assert_eq!((e.line, e.column), (Some(2), Some(9)), "{shown}");
    assert_eq!(e.message, "control characters are not allowed");
}

#[test]
fn more_than_one_document_says_it_has_no_position() {
    let text = "phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: note\n    text: hi\n---\nphase: 2\n";
    let (e, shown) = error_line(text, 1);
    assert_eq!(e.line, None);
    assert!(
        shown.starts_with(&format!("{FILE}: more than one YAML document")),
        "{shown}"
    );
    assert!(shown.ends_with(crate::yaml_error::NO_POSITION), "{shown}");
}

#[test]
fn checks_after_parsing_point_at_the_value_they_refuse() {
    let head = "phase: 1\ntitle: Argo\nexplain: e\nsteps:\n";
    // An empty namespace was placed at 1:1, `Argo` at the title that says Argo.
    for (ns, at) in [("''", (7, 16)), ("Argo", (7, 16)), ("\"x\\ny\"", (7, 16))] {
        let text = format!("{head}  - type: apply\n    path: platform/argo-cd\n    namespace: {ns}\n");
        let (e, shown) = error_line(&text, 1);
        assert_eq!((e.line, e.column), (Some(at.0), Some(at.1)), "{shown}");
        assert!(shown.contains("not a valid namespace name"), "{shown}");
    }
    // The second wait-applications step is the bad one, not the first.
    let text = format!(
        "{head}  - type: wait-applications\n    applications: [a]\n  - type: wait-applications\n    timeout: 5m\n"
    );
    let (e, shown) = error_line(&text, 1);
    assert_eq!((e.line, e.column), (Some(7), Some(5)), "{shown}");
    let text = format!("{head}  - type: wait-rollouts\n    namespaces:\n      - argocd\n      - Argo\n");
    let (e, shown) = error_line(&text, 1);
    assert_eq!((e.line, e.column), (Some(8), Some(9)), "{shown}");
    // A quoted key is found too.
    let (e, shown) = error_line(
        "\"phase\": 2\ntitle: t\nexplain: e\nsteps:\n  - type: note\n    text: hi\n",
        1,
    );
    assert_eq!((e.line, e.column), (Some(1), Some(10)), "{shown}");
    let (e, shown) = error_line("phase: 1\ntitle: t\nexplain: e\nsteps: []\n", 1);
    assert_eq!((e.line, e.column), (Some(4), Some(8)), "{shown}");
}

#[test]
fn a_long_apply_path_is_cut() {
    let long = "x".repeat(500);
    let text = format!("phase: 1\ntitle: t\nexplain: e\nsteps:\n  - type: apply\n    path: \"{long}\"\n");
    let (e, shown) = error_line(&text, 1);
    assert_eq!((e.line, e.column), (Some(6), Some(11)), "{shown}");
    assert!(shown.contains("known top-level paths: apps"), "{shown}");
}

#[test]
fn seed_secrets_names_a_missing_apps_path_and_a_bad_namespace() {
    let head = "phase: 3\ntitle: t\nexplain: e\nsteps:\n  - type: seed-secrets\n";
    let text =
        format!("{head}    namespace: team-secrets\n    apps: apps/nope\n    prefix: coffee-\n    key: api-key\n");
    let e = parse_phase("x.yaml", &text, 3, &content()).unwrap_err();
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("apps/nope"), "{e}");
    let text = format!("{head}    namespace: Team\n    apps: apps/coffee\n    prefix: coffee-\n    key: api-key\n");
    let e = parse_phase("x.yaml", &text, 3, &content()).unwrap_err();
    assert!(e.message.contains("not a valid namespace name"), "{e}");
    let text =
        format!("{head}    namespace: team-secrets\n    apps: apps/coffee\n    prefix: coffee-\n    key: api-key\n");
    let p = parse_phase("x.yaml", &text, 3, &content()).unwrap();
    assert_eq!(
        p.steps[0].label(),
        "seed the secret store team-secrets for apps/coffee/*"
    );
}
