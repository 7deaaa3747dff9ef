//! `kindops config`: the settings `kindops up` would use with the same flags,
//! and where each came from ([`crate::config`]); `--schema` prints the JSON
//! Schema of kindops.yaml.

use super::Result;
use crate::cli::ConfigArgs;
use crate::format::or_dash;
use crate::report::Format;

pub fn run(a: &ConfigArgs) -> Result<u8> {
    if a.schema {
        print!("{}", crate::config::SCHEMA);
        return Ok(0);
    }
    let file = a.file.as_ref().map(|p| p.display().to_string());
    match a.up.output {
        Format::Json | Format::Yaml => {
            let v = serde_json::json!({"file": file, "settings": a.effective});
            println!("{}", crate::report::document(a.up.output, &v)?);
        }
        Format::Text => {
            match &file {
                Some(f) => println!("config file: {f}"),
                None => println!(
                    "config file: none (looked for --config/KINDOPS_CONFIG, ./{name}, $XDG_CONFIG_HOME/kindops/{name})",
                    name = crate::config::FILE_NAME
                ),
            }
            println!("{:<14} {:<32} FROM", "KEY", "VALUE");
            for s in &a.effective {
                let value = match &s.value {
                    serde_json::Value::String(v) => v.clone(),
                    serde_json::Value::Null => String::new(),
                    v => v.to_string(),
                };
                println!("{:<14} {:<32} {}", s.key, or_dash(&value), s.origin);
            }
        }
    }
    Ok(0)
}
