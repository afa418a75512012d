//! The validated stack: what `spec::load` returns and the rest of the engine consumes.
//! Everything here has passed validation: names are unique, kinds and properties are
//! typed, references point at existing resources/attributes/variables, and the
//! resource graph has no cycle.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use overcast_core::ProviderKind;
use overcast_core::kinds::{Kind, Properties};
use serde_json::Value;

/// A place in a spec file, for error messages (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The spec file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A validated stack spec.
#[derive(Debug, Clone)]
pub struct Stack {
    /// `stack:` — the stack's name.
    pub name: String,
    /// The spec file, as given.
    pub file: PathBuf,
    /// The directory containing the spec file (relative paths resolve against it).
    pub dir: PathBuf,
    /// The target resources use when they name none.
    pub default_target: String,
    /// `targets:` by name.
    pub targets: BTreeMap<String, Target>,
    /// `variables:` by name, with their resolved values.
    pub variables: BTreeMap<String, Variable>,
    /// `resources:` by logical name.
    pub resources: BTreeMap<String, Resource>,
    /// `outputs:` by name.
    pub outputs: BTreeMap<String, Output>,
}

/// A named placement: which provider, with which settings.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name under `targets:`.
    pub name: String,
    /// Its provider.
    pub provider: ProviderKind,
    /// Every other key of the target (region, endpoint_url, latency_ms, ...), checked
    /// against the provider's settings schema, with `${var.x}` already substituted.
    pub settings: serde_json::Map<String, Value>,
    /// Where it is declared.
    pub location: Location,
}

/// Type of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    /// A string.
    String,
    /// A number.
    Number,
    /// `true` / `false`.
    Bool,
}

/// A declared variable and its resolved value.
#[derive(Debug, Clone)]
pub struct Variable {
    /// Name under `variables:`.
    pub name: String,
    /// Declared type.
    pub ty: VarType,
    /// Resolved value: `--var name=value`, else `OVERCAST_VAR_<name>`, else the default.
    pub value: Value,
    /// Mask the value in every rendering.
    pub sensitive: bool,
    /// Description, for `overcast init` and docs.
    pub description: Option<String>,
    /// Where it is declared.
    pub location: Location,
}

/// A validated abstract resource.
#[derive(Debug, Clone)]
pub struct Resource {
    /// Logical name (key under `resources:`).
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Target name (the resource's `target:` or the stack's default).
    pub target: String,
    /// Resources this one must come after: explicit `depends_on` plus every resource it
    /// references. Sorted, deduplicated, never itself.
    pub depends_on: Vec<String>,
    /// `protect: true`: destroy and replace are refused unless overridden.
    pub protect: bool,
    /// Typed properties with defaults filled and `${var.x}` substituted; resource
    /// references (`${db.endpoint}`) are kept for the engine to resolve.
    pub properties: Properties,
    /// Kind of every resource referenced from the properties, by name.
    pub referenced: BTreeMap<String, Kind>,
    /// Where the resource is declared (its key).
    pub location: Location,
}

/// A stack output.
#[derive(Debug, Clone)]
pub struct Output {
    /// Name under `outputs:`.
    pub name: String,
    /// The value, possibly with resource references.
    pub value: Value,
    /// Mask in renderings (also implied when it references a sensitive attribute or variable).
    pub sensitive: bool,
    /// Description.
    pub description: Option<String>,
    /// Where it is declared.
    pub location: Location,
}
