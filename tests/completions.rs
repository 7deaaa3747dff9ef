//! `kindops completions bash|zsh|fish`: the scripts the real binary prints,
//! loaded into the real shells. No test bed needed.

mod support;

use std::path::Path;
use std::process::Command;

use support::kindops::Kindops;

/// The script `kindops completions SHELL` prints, saved in `dir`.
fn script(shell: &str, dir: &Path) -> std::path::PathBuf {
    let run = Kindops::new().args(["completions", shell]).run();
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
offer "kindops completions "
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
    assert_eq!(offered("kindops u"), vec!["up"]);
    assert_eq!(offered("kindops up --ju"), vec!["--junit"]);
    // clap's bash script offers the flags beside a positional's values.
    let shells: Vec<String> = offered("kindops completions ")
        .into_iter()
        .filter(|w| !w.starts_with('-'))
        .collect();
    assert_eq!(shells, vec!["bash", "zsh", "fish"]);
    assert_eq!(offered("kindops up --output "), vec!["text", "json"]);
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
