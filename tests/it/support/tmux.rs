//! The TUI in a real terminal: a tmux server of its own per test, keys in
//! with `tmux send-keys`, the screen back with `tmux capture-pane`; after
//! kindops ends the pane's shell records the exit code and `stty -a`, so a
//! terminal left in raw mode or on the alternate screen fails the test. And
//! reading the Applications table off the screen.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::bed::{show, stdout, Bed};
use super::kindops::{sh_quote, Kindops};

/// How long the screen may take to show what a key asked for.
pub const KEY_DEADLINE: Duration = Duration::from_secs(20);

/// The pane's shell prompt, set so the test can recognise it.
pub const PROMPT: &str = "TUI-PROMPT$";

/// A tmux server of its own (`tmux -L SOCKET`) with one session whose pane
/// runs an interactive `bash`; killed (with everything in it) on drop.
pub struct Tmux {
    socket: String,
    /// The tmux session (`-t` target) of the pane.
    pub session: String,
    /// Where the pane's script writes `exit.txt` and `stty.txt`.
    dir: PathBuf,
    /// kindops's XDG state dir (its log files are there).
    state: PathBuf,
}

impl Tmux {
    /// Opens a `width`x`height` pane running `bash -i` (KINDOPS_TESTBED_NAME
    /// names `bed`), then types a command that runs `kindops ARGS` inside
    /// the bed's namespace and, when it ends, records its exit code and the
    /// terminal mode it left.
    pub fn start(bed: &Bed, purpose: &str, size: (u16, u16), args: &[&str]) -> Tmux {
        let kindops = Kindops::new().args(args).in_bed(bed).shell_line();
        Tmux::start_line(
            bed.home.path(),
            &[("KINDOPS_TESTBED_NAME", &bed.name)],
            purpose,
            size,
            &kindops,
        )
    }

