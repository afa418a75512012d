//! The native resource model: what a provider expands an abstract resource into, and
//! what the engine records in state for each native resource it owns.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::kinds::Kind;

/// A JSON object of attributes.
pub type Attrs = serde_json::Map<String, serde_json::Value>;

/// The address of a native resource: the abstract resource it belongs to and its local
/// name inside that expansion, written `resource.local` (e.g. `web.instance[0]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NativeAddr {
    /// Logical name of the abstract resource.
    pub resource: String,
    /// Local name inside the expansion (`bucket`, `instance[0]`, `role`).
    pub local: String,
}

impl NativeAddr {
    /// Build an address.
    pub fn new(resource: impl Into<String>, local: impl Into<String>) -> Self {
        NativeAddr {
            resource: resource.into(),
            local: local.into(),
        }
    }
}

impl NativeAddr {
    /// The resource part of the address of a target's own natives: `@<target>`.
    pub fn target_resource(target: &str) -> String {
        format!("@{target}")
    }

    /// Whether this is a native of a whole target (see [`NativeAddr::target_resource`]).
    pub fn is_target_native(&self) -> bool {
        self.resource.starts_with('@')
    }
}

impl fmt::Display for NativeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource, self.local)
    }
}

/// Error for a string that is not `resource.local`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{0}` is not a native address: expected `resource.local`, e.g. `web.instance[0]`")]
pub struct BadAddr(pub String);

impl FromStr for NativeAddr {
    type Err = BadAddr;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('.') {
            Some((r, l)) if !r.is_empty() && !l.is_empty() => Ok(NativeAddr::new(r, l)),
            _ => Err(BadAddr(s.to_string())),
        }
    }
}

impl Serialize for NativeAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NativeAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Split from the deserializer's text directly: a large state holds several
        // addresses per resource, and an intermediate String for each was pure garbage.
        struct AddrVisitor;
        impl serde::de::Visitor<'_> for AddrVisitor {
            type Value = NativeAddr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NativeAddr, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(AddrVisitor)
    }
}

/// One native resource as a provider's expansion describes it: desired, not yet created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeSpec {
    /// Local name inside the expansion, unique per abstract resource.
    pub local: String,
    /// Provider-qualified native type (`local_dir`, `aws_s3_bucket`, ...).
    pub type_name: String,
    /// Desired input attributes. String values may contain references (`${...}`) that the
    /// engine resolves before calling the provider.
    pub inputs: Attrs,
    /// Other natives of the same expansion this one needs first (their local names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Inputs whose change cannot be applied in place: the resource is replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force_new: Vec<String>,
    /// Output attributes that are secrets (masked in every rendering).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
}

impl NativeSpec {
    /// A native with the given local name, type and inputs.
    pub fn new(local: impl Into<String>, type_name: impl Into<String>, inputs: Attrs) -> Self {
        NativeSpec {
            local: local.into(),
            type_name: type_name.into(),
            inputs,
            depends_on: Vec::new(),
            force_new: Vec::new(),
            sensitive: Vec::new(),
        }
    }
    /// Declare inputs that force replacement.
    pub fn force_new(mut self, attrs: &[&str]) -> Self {
        self.force_new.extend(attrs.iter().map(|s| s.to_string()));
        self
    }
    /// Declare a dependency on another native of the same expansion.
    pub fn after(mut self, local: &str) -> Self {
        self.depends_on.push(local.to_string());
        self
    }
    /// Declare secret output attributes.
    pub fn sensitive(mut self, attrs: &[&str]) -> Self {
        self.sensitive.extend(attrs.iter().map(|s| s.to_string()));
        self
    }
}

/// The ownership labels every created resource carries, so that an interrupted apply can
/// find what it created and nothing is orphaned or created twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OwnerTags {
    /// Stack name.
    pub stack: String,
    /// Target name.
    pub target: String,
    /// Native address (`resource.local`).
    pub resource: String,
}

impl OwnerTags {
    /// Tag keys as written on cloud resources.
    pub const STACK_KEY: &'static str = "overcast:stack";
    /// See [`OwnerTags::STACK_KEY`].
    pub const TARGET_KEY: &'static str = "overcast:target";
    /// See [`OwnerTags::STACK_KEY`].
    pub const RESOURCE_KEY: &'static str = "overcast:resource";

