//! Everything kindops prints outside the TUI, one module per thing printed:
//!
//! - [`events`]: `kindops up --no-tui` (plain lines or JSON lines per event).
//! - [`checks`]: one preflight check as a line (`kindops doctor`, phase 0's log).
//! - [`plan`]: `kindops plan`.
//! - [`status`]: `kindops status`.
//! - [`fetch`]: `kindops fetch`.
//! - [`images`]: `kindops images`.
//! - [`junit`]: `kindops up --junit FILE` (a JUnit XML report of the run).
//! - [`learn`]: `kindops learn` (the lesson list, and a lesson's plain/JSON lines).

pub mod checks;
pub mod events;
pub mod fetch;
pub mod images;
pub mod junit;
pub mod learn;
pub mod plan;
pub mod status;

pub use events::{json_line, plain_lines, print_stream};

/// Output format of `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for people: tables, progress lines.
    Text,
    /// For programs: one JSON document (status, plan, images, version,
    /// open), or one JSON object per line as things happen (up, learn).
    Json,
    /// The same data as json, as YAML: one document, or one `---` document
    /// per event as things happen (up, learn).
    Yaml,
}

/// One document of `value` as `format` asks for it: pretty JSON, or YAML
/// (serde_yaml; the same fields and order as the JSON). Text is the
/// caller's. Errors: a value that does not serialize.
pub fn document<T: serde::Serialize + ?Sized>(format: Format, value: &T) -> anyhow::Result<String> {
    Ok(match format {
        Format::Yaml => serde_yaml::to_string(value)?.trim_end().to_string(),
        _ => serde_json::to_string_pretty(value)?,
    })
}

/// One event of a stream as `format` asks for it: a JSON line, or a YAML
/// document starting `---` (so `kindops up -o yaml` is a multi-document
/// YAML stream).
pub fn stream_item<T: serde::Serialize + ?Sized>(format: Format, value: &T) -> String {
    match format {
        Format::Yaml => format!("---\n{}", serde_yaml::to_string(value).unwrap_or_default().trim_end()),
        _ => serde_json::to_string(value).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// `-o yaml` on a stream: each event a `---` document, read back by a
    /// YAML parser as the values that went in, in order.
    #[test]
    fn yaml_stream_items_are_documents_of_one_stream() {
        let events = [
            serde_json::json!({"phase": 0, "status": "running", "message": "a: b # not a comment"}),
            serde_json::json!({"phase": 0, "status": "done", "list": [1, 2]}),
        ];
        let text: String = events.iter().map(|e| stream_item(Format::Yaml, e) + "\n").collect();
        let back: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|d| serde_json::Value::deserialize(d).unwrap())
            .collect();
        assert_eq!(back, events);
        assert_eq!(stream_item(Format::Json, &events[1]), events[1].to_string());
    }
}
