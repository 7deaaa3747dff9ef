//! Errors in the YAML files users write (phase files, pins files), shown as
//! `FILE:LINE:COLUMN: message` on one line.
//!
//! What every such error line guarantees ([`check_shown`] checks it; the fuzz
//! targets in `tests/fuzz/` and the unit tests run it):
//! - it starts with the file's name and a `:`;
//! - a YAML syntax or shape error carries the 1-based line and column the YAML
//!   parser reports (a reader error that only has a byte offset, such as a
//!   control character, is turned into line:column; libyaml's context, such
//!   as "while parsing a block mapping at line 2 column 1", stays in the
//!   message); the few kinds for which
//!   the parser reports no position at all (more than one document, too many
//!   alias expansions) end in [`NO_POSITION`] instead of a made-up `1:1`;
//! - a position, when given, lies inside the file (lines and columns counted
//!   as YAML counts them: `\n`, `\r\n`, `\r`, U+0085, U+2028 and U+2029 end a
//!   line; columns are characters); the end of a file with no final line
//!   break, which libyaml puts on a line after the last, is shown as the end
//!   of the last line;
//! - it is one line: line breaks and other control characters that came from
//!   the input are escaped;
//! - it never dumps the input: a message longer than [`MAX_MESSAGE_CHARS`] is
//!   cut in the middle, and values quoted from the input are cut at
//!   [`MAX_QUOTED_CHARS`].

use std::fmt::Write as _;

/// Most characters of a message taken from the YAML parser; a longer one keeps
/// its start and its end (where serde puts what was expected).
pub const MAX_MESSAGE_CHARS: usize = 300;

/// Most characters of a value quoted from the input (before escaping).
pub const MAX_QUOTED_CHARS: usize = 60;

/// Most characters after `FILE:` (position, message and the hints kindops adds).
pub const MAX_SHOWN_CHARS: usize = 600;

/// Ends the message of a YAML error for which the parser gives no position.
pub const NO_POSITION: &str = "(the YAML parser gives no line and column for this error)";

/// A serde_yaml error as kindops shows it: where (1-based, when known) and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

/// Where and why for a serde_yaml error on `text` (the text that was parsed).
pub fn describe(e: &serde_yaml::Error, text: &str) -> Described {
    let shown = e.to_string();
    let Some(loc) = e.location() else {
        let message = if shown == "deserializing from YAML containing more than one document is not supported" {
            "more than one YAML document (a `---` or `...` line ends the first); the file must hold one".to_string()
        } else {
            shown
        };
        return Described {
            line: None,
            column: None,
            message: format!("{} {NO_POSITION}", one_line(&message)),
        };
    };
    let mut pos = (loc.line(), loc.column());
    // serde_yaml appends ` at line L column C` (a libyaml error puts it after the
    // problem, before its context): drop it, the position goes in front.
    let suffix = format!(" at line {} column {}", loc.line(), loc.column());
    let message = if let Some(m) = shown.strip_suffix(&suffix) {
        m.to_string()
    } else if let Some(i) = shown.find(&suffix).filter(|&i| !shown[..i].contains(['`', '"'])) {
        format!("{}{}", &shown[..i], &shown[i + suffix.len()..])
    } else if let Some((problem, offset, rest)) = reader_offset(&shown).filter(|_| loc.index() == 0) {
        // A libyaml reader error (e.g. a control character) has no mark, only a
        // byte offset, and serde_yaml reports it at 1:1.
        match position_at(text, offset) {
            Some(p) => {
                pos = p;
                format!("{problem}{rest}")
            }
            None => shown.clone(),
        }
    } else {
        shown.clone()
    };
    // At the end of a file with no final line break, libyaml reports the start
    // of a line after the last one: that is the end of the last line.
    let lines = yaml_lines(text);
    if pos.0 > lines.len() {
        pos = (lines.len(), lines.last().map_or(0, |l| l.chars().count()) + 1);
    }
    Described {
        line: Some(pos.0),
        column: Some(pos.1),
        message: one_line(&message),
    }
}

/// `problem at position N[, context]` (libyaml's reader errors): (problem, N, rest).
fn reader_offset(shown: &str) -> Option<(&str, usize, &str)> {
    let i = shown.find(" at position ")?;
    let problem = &shown[..i];
    if problem.contains(['`', '"']) {
        return None; // serde's own messages quote input; libyaml's problems never do
    }
    let after = &shown[i + " at position ".len()..];
    let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
    let offset = after[..digits].parse().ok()?;
    Some((problem, offset, &after[digits..]))
}

/// 1-based (line, column) of byte `offset` in `text`, counted as YAML counts
/// (see the module docs); `None` when `offset` is not a character boundary of `text`.
pub fn position_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    if !text.is_char_boundary(offset) {
        return None;
    }
    let (mut line, mut column) = (1, 1);
    let mut chars = text[..offset].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
    }
    Some((line, column))
}

