//! The staging bucket: one private Cloud Storage bucket per target (the target-wide
//! native `@<target>.staging`, of the ordinary `gcp_storage_bucket` type) that holds the
//! functions' source archives. Created before any function of the target, deleted after
//! the last one; each function deletes the archives it uploaded when it is deleted, so
//! the bucket is empty by then.

use overcast_core::{NativeAddr, NativeSpec};
use serde_json::json;

use crate::expand::types;
use crate::names;

/// The staging bucket's local name (its address is `@<target>.staging`).
pub const LOCAL: &str = "staging";

/// The staging bucket's name: deterministic, unique per stack and target (bucket names
/// are global), at most 63 characters.
pub fn bucket_name(stack: &str, target: &str) -> String {
    names::name(
        stack,
        target,
        &NativeAddr::target_resource(target),
        LOCAL,
        63,
    )
}

/// The staging bucket native of a target.
pub fn spec(stack: &str, target: &str, region: &str) -> NativeSpec {
    let inputs = json!({
        "name": bucket_name(stack, target),
        "location": region.to_ascii_uppercase(),
        "versioning": false,
        "class": "STANDARD",
        "public": false,
        "lifecycle": [],
    });
    NativeSpec::new(
        LOCAL,
        types::BUCKET,
        inputs.as_object().cloned().unwrap_or_default(),
    )
    .force_new(&["name", "location"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staging_bucket_is_private_and_named_per_target() {
        let s = spec("shop", "gcp", "europe-west1");
        assert_eq!(s.local, "staging");
        assert_eq!(s.type_name, types::BUCKET);
        assert_eq!(s.inputs["public"], false);
        assert_eq!(s.inputs["location"], "EUROPE-WEST1");
        let name = bucket_name("shop", "gcp");
        assert!(name.len() <= 63 && name.contains("staging"), "{name}");
        assert_ne!(name, bucket_name("shop", "gcp2"));
        // A user resource named like the target cannot take the staging bucket's name.
        assert_ne!(name, names::name("shop", "gcp", "gcp", "staging", 63));
    }
}
