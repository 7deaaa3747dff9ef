//! Unit tests of `config.rs`: parsing, the checks named at their line,
//! relative paths, the schema.

use super::*;

fn err(text: &str) -> String {
    parse("kindops.yaml", text).unwrap_err()
}

/// A value that parses but [`check`] refuses.
#[test]
fn upstream_mirrors_are_checked_at_their_line() {
    let s = parse(
        "kindops.yaml",
        "upstreamMirrors:\n  docker.io: https://mirror.corp:5000\n",
    )
    .unwrap();
    assert_eq!(
        s.upstream_mirrors,
        Some([("docker.io".to_string(), "https://mirror.corp:5000".to_string())].into())
    );
    let e = checked("cluster: a\nupstreamMirrors: {example.com: https://m}\n");
    assert!(
        e.starts_with("kindops.yaml:2: upstreamMirrors: `example.com` has no cache"),
        "{e}"
    );
}

/// `products` are read from the file's folder; a folder that is not a
/// product is named at the key's line.
#[test]
fn product_folders_are_relative_to_the_file_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tea/menu")).unwrap();
    std::fs::write(dir.path().join("tea/menu/cm.yaml"), "kind: ConfigMap\n").unwrap();
    let file = dir.path().join(FILE_NAME);
    std::fs::write(&file, "products: [tea]\n").unwrap();
    let loaded = load(&file).unwrap();
    assert_eq!(loaded.settings.products, Some(vec![dir.path().join("tea")]));
    std::fs::write(&file, "cluster: a\nproducts:\n  - tea\n  - nowhere\n").unwrap();
    let e = load(&file).unwrap_err();
    assert!(
        e.starts_with(&format!(
            "{}:2: products: product folder {}",
            file.display(),
            dir.path().join("nowhere").display()
        )),
        "{e}"
    );
}

fn checked(text: &str) -> String {
    let loaded = Loaded {
        path: "kindops.yaml".into(),
        text: text.into(),
        settings: parse("kindops.yaml", text).unwrap(),
    };
    check(&loaded).unwrap_err()
}

#[test]
fn every_key_reads_and_bad_values_name_file_line_and_column() {
    let s = parse(
        "kindops.yaml",
        "cluster: workshop\nuiPort: 9090\nregistry: false\ntimeout: 90s\nonConflict: keep-mine\n",
    )
    .unwrap();
    assert_eq!(s.cluster.as_deref(), Some("workshop"));
    assert_eq!(s.ui_port, Some(9090));
    assert_eq!(s.registry, Some(false));
    assert_eq!(s.timeout, Some(std::time::Duration::from_secs(90)));
    assert_eq!(s.on_conflict, Some(OnConflict::KeepMine));

    let e = err("cluster: workshop\nuiPort: 99999\n");
    assert!(
        e.starts_with("kindops.yaml:2:9: uiPort: invalid value: integer `99999`"),
        "{e}"
    );
    let s = parse("kindops.yaml", "addons: [argo-rollouts, external-secrets]\n").unwrap();
    assert_eq!(
        s.addons,
        Some(vec!["argo-rollouts".to_string(), "external-secrets".to_string()])
    );
    let e = checked("cluster: a\naddons:\n  - metric-server\n");
    assert_eq!(
        e,
        "kindops.yaml:2: addons: `metric-server` is not an add-on (did you mean `metrics-server`?); the add-ons are external-secrets, argo-rollouts, metrics-server"
    );
    let s = parse("kindops.yaml", "workers: 2\n").unwrap();
    assert_eq!(s.workers, Some(2));
    let e = checked("cluster: a\nworkers: 12\n");
    assert_eq!(
        e,
        "kindops.yaml:2: workers: 12 workers: give 0 to 9 (each is a node container of ~1 GiB)"
    );
    let e = err("timeout: soon\n");
    assert!(e.starts_with("kindops.yaml:1:"), "{e}");
    assert!(e.contains("timeout \"soon\"") && e.contains("90s"), "{e}");
    let e = checked("cluster: a\n\nregistryPort: 0\n");
    assert_eq!(e, "kindops.yaml:3: registryPort: port 0: give a port from 1 to 65535");
    let e = err("onConflict: mine\n");
    assert!(e.starts_with("kindops.yaml:1:") && e.contains("keep-mine"), "{e}");
    let e = err("cluster: [a\n");
    assert!(e.starts_with("kindops.yaml:"), "{e}");
    crate::yaml_error::check_shown(&e, "kindops.yaml", "cluster: [a\n").unwrap();
}

#[test]
fn an_unknown_key_names_the_closest_known_one() {
    let e = err("cluster: a\nuiport: 9090\n");
    assert!(
        e.starts_with("kindops.yaml:2:1: unknown key `uiport` (did you mean `uiPort`?)"),
        "{e}"
    );
    let e = err("node_image: kindest/node\n");
    assert!(e.contains("(did you mean `nodeImage`?)"), "{e}");
    let e = err("flavour: mint\n");
    assert!(
        e.contains("unknown key `flavour`.") && !e.contains("did you mean"),
        "{e}"
    );
}

/// The published JSON Schema lists exactly [`KEYS`], and forbids others.
#[test]
fn the_schema_lists_every_key() {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    let mut listed: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    listed.sort();
    let mut keys: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
    keys.sort();
    assert_eq!(listed, keys);
    assert_eq!(schema["additionalProperties"], false);
}

#[test]
fn a_key_is_placed_on_its_line() {
    let l = Loaded {
        path: "k/kindops.yaml".into(),
        text: "# a comment\ncluster: a\nuiPort : 1\n".into(),
        settings: Settings::default(),
    };
    assert_eq!(l.place_of("cluster"), "k/kindops.yaml:2");
    assert_eq!(l.place_of("uiPort"), "k/kindops.yaml:3");
    assert_eq!(l.place_of("mirror"), "k/kindops.yaml");
}
