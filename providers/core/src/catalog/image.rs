//! Images (`images.toml`): what `image:` names, and how each cloud finds it (an AMI query,
//! a Marketplace reference, an image family), or why a cloud does not publish it.

use serde::Deserialize;

use super::Cloud;
use super::compute::Architecture;
use super::table::CatalogError;

/// How to find an image's AMI: owning account and `Name` filter; the newest match wins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmiQuery {
    /// Owning account (Canonical, Debian, Amazon).
    pub owner: String,
    /// `Name` filter with `*` wildcards.
    pub name: String,
}

impl AmiQuery {
    /// Whether an AMI's name matches the filter (`*` matches any run of characters).
    pub fn matches(&self, ami_name: &str) -> bool {
        glob_match(&self.name, ami_name)
    }
}

/// An Azure Marketplace image reference (the latest version).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureImage {
    /// Publisher (`Canonical`).
    pub publisher: String,
    /// Offer (`ubuntu-24_04-lts`).
    pub offer: String,
    /// SKU (`server`).
    pub sku: String,
}

/// A Compute Engine image family; its newest image wins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpImage {
    /// Image project (`ubuntu-os-cloud`).
    pub project: String,
    /// Image family (`ubuntu-2404-lts-amd64`).
    pub family: String,
}

/// The local cloud runs the startup script on this machine, whatever its OS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostImage {
    /// Always `true`: the host's OS stands in for the image.
    pub host: bool,
}

/// An image on one cloud, or why the cloud does not publish it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Published<T> {
    /// How the cloud finds it.
    Available(T),
    /// Not published there.
    Unavailable {
        /// Why, and what to use instead.
        unavailable: String,
    },
}

impl<T> Published<T> {
    /// The image, or why there is none.
    pub fn available(&self) -> Result<&T, &str> {
        match self {
            Published::Available(t) => Ok(t),
            Published::Unavailable { unavailable } => Err(unavailable),
        }
    }
}

/// A catalog image and how each cloud finds it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRow {
    /// The name as written in a spec (`ubuntu-24.04`).
    pub name: String,
    /// The operating system, in words.
    pub os: String,
    /// CPU architecture.
    pub architecture: Architecture,
    /// The local cloud.
    pub local: Published<HostImage>,
    /// AWS.
    pub aws: Published<AmiQuery>,
    /// Azure.
    pub azure: Published<AzureImage>,
    /// Google Cloud.
    pub gcp: Published<GcpImage>,
}

impl ImageRow {
    /// Why `cloud` does not publish this image, if it does not.
    pub fn unavailable_on(&self, cloud: Cloud) -> Option<&str> {
        match cloud {
            Cloud::Local => self.local.available().err(),
            Cloud::Aws => self.aws.available().err(),
            Cloud::Azure => self.azure.available().err(),
            Cloud::Gcp => self.gcp.available().err(),
        }
    }
}

/// The parsed `images.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageTable {
    pub image: Vec<ImageRow>,
}

pub(crate) const TABLE: &str = "images.toml";

impl ImageTable {
    /// Names are unique.
    pub(crate) fn check(self) -> Result<ImageTable, CatalogError> {
        for i in &self.image {
            if self.image.iter().filter(|x| x.name == i.name).count() > 1 {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!("image `{}` has two rows", i.name),
                ));
            }
        }
        Ok(self)
    }

    pub(crate) fn row(&self, name: &str) -> Option<&ImageRow> {
        self.image.iter().find(|i| i.name == name)
    }
}

/// `*` matches any run of characters (none included); everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return text.is_empty(),
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        // No `*`: the whole text must be the pattern.
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_ami_name_filter() {
        let p = "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*";
        assert!(glob_match(
            p,
            "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250115"
        ));
        assert!(!glob_match(
            p,
            "ubuntu/images/hvm-ssd-gp3/ubuntu-jammy-22.04-amd64-server-20250115"
        ));
        assert!(glob_match(
            "debian-12-amd64-*",
            "debian-12-amd64-20250101-1"
        ));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("a*c", "ac"));
    }
}
