//! Unit tests of pins, the cache and the mirror (`super`), fuzz regressions included.

use super::*;

#[test]
fn pins_parse_and_are_unique() {
    let p = pins();
    assert!(p.len() >= 8);
    let mut files: Vec<_> = p.iter().map(|p| format!("{}/{}", p.name, p.file)).collect();
    files.sort();
    files.dedup();
    assert_eq!(files.len(), p.len());
    for pin in &p {
        if let Some(s) = &pin.sha256 {
            assert_eq!(s.len(), 64, "{}", pin.name);
        }
    }
}

#[tokio::test]
async fn mirror_dir_checks_checksum_and_names_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let pin = Pin {
        name: "demo".into(),
        version: "v1".into(),
        file: "install.yaml".into(),
        url: "https://example.invalid/install.yaml".into(),
        sha256: Some("0".repeat(64)),
        unpack: None,
    };
    std::fs::create_dir_all(dir.path().join("demo")).unwrap();
    std::fs::write(dir.path().join("demo/install.yaml"), b"kind: List\n").unwrap();
    let up = Upstream {
        mirror: Some(Mirror::Dir(dir.path().into())),
        cache_dir: cache.path().into(),
    };
    let err = up.resolve(&pin).await.unwrap_err().to_string();
    let actual = sha256_file(&dir.path().join("demo/install.yaml")).unwrap();
    assert!(
        err.contains(&"0".repeat(64)) && err.contains(&actual) && err.contains("install.yaml"),
        "{err}"
    );
    // Correct pin resolves.
    let ok = Pin {
        sha256: Some(actual.clone()),
        ..pin.clone()
    };
    assert_eq!(up.resolve(&ok).await.unwrap().sha256, actual);
    // Missing file names the path.
    let missing = Pin {
        file: "nope.yaml".into(),
        ..ok
    };
    let err = up.resolve(&missing).await.unwrap_err().to_string();
    assert!(err.contains("nope.yaml") && err.contains("kindops fetch"), "{err}");
}

#[tokio::test]
async fn unpinned_artifacts_are_trusted_on_first_use_only() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let pin = Pin {
        name: "demo".into(),
        version: "v1".into(),
        file: "a.yaml".into(),
        url: "https://example.invalid/a.yaml".into(),
        sha256: None,
        unpack: None,
    };
    std::fs::create_dir_all(dir.path().join("demo")).unwrap();
    std::fs::write(dir.path().join("demo/a.yaml"), b"one\n").unwrap();
    let up = Upstream {
        mirror: Some(Mirror::Dir(dir.path().into())),
        cache_dir: cache.path().into(),
    };
    up.resolve(&pin).await.unwrap();
    std::fs::write(dir.path().join("demo/a.yaml"), b"two\n").unwrap();
    let err = up.resolve(&pin).await.unwrap_err().to_string();
    assert!(err.contains("checksum mismatch"), "{err}");
}

#[tokio::test]
async fn fetch_records_hashes_and_the_mirror_checks_them_for_unpublished_pins() {
    let src = tempfile::tempdir().unwrap();
    let into = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let pin = Pin {
        name: "demo".into(),
        version: "v1".into(),
        file: "a.yaml".into(),
        url: "https://example.invalid/a.yaml".into(),
        sha256: None,
        unpack: None,
    };
    std::fs::create_dir_all(src.path().join("demo")).unwrap();
    std::fs::write(src.path().join("demo/a.yaml"), b"one\n").unwrap();
    let from = Upstream {
        mirror: Some(Mirror::Dir(src.path().into())),
        cache_dir: cache.path().into(),
    };
    from.fill_mirror(std::slice::from_ref(&pin), into.path()).await.unwrap();
    let record = std::fs::read_to_string(into.path().join("demo/a.yaml.sha256")).unwrap();
    assert!(
        record.starts_with(&sha256_file(&src.path().join("demo/a.yaml")).unwrap()),
        "{record}"
    );
    // A learner's machine (empty cache) reading a damaged copy of that mirror.
    std::fs::write(into.path().join("demo/a.yaml"), b"on").unwrap();
    let learner = Upstream {
        mirror: Some(Mirror::Dir(into.path().into())),
        cache_dir: tempfile::tempdir().unwrap().path().into(),
    };
    let err = learner.resolve(&pin).await.unwrap_err().to_string();
    assert!(
        err.contains("checksum mismatch") && err.contains("a.yaml.sha256"),
        "{err}"
    );
}

