//! The abstract attributes of a resource (`Kind::outputs`) from its natives' state.

use overcast_core::{Attrs, Kind, NativeState};
use serde_json::{Value, json};

/// Compute the abstract outputs of a resource of `kind` from its natives. Attributes not
/// known yet (natives not created) are left out.
pub(crate) fn abstract_outputs(kind: Kind, natives: &[&NativeState]) -> Attrs {
    let mut natives: Vec<&NativeState> = natives
        .iter()
        .copied()
        .filter(|n| !n.id.is_empty())
        .collect();
    // Compute instances in index order, so "first instance" means instance[0].
    natives.sort_by_key(|n| n.inputs.get("index").and_then(Value::as_u64).unwrap_or(0));
    let mut out = Attrs::new();
    let Some(first) = natives.first() else {
        return out;
    };
    for attr in kind.outputs() {
        let value = match attr.name {
            "id" => Some(json!(first.id)),
            "addresses" => {
                let all: Vec<&str> = natives
                    .iter()
                    .filter_map(|n| n.outputs.get("address").and_then(Value::as_str))
                    .collect();
                Some(json!(all.join(",")))
            }
            name => first.outputs.get(name).cloned(),
        };
        if let Some(v) = value {
            out.insert(attr.name.to_string(), v);
        }
    }
    out
}
