//! The abstract attributes of a resource (`Kind::outputs`) from its natives' state: each
//! kind has one primary native (the bucket, the queue, the DB instance, the function, the
//! distribution, the first instance) whose outputs carry the attributes.

use overcast_core::{Attrs, Kind, NativeState};
use serde_json::{Value, json};

fn primary(kind: Kind) -> &'static str {
    match kind {
        Kind::Storage => "bucket",
        Kind::Queue => "queue",
        Kind::Database => "db",
        Kind::Function => "function",
        Kind::Cdn => "distribution",
        Kind::Compute => "instance[0]",
        // AWS expands no target-wide natives.
        Kind::Target => "",
    }
}

/// Compute the abstract outputs of a resource of `kind`. Attributes not known yet (natives
/// not created) are left out.
pub fn abstract_outputs(kind: Kind, natives: &[&NativeState]) -> Attrs {
    let created: Vec<&NativeState> = natives
        .iter()
        .copied()
        .filter(|n| !n.id.is_empty())
        .collect();
    let mut out = Attrs::new();
    let Some(main) = created.iter().find(|n| n.addr.local == primary(kind)) else {
        return out;
    };
    for attr in kind.outputs() {
        let value = match (kind, attr.name) {
            (_, "id") => Some(json!(main.id)),
            (Kind::Compute, "addresses") => {
                let mut instances: Vec<&&NativeState> = created
                    .iter()
                    .filter(|n| n.addr.local.starts_with("instance["))
                    .collect();
                instances
                    .sort_by_key(|n| n.inputs.get("index").and_then(Value::as_u64).unwrap_or(0));
                let all: Vec<&str> = instances
                    .iter()
                    .filter_map(|n| n.outputs.get("address").and_then(Value::as_str))
                    .collect();
                Some(json!(all.join(",")))
            }
            (Kind::Function, "url") => created
                .iter()
                .find(|n| n.addr.local == "url")
                .and_then(|n| n.outputs.get("url").cloned()),
            (_, name) => main.outputs.get(name).cloned(),
        };
        if let Some(v) = value {
            out.insert(attr.name.to_string(), v);
        }
    }
    out
}
