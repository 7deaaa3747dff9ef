//! Text and time formatting in one place (the TUI and the printed reports):
//! durations, ages, `-` for empty fields, cutting, padding, wrapping.
//!
//! Widths are terminal columns, as `unicode-width` measures them (the crate
//! ratatui itself measures with): a Korean or CJK character or an emoji
//! takes two columns, so names in them line up in tables.

use std::time::{Duration, SystemTime};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    s.width()
}

/// `12.3s`, `45s`, `3m07s`, `1h02m`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// Age of an RFC 3339 time stamp as k9s shows it: `42s`, `5m`, `3h`, `2d`.
pub fn fmt_age(ts: &str, now: SystemTime) -> String {
    let Ok(t) = humantime::parse_rfc3339_weak(ts) else {
        return String::new();
    };
    let secs = now.duration_since(t).unwrap_or_default().as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// `-` for an empty field (a fresh Application has no status yet).
pub fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Cuts a string to at most `w` columns, with `…` when cut (a wide
/// character that would straddle the edge is left out).
pub fn fit(s: &str, w: usize) -> String {
    if s.width() <= w {
        s.to_string()
    } else if w == 0 {
        String::new()
    } else {
        let mut out = String::new();
        let mut used = 0;
        for c in s.chars() {
            let cw = c.width().unwrap_or(0);
            if used + cw > w - 1 {
                break;
            }
            used += cw;
            out.push(c);
        }
        out.push('…');
        out
    }
}

/// Pads or cuts to exactly `w` columns.
pub fn pad(s: &str, w: usize) -> String {
    let f = fit(s, w);
    let n = f.width();
    format!("{f}{}", " ".repeat(w.saturating_sub(n)))
}

/// Greedy word wrap to `width` characters (long words are cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let wl = word.width();
            let ll = line.width();
            if ll > 0 && ll + 1 + wl > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            if wl > width {
                line.push_str(&fit(word, width));
            } else {
                line.push_str(word);
            }
        }
        out.push(line);
    }
    out
}

/// Text as paragraphs: phase files keep their own line breaks (YAML `|`),
/// which would otherwise end screen lines mid-sentence; a blank line still
/// separates paragraphs.
pub fn reflow(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|para| !para.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanation_line_breaks_are_reflowed_and_paragraphs_kept() {
        let yaml_block = "First we check the machine: is the Docker engine running,\nare kind and git installed.\n\nThen kind starts\na cluster.\n";
        assert_eq!(
            reflow(yaml_block),
            "First we check the machine: is the Docker engine running, are kind and git installed.\n\nThen kind starts a cluster."
        );
        let lines = wrap(&reflow(yaml_block), 40);
        assert_eq!(lines[0], "First we check the machine: is the");
        assert_eq!(lines[1], "Docker engine running, are kind and git");
        assert!(lines.contains(&String::new()), "paragraph break kept: {lines:?}");
    }

    #[test]
    fn fit_pad_and_dash() {
        assert_eq!(fit("argocd-server", 6), "argoc…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(or_dash(""), "-");
    }

    /// Korean takes two columns a character: `장바구니` ("cart") is 8 wide.
    #[test]
    fn wide_characters_are_measured_in_columns() {
        assert_eq!(width("장바구니"), 8);
        assert_eq!(pad("장바구니", 10), "장바구니  ");
        assert_eq!(fit("장바구니-서비스", 7), "장바구…");
        assert_eq!(
            width(&fit("장바구니-서비스", 6)),
            5,
            "a wide character never straddles the edge"
        );
        assert_eq!(wrap("주문 서비스 장바구니", 11), vec!["주문 서비스", "장바구니"]);
    }
}
