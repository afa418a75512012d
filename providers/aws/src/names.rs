//! Deterministic names for the natives of a stack: the one scheme every provider uses,
//! from `overcast_core::names`.

pub use overcast_core::names::{name, short_hash};
