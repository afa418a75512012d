//! Owner labels within each cloud's rules. Every resource overcast creates carries its
//! stack, target and native address (see [`OwnerTags`]); discovery must read them back
//! exactly, or `adopt`, `discover`, `nuke` and `migrate` cannot tell what is whose. AWS tags
//! and Azure tags take the values as they are; GCP labels allow only lowercase letters,
//! digits, `_` and `-`, 63 characters per value, so an address such as `web.instance[0]`
//! is escaped there (`_` plus two hex digits per other byte) and split across numbered keys
//! when long: reversible, and still readable in a console.

use std::collections::BTreeMap;

use crate::native::OwnerTags;

/// How a cloud's labels may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelRules {
    /// The three keys: stack, target, resource.
    pub keys: [&'static str; 3],
    /// Longest value one label may hold.
    pub max_value_len: usize,
    /// Whether values must be escaped to `[a-z0-9-]` (with `_` as the escape).
    pub escaped: bool,
}

impl LabelRules {
    /// Tags that take any value (AWS, Azure): `overcast:stack` etc., verbatim.
    pub const TAGS: LabelRules = LabelRules {
        keys: [
            OwnerTags::STACK_KEY,
            OwnerTags::TARGET_KEY,
            OwnerTags::RESOURCE_KEY,
        ],
        max_value_len: 256,
        escaped: false,
    };

    /// GCP labels: keys and values of lowercase letters, digits, `_` and `-`, at most 63
    /// characters, keys starting with a letter.
    pub const GCP: LabelRules = LabelRules {
        keys: ["overcast-stack", "overcast-target", "overcast-resource"],
        max_value_len: 63,
        escaped: true,
    };
}

/// The labels that carry `owner` under `rules`.
pub fn encode(owner: &OwnerTags, rules: &LabelRules) -> Vec<(String, String)> {
    let values = [&owner.stack, &owner.target, &owner.resource];
    let mut out = Vec::new();
    for (key, value) in rules.keys.iter().zip(values) {
        let text = if rules.escaped {
            escape(value)
        } else {
            value.clone()
        };
        for (i, chunk) in chunks(&text, rules.max_value_len).into_iter().enumerate() {
            let k = if i == 0 {
                key.to_string()
            } else {
                format!("{key}-{}", i + 1)
            };
            out.push((k, chunk));
        }
    }
    out
}

/// The owner that `labels` carry under `rules`, if they carry all three parts.
pub fn decode(labels: &BTreeMap<String, String>, rules: &LabelRules) -> Option<OwnerTags> {
    let mut parts = rules.keys.iter().map(|key| {
        let mut text = labels.get(*key)?.clone();
        for i in 2.. {
            match labels.get(&format!("{key}-{i}")) {
                Some(more) => text.push_str(more),
                None => break,
            }
        }
        if rules.escaped {
            unescape(&text)
        } else {
            Some(text)
        }
    });
    Some(OwnerTags {
        stack: parts.next()??,
        target: parts.next()??,
        resource: parts.next()??,
    })
}

/// `[a-z0-9-]` as they are, every other byte as `_` and two lowercase hex digits.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(s.len());
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b == b'_' {
            let hi = char::from(it.next()?).to_digit(16)?;
            let lo = char::from(it.next()?).to_digit(16)?;
            bytes.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// Split `s` into pieces of at most `max` bytes, never inside an escape (`_xx`) or a
/// character.
fn chunks(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // Back off when the cut falls inside an escape sequence.
        let bytes = rest.as_bytes();
        if cut >= 1 && bytes[cut - 1] == b'_' {
            cut -= 1;
        } else if cut >= 2 && bytes[cut - 2] == b'_' {
            cut -= 2;
        }
        out.push(rest[..cut].to_string());
        rest = &rest[cut..];
    }
    out.push(rest.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(resource: &str) -> OwnerTags {
        OwnerTags {
            stack: "Shop_Prod".into(),
            target: "gcp-eu".into(),
            resource: resource.into(),
        }
    }

    fn as_map(labels: Vec<(String, String)>) -> BTreeMap<String, String> {
        labels.into_iter().collect()
    }

    #[test]
    fn gcp_labels_obey_the_rules_and_round_trip() {
        let long = format!("{}.instance[12]", "a".repeat(70));
        for o in [owner("web.instance[0]"), owner(&long), owner("ü.x")] {
            let labels = encode(&o, &LabelRules::GCP);
            for (k, v) in &labels {
                assert!(
                    k.len() <= 63 && k.starts_with(|c: char| c.is_ascii_lowercase()),
                    "{k}"
                );
                assert!(v.len() <= 63, "{v}");
                assert!(
                    v.chars().all(|c| c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || c == '_'
                        || c == '-'),
                    "{v}"
                );
            }
            assert_eq!(decode(&as_map(labels), &LabelRules::GCP), Some(o));
        }
    }

    #[test]
    fn tags_carry_values_verbatim() {
        let o = owner("web.instance[0]");
        let labels = encode(&o, &LabelRules::TAGS);
        assert!(labels.contains(&("overcast:resource".into(), "web.instance[0]".into())));
        assert_eq!(decode(&as_map(labels), &LabelRules::TAGS), Some(o));
    }

    #[test]
    fn partial_or_foreign_labels_decode_to_nothing() {
        let mut m = as_map(encode(&owner("a.b"), &LabelRules::GCP));
        m.remove("overcast-target");
        assert_eq!(decode(&m, &LabelRules::GCP), None);
        let bad: BTreeMap<String, String> = [
            ("overcast-stack", "s"),
            ("overcast-target", "t"),
            ("overcast-resource", "x_zz"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        assert_eq!(
            decode(&bad, &LabelRules::GCP),
            None,
            "a broken escape is not an owner"
        );
    }
}