/// An input a fuzz run found (`tests/fuzz/regressions/pins_file/NAME`), as
/// the `pins_file` target reads it, and its error line, checked against
/// what every error line guarantees (`crate::yaml_error`).
fn fuzz_error_line(name: &str) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions/pins_file")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8_lossy(&data).into_owned();
    let shown = format!("{:#}", parse_pins_str(FILE, &text).expect_err("an error"));
    if let Err(why) = crate::yaml_error::check_shown(&shown, FILE, &text) {
        panic!("{name}: {why}");
    }
    (text, shown)
}

const FILE: &str = "/tmp/pins dir/pins.yaml";

#[test]
fn every_fuzz_regression_holds_the_error_guarantees() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/regressions/pins_file");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        fuzz_error_line(entry.unwrap().file_name().to_str().unwrap());
        n += 1;
    }
    assert!(n >= 2, "{n} regressions");
}

// Found by `cargo fuzz` (target pins_file): libyaml puts the end of a file
// with no final line break on a line after the last one.
#[test]
fn fuzz_eof_in_simple_key_is_inside_the_file() {
    let (_, shown) = fuzz_error_line("eof-in-simple-key");
    assert!(shown.starts_with(&format!("{FILE}:3:")), "{shown}");
    // Said once, in front; libyaml's context stays.
    assert!(!shown.contains("at line 4 column 1"), "{shown}");
    assert!(
        shown.contains("while scanning a simple key at line 3 column 3"),
        "{shown}"
    );
}

// Found by `cargo fuzz`: a document that is one long string came back whole.
#[test]
fn fuzz_long_string_is_cut_not_echoed() {
    let (text, shown) = fuzz_error_line("long-string-echoed");
    assert!(text.len() > 600 && shown.chars().count() < 500, "{shown}");
    assert!(
        shown.contains(" … ") && shown.contains("expected a sequence. A pins file is"),
        "{shown}"
    );
}

#[test]
fn parse_pins_reads_the_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pins.yaml");
    std::fs::write(&path, PINS).unwrap();
    assert_eq!(parse_pins(&path).unwrap(), pins());
    std::fs::write(
        &path,
        "- name: a\n  version: v1\n  file: f\n  url: u\n  sha256: null\n  size: 3\n",
    )
    .unwrap();
    let e = format!("{:#}", parse_pins(&path).unwrap_err());
    assert!(
        e.starts_with(&format!("{}:6:3: .[0]: unknown field `size`", path.display())),
        "{e}"
    );
    std::fs::write(&path, b"- \xff\n").unwrap();
    let e = format!("{:#}", parse_pins(&path).unwrap_err());
    assert!(
        e.starts_with(&format!("reading the pins file {}", path.display())),
        "{e}"
    );
}

#[test]
fn image_entries_are_kept_apart_from_artifacts_and_checked() {
    let images = image_pins();
    assert!(images.iter().any(|i| i.name == "registry"), "{images:?}");
    assert!(pins().iter().all(|p| p.name != "registry"));
    let bad = "- name: r\n  version: v1\n  image: a/b:1\n  file: f\n  url: u\n";
    let e = format!("{:#}", parse_pins_str(FILE, bad).unwrap_err());
    assert!(e.contains("an image entry (`image:`) has no `file`"), "{e}");
    crate::yaml_error::check_shown(&e, FILE, bad).unwrap();
    let neither = "- name: r\n  version: v1\n  url: u\n";
    let e = format!("{:#}", parse_pins_str(FILE, neither).unwrap_err());
    assert!(e.contains("missing field `file`"), "{e}");
}
