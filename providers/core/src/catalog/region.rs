//! Regions (`regions.toml`): abstract regions named after places, each cloud's region there
//! or nearest to it, and the way back from a cloud's region to a place.

use serde::Deserialize;

use super::Cloud;
use super::fidelity::{Difference, Fidelity, Nearest};
use super::table::{CatalogError, columns};

/// An abstract region: a place, and each cloud's region there or nearest to it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionRow {
    /// The abstract name (`us-virginia`).
    pub name: String,
    /// Where it is (`Virginia, US`).
    pub place: String,
    local: String,
    aws: String,
    azure: String,
    gcp: String,
}
columns!(RegionRow => String);

/// A cloud's region and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRegion {
    /// The cloud's identifier (`us-east-1`, `eastus`, `us-east4`).
    pub id: String,
    /// Where it is.
    pub place: String,
    /// The abstract region it maps back to, when no row's column names it in its place.
    #[serde(default)]
    pub nearest: Option<String>,
}

/// The parsed `regions.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegionTable {
    pub region: Vec<RegionRow>,
    /// The local cloud has no regions: no list.
    pub natives: Natives,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Natives {
    pub aws: Vec<NativeRegion>,
    pub azure: Vec<NativeRegion>,
    pub gcp: Vec<NativeRegion>,
}

impl Natives {
    fn get(&self, cloud: Cloud) -> &[NativeRegion] {
        match cloud {
            Cloud::Local => &[],
            Cloud::Aws => &self.aws,
            Cloud::Azure => &self.azure,
            Cloud::Gcp => &self.gcp,
        }
    }
}

pub(crate) const TABLE: &str = "regions.toml";

/// The local cloud's one "region".
pub const LOCAL_REGION: &str = "local";

/// The clouds that have regions.
const REGIONAL: [Cloud; 3] = [Cloud::Aws, Cloud::Azure, Cloud::Gcp];

impl RegionTable {
    /// Every column names a listed region; every listed region maps back to one row.
    pub(crate) fn check(self) -> Result<RegionTable, CatalogError> {
        for row in &self.region {
            if self.region.iter().filter(|r| r.name == row.name).count() > 1 {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!("region `{}` has two rows", row.name),
                ));
            }
            if row.local != LOCAL_REGION {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!(
                        "region `{}`: the local column must be `{LOCAL_REGION}`",
                        row.name
                    ),
                ));
            }
            for cloud in REGIONAL {
                if self.native(cloud, row.column(cloud)).is_none() {
                    return Err(CatalogError::invalid(
                        TABLE,
                        format!(
                            "region `{}` names {cloud} region `{}`, which [natives].{cloud} does not list",
                            row.name,
                            row.column(cloud)
                        ),
                    ));
                }
            }
        }
        for cloud in REGIONAL {
            for n in self.natives.get(cloud) {
                if self.row_of(cloud, n).is_none() {
                    return Err(CatalogError::invalid(
                        TABLE,
                        format!(
                            "{cloud} region `{}` maps back to no single row: give it `nearest`",
                            n.id
                        ),
                    ));
                }
            }
        }
        Ok(self)
    }

    pub(crate) fn row(&self, name: &str) -> Option<&RegionRow> {
        self.region.iter().find(|r| r.name == name)
    }

    pub(crate) fn native(&self, cloud: Cloud, id: &str) -> Option<&NativeRegion> {
        self.natives.get(cloud).iter().find(|n| n.id == id)
    }

    /// The row a native region maps back to: `nearest` if given, else the row whose column
    /// it is in the same place, else the only row whose column it is.
    fn row_of(&self, cloud: Cloud, n: &NativeRegion) -> Option<&RegionRow> {
        if let Some(name) = &n.nearest {
            return self.row(name);
        }
        let named: Vec<&RegionRow> = self
            .region
            .iter()
            .filter(|r| r.column(cloud) == &n.id)
            .collect();
        named
            .iter()
            .find(|r| r.place == n.place)
            .or(if named.len() == 1 {
                named.first()
            } else {
                None
            })
            .copied()
    }

    /// A native region's abstract region, and whether it is in that place.
    pub(crate) fn of_native(&self, cloud: Cloud, id: &str) -> Option<Nearest<&RegionRow>> {
        let n = self.native(cloud, id)?;
        let row = self.row_of(cloud, n)?;
        Some(Nearest {
            value: row,
            fidelity: place_fidelity(&n.place, &row.place),
        })
    }

    /// How well a cloud's column stands for an abstract region (its place).
    pub(crate) fn fidelity(&self, cloud: Cloud, row: &RegionRow) -> Fidelity {
        match self.native(cloud, row.column(cloud)) {
            Some(n) => place_fidelity(&n.place, &row.place),
            // The local cloud is wherever this machine is.
            None => Fidelity::Exact,
        }
    }
}

fn place_fidelity(native: &str, wanted: &str) -> Fidelity {
    if native == wanted {
        Fidelity::Exact
    } else {
        Fidelity::Approximate(vec![Difference::new("place", native, wanted)])
    }
}
