//! What every table shares: per-cloud columns, TOML parsing, and the error a broken table
//! gives (a bug in the shipped tables, caught by the catalog's tests).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Cloud;

/// One value per cloud: a `[local]`/`[aws]`/`[azure]`/`[gcp]` table, or four keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PerCloud<T> {
    pub local: T,
    pub aws: T,
    pub azure: T,
    pub gcp: T,
}

impl<T> PerCloud<T> {
    pub(crate) fn get(&self, cloud: Cloud) -> &T {
        match cloud {
            Cloud::Local => &self.local,
            Cloud::Aws => &self.aws,
            Cloud::Azure => &self.azure,
            Cloud::Gcp => &self.gcp,
        }
    }
}

/// Rows whose columns are the fields `local`, `aws`, `azure`, `gcp` of one type get
/// `column(cloud)`.
macro_rules! columns {
    ($row:ty => $t:ty) => {
        impl $row {
            /// This row's value for `cloud`.
            pub(crate) fn column(&self, cloud: $crate::catalog::Cloud) -> &$t {
                match cloud {
                    $crate::catalog::Cloud::Local => &self.local,
                    $crate::catalog::Cloud::Aws => &self.aws,
                    $crate::catalog::Cloud::Azure => &self.azure,
                    $crate::catalog::Cloud::Gcp => &self.gcp,
                }
            }
        }
    };
}
pub(crate) use columns;

/// A shipped table that does not parse or does not hold together. Always a bug in the
/// tables under `providers/core/catalog/`, never a user's mistake.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not valid TOML or does not fit the table's shape.
    #[error("catalog table `{table}` does not parse: {message}")]
    Parse {
        /// File name under `providers/core/catalog/`.
        table: &'static str,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file parses but contradicts itself or another table (a missing column, a name
    /// that no list defines).
    #[error("catalog table `{table}`: {message}")]
    Invalid {
        /// File name under `providers/core/catalog/`.
        table: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl CatalogError {
    pub(crate) fn invalid(table: &'static str, message: impl Into<String>) -> CatalogError {
        CatalogError::Invalid {
            table,
            message: message.into(),
        }
    }
}

/// Parse one embedded table.
pub(crate) fn parse<T: DeserializeOwned>(
    table: &'static str,
    text: &str,
) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::Parse {
        table,
        message: e.to_string(),
    })
}

/// Memory as people read it: `512 MiB`, `8 GiB`, `1.7 GiB`.
pub(crate) fn memory(mib: u32) -> String {
    if mib < 1024 {
        format!("{mib} MiB")
    } else if mib.is_multiple_of(1024) {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{:.1} GiB", f64::from(mib) / 1024.0)
    }
}

/// A duration in seconds as people read it: `30 s`, `5 min`, `4 days`.
pub(crate) fn duration(secs: u64) -> String {
    match secs {
        s if s.is_multiple_of(86_400) && s >= 86_400 => plural(s / 86_400, "day"),
        s if s.is_multiple_of(3600) && s >= 3600 => plural(s / 3600, "hour"),
        s if s.is_multiple_of(60) && s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_naturally() {
        assert_eq!(memory(512), "512 MiB");
        assert_eq!(memory(8192), "8 GiB");
        assert_eq!(memory(1740), "1.7 GiB");
        assert_eq!(duration(300), "5 minutes");
        assert_eq!(duration(86_400), "1 day");
        assert_eq!(duration(90), "90 seconds");
    }
}
