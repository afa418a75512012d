//! The nuke config file (`--config FILE`, YAML): standing rules a team keeps beside its
//! lab accounts.
//!
//! ```yaml
//! allow: ["123456789012", "lab-project"]   # only these may be nuked at all (when given)
//! block: ["999999999999"]                  # never these
//! protect:                                 # never delete what a rule names
//!   - tag: keep=true
//!   - type: iam:role
//!     name: "^Admin"
//! presets:                                 # filters named with --preset
//!   stale-ci:
//!     tag: [env=ci]
//!     older_than: 24h
//! ```
//!
//! Unknown keys are refused (a misspelled `protcet:` must not silently protect nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::select::{Filters, ProtectRule, TagMatch, parse_duration};

/// A config file that could not be used: the file and what is wrong, with the field.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// What is wrong, naming the field (and the line when the YAML parser knows it).
    pub message: String,
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    block: Vec<String>,
    #[serde(default)]
    protect: Vec<RawRule>,
    #[serde(default)]
    presets: BTreeMap<String, RawPreset>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(rename = "type")]
    resource_type: Option<String>,
    tag: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreset {
    #[serde(default, rename = "type")]
    types: Vec<String>,
    #[serde(default)]
    exclude_type: Vec<String>,
    #[serde(default)]
    tag: Vec<String>,
    #[serde(default)]
    exclude_tag: Vec<String>,
    name_regex: Option<String>,
    older_than: Option<String>,
    stack: Option<String>,
}

/// A checked config.
#[derive(Debug, Clone, Default)]
pub struct NukeConfig {
    /// Where it was read from (`None`: no config).
    pub file: Option<PathBuf>,
    /// Accounts (ids or names) that may be nuked; empty: any not blocked.
    pub allow: Vec<String>,
    /// Accounts (ids or names) that never may.
    pub block: Vec<String>,
    /// What is never deleted.
    pub protect: Vec<ProtectRule>,
    /// Named filter sets.
    pub presets: BTreeMap<String, Filters>,
}

impl NukeConfig {
    /// Read and check `file`.
    pub fn load(file: &Path) -> Result<NukeConfig, ConfigError> {
        let err = |message: String| ConfigError {
            file: file.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| err(format!("cannot read the nuke config: {e}")))?;
        Self::parse(&text)
            .map_err(|message| ConfigError {
                file: file.to_path_buf(),
                message,
            })
            .map(|mut c| {
                c.file = Some(file.to_path_buf());
                c
            })
    }

    /// Check the text of a config.
    pub fn parse(text: &str) -> Result<NukeConfig, String> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                format!("{e}\n  hint: the keys are allow, block, protect and presets")
            })?
        };
        let mut protect = Vec::new();
        for (i, r) in raw.protect.into_iter().enumerate() {
            let at = format!("protect[{i}]");
            if r.resource_type.is_none() && r.tag.is_none() && r.name.is_none() {
                return Err(format!(
                    "{at}: a rule names nothing; give type, tag and/or name"
                ));
            }
            let tag = r
                .tag
                .as_deref()
                .map(|t| TagMatch::parse(t, &format!("{at}.tag")))
                .transpose()?;
            let name = r
                .name
                .as_deref()
                .map(|n| regex(n, &format!("{at}.name")))
                .transpose()?;
            let mut text = Vec::new();
            if let Some(t) = &r.resource_type {
                text.push(format!("type {t}"));
            }
            if let Some(t) = &tag {
                text.push(format!("tag {t}"));
            }
            if let Some(n) = &name {
                text.push(format!("name ~ /{}/", n.as_str()));
            }
            protect.push(ProtectRule {
                resource_type: r.resource_type,
                tag,
                name,
                text: text.join(", "),
            });
        }
        let mut presets = BTreeMap::new();
        for (name, p) in raw.presets {
            let at = format!("presets.{name}");
            let tags = |list: &[String], field: &str| -> Result<Vec<TagMatch>, String> {
                list.iter()
                    .map(|t| TagMatch::parse(t, &format!("{at}.{field}")))
                    .collect()
            };
            let filters = Filters {
                types: p.types.into_iter().collect(),
                exclude_types: p.exclude_type.into_iter().collect(),
                tags: tags(&p.tag, "tag")?,
                exclude_tags: tags(&p.exclude_tag, "exclude_tag")?,
                name_regex: p
                    .name_regex
                    .as_deref()
                    .map(|r| regex(r, &format!("{at}.name_regex")))
                    .transpose()?,
                older_than: p
                    .older_than
                    .as_deref()
                    .map(|d| parse_duration(d).map_err(|e| format!("{at}.older_than: {e}")))
                    .transpose()?,
                stack: p.stack,
            };
            presets.insert(name, filters);
        }
        Ok(NukeConfig {
            file: None,
            allow: raw.allow,
            block: raw.block,
            protect,
            presets,
        })
    }

    /// Whether the allow-list names this account (by id or name) explicitly.
    pub fn allows_explicitly(&self, id: &str, name: Option<&str>) -> bool {
        self.allow
            .iter()
            .any(|a| a == id || Some(a.as_str()) == name)
    }

    /// Whether the block-list names it.
    pub fn blocks(&self, id: &str, name: Option<&str>) -> bool {
        self.block
            .iter()
            .any(|a| a == id || Some(a.as_str()) == name)
    }
}

