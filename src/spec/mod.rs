//! The stack spec: parse, validate, resolve variables.

pub mod model;
pub use model::*;
