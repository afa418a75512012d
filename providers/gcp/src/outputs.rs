//! The abstract attributes of a resource (`Kind::outputs`) from its natives' state: the
//! bucket carries a storage's, the subscription a queue's (what a consumer pulls from).

use overcast_core::{Attrs, Kind, NativeState};
use serde_json::json;

fn primary(kind: Kind) -> &'static str {
    match kind {
        Kind::Storage => "bucket",
        Kind::Queue => "subscription",
        Kind::Function => "function",
        // Not built on GCP yet (expand refuses them), and no target-wide natives.
        _ => "",
    }
}

/// Compute the abstract outputs of a resource of `kind`; what is not known yet is left out.
pub fn abstract_outputs(kind: Kind, natives: &[&NativeState]) -> Attrs {
    match kind {
        Kind::Compute => return crate::compute::outputs::compute(natives),
        Kind::Cdn => return crate::compute::outputs::cdn(natives),
        Kind::Database => return crate::sql::outputs::database(natives),
        _ => {}
    }
    let mut out = Attrs::new();
    let Some(main) = natives
        .iter()
        .find(|n| !n.id.is_empty() && n.addr.local == primary(kind))
    else {
        return out;
    };
    for attr in kind.outputs() {
        let value = match attr.name {
            "id" => Some(json!(main.id)),
            name => main.outputs.get(name).cloned(),
        };
        if let Some(v) = value {
            out.insert(attr.name.to_string(), v);
        }
    }
    out
}
