//! Databases (`database.toml`): the instance class of each size per cloud, the engines'
//! native names, and their major versions.

use serde::Deserialize;

use super::Cloud;
use super::compute::{MachineType, Size, check_sizes};
use super::table::{CatalogError, PerCloud, columns};
use crate::kinds::DbEngine;

/// Every engine the spec accepts. The match in [`engine_name`] is exhaustive, so a new
/// engine in `kinds` does not compile until it is named here and given a table row.
pub const ENGINES: [DbEngine; 2] = [DbEngine::Postgres, DbEngine::Mysql];

/// An engine's name as written in a spec and in the table.
pub fn engine_name(engine: DbEngine) -> &'static str {
    match engine {
        DbEngine::Postgres => "postgres",
        DbEngine::Mysql => "mysql",
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassRow {
    pub size: Size,
    local: String,
    aws: String,
    azure: String,
    gcp: String,
}
columns!(ClassRow => String);

/// An engine: its native name per cloud and the version used when the spec gives none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineRow {
    /// The engine.
    pub name: DbEngine,
    /// The major version created when the spec names none (on clouds that need one).
    pub default_version: String,
    local: String,
    aws: String,
    azure: String,
    gcp: String,
}
columns!(EngineRow => String);

/// One major version of an engine, and each cloud's identifier for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineVersion {
    /// The engine.
    pub engine: DbEngine,
    /// The version as written in a spec (`16`, `8.0`).
    pub version: String,
    local: String,
    aws: String,
    azure: String,
    gcp: String,
}
columns!(EngineVersion => String);

impl EngineVersion {
    /// This version's identifier on `cloud` (`16`, `POSTGRES_16`, `8.0.21`).
    pub fn native(&self, cloud: Cloud) -> &str {
        self.column(cloud)
    }
}

/// The parsed `database.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DatabaseTable {
    pub class: Vec<ClassRow>,
    pub machines: PerCloud<Vec<MachineType>>,
    pub engine: Vec<EngineRow>,
    pub version: Vec<EngineVersion>,
}

pub(crate) const TABLE: &str = "database.toml";

impl DatabaseTable {
    /// A class row per size naming listed classes; a row per engine with its default among
    /// its versions.
    pub(crate) fn check(mut self) -> Result<DatabaseTable, CatalogError> {
        self.class.sort_by_key(|c| c.size);
        check_sizes(TABLE, self.class.iter().map(|c| c.size))?;
        for row in &self.class {
            for cloud in Cloud::ALL {
                let name = row.column(cloud);
                if !self.machines.get(cloud).iter().any(|m| &m.name == name) {
                    return Err(CatalogError::invalid(
                        TABLE,
                        format!(
                            "size `{}` names {cloud} class `{name}`, which [machines].{cloud} does not list",
                            row.size
                        ),
                    ));
                }
            }
        }
        for engine in ENGINES {
            let name = engine_name(engine);
            let rows = self.engine.iter().filter(|e| e.name == engine).count();
            if rows != 1 {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!("engine `{name}` needs exactly one [[engine]] row, found {rows}"),
                ));
            }
            if !self.version.iter().any(|v| v.engine == engine) {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!("engine `{name}` has no [[version]] row"),
                ));
            }
        }
        for e in &self.engine {
            if self.find_version(e.name, &e.default_version).is_none() {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!(
                        "engine `{}`: default_version `{}` has no [[version]] row",
                        engine_name(e.name),
                        e.default_version
                    ),
                ));
            }
        }
        Ok(self)
    }

    pub(crate) fn class(&self, size: Size) -> &ClassRow {
        // `check` sorted the rows and made sure each size has exactly one.
        &self.class[size as usize]
    }

    pub(crate) fn engine(&self, engine: DbEngine) -> Option<&EngineRow> {
        self.engine.iter().find(|e| e.name == engine)
    }

    pub(crate) fn find_version(&self, engine: DbEngine, version: &str) -> Option<&EngineVersion> {
        self.version
            .iter()
            .find(|v| v.engine == engine && v.version == version)
    }
}
