//! The plan: a first-class, serializable value. Refresh ([`refresh`]) reads live state,
//! [`diff`] compares it with the desired natives and produces one [`Change`] per native;
//! the plan can be rendered, saved to a file, reloaded and applied exactly.

pub mod diff;
pub mod refresh;

use std::collections::BTreeMap;

use overcast_core::kinds::Kind;
use overcast_core::{NativeAddr, NativeSpec, NativeState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the saved plan format.
pub const PLAN_FORMAT: u32 = 1;

/// What will happen to one native resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do.
    NoOp,
    /// Create it.
    Create,
    /// Change it in place.
    Update,
    /// Delete it and create it again (an attribute that cannot change in place changed).
    Replace,
    /// Delete it.
    Delete,
}

impl Action {
    /// The verb, for progress lines (`creating`).
    pub fn progressive(self) -> &'static str {
        match self {
            Action::NoOp => "checking",
            Action::Create => "creating",
            Action::Update => "updating",
            Action::Replace => "replacing",
            Action::Delete => "destroying",
        }
    }
    /// The past participle (`created`).
    pub fn past(self) -> &'static str {
        match self {
            Action::NoOp => "unchanged",
            Action::Create => "created",
            Action::Update => "updated",
            Action::Replace => "replaced",
            Action::Delete => "destroyed",
        }
    }
    /// The plan symbol (`+`, `~`, `-/+`, `-`).
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    /// Attribute name.
    pub name: String,
    /// Current value (absent on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Planned value (absent on delete; the unknown marker if only known after apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// This change cannot be made in place.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

/// The planned change of one native resource.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// Address.
    pub addr: NativeAddr,
    /// Abstract kind.
    pub kind: Kind,
    /// Target name (the desired one; for a delete, where it lives).
    pub target: String,
    /// Where the prior resource lives, when it differs from `target` (a move between
    /// targets is a replace: delete there, create here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_target: Option<String>,
    /// Native type.
    pub type_name: String,
    /// What happens.
    pub action: Action,
    /// Attributes that differ (empty for no-op).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<AttrChange>,
    /// What to create or update to (references resolved at apply time). Boxed, as is
    /// `prior`: a plan holds a change per native, most of them no-ops without either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<Box<NativeSpec>>,
    /// Natives this one comes after (create/update/replace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NativeAddr>,
    /// Live state before the change (update, replace, delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<Box<NativeState>>,
    /// The abstract resource is protected.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Why, when it is not plain from the attributes (drift, deleted outside overcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Serial and lineage of a state a plan was made against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateVersion {
    /// State serial.
    pub serial: u64,
    /// State lineage.
    pub lineage: String,
}

/// A whole plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    /// Stack name.
    pub stack: String,
    /// The spec file the plan was made from.
    pub spec_file: String,
    /// SHA-256 of the spec file's text and variables, to refuse a stale saved plan.
    pub spec_digest: String,
    /// Variables given on the command line when planning (reused when applying a saved plan).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// A destroy plan.
    pub destroy: bool,
    /// The state versions the plan was made against, by target.
    pub states: BTreeMap<String, StateVersion>,
    /// One change per native resource (no-ops included).
    pub changes: Vec<Change>,
}

/// Counts of a plan, as in `Plan: 1 to add, 2 to change, 0 to destroy.`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Creates plus replaces.
    pub add: usize,
    /// Updates.
    pub change: usize,
    /// Deletes plus replaces.
    pub destroy: usize,
    /// No-ops.
    pub unchanged: usize,
}

impl Plan {
    /// Count the changes.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => s.unchanged += 1,
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// Whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }
}