/// The lines of `text` as YAML counts them (see the module docs), without their breaks.
pub fn yaml_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            lines.push(&text[start..i]);
            if c == '\r' && iter.peek().map(|&(_, n)| n) == Some('\n') {
                iter.next();
                start = i + 2;
            } else {
                start = i + c.len_utf8();
            }
        }
    }
    lines.push(&text[start..]);
    lines
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` on one line (control characters and line separators escaped as `\n`,
/// `\u{1}`…), cut in the middle when longer than [`MAX_MESSAGE_CHARS`].
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    let n = out.chars().count();
    if n <= MAX_MESSAGE_CHARS {
        return out;
    }
    let keep = (MAX_MESSAGE_CHARS - 3) / 2;
    let head: String = out.chars().take(keep).collect();
    let tail: String = out.chars().skip(n - keep).collect();
    format!("{head} … {tail}")
}

/// A value from the input for a message: quoted and escaped like Rust's `{:?}`,
/// its first [`MAX_QUOTED_CHARS`] characters and `…` when longer.
pub fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head:?}…")
    }
}

/// Checks an error line shown for `file` (whose text is `text`) against the
/// guarantees in the module docs. Returns the position it gives, if any.
pub fn check_shown(shown: &str, file: &str, text: &str) -> Result<Option<(usize, usize)>, String> {
    let rest = shown
        .strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| format!("does not start with `{file}:`: {shown:?}"))?;
    if let Some(c) = shown.chars().find(|&c| needs_escape(c)) {
        return Err(format!("holds the control character or line break {c:?}: {shown:?}"));
    }
    if rest.chars().count() > MAX_SHOWN_CHARS {
        return Err(format!(
            "{} characters after `{file}:` (at most {MAX_SHOWN_CHARS}): {shown:?}",
            rest.chars().count()
        ));
    }
    let position = if let Some(message) = rest.strip_prefix(' ') {
        if message.trim().is_empty() {
            return Err(format!("no message: {shown:?}"));
        }
        None
    } else {
        let mut parts = rest.splitn(3, ':');
        let (l, c, message) = (parts.next(), parts.next(), parts.next());
        let (Some(Ok(line)), Some(Ok(column)), Some(message)) = (
            l.map(str::parse::<usize>),
            c.map(str::parse::<usize>),
            message.and_then(|m| m.strip_prefix(' ')),
        ) else {
            return Err(format!("neither `{file}:LINE:COLUMN: ` nor `{file}: `: {shown:?}"));
        };
        if message.trim().is_empty() {
            return Err(format!("no message: {shown:?}"));
        }
        let lines = yaml_lines(text);
        let Some(at) = line.checked_sub(1).and_then(|i| lines.get(i)) else {
            return Err(format!(
                "line {line} is outside the file ({} lines): {shown:?}",
                lines.len()
            ));
        };
        if column == 0 || column > at.chars().count() + 1 {
            return Err(format!(
                "column {column} is outside line {line} ({} characters): {shown:?}",
                at.chars().count()
            ));
        }
        Some((line, column))
    };
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_as_yaml_does() {
        let text = "a\r\nb\rc\u{85}dé\u{2028}e\nf";
        assert_eq!(yaml_lines(text), ["a", "b", "c", "dé", "e", "f"]);
        assert_eq!(position_at(text, 0), Some((1, 1)));
        assert_eq!(position_at(text, 3), Some((2, 1)));
        let e = text.find('e').unwrap();
        assert_eq!(position_at(text, e), Some((5, 1)));
        assert_eq!(position_at(text, text.find('é').unwrap() + 2), Some((4, 3)));
        assert_eq!(position_at(text, text.find('é').unwrap() + 1), None);
        assert_eq!(yaml_lines(""), [""]);
    }

    #[test]
    fn one_line_escapes_and_cuts() {
        assert_eq!(one_line("a\nb\u{1}c\u{2028}"), "a\\nb\\u{1}c\\u{2028}");
        let long = format!("start {} end", "x".repeat(1000));
        let cut = one_line(&long);
        assert!(cut.chars().count() <= MAX_MESSAGE_CHARS, "{cut}");
        assert!(
            cut.starts_with("start ") && cut.ends_with(" end") && cut.contains(" … "),
            "{cut}"
        );
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        assert_eq!(
            quote(&"y".repeat(100)),
            format!("\"{}\"…", "y".repeat(MAX_QUOTED_CHARS))
        );
    }

    #[test]
    fn check_shown_accepts_and_refuses() {
        let text = "a: 1\nbb: 2\n";
        assert_eq!(check_shown("f.yaml:2:3: bad", "f.yaml", text), Ok(Some((2, 3))));
        assert_eq!(check_shown("f.yaml: bad", "f.yaml", text), Ok(None));
        assert_eq!(check_shown("f.yaml:3:1: at the end", "f.yaml", text), Ok(Some((3, 1))));
        for bad in [
            "g.yaml:1:1: other file",
            "f.yaml:4:1: past the end",
            "f.yaml:1:6: past the line",
            "f.yaml:0:1: zero",
            "f.yaml:1:1:",
            "f.yaml:1:1: two\nlines",
            "f.yaml:x:1: what",
        ] {
            assert!(check_shown(bad, "f.yaml", text).is_err(), "{bad}");
        }
        let dump = format!("f.yaml: {}", "x".repeat(MAX_SHOWN_CHARS + 1));
        assert!(check_shown(&dump, "f.yaml", text).is_err());
    }
}