/// A regex, or an error naming the field.
pub fn regex(text: &str, field: &str) -> Result<Regex, String> {
    Regex::new(text).map_err(|e| format!("{field}: `{text}` is not a valid regex: {e}"))
}

/// Add `more`'s filters to `into` (a preset named on the command line).
pub fn merge(into: &mut Filters, more: &Filters) {
    into.types.extend(more.types.iter().cloned());
    into.exclude_types
        .extend(more.exclude_types.iter().cloned());
    into.tags.extend(more.tags.iter().cloned());
    into.exclude_tags.extend(more.exclude_tags.iter().cloned());
    if into.name_regex.is_none() {
        into.name_regex = more.name_regex.clone();
    }
    if into.older_than.is_none() {
        into.older_than = more.older_than;
    }
    if into.stack.is_none() {
        into.stack = more.stack.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_reads_and_checks() {
        let c = NukeConfig::parse(
            "allow: [\"111\", lab]\nblock: [\"999\"]\nprotect:\n  - tag: keep=true\n  - type: iam:role\n    name: \"^Admin\"\npresets:\n  ci:\n    tag: [env=ci]\n    older_than: 24h\n",
        )
        .expect("valid");
        assert!(c.allows_explicitly("111", None) && c.allows_explicitly("x", Some("lab")));
        assert!(c.blocks("999", None) && !c.blocks("111", None));
        assert_eq!(c.protect.len(), 2);
        assert_eq!(c.protect[1].text, "type iam:role, name ~ /^Admin/");
        let ci = &c.presets["ci"];
        assert_eq!(ci.tags[0].to_string(), "env=ci");
        assert_eq!(ci.older_than, Some(std::time::Duration::from_secs(86_400)));
    }

    #[test]
    fn mistakes_name_the_field() {
        let e = NukeConfig::parse("protcet: []\n").expect_err("unknown key");
        assert!(e.contains("protcet"), "{e}");
        let e = NukeConfig::parse("protect:\n  - {}\n").expect_err("empty rule");
        assert!(e.contains("protect[0]"), "{e}");
        let e = NukeConfig::parse("protect:\n  - name: \"(\"\n").expect_err("bad regex");
        assert!(e.contains("protect[0].name"), "{e}");
        let e = NukeConfig::parse("presets:\n  a:\n    older_than: soon\n").expect_err("bad age");
        assert!(e.contains("presets.a.older_than"), "{e}");
        let e = NukeConfig::parse("protect:\n  - tag: \"=x\"\n").expect_err("empty key");
        assert!(e.contains("protect[0].tag"), "{e}");
        let e = NukeConfig::parse("allow: [1, 2\n").expect_err("bad yaml");
        assert!(e.contains("line"), "{e}");
    }
}
