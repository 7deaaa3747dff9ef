//! `kindops completion bash|zsh|fish|powershell` (alias `completions`): the
//! scripts the real binary prints, loaded into the real shells where they
//! are installed (PowerShell is not, here). No test bed needed. Also
//! `kindops version`.

use crate::support;

use std::path::Path;
use std::process::Command;

use support::kindops::Kindops;

/// The script `kindops completions SHELL` prints, saved in `dir`.
fn script(shell: &str, dir: &Path) -> std::path::PathBuf {
    let run = Kindops::new().args(["completion", shell]).run();
    let text = run.assert_code(0).stdout();
    assert!(text.contains("kindops"), "{run}");
    let path = dir.join(format!("kindops.{shell}"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Bash: source the script, find the function `complete -p kindops`
/// registered, call it as bash's programmable completion does (COMP_WORDS,
/// COMP_CWORD, COMP_LINE, COMP_POINT; the function's compgen fills
/// COMPREPLY), and print what it offers for each line.
const BASH_DRIVER: &str = r#"
set -euo pipefail
source "$1"
spec=$(complete -p kindops)
fn=${spec#*-F }
fn=${fn%% *}
offer() {
    COMP_LINE="$1"
    COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<<"$COMP_LINE"
    if [[ "$COMP_LINE" == *" " ]]; then COMP_WORDS+=(""); fi
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMPREPLY=()
    local prev=""
    if (( COMP_CWORD > 0 )); then prev=${COMP_WORDS[COMP_CWORD-1]}; fi
    "$fn" kindops "${COMP_WORDS[COMP_CWORD]}" "$prev"
    echo "$COMP_LINE|${COMPREPLY[*]}"
}
echo "spec|$spec"
offer "kindops u"
offer "kindops up --ju"
offer "kindops completion "
offer "kindops up --output "
"#;

#[test]
fn bash_completes_subcommands_flags_and_values_from_the_cli_definition() {
    let dir = tempfile::tempdir().unwrap();
    let file = script("bash", dir.path());
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", BASH_DRIVER, "bash"])
        .arg(&file)
        .output()
        .expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let offered = |line: &str| -> Vec<String> {
        let found = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{line}|")))
            .unwrap_or_else(|| panic!("no answer for {line:?}: {text}"));
        found.split_whitespace().map(str::to_string).collect()
    };
    assert!(
        offered("spec").contains(&"-F".to_string()),
        "complete -p kindops: {text}"
    );
    assert_eq!(offered("kindops u"), vec!["up", "uninstall"]);
    assert_eq!(offered("kindops up --ju"), vec!["--junit"]);
    // clap's bash script offers the flags beside a positional's values.
    // (Values after the alias `completions` are not offered: clap's bash
    // script completes a subcommand's values under its name only.)
    let shells: Vec<String> = offered("kindops completion ")
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(shells, vec!["bash", "zsh", "fish", "powershell"]);
    assert_eq!(offered("kindops up --output "), vec!["text", "json", "yaml"]);
}

/// Zsh and fish: the scripts parse (`zsh -n`, `fish --no-execute`) where
/// those shells are installed; otherwise the test says which is missing.
#[test]
fn zsh_and_fish_scripts_parse_where_those_shells_are_installed() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, check) in [("zsh", "-n"), ("fish", "--no-execute")] {
        let file = script(shell, dir.path());
        let Ok(bin) = which::which(shell) else {
            eprintln!("skipped: {shell} is not installed, so its script was only generated, not parsed");
            continue;
        };
        let out = Command::new(bin).arg(check).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{shell} {check} {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `completion` is the command's name (kubectl's), `completions` its alias;
/// PowerShell gets clap_complete's native completer. PowerShell is not
/// installed here, so the script is checked for what it registers, not run.
#[test]
fn completion_is_the_name_and_powershell_gets_a_native_completer() {
    let a = Kindops::new().args(["completion", "bash"]).run();
    let b = Kindops::new().args(["completions", "bash"]).run();
    assert_eq!(a.assert_code(0).stdout(), b.assert_code(0).stdout());
    let ps = Kindops::new().args(["completion", "powershell"]).run();
    let text = ps.assert_code(0).stdout();
    assert!(
        text.contains("Register-ArgumentCompleter -Native -CommandName 'kindops'"),
        "{ps}"
    );
    for sub in ["up", "status", "learn", "version", "completion"] {
        assert!(text.contains(&format!("'{sub}'")), "{sub} missing: {ps}");
    }
}

/// `kindops version -o json`: the commit this checkout is at and the
/// pinned versions of manifests/upstream.yaml and manifests/kind/versions.yaml.
#[test]
fn version_names_the_commit_and_every_pinned_upstream() {
    let run = Kindops::new().args(["version", "-o", "json"]).run();
    let v: serde_json::Value = serde_json::from_str(&run.assert_code(0).stdout()).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    if head.status.success() {
        // Built from this checkout: the commit it was built at (HEAD, unless
        // a commit landed after the build).
        let c = v["commit"].as_str().unwrap();
        assert_eq!(c.len(), 12, "{run}");
        let known = Command::new("git")
            .args(["cat-file", "-e", &format!("{c}^{{commit}}")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(known.success(), "{c} is no commit of this repository: {run}");
    }
    let pins = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/upstream.yaml")).unwrap();
    let upstream = v["upstream"].as_array().unwrap();
    assert!(upstream.len() >= 5, "{run}");
    for p in upstream {
        let (name, version) = (p["name"].as_str().unwrap(), p["version"].as_str().unwrap());
        assert!(
            pins.contains(&format!("name: {name}")) && pins.contains(version),
            "{name} {version}"
        );
    }
    assert_eq!(v["kind"], "v0.32.0");
}
