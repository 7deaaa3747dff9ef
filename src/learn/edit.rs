//! The lessons' edits of a kustomization (`kustomization.yaml`), through
//! serde_yaml: a JSON 6902 patch entry marked as the lesson's, an extra
//! resource file, and taking either back. Kustomize's fields
//! (`patches[].target`/`patch`, `resources[]`) as in
//! sigs.k8s.io/kustomize/api `types/kustomization.go`.

use serde_yaml::{Mapping, Value};

/// Marks a patch a lesson added (a YAML comment inside the patch text, which
/// kustomize ignores), so `--undo` finds it and nothing else.
pub fn marker(lesson: u8) -> String {
    format!("# kindops learn {lesson}")
}

fn parse(text: &str) -> Result<Mapping, String> {
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(_) => Err("not a mapping".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn dump(m: &Mapping) -> Result<String, String> {
    serde_yaml::to_string(m).map_err(|e| e.to_string())
}

/// Adds a JSON 6902 `replace` of `path` by `value` on Rollout `app` (the
/// mini-service base's name, before the overlay's `namePrefix`), marked as
/// lesson `lesson`'s.
///
/// Errors: the text is not a YAML mapping (serde_yaml's message).
pub fn add_replace_patch(text: &str, lesson: u8, path: &str, value: Value) -> Result<String, String> {
    let mut m = parse(text)?;
    let ops = serde_yaml::to_string(&vec![
        serde_json::json!({"op": "replace", "path": path, "value": value}),
    ])
    .map_err(|e| e.to_string())?;
    let mut entry = Mapping::new();
    let mut target = Mapping::new();
    target.insert("kind".into(), "Rollout".into());
    target.insert("name".into(), "app".into());
    entry.insert("target".into(), Value::Mapping(target));
    entry.insert("patch".into(), Value::String(format!("{}\n{ops}", marker(lesson))));
    let patches = m.entry("patches".into()).or_insert_with(|| Value::Sequence(vec![]));
    match patches {
        Value::Sequence(s) => s.push(Value::Mapping(entry)),
        _ => return Err("`patches` is not a list".into()),
    }
    dump(&m)
}

/// Adds `file` to `resources`.
///
/// Errors: the text is not a YAML mapping, or `resources` not a list.
pub fn add_resource(text: &str, file: &str) -> Result<String, String> {
    let mut m = parse(text)?;
    match m.entry("resources".into()).or_insert_with(|| Value::Sequence(vec![])) {
        Value::Sequence(s) => s.push(file.into()),
        _ => return Err("`resources` is not a list".into()),
    }
    dump(&m)
}

/// Takes back lesson `lesson`'s patches and the resource `file` (if given).
/// Returns None when there was nothing of the lesson's in it (the text stays
/// as it is, comments and all).
///
/// Errors: the text is not a YAML mapping.
pub fn strip(text: &str, lesson: u8, file: Option<&str>) -> Result<Option<String>, String> {
    let mut m = parse(text)?;
    let mark = marker(lesson);
    let mut removed = false;
    if let Some(Value::Sequence(s)) = m.get_mut("patches") {
        let before = s.len();
        s.retain(|p| {
            !p.get("patch")
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains(&mark))
        });
        removed |= s.len() != before;
        if s.is_empty() {
            m.remove("patches");
        }
    }
    if let (Some(f), Some(Value::Sequence(s))) = (file, m.get_mut("resources")) {
        let before = s.len();
        s.retain(|r| r.as_str() != Some(f));
        removed |= s.len() != before;
    }
    Ok(if removed { Some(dump(&m)?) } else { None })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CART: &str = include_str!("../../manifests/gitops/apps/coffee/cart/kustomization.yaml");

    #[test]
    fn a_marked_patch_is_added_and_taken_back_alone() {
        let changed = add_replace_patch(CART, 1, "/spec/replicas", 2.into()).unwrap();
        let m: Value = serde_yaml::from_str(&changed).unwrap();
        let patches = m["patches"].as_sequence().unwrap();
        assert_eq!(patches.len(), 2, "the overlay's own patch stays: {changed}");
        let ours = patches[1]["patch"].as_str().unwrap();
        assert!(ours.starts_with("# kindops learn 1\n"), "{ours}");
        let ops: Value = serde_yaml::from_str(ours).unwrap();
        assert_eq!(ops[0]["path"], "/spec/replicas");
        assert_eq!(ops[0]["value"], 2);
        assert_eq!(patches[1]["target"]["name"], "app");
        let back = strip(&changed, 1, None).unwrap().unwrap();
        let a: Value = serde_yaml::from_str(&back).unwrap();
        let b: Value = serde_yaml::from_str(CART).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            strip(CART, 1, None).unwrap(),
            None,
            "nothing of the lesson's: unchanged"
        );
        assert_eq!(
            strip(&changed, 5, None).unwrap(),
            None,
            "another lesson's mark is left alone"
        );
    }

    #[test]
    fn a_resource_is_added_and_taken_back() {
        let changed = add_resource(CART, "broken.yaml").unwrap();
        let m: Value = serde_yaml::from_str(&changed).unwrap();
        let before: Value = serde_yaml::from_str(CART).unwrap();
        let n = before["resources"].as_sequence().unwrap().len();
        assert_eq!(m["resources"].as_sequence().unwrap().len(), n + 1);
        assert_eq!(m["resources"][n], "broken.yaml");
        let back = strip(&changed, 5, Some("broken.yaml")).unwrap().unwrap();
        assert_eq!(
            serde_yaml::from_str::<Value>(&back).unwrap(),
            serde_yaml::from_str::<Value>(CART).unwrap()
        );
        assert!(add_resource("- a\n", "x").is_err());
    }
}
