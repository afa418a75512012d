//! The cross-cloud catalog: what an abstract value (a size, a storage class, a runtime, a
//! region...) is on each cloud, and the way back from a native value to the nearest
//! abstract one with what differs.
//!
//! The tables are data, one TOML file per domain under `providers/core/catalog/`
//! (`compute`, `database`, `storage`, `queue`, `function`, `regions`, `images`), with a
//! column per cloud. They are embedded in the binary and parsed once, on first use. A table
//! that does not parse, or that lacks a column for a value the spec accepts, is a bug that
//! the tests of this module catch: it never reaches a user's run.
//!
//! ```
//! use overcast_core::catalog::{Cloud, Size, catalog};
//! assert_eq!(catalog().compute(Cloud::Aws, Size::Medium).name, "t3.medium");
//! let back = catalog().size_of_machine(Cloud::Aws, "m5.large").unwrap();
//! assert_eq!(back.value, Size::Large);
//! assert_eq!(back.fidelity.to_string(), "approximate: burstable no (native) vs yes (abstract)");
//! ```
//!
//! Schedules of function triggers live in [`schedule`]: one cloud-neutral syntax, checked
//! here and translated per cloud.

mod cloud;
mod compute;
mod database;
mod fidelity;
mod function;
mod image;
mod queue;
mod region;
pub mod schedule;
mod storage;
mod table;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

pub use cloud::{Cloud, UnknownCloud};
pub use compute::{Architecture, MachineType, Size, SizeSpec};
pub use database::{ENGINES, EngineRow, EngineVersion, engine_name};
pub use fidelity::{Difference, Fidelity, Nearest};
pub use function::{FunctionLimits, NativeRuntime, RuntimeRow};
pub use image::{AmiQuery, AzureImage, GcpImage, HostImage, ImageRow, Published};
pub use queue::QueueSemantics;
pub use region::{LOCAL_REGION, NativeRegion, RegionRow};
pub use storage::{CLASSES as STORAGE_CLASSES, NativeStorageClass, Retrieval, class_name};
pub use table::CatalogError;

use crate::kinds::{DbEngine, StorageClass};

/// The tables, as shipped.
mod embedded {
    pub const COMPUTE: &str = include_str!("../../catalog/compute.toml");
    pub const DATABASE: &str = include_str!("../../catalog/database.toml");
    pub const STORAGE: &str = include_str!("../../catalog/storage.toml");
    pub const QUEUE: &str = include_str!("../../catalog/queue.toml");
    pub const FUNCTION: &str = include_str!("../../catalog/function.toml");
    pub const REGIONS: &str = include_str!("../../catalog/regions.toml");
    pub const IMAGES: &str = include_str!("../../catalog/images.toml");
}

/// Every table, parsed and checked.
#[derive(Debug)]
pub struct Catalog {
    compute: compute::ComputeTable,
    database: database::DatabaseTable,
    storage: storage::StorageTable,
    queue: queue::QueueTable,
    function: function::FunctionTable,
    regions: region::RegionTable,
    images: image::ImageTable,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| match Catalog::load() {
    Ok(c) => c,
    // Not input: the tables are compiled in and every one is parsed by this module's
    // tests, so this is reached only by a build whose tests failed.
    Err(e) => panic!("the embedded catalog is broken (a bug): {e}"),
});

/// The catalog shipped in this binary, parsed on first use.
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

impl Catalog {
    /// Parse and check the embedded tables.
    pub fn load() -> Result<Catalog, CatalogError> {
        Ok(Catalog {
            compute: table::parse::<compute::ComputeTable>(compute::TABLE, embedded::COMPUTE)?
                .check()?,
            database: table::parse::<database::DatabaseTable>(database::TABLE, embedded::DATABASE)?
                .check()?,
            storage: table::parse::<storage::StorageTable>(storage::TABLE, embedded::STORAGE)?
                .check()?,
            queue: table::parse(queue::TABLE, embedded::QUEUE)?,
            function: table::parse::<function::FunctionTable>(function::TABLE, embedded::FUNCTION)?
                .check()?,
            regions: table::parse::<region::RegionTable>(region::TABLE, embedded::REGIONS)?
                .check()?,
            images: table::parse::<image::ImageTable>(image::TABLE, embedded::IMAGES)?.check()?,
        })
    }

    // ---- compute -------------------------------------------------------------------

    /// What an abstract size means.
    pub fn size(&self, size: Size) -> &SizeSpec {
        self.compute.spec(size)
    }

