//! The staging bucket: one private Cloud Storage bucket per target (the target-wide
//! native `@<target>.staging`, of the ordinary `gcp_storage_bucket` type) that holds the
//! functions' source archives. Created before any function of the target, deleted after
//! the last one; each function deletes the archives it uploaded when it is deleted, so
//! the bucket is empty by then.

use overcast_core::{NativeAddr, NativeSpec, NativeState, ProviderError};
use serde_json::json;

use crate::expand::types;
use crate::gcs::Gcs;
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

/// Whether `st` is a target's staging bucket.
pub fn is_staging(st: &NativeState) -> bool {
    st.type_name == types::BUCKET && st.addr.is_target_native() && st.addr.local == LOCAL
}

/// Delete the source archives overcast uploaded to the staging bucket `bucket` (those
/// with the `overcast-function` metadata), such as one left by a create that never
/// finished, so the bucket can be deleted. Anything else in it stays: deleting the
/// bucket then fails with a conflict that says it is not empty.
pub async fn delete_archives(gcs: &Gcs, bucket: &str) -> Result<(), ProviderError> {
    let objects = match gcs.list_objects(bucket, "").await {
        Ok(o) => o,
        Err(e) if e.class == overcast_core::ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for o in objects
        .iter()
        .filter(|o| o.metadata.contains_key(super::source::FUNCTION_KEY))
    {
        overcast_core::error::gone_as(gcs.delete_object(bucket, &o.name).await, ())?;
    }
    Ok(())
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
