//! The clouds overcast targets. One enum names them everywhere: a catalog column, a
//! target's `provider:`, a provider crate.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A cloud (or the embedded local cloud): a column of every catalog table, and the name a
/// target gives as `provider:`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    /// The embedded local cloud: files, processes and databases on this machine.
    Local,
    /// Amazon Web Services.
    Aws,
    /// Microsoft Azure.
    Azure,
    /// Google Cloud.
    Gcp,
}

impl Cloud {
    /// Every cloud, in column order.
    pub const ALL: [Cloud; 4] = [Cloud::Local, Cloud::Aws, Cloud::Azure, Cloud::Gcp];

    /// The name as written in a spec (`provider: aws`) and in the catalog's columns.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Local => "local",
            Cloud::Aws => "aws",
            Cloud::Azure => "azure",
            Cloud::Gcp => "gcp",
        }
    }

    /// How people call it in prose (error messages).
    pub fn display_name(self) -> &'static str {
        match self {
            Cloud::Local => "the local cloud",
            Cloud::Aws => "AWS",
            Cloud::Azure => "Azure",
            Cloud::Gcp => "Google Cloud",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that names no cloud.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cloud `{0}`: expected one of local, aws, azure, gcp")]
pub struct UnknownCloud(pub String);

impl FromStr for Cloud {
    type Err = UnknownCloud;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCloud(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Cloud::ALL {
            assert_eq!(c.as_str().parse::<Cloud>(), Ok(c));
            assert_eq!(
                serde_json::to_value(c).expect("serializes"),
                serde_json::json!(c.as_str())
            );
        }
        assert!("amazon".parse::<Cloud>().is_err());
    }
}