    /// The smallest size with at least this many vCPUs and this much memory.
    pub fn size_at_least(&self, vcpu: u32, memory_mib: u32) -> Option<Size> {
        Size::ALL.into_iter().find(|s| {
            let spec = self.size(*s);
            spec.vcpu >= vcpu && spec.memory_mib >= memory_mib
        })
    }

    /// The machine type a size runs on (`t3.medium` for `medium` on AWS).
    pub fn compute(&self, cloud: Cloud, size: Size) -> &MachineType {
        let name = self.size(size).column(cloud);
        self.compute
            .machine(cloud, name)
            // `check` made sure every column names a listed machine.
            .unwrap_or_else(|| unreachable!("compute.toml was checked: {cloud} `{name}`"))
    }

    /// What differs between a size and the machine type it runs on.
    pub fn compute_fidelity(&self, cloud: Cloud, size: Size) -> Fidelity {
        self.compute(cloud, size).fidelity(self.size(size))
    }

    /// A machine type the catalog knows on `cloud`.
    pub fn machine(&self, cloud: Cloud, name: &str) -> Option<&MachineType> {
        self.compute.machine(cloud, name)
    }

    /// The nearest size to a machine type found on `cloud`, with what differs; `None`
    /// when the catalog does not know the machine type.
    pub fn size_of_machine(&self, cloud: Cloud, name: &str) -> Option<Nearest<Size>> {
        compute::nearest_size(self.machine(cloud, name)?, &self.compute.size)
    }

    // ---- database ------------------------------------------------------------------

    /// The database instance class of a size (`db.t3.small` for `small` on AWS).
    pub fn db_class(&self, cloud: Cloud, size: Size) -> &MachineType {
        let name = self.database.class(size).column(cloud);
        self.db_machine(cloud, name)
            // `check` made sure every column names a listed class.
            .unwrap_or_else(|| unreachable!("database.toml was checked: {cloud} `{name}`"))
    }

    /// What differs between a size and its database instance class.
    pub fn db_class_fidelity(&self, cloud: Cloud, size: Size) -> Fidelity {
        self.db_class(cloud, size).fidelity(self.size(size))
    }

    /// A database instance class the catalog knows on `cloud`.
    pub fn db_machine(&self, cloud: Cloud, name: &str) -> Option<&MachineType> {
        self.database
            .machines
            .get(cloud)
            .iter()
            .find(|m| m.name == name)
    }

    /// The nearest size to a database instance class found on `cloud`.
    pub fn size_of_db_class(&self, cloud: Cloud, name: &str) -> Option<Nearest<Size>> {
        compute::nearest_size(self.db_machine(cloud, name)?, &self.compute.size)
    }

    /// An engine's native name on `cloud` (`postgres`, `POSTGRES`, the Azure resource type).
    pub fn engine(&self, cloud: Cloud, engine: DbEngine) -> &str {
        self.engine_row(engine).column(cloud)
    }

    /// The major version created when the spec names none, on clouds that need one.
    pub fn default_version(&self, engine: DbEngine) -> &str {
        &self.engine_row(engine).default_version
    }

    fn engine_row(&self, engine: DbEngine) -> &EngineRow {
        self.database
            .engine(engine)
            // `check` made sure every engine has its row.
            .unwrap_or_else(|| unreachable!("database.toml was checked: {}", engine_name(engine)))
    }

    /// The major versions of an engine the catalog knows, oldest first.
    pub fn engine_versions(&self, engine: DbEngine) -> impl Iterator<Item = &EngineVersion> {
        self.database
            .version
            .iter()
            .filter(move |v| v.engine == engine)
    }

    /// A version as written in a spec (`16`), if the catalog knows it.
    pub fn engine_version(&self, engine: DbEngine, version: &str) -> Option<&EngineVersion> {
        self.database.find_version(engine, version)
    }

    /// The version as written in a spec of a cloud's version identifier (`POSTGRES_16`
    /// gives `16`); for clouds that take a major and report a minor (`16.4` on RDS), the
    /// major it belongs to.
    pub fn version_of_native(&self, cloud: Cloud, engine: DbEngine, native: &str) -> Option<&str> {
        self.engine_versions(engine)
            .find(|v| {
                let n = v.native(cloud);
                native == n || native.strip_prefix(n).is_some_and(|r| r.starts_with('.'))
            })
            .map(|v| v.version.as_str())
    }

    // ---- storage -------------------------------------------------------------------

