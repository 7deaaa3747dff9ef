//! `just arch` (part of `just lint`): the import graph of `src/`, module by
//! module (a file, or a folder's `mod.rs`), read from the source text
//! (`crate::a::b`, `super::x`, `use super::{a, b}`; test-only files
//! `*_tests.rs`, `tests.rs` and `fixtures.rs` left out: tests may reach up).
//! It fails when an import circle joins modules that were not in a circle
//! when it was written (the circles of `tests/it/architecture-circles.txt`,
//! which issue 20's restructuring is to empty; a module that leaves them is
//! reported so the file can shrink). No test bed needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`cluster::wait::pods`) of a source file under `src/`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib" || p == "main") {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Paths named after `crate::` or `super::` in `text` (brace groups of
/// `use` expanded one level), as segment lists relative to their anchor.
fn paths(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = vec![];
    for anchor in ["crate::", "super::"] {
        let mut rest = text;
        while let Some(i) = rest.find(anchor) {
            let before = rest[..i].chars().last();
            rest = &rest[i + anchor.len()..];
            if before.is_some_and(|c| is_ident(c) || c == ':') {
                continue; // `super::super::` is read from the first one; `kindops::crate` never
            }
            let mut segs = vec![];
            let mut s = rest;
            let mut supers = 0;
            loop {
                if let Some(group) = s.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(group.len());
                    for item in group[..end].split(',') {
                        let item: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                        if !item.is_empty() && item != "self" {
                            let mut v = segs.clone();
                            v.push(item);
                            out.push((format!("{anchor}{}", "super::".repeat(supers)), v));
                        }
                    }
                    segs.clear();
                    break;
                }
                let n = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
                if n == 0 {
                    break;
                }
                let seg = &s[..n];
                if seg == "super" && segs.is_empty() {
                    supers += 1;
                } else {
                    segs.push(seg.to_string());
                }
                s = &s[n..];
                match s.strip_prefix("::") {
                    Some(t) => s = t,
                    None => break,
                }
            }
            if !segs.is_empty() {
                out.push((format!("{anchor}{}", "super::".repeat(supers)), segs));
            }
        }
    }
    out
}

/// The import graph: module → modules it names (the longest known prefix).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = vec![];
    rust_files(src, &mut files);
    let test_only = |p: &Path| {
        let n = p.file_name().unwrap().to_string_lossy();
        n.ends_with("_tests.rs") || n == "tests.rs" || n == "fixtures.rs" || n == "main.rs"
    };
    let modules: BTreeMap<String, PathBuf> = files
        .iter()
        .filter(|f| !test_only(f))
        .map(|f| (module_of(src, f), f.clone()))
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, f) in &modules {
        let text = std::fs::read_to_string(f).unwrap();
        // Code under `#[cfg(test)]` at the end of a file (its unit tests) may reach anywhere.
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        // Comments (docs name modules they do not import) are not read.
        let text: String = text
            .lines()
            .map(|l| match l.find("//") {
                Some(i) if i == 0 || l[..i].ends_with(|c: char| c.is_whitespace()) => &l[..i],
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let text = text.as_str();
        let here: Vec<&str> = if m.is_empty() { vec![] } else { m.split("::").collect() };
        let edges = g.entry(m.clone()).or_default();
        for (anchor, segs) in paths(text) {
            let base: Vec<String> = if anchor.starts_with("crate::") {
                vec![]
            } else {
                // `super` is the parent module (`a::b` for `a::b::c`, whether
                // `c` is a file or a folder's mod.rs).
                let ups = anchor.matches("super::").count();
                here[..here.len().saturating_sub(ups)]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            };
            let full: Vec<String> = base.into_iter().chain(segs).collect();
            let target = (1..=full.len())
                .rev()
                .map(|n| full[..n].join("::"))
                .find(|p| modules.contains_key(p));
            if let Some(t) = target {
                if &t != m && !m.starts_with(&format!("{t}::")) {
                    edges.insert(t);
                }
            }
        }
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                c.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                t.out.push(c);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        out: vec![],
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_new_import_circle_in_src() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let g = graph(&root.join("src"));
    assert!(
        g.contains_key("engine::step") && g["engine::step"].contains("cluster::apply"),
        "{g:#?}"
    );
    let found = circles(&g);
    let known: BTreeSet<String> = std::fs::read_to_string(root.join("tests/it/architecture-circles.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.trim().to_string())
        .collect();
    let now: BTreeSet<String> = found.iter().flatten().cloned().collect();
    for c in &found {
        eprintln!("circle: {}", c.iter().cloned().collect::<Vec<_>>().join(" ↔ "));
    }
    let new: Vec<&String> = now.difference(&known).collect();
    assert!(
        new.is_empty(),
        "modules newly in an import circle: {new:?}\n(circles: {found:#?})\nBreak the circle: a service must not import the step or command that uses it."
    );
    let left: Vec<&String> = known.difference(&now).collect();
    if !left.is_empty() {
        eprintln!("no longer in a circle (remove them from tests/it/architecture-circles.txt): {left:?}");
    }
}

/// Steps use services; nothing but the run loop (`engine`) and the steps
/// themselves reaches into `engine::steps` (issue 20's layout: a service is
/// used by steps, commands and lessons alike, so it cannot know a step).
#[test]
fn only_the_engine_imports_a_step() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let g = graph(&root.join("src"));
    assert!(
        g.contains_key("engine::steps::apply"),
        "{:?}",
        g.keys().collect::<Vec<_>>()
    );
    let mut wrong = vec![];
    for (m, to) in &g {
        if m == "engine" || m == "engine::steps" || m.starts_with("engine::steps::") {
            continue;
        }
        for t in to {
            if t == "engine::steps" || t.starts_with("engine::steps::") {
                wrong.push(format!("{m} -> {t}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules reaching into engine::steps: {wrong:?}\nMove what they need into a service (cluster/, docker/, gitsource/, render/, argocd/, registry/) that the step uses too."
    );
}

#[test]
fn the_reader_finds_paths_in_use_groups_and_relative_paths() {
    let p =
        paths("use super::{apply, git_source, Emitter};\nuse crate::cluster::wait::pods;\nlet x = crate::argocd::f();");
    let shown: Vec<String> = p.iter().map(|(a, s)| format!("{a}{}", s.join("::"))).collect();
    assert!(shown.contains(&"super::apply".to_string()), "{shown:?}");
    assert!(shown.contains(&"super::git_source".to_string()), "{shown:?}");
    assert!(shown.contains(&"crate::cluster::wait::pods".to_string()), "{shown:?}");
    assert!(shown.contains(&"crate::argocd::f".to_string()), "{shown:?}");
    let mut g = BTreeMap::new();
    g.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    g.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    g.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(circles(&g), vec![BTreeSet::from(["a".to_string(), "b".to_string()])]);
}

#[test]
#[ignore = "a developer's view: cargo test --test it -- --ignored --nocapture architecture::print"]
fn print_the_edges_out_of_each_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let g = graph(&root.join("src"));
    for c in circles(&g) {
        println!("circle of {}:", c.len());
        for m in &c {
            for t in &g[m] {
                if c.contains(t) {
                    println!("  {m} -> {t}");
                }
            }
        }
    }
}
