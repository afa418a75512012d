//! Functions (`function.toml`): each cloud's identifier for a spec's runtime, and the
//! limits a function's memory and timeout meet.

use serde::Deserialize;

use super::Cloud;
use super::fidelity::{Difference, Fidelity};
use super::table::{CatalogError, PerCloud, columns, duration, memory};
use crate::kinds::FUNCTION_RUNTIMES;

/// A runtime on one cloud.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRuntime {
    /// The cloud's identifier (`nodejs20.x`, `node|20`, `nodejs20`; locally the interpreter).
    pub id: String,
    /// When the cloud deprecated it (ISO date), if it did.
    #[serde(default)]
    pub deprecated: Option<String>,
}

/// A runtime the spec accepts, and its identifier per cloud.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeRow {
    /// The runtime as written in a spec (`python3.12`, `nodejs20`).
    pub name: String,
    /// The language (`python`, `node`).
    pub language: String,
    local: NativeRuntime,
    aws: NativeRuntime,
    azure: NativeRuntime,
    gcp: NativeRuntime,
}
columns!(RuntimeRow => NativeRuntime);

impl RuntimeRow {
    /// This runtime on `cloud`.
    pub fn native(&self, cloud: Cloud) -> &NativeRuntime {
        self.column(cloud)
    }
}

/// What a function's memory and timeout meet on one cloud.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionLimits {
    /// What a function becomes.
    pub service: String,
    /// Longest run of an HTTP-triggered invocation (`None`: no limit).
    #[serde(default)]
    pub http_timeout_max_s: Option<u64>,
    /// Longest run of any other invocation (`None`: no limit).
    #[serde(default)]
    pub event_timeout_max_s: Option<u64>,
    /// Least memory.
    pub memory_mib_min: u32,
    /// Most memory (`None`: not enforced).
    #[serde(default)]
    pub memory_mib_max: Option<u32>,
    /// The only sizes sold (empty: any in the range).
    pub memory_mib_choices: Vec<u32>,
}

impl FunctionLimits {
    /// The memory this cloud gives a function that asks for `mib`: the smallest choice at
    /// least as large, else the request within the range.
    pub fn memory_for(&self, mib: u32) -> u32 {
        if let Some(c) = self
            .memory_mib_choices
            .iter()
            .copied()
            .filter(|c| *c >= mib)
            .min()
        {
            return c;
        }
        if let Some(c) = self.memory_mib_choices.iter().copied().max() {
            return c;
        }
        let at_least = mib.max(self.memory_mib_min);
        self.memory_mib_max
            .map_or(at_least, |max| at_least.min(max))
    }

    /// What of a function's memory and timeout this cloud cannot honour as written.
    pub fn fidelity(&self, memory_mib: u32, timeout_s: u64, http: bool) -> Fidelity {
        let mut d = Vec::new();
        let got = self.memory_for(memory_mib);
        if got != memory_mib {
            d.push(Difference::new("memory", memory(got), memory(memory_mib)));
        }
        let max = if http {
            self.http_timeout_max_s
        } else {
            self.event_timeout_max_s
        };
        if let Some(max) = max
            && timeout_s > max
        {
            d.push(Difference::new(
                "timeout",
                duration(max),
                duration(timeout_s),
            ));
        }
        Fidelity::from_differences(d)
    }
}

/// The parsed `function.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FunctionTable {
    pub runtime: Vec<RuntimeRow>,
    pub limits: PerCloud<FunctionLimits>,
}

pub(crate) const TABLE: &str = "function.toml";

impl FunctionTable {
    /// A row for every runtime the spec accepts, none twice.
    pub(crate) fn check(self) -> Result<FunctionTable, CatalogError> {
        for name in FUNCTION_RUNTIMES {
            let rows = self.runtime.iter().filter(|r| r.name == *name).count();
            if rows != 1 {
                return Err(CatalogError::invalid(
                    TABLE,
                    format!("runtime `{name}` needs exactly one [[runtime]] row, found {rows}"),
                ));
            }
        }
        Ok(self)
    }

    pub(crate) fn row(&self, name: &str) -> Option<&RuntimeRow> {
        self.runtime.iter().find(|r| r.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_rounds_up_to_a_choice() {
        let flex = FunctionLimits {
            service: "flex".into(),
            http_timeout_max_s: Some(230),
            event_timeout_max_s: None,
            memory_mib_min: 512,
            memory_mib_max: Some(4096),
            memory_mib_choices: vec![512, 2048, 4096],
        };
        assert_eq!(flex.memory_for(128), 512);
        assert_eq!(flex.memory_for(1024), 2048);
        assert_eq!(flex.memory_for(10240), 4096);
        let f = flex.fidelity(128, 600, true);
        assert_eq!(f.differences().len(), 2, "{f}");
        assert!(flex.fidelity(512, 600, false).is_exact());
    }
}
