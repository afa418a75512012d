//! Helpers for [`crate::Provider::to_abstract`]: copying a native's inputs into the
//! abstract properties a spec would write, and noting what does not carry over.

use serde_json::Value;

use crate::native::Attrs;
use crate::provider::AbstractView;

impl AbstractView {
    /// A view of `kind` with no properties yet.
    pub fn new(kind: crate::Kind) -> AbstractView {
        AbstractView {
            kind,
            properties: serde_json::Map::new(),
            approximations: Vec::new(),
        }
    }

    /// Copy each `(native input, abstract property)` present (and not null) in `inputs`.
    pub fn copy(mut self, inputs: &Attrs, keys: &[(&str, &str)]) -> AbstractView {
        for (from, to) in keys {
            if let Some(v) = inputs.get(*from).filter(|v| !v.is_null()) {
                self.properties.insert((*to).to_string(), v.clone());
            }
        }
        self
    }

    /// Set one property.
    pub fn set(mut self, property: &str, value: Value) -> AbstractView {
        self.properties.insert(property.to_string(), value);
        self
    }

    /// Note what could not be carried exactly.
    pub fn approximate(mut self, property: &str, why: impl Into<String>) -> AbstractView {
        self.approximations.push((property.to_string(), why.into()));
        self
    }
}
