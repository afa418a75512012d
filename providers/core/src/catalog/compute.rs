//! Compute sizes (`compute.toml`): what an abstract size means in vCPUs and memory, the
//! machine type each cloud runs it on, and the way back from a machine type to the
//! nearest size. Database instance classes (`database.toml`) reuse the machine model.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fidelity::{Difference, Fidelity, Nearest, differ, yes_no};
use super::table::{CatalogError, PerCloud, columns, memory};
use super::{Cloud, catalog};

/// An abstract machine size. What each means (vCPUs, memory) is the `compute.toml` table.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// 2 burstable vCPU, 512 MiB.
    Nano,
    /// 2 burstable vCPU, 1 GiB.
    Micro,
    /// 2 burstable vCPU, 2 GiB.
    Small,
    /// 2 burstable vCPU, 4 GiB.
    Medium,
    /// 2 burstable vCPU, 8 GiB.
    Large,
    /// 4 burstable vCPU, 16 GiB.
    Xlarge,
}

impl Size {
    /// Every size, smallest first.
    pub const ALL: [Size; 6] = [
        Size::Nano,
        Size::Micro,
        Size::Small,
        Size::Medium,
        Size::Large,
        Size::Xlarge,
    ];

    /// Virtual CPUs (from the catalog).
    pub fn vcpus(self) -> u32 {
        catalog().size(self).vcpu
    }

    /// Memory in MiB (from the catalog).
    pub fn memory_mib(self) -> u32 {
        catalog().size(self).memory_mib
    }

    /// The size's name as written in a spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Nano => "nano",
            Size::Micro => "micro",
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
            Size::Xlarge => "xlarge",
        }
    }

    /// The smallest size with at least this many CPUs and this much memory.
    pub fn at_least(vcpus: u32, memory_mib: u32) -> Option<Size> {
        catalog().size_at_least(vcpus, memory_mib)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// CPU architecture of a machine or image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// x86-64 (Intel, AMD).
    X86_64,
    /// 64-bit ARM (Graviton, Ampere, Cobalt, Axion).
    Arm64,
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        })
    }
}

/// What an abstract size means, and the machine type each cloud runs it on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeSpec {
    /// The size.
    pub name: Size,
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Burstable (CPU credits or shared cores) rather than dedicated vCPUs.
    pub burstable: bool,
    local: String,
    aws: String,
    azure: String,
    gcp: String,
}
columns!(SizeSpec => String);

/// A machine type (or database instance class) a cloud offers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineType {
    /// The cloud's name for it (`t3.medium`, `Standard_B2s`, `e2-medium`).
    pub name: String,
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Burstable (CPU credits or shared cores) rather than dedicated vCPUs.
    pub burstable: bool,
}

impl MachineType {
    /// What differs between this machine and an abstract size.
    pub fn fidelity(&self, size: &SizeSpec) -> Fidelity {
        let mut d = Vec::new();
        differ(&mut d, "vCPU", self.vcpu, size.vcpu);
        if self.memory_mib != size.memory_mib {
            d.push(Difference::new(
                "memory",
                memory(self.memory_mib),
                memory(size.memory_mib),
            ));
        }
        differ(&mut d, "architecture", self.architecture, size.architecture);
        differ(
            &mut d,
            "burstable",
            yes_no(self.burstable),
            yes_no(size.burstable),
        );
        Fidelity::from_differences(d)
    }

    /// How far this machine is from a size: vCPU ratio weighs double, memory ratio once,
    /// a different architecture or burst model a little (so an exact match in CPU and
    /// memory still wins over them).
    fn distance(&self, size: &SizeSpec) -> f64 {
        let ratio = |a: u32, b: u32| (f64::from(a.max(1)) / f64::from(b.max(1))).ln().abs();
        let mut d = 2.0 * ratio(self.vcpu, size.vcpu) + ratio(self.memory_mib, size.memory_mib);
        if self.architecture != size.architecture {
            d += 0.1;
        }
        if self.burstable != size.burstable {
            d += 0.1;
        }
        d
    }
}