    /// [`Tmux::start`] for any `kindops` shell line ([`Kindops::shell_line`]),
    /// its files under `home`, the shell started with `env`; for tests that
    /// run where the cluster is (the real-kind lane), not through a bed.
    pub fn start_line(home: &Path, env: &[(&str, &str)], purpose: &str, size: (u16, u16), kindops: &str) -> Tmux {
        let dir = home.join(format!("tmux-{purpose}"));
        std::fs::create_dir_all(&dir).unwrap();
        let state = home.join("state");
        let script = dir.join("run.sh");
        std::fs::write(
            &script,
            format!(
                "{kindops}\n\
                 code=$?\n\
                 stty -a > {dir}/stty.txt\n\
                 echo \"KINDOPS_EXIT=$code\"\n\
                 echo $code > {dir}/exit.tmp && mv {dir}/exit.tmp {dir}/exit.txt\n",
                dir = sh_quote(&dir.display().to_string()),
            ),
        )
        .unwrap();
        let t = Tmux {
            socket: format!("kindops-tui-{}-{purpose}", std::process::id()),
            session: purpose.to_string(),
            dir,
            state,
        };
        let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={}", sh_quote(v))).collect();
        let shell = format!(
            "env {} PS1={} HISTFILE= bash --norc --noprofile -i",
            vars.join(" "),
            sh_quote(&format!("{PROMPT} "))
        );
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &size.0.to_string(),
            "-y",
            &size.1.to_string(),
            &shell,
        ]);
        assert!(out.status.success(), "tmux new-session: {}", show(&out));
        t.wait_for("the shell prompt", Duration::from_secs(10), |s| {
            s.lines().any(|l| l.trim_end() == PROMPT)
        });
        t.type_text(&format!("bash {}", sh_quote(&script.display().to_string())));
        t.keys(&["Enter"]);
        t
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        // No user or system tmux.conf: the test's own defaults only.
        Command::new("tmux")
            .args(["-f", "/dev/null", "-L"])
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux (Debian package tmux)")
    }

    /// The visible pane, one line per row, trailing spaces trimmed.
    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.session]);
        assert!(out.status.success(), "tmux capture-pane: {}", show(&out));
        stdout(&out)
    }

    /// `tmux display -p FORMAT` for the pane (e.g. `#{alternate_on}`).
    pub fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", &self.session, format]);
        assert!(out.status.success(), "tmux display: {}", show(&out));
        stdout(&out).trim().to_string()
    }

    /// Named keys (`Enter`, `Escape`, `PageDown`, `Space`...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "tmux send-keys {keys:?}: {}", show(&out));
    }

    /// Literal text, as typed.
    pub fn type_text(&self, text: &str) {
        let out = self.tmux(&["send-keys", "-t", &self.session, "-l", text]);
        assert!(out.status.success(), "tmux send-keys -l {text:?}: {}", show(&out));
    }

    /// Polls the screen until `ok` holds; panics with the last screen and
    /// kindops's log tail after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}; the screen:\n{s}\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The last lines of kindops's log files, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        if let Ok(rd) = std::fs::read_dir(self.state.join("kindops/logs")) {
            for e in rd.flatten() {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!("--- {} (last 30 lines)\n", e.path().display()));
                for l in &lines[lines.len().saturating_sub(30)..] {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Waits for kindops to end; asserts the shell prompt is back, the
    /// alternate screen left, the cursor shown and the tty in cooked mode
    /// with echo. Returns the exit code.
    pub fn assert_exited_and_terminal_sane(&self) -> i32 {
        let exit_file = self.dir.join("exit.txt");
        let start = Instant::now();
        while !exit_file.exists() {
            if start.elapsed() > KEY_DEADLINE {
                panic!(
                    "kindops did not end within {KEY_DEADLINE:?} after q; the screen:\n{}\n{}",
                    self.screen(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        let code: i32 = std::fs::read_to_string(&exit_file).unwrap().trim().parse().unwrap();
        let screen = self.wait_for("the shell prompt after kindops ended", KEY_DEADLINE, |s| {
            s.lines().rev().find(|l| !l.trim().is_empty()).map(str::trim_end) == Some(PROMPT)
                && s.contains(&format!("KINDOPS_EXIT={code}"))
        });
        // Back on the normal screen: the command line typed before kindops
        // started is still there above the prompt.
        assert!(screen.contains("run.sh"), "not the shell's own screen:\n{screen}");
        assert_eq!(
            self.display("#{alternate_on}"),
            "0",
            "alternate screen not left:\n{screen}"
        );
        assert_eq!(self.display("#{cursor_flag}"), "1", "cursor left hidden:\n{screen}");
        assert_eq!(self.display("#{pane_current_command}"), "bash");
        // What kindops left, read before the interactive shell touched the tty.
        let stty = std::fs::read_to_string(self.dir.join("stty.txt")).unwrap();
        let flags: Vec<&str> = stty.split(|c: char| c.is_whitespace() || c == ';').collect();
        for f in ["icanon", "echo", "isig", "icrnl", "opost", "onlcr"] {
            assert!(flags.contains(&f), "tty left without {f} (raw mode?):\n{stty}");
        }
        code
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server leaves its socket file behind.
        let socket = self.tmux(&["display-message", "-p", "#{socket_path}"]);
        let _ = self.tmux(&["kill-server"]);
        let path = stdout(&socket);
        if socket.status.success() && path.trim().ends_with(&self.socket) {
            let _ = std::fs::remove_file(path.trim());
        }
    }
}

// ---------------------------------------------------------------- screen parsing

/// Table rows of the Applications view as (selected, symbol, name, the
/// row from its symbol on), in screen order. A row is `┃›✓ name ...`
/// inside the pane (`›` marks the selected one).
pub fn table_rows(screen: &str) -> Vec<(bool, char, String, String)> {
    screen
        .lines()
        .filter_map(|l| {
            let mut cs = l.chars();
            let border = cs.next()?;
            if border != '┃' && border != '│' {
                return None;
            }
            let marker = cs.next()?;
            let symbol = cs.next()?;
            if !"✓↻≠✗?".contains(symbol) || (marker != '›' && marker != ' ') {
                return None;
            }
            let rest = cs.as_str();
            let name = rest.split_whitespace().next()?.to_string();
            Some((marker == '›', symbol, name, format!("{symbol}{rest}")))
        })
        .collect()
}

/// The row of `name`, if it is on the screen.
pub fn row(screen: &str, name: &str) -> Option<String> {
    table_rows(screen).into_iter().find(|r| r.2 == name).map(|r| r.3)
}

/// True if `name`'s row is shown with every one of `words` as a column.
pub fn row_has(screen: &str, name: &str, words: &[&str]) -> bool {
    row(screen, name).is_some_and(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        words.iter().all(|w| cols.contains(w))
    })
}

pub fn selected(screen: &str) -> Option<String> {
    table_rows(screen).into_iter().find(|r| r.0).map(|r| r.2)
}
