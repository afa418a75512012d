//! Abstract machine sizes and what they mean in CPUs and memory. Each provider maps a
//! size onto its own machine types; this table is the common ground that makes a
//! `medium` on AWS comparable to a `medium` on GCP.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An abstract machine size.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// 2 shared vCPU, 0.5 GiB.
    Nano,
    /// 2 shared vCPU, 1 GiB.
    Micro,
    /// 2 vCPU, 2 GiB.
    Small,
    /// 2 vCPU, 4 GiB.
    Medium,
    /// 2 vCPU, 8 GiB.
    Large,
    /// 4 vCPU, 16 GiB.
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

    /// Virtual CPUs.
    pub fn vcpus(self) -> u32 {
        match self {
            Size::Xlarge => 4,
            _ => 2,
        }
    }

    /// Memory in MiB.
    pub fn memory_mib(self) -> u32 {
        match self {
            Size::Nano => 512,
            Size::Micro => 1024,
            Size::Small => 2048,
            Size::Medium => 4096,
            Size::Large => 8192,
            Size::Xlarge => 16384,
        }
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
        Size::ALL
            .into_iter()
            .find(|s| s.vcpus() >= vcpus && s.memory_mib() >= memory_mib)
    }
}
