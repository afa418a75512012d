//! A function's source: the `source` directory zipped deterministically
//! (`overcast_core::archive`), named by its SHA-256 (`<function>/<sha256>.zip`, so a new
//! source is a new object and a deployed one is never overwritten) and uploaded to the
//! staging bucket with its MD5 checked by Cloud Storage.

use std::collections::BTreeMap;
use std::path::Path;

use overcast_core::ProviderError;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::gcs::Gcs;
use crate::objects::ObjectMeta;

/// The metadata key naming the function an archive belongs to (every archive overcast
/// uploads carries it).
pub const FUNCTION_KEY: &str = "overcast-function";

/// The zipped source of a function.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The zip's bytes.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

impl Archive {
    /// The object name of this archive for function `function` (short id).
    pub fn object(&self, function: &str) -> String {
        object_name(function, &self.sha256)
    }
}

/// `<function>/<sha256>.zip`.
pub fn object_name(function: &str, sha256: &str) -> String {
    format!("{function}/{sha256}.zip")
}

/// The SHA-256 an object name carries (see [`object_name`]), if it is one of ours.
pub fn sha_of_object(object: &str) -> Option<&str> {
    object.rsplit('/').next()?.strip_suffix(".zip")
}

/// The prefix of every archive of `function`.
pub fn prefix(function: &str) -> String {
    format!("{function}/")
}

/// Zip `dir` (relative paths are relative to `spec_dir`) with the files of `adapter`
/// (see [`super::adapter`]), off the async runtime.
pub async fn zip(spec_dir: &Path, dir: &str, adapter: &Value) -> Result<Archive, ProviderError> {
    let path = spec_dir.join(dir);
    let extra = super::adapter::files(adapter);
    let bytes =
        tokio::task::spawn_blocking(move || overcast_core::archive::zip_dir_with(&path, &extra))
            .await
            .map_err(|e| ProviderError::fatal(format!("zipping the function source: {e}")))??;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Archive { bytes, sha256 })
}

/// Upload the archive as `bucket/<function>/<sha256>.zip` unless an object of that name
/// with the same MD5 is there already (a retried create); its metadata.
pub async fn upload(
    gcs: &Gcs,
    bucket: &str,
    function: &str,
    archive: &Archive,
) -> Result<ObjectMeta, ProviderError> {
    let name = archive.object(function);
    match gcs.object(bucket, &name).await {
        Ok(meta)
            if meta.md5_hash.as_deref() == Some(&crate::objects::md5_base64(&archive.bytes)) =>
        {
            return Ok(meta);
        }
        Ok(_) => {}
        Err(e) if e.class == overcast_core::ErrorClass::NotFound => {}
        Err(e) => return Err(e),
    }
    let metadata = BTreeMap::from([
        ("overcast-sha256".to_string(), archive.sha256.clone()),
        (FUNCTION_KEY.to_string(), function.to_string()),
    ]);
    gcs.upload(bucket, &name, &archive.bytes, "application/zip", &metadata)
        .await
        .map_err(|mut e| {
            if e.class == overcast_core::ErrorClass::NotFound {
                e.message = format!(
                    "{}: the staging bucket `{bucket}` does not exist (it is the target's \
                     `staging` native, created before any function)",
                    e.message
                );
            }
            e
        })
}

/// Whether `object` is named as overcast names its archives (`<function>/<sha256>.zip`):
/// only those are ever deleted, so a function overcast did not deploy (a nuke's) never
/// costs its source bucket anything else.
pub fn is_archive(object: &str) -> bool {
    sha_of_object(object).is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Delete the archives of `function` in `bucket` (objects named as overcast names them,
/// nothing else), except `keep`. A bucket that is gone holds nothing to delete.
pub async fn delete_archives(
    gcs: &Gcs,
    bucket: &str,
    function: &str,
    keep: Option<&str>,
) -> Result<(), ProviderError> {
    let objects = match gcs.list_objects(bucket, &prefix(function)).await {
        Ok(o) => o,
        Err(e) if e.class == overcast_core::ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for o in objects {
        if Some(o.name.as_str()) == keep || !is_archive(&o.name) {
            continue;
        }
        overcast_core::error::gone_as(gcs.delete_object(bucket, &o.name).await, ())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_archives_named_as_overcast_names_them_are_deleted() {
        let sha = "a".repeat(64);
        assert!(is_archive(&format!("f/{sha}.zip")));
        assert!(!is_archive("f/source.zip"));
        assert!(!is_archive("f/data.csv"));
        assert!(!is_archive(&format!("f/{}.zip", "A".repeat(64))));
    }

    #[test]
    fn object_names_carry_the_hash() {
        let o = object_name("oc-s-t-f-1234abcd", "ab12");
        assert_eq!(o, "oc-s-t-f-1234abcd/ab12.zip");
        assert_eq!(sha_of_object(&o), Some("ab12"));
        assert!(o.starts_with(&prefix("oc-s-t-f-1234abcd")));
    }
}