/// The nearest size to a machine, and what differs. Ties go to the smaller size.
pub(crate) fn nearest_size(machine: &MachineType, sizes: &[SizeSpec]) -> Option<Nearest<Size>> {
    let mut best: Option<(&SizeSpec, f64)> = None;
    for s in sizes {
        let d = machine.distance(s);
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((s, d));
        }
    }
    best.map(|(s, _)| Nearest {
        value: s.name,
        fidelity: machine.fidelity(s),
    })
}

/// The parsed `compute.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComputeTable {
    pub size: Vec<SizeSpec>,
    pub machines: PerCloud<Vec<MachineType>>,
}

pub(crate) const TABLE: &str = "compute.toml";

impl ComputeTable {
    /// Every size exactly once, in `Size::ALL` order, and every column naming a listed
    /// machine type.
    pub(crate) fn check(mut self) -> Result<ComputeTable, CatalogError> {
        self.size.sort_by_key(|s| s.name);
        check_sizes(TABLE, self.size.iter().map(|s| s.name))?;
        for s in &self.size {
            for cloud in Cloud::ALL {
                let name = s.column(cloud);
                if !self.machines.get(cloud).iter().any(|m| &m.name == name) {
                    return Err(CatalogError::invalid(
                        TABLE,
                        format!(
                            "size `{}` names {cloud} machine type `{name}`, which [machines].{cloud} does not list",
                            s.name
                        ),
                    ));
                }
            }
        }
        Ok(self)
    }

    pub(crate) fn spec(&self, size: Size) -> &SizeSpec {
        // `check` sorted the rows and made sure each size has exactly one.
        &self.size[size as usize]
    }

    pub(crate) fn machine(&self, cloud: Cloud, name: &str) -> Option<&MachineType> {
        self.machines.get(cloud).iter().find(|m| m.name == name)
    }
}

/// Each `Size` exactly once, in order, else the first missing or repeated one.
pub(crate) fn check_sizes(
    table: &'static str,
    names: impl Iterator<Item = Size>,
) -> Result<(), CatalogError> {
    let names: Vec<Size> = names.collect();
    for (i, size) in Size::ALL.into_iter().enumerate() {
        match names.get(i) {
            Some(n) if *n == size => {}
            Some(n) if i > 0 && names[i - 1] == *n => {
                return Err(CatalogError::invalid(
                    table,
                    format!("size `{n}` has two rows"),
                ));
            }
            _ => {
                return Err(CatalogError::invalid(
                    table,
                    format!("size `{size}` has no row: every size the spec accepts needs one"),
                ));
            }
        }
    }
    if names.len() > Size::ALL.len() {
        return Err(CatalogError::invalid(table, "a size has two rows"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: Size, vcpu: u32, memory_mib: u32) -> SizeSpec {
        SizeSpec {
            name,
            vcpu,
            memory_mib,
            architecture: Architecture::X86_64,
            burstable: true,
            local: String::new(),
            aws: String::new(),
            azure: String::new(),
            gcp: String::new(),
        }
    }

    #[test]
    fn a_missing_size_row_is_named() {
        let err = check_sizes("t.toml", [Size::Nano, Size::Micro].into_iter()).unwrap_err();
        assert!(err.to_string().contains("size `small` has no row"), "{err}");
    }

    #[test]
    fn nearest_prefers_equal_cpu_and_memory() {
        let sizes = [spec(Size::Medium, 2, 4096), spec(Size::Large, 2, 8192)];
        let m5 = MachineType {
            name: "m5.large".into(),
            vcpu: 2,
            memory_mib: 8192,
            architecture: Architecture::X86_64,
            burstable: false,
        };
        let n = nearest_size(&m5, &sizes).expect("a size");
        assert_eq!(n.value, Size::Large);
        assert_eq!(n.fidelity.differences().len(), 1);
        assert_eq!(n.fidelity.differences()[0].what, "burstable");
    }
}
