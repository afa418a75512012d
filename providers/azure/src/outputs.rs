//! The abstract attributes of a resource (`Kind::outputs`) from its natives' state: the
//! container carries a storage's, the queue a queue's, the endpoint a cdn's.

use overcast_core::{Attrs, Kind, NativeState};
use serde_json::json;

fn primary(kind: Kind) -> &'static str {
    match kind {
        Kind::Storage => "container",
        Kind::Queue => "queue",
        Kind::Cdn => "endpoint",
        Kind::Function => "app",
        _ => "",
    }
}

/// Compute the abstract outputs of a resource of `kind`; what is not known yet is left out.
pub fn abstract_outputs(kind: Kind, natives: &[&NativeState]) -> Attrs {
    if kind == Kind::Database {
        return crate::database::outputs(natives);
    }
    if kind == Kind::Compute {
        return crate::compute::outputs(natives);
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
