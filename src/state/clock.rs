//! RFC 3339 timestamps for lock holders and intents: the one implementation in
//! `overcast_core::clock`, shared with the providers.

pub use overcast_core::clock::now_rfc3339;
