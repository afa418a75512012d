//! Helpers for attribute maps held in bulk.

use overcast_core::Attrs;

/// `attrs` in a map without spare capacity. Maps built entry by entry (by an expansion, or
/// by the JSON parser) keep room for about one more entry; a large stack holds two maps
/// per native (desired and recorded) for the whole command, and that room adds up to
/// megabytes of nothing.
pub(crate) fn exact_capacity(attrs: Attrs) -> Attrs {
    let mut out = Attrs::with_capacity(attrs.len());
    out.extend(attrs);
    out
}
