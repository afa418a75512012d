//! The providers a target may name (`targets.<name>.provider`), as a closed set.
//!
//! A provider name is parsed once, where the spec is read; everything after it matches on
//! [`ProviderKind`] and not on strings, so a new cloud is a new variant the compiler
//! points out everywhere it matters.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A cloud provider overcast knows of. Whether this build can talk to it is the
/// engine's business (a cargo feature per cloud; Azure and GCP are not built yet).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The embedded local cloud.
    Local,
    /// Amazon Web Services.
    Aws,
    /// Microsoft Azure.
    Azure,
    /// Google Cloud.
    Gcp,
}

impl ProviderKind {
    /// Every provider, in the order they are listed to users.
    pub const ALL: [ProviderKind; 4] = [
        ProviderKind::Local,
        ProviderKind::Aws,
        ProviderKind::Azure,
        ProviderKind::Gcp,
    ];

    /// The name written in a spec (`local`, `aws`, `azure`, `gcp`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Local => "local",
            ProviderKind::Aws => "aws",
            ProviderKind::Azure => "azure",
            ProviderKind::Gcp => "gcp",
        }
    }

    /// How people call it in prose (error messages).
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::Local => "the local cloud",
            ProviderKind::Aws => "AWS",
            ProviderKind::Azure => "Azure",
            ProviderKind::Gcp => "Google Cloud",
        }
    }

    /// The closest provider name to a misspelled one, if any is close enough to be the
    /// likely intent (`lcoal` → `local`; `openstack` → none).
    pub fn closest(name: &str) -> Option<ProviderKind> {
        // The same rule as the spec's other did-you-mean hints: a third of the name's
        // length in edits (at least 2), one for names of three characters or fewer.
        let len = name.chars().count();
        let max = if len <= 3 { 1 } else { (len / 3).max(2) };
        ProviderKind::ALL
            .into_iter()
            .map(|k| (strsim::damerau_levenshtein(name, k.as_str()), k))
            .filter(|(d, _)| *d <= max)
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that is none of `local`, `aws`, `azure`, `gcp`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider `{name}`: expected one of local, aws, azure, gcp{}",
    .suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
pub struct UnknownProvider {
    /// The name as written.
    pub name: String,
    /// The closest known provider, when one is close enough to be a typo.
    pub suggestion: Option<ProviderKind>,
}

impl FromStr for ProviderKind {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProviderKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownProvider {
                name: s.to_string(),
                suggestion: ProviderKind::closest(s),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for k in ProviderKind::ALL {
            assert_eq!(k.as_str().parse::<ProviderKind>(), Ok(k));
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, serde_json::json!(k.as_str()));
            assert_eq!(serde_json::from_value::<ProviderKind>(json).unwrap(), k);
        }
    }

    #[test]
    fn an_unknown_name_suggests_the_closest() {
        let e = "lcoal".parse::<ProviderKind>().unwrap_err();
        assert_eq!(e.suggestion, Some(ProviderKind::Local));
        assert!(e.to_string().contains("did you mean `local`?"), "{e}");
        assert_eq!(
            "asw".parse::<ProviderKind>().unwrap_err().suggestion,
            Some(ProviderKind::Aws)
        );
        let far = "openstack".parse::<ProviderKind>().unwrap_err();
        assert_eq!(far.suggestion, None);
        assert!(!far.to_string().contains("did you mean"), "{far}");
        // Names are lowercase, as everywhere in a spec.
        assert!("AWS".parse::<ProviderKind>().is_err());
    }
}
