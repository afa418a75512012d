//! Storage classes (`storage.toml`): each cloud's native class for an abstract class, its
//! minimum storage duration and retrieval semantics, and other native classes mapped back.

use serde::Deserialize;

use super::Cloud;
use super::fidelity::{Difference, Fidelity, Nearest};
use super::table::{CatalogError, columns};
use crate::kinds::StorageClass;

/// Every storage class the spec accepts. The match in [`class_name`] is exhaustive, so a
/// new class in `kinds` does not compile until it is named here and given a table row.
pub const CLASSES: [StorageClass; 3] = [
    StorageClass::Standard,
    StorageClass::Infrequent,
    StorageClass::Archive,
];

/// A class's name as written in a spec and in the table.
pub fn class_name(class: StorageClass) -> &'static str {
    match class {
        StorageClass::Standard => "standard",
        StorageClass::Infrequent => "infrequent",
        StorageClass::Archive => "archive",
    }
}

/// How an object in a class is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retrieval {
    /// Read as usual, no fee.
    Immediate,
    /// Read as usual, with a per-GB retrieval fee.
    Fee,
    /// A restore (rehydration) must finish before the object can be read.
    Restore,
}

/// A cloud's native class for an abstract class.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeStorageClass {
    /// The native class (`STANDARD_IA`, `Cool`, `NEARLINE`).
    pub native: String,
    /// Billed at least this many days once an object is in the class.
    pub min_storage_days: u32,
    /// How objects are read.
    pub retrieval: Retrieval,
    /// How long a read takes to start, in words.
    pub first_byte: String,
    /// How old an object must be before a lifecycle rule may move it into the class.
    pub transition_min_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassRow {
    pub name: StorageClass,
    local: NativeStorageClass,
    aws: NativeStorageClass,
    azure: NativeStorageClass,
    gcp: NativeStorageClass,
}
columns!(ClassRow => NativeStorageClass);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtherClass {
    pub cloud: Cloud,
    pub native: String,
    pub nearest: StorageClass,
    pub differs: String,
}

/// The parsed `storage.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StorageTable {
    pub class: Vec<ClassRow>,
    #[serde(default)]
    pub other: Vec<OtherClass>,
}

pub(crate) const TABLE: &str = "storage.toml";

impl StorageTable {
    /// Exactly one row per class.
    pub(crate) fn check(self) -> Result<StorageTable, CatalogError> {
        for class in CLASSES {
            let rows = self.class.iter().filter(|r| r.name == class).count();
            if rows != 1 {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!(
                        "storage class `{}` needs exactly one [[class]] row, found {rows}",
                        class_name(class)
                    ),
                ));
            }
        }
        Ok(self)
    }

    pub(crate) fn native(&self, cloud: Cloud, class: StorageClass) -> Option<&NativeStorageClass> {
        self.class
            .iter()
            .find(|r| r.name == class)
            .map(|r| r.column(cloud))
    }

    /// The abstract class of a native one (names compare without case: Azure answers
    /// `Hot` or `hot`).
    pub(crate) fn of_native(&self, cloud: Cloud, native: &str) -> Option<Nearest<StorageClass>> {
        if let Some(row) = self
            .class
            .iter()
            .find(|r| r.column(cloud).native.eq_ignore_ascii_case(native))
        {
            return Some(Nearest {
                value: row.name,
                fidelity: Fidelity::Exact,
            });
        }
        let other = self
            .other
            .iter()
            .find(|o| o.cloud == cloud && o.native.eq_ignore_ascii_case(native))?;
        let abstract_native = self
            .native(cloud, other.nearest)
            .map_or("", |n| n.native.as_str());
        Some(Nearest {
            value: other.nearest,
            fidelity: Fidelity::Approximate(vec![Difference::new(
                "class",
                format!("{} ({})", other.native, other.differs),
                format!("{} ({abstract_native})", class_name(other.nearest)),
            )]),
        })
    }
}