    /// A storage class on `cloud`: native class, minimum storage, retrieval.
    pub fn storage_class(&self, cloud: Cloud, class: StorageClass) -> &NativeStorageClass {
        self.storage
            .native(cloud, class)
            // `check` made sure every class has its row.
            .unwrap_or_else(|| unreachable!("storage.toml was checked: {}", class_name(class)))
    }

    /// The abstract class of a native one (`ONEZONE_IA` is approximately `infrequent`);
    /// `None` when the catalog does not know the native class.
    pub fn storage_class_of_native(
        &self,
        cloud: Cloud,
        native: &str,
    ) -> Option<Nearest<StorageClass>> {
        self.storage.of_native(cloud, native)
    }

    // ---- queue ---------------------------------------------------------------------

    /// What a queue is on `cloud`: ordering, deduplication, limits.
    pub fn queue(&self, cloud: Cloud) -> &QueueSemantics {
        self.queue.get(cloud)
    }

    // ---- function ------------------------------------------------------------------

    /// Every runtime the catalog knows.
    pub fn runtimes(&self) -> &[RuntimeRow] {
        &self.function.runtime
    }

    /// A runtime as written in a spec (`nodejs20`) on `cloud` (`nodejs20.x` on AWS).
    pub fn runtime(&self, cloud: Cloud, name: &str) -> Option<&NativeRuntime> {
        self.function.row(name).map(|r| r.native(cloud))
    }

    /// The runtime as written in a spec of a cloud's identifier (`nodejs20.x` gives
    /// `nodejs20`); `None` when unknown or ambiguous (the local interpreters run several).
    pub fn runtime_of_native(&self, cloud: Cloud, id: &str) -> Option<&str> {
        let mut found = self
            .function
            .runtime
            .iter()
            .filter(|r| r.native(cloud).id == id);
        match (found.next(), found.next()) {
            (Some(r), None) => Some(&r.name),
            _ => None,
        }
    }

    /// The limits a function meets on `cloud`.
    pub fn function_limits(&self, cloud: Cloud) -> &FunctionLimits {
        self.function.limits.get(cloud)
    }

    // ---- regions -------------------------------------------------------------------

    /// Every abstract region.
    pub fn regions(&self) -> &[RegionRow] {
        &self.regions.region
    }

    /// An abstract region (`us-virginia`) on `cloud` (`us-east-1`), with how well the
    /// cloud's region stands for the place.
    pub fn region(&self, cloud: Cloud, name: &str) -> Option<Nearest<&str>> {
        let row = self.regions.row(name)?;
        Some(Nearest {
            value: row.column(cloud).as_str(),
            fidelity: self.regions.fidelity(cloud, row),
        })
    }

    /// The abstract region of a cloud's region (`eastus` gives `us-virginia`).
    pub fn region_of_native(&self, cloud: Cloud, id: &str) -> Option<Nearest<&str>> {
        self.regions.of_native(cloud, id).map(|n| Nearest {
            value: n.value.name.as_str(),
            fidelity: n.fidelity,
        })
    }

    /// The region on `to` nearest to a region of `from` (`us-east-1` on AWS gives `eastus`
    /// on Azure), with the place that differs, if any.
    pub fn region_equivalent(&self, from: Cloud, id: &str, to: Cloud) -> Option<Nearest<&str>> {
        let from_place = &self.regions.native(from, id)?.place;
        let row = self.regions.of_native(from, id)?.value;
        let target = row.column(to).as_str();
        let fidelity = match self.regions.native(to, target) {
            Some(n) if &n.place != from_place => {
                Fidelity::Approximate(vec![Difference::new("place", &n.place, from_place)])
            }
            _ => Fidelity::Exact,
        };
        Some(Nearest {
            value: target,
            fidelity,
        })
    }

    // ---- images --------------------------------------------------------------------

    /// Every catalog image.
    pub fn images(&self) -> &[ImageRow] {
        &self.images.image
    }

    /// A catalog image by name (`ubuntu-24.04`).
    pub fn image(&self, name: &str) -> Option<&ImageRow> {
        self.images.row(name)
    }

    /// The catalog image an AMI is an instance of, from its owner and name.
    pub fn image_of_ami(&self, owner: &str, ami_name: &str) -> Option<&ImageRow> {
        self.images.image.iter().find(|i| {
            i.aws
                .available()
                .is_ok_and(|q| q.owner == owner && q.matches(ami_name))
        })
    }
}