    /// The tags as `(key, value)` pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (Self::STACK_KEY, self.stack.as_str()),
            (Self::TARGET_KEY, self.target.as_str()),
            (Self::RESOURCE_KEY, self.resource.as_str()),
        ]
    }
}

/// Where a live resource stands in its lifecycle, as its cloud reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum LiveStatus {
    /// Usable (or the cloud has no notion of a lifecycle for it).
    #[default]
    Ready,
    /// Still being created or changed; the cloud's word for it ("creating", "pending").
    Provisioning(String),
    /// The cloud says it failed and will not become usable; why.
    Failed(String),
    /// Being deleted.
    Deleting,
}

impl LiveStatus {
    /// Whether the resource is usable as it is.
    pub fn is_ready(&self) -> bool {
        *self == LiveStatus::Ready
    }
}

/// What a provider observed of a live native resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The provider's identifier (ARN, resource id, path...).
    pub id: String,
    /// Live values of the input attributes (for drift detection).
    pub inputs: Attrs,
    /// Computed attributes (endpoints, URLs, generated passwords...).
    pub outputs: Attrs,
    /// Its lifecycle status: a refresh or an adopt after a crash can tell a resource that
    /// is still provisioning, or that failed, from one that is usable.
    #[serde(default, skip_serializing_if = "LiveStatus::is_ready")]
    pub status: LiveStatus,
}

impl Observed {
    /// A usable resource with this id and these attributes.
    pub fn new(id: impl Into<String>, inputs: Attrs, outputs: Attrs) -> Observed {
        Observed {
            id: id.into(),
            inputs,
            outputs,
            status: LiveStatus::Ready,
        }
    }

    /// The same, with a lifecycle status.
    pub fn with_status(mut self, status: LiveStatus) -> Observed {
        self.status = status;
        self
    }
}

/// Attributes read into a map without spare capacity: a map grown entry by entry keeps
/// room for about one more, and a state holds a map or two per resource for as long as it
/// is open (megabytes of nothing for a large one). Compacted as each is read, so the
/// grown map's memory serves the next one.
fn exact_attrs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Attrs, D::Error> {
    let grown = Attrs::deserialize(d)?;
    let mut out = Attrs::with_capacity(grown.len());
    out.extend(grown);
    Ok(out)
}

/// A native resource overcast owns, as recorded in state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeState {
    /// Its address.
    pub addr: NativeAddr,
    /// Abstract kind of the resource it belongs to.
    pub kind: Kind,
    /// Native type.
    pub type_name: String,
    /// Provider identifier.
    pub id: String,
    /// Input attributes as last applied (resolved, no references).
    #[serde(deserialize_with = "exact_attrs")]
    pub inputs: Attrs,
    /// Computed attributes.
    #[serde(deserialize_with = "exact_attrs")]
    pub outputs: Attrs,
    /// Natives that must outlive this one (destroy order), as addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NativeAddr>,
    /// Sensitive output attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
    /// Inputs that force replacement (copied from the spec at apply time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force_new: Vec<String>,
    /// The abstract resource was `protect: true` when last applied. Kept in state so that
    /// removing a protected resource from the spec does not silently destroy it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
}

impl NativeState {
    /// A state with an identity and nothing else yet: what discovery knows of a resource
    /// it found, before a read fills in its attributes.
    pub fn new(
        addr: NativeAddr,
        kind: Kind,
        type_name: impl Into<String>,
        id: impl Into<String>,
    ) -> NativeState {
        NativeState {
            addr,
            kind,
            type_name: type_name.into(),
            id: id.into(),
            inputs: Attrs::new(),
            outputs: Attrs::new(),
            depends_on: Vec::new(),
            sensitive: Vec::new(),
            force_new: Vec::new(),
            protect: false,
        }
    }
}

/// A create or adopt request: the resolved desired inputs plus ownership tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// Address of the native to create.
    pub addr: NativeAddr,
    /// Abstract kind.
    pub kind: Kind,
    /// Native type.
    pub type_name: String,
    /// Resolved inputs.
    pub inputs: Attrs,
    /// Tags to put on the created resource.
    pub owner: OwnerTags,
    /// Secrets the provider generated for this create before it started (see
    /// [`crate::Provider::generate_secrets`]), such as a database master password. They
    /// travel in the write-ahead intent, so a resource adopted after a crash keeps the
    /// secret it was created with. Sensitive: never shown.
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub secrets: Attrs,
}
