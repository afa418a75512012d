//! Emptying a bucket before its delete: every object version and delete marker, streamed
//! and in parallel with bounded memory.
//!
//! ListObjectVersions is paged (key and version-id markers) while up to [`IN_FLIGHT`]
//! DeleteObjects batches of up to [`BATCH`] keys run: memory holds one listing page and
//! the batches in flight, never the whole listing, so a bucket of any size empties in
//! constant memory. Each batch's `Errors` are checked: a partial failure fails the delete
//! with the first few keys and codes, classed by the first code. Nothing is retried here:
//! the call layer retries the whole (idempotent) delete.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use overcast_core::{ErrorClass, ProviderError};
use tokio::task::JoinSet;

use crate::config::Clients;
use crate::errors;

/// Keys per DeleteObjects request (the S3 maximum).
pub const BATCH: usize = 1000;
/// DeleteObjects requests in flight at once.
pub const IN_FLIGHT: usize = 8;
/// How many failed keys an error names.
const NAMED: usize = 3;

/// One failed key of a DeleteObjects answer: key, version, code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The object key.
    pub key: String,
    /// Its version id.
    pub version: Option<String>,
    /// S3's error code (`AccessDenied`...).
    pub code: String,
    /// S3's message.
    pub message: String,
}

/// The error of a DeleteObjects batch on `bucket` whose answer listed `failed` keys
/// (`None` when none failed): it names the first few and is classed by the first code.
pub fn batch_error(bucket: &str, failed: &[KeyError]) -> Option<ProviderError> {
    let first = failed.first()?;
    let named: Vec<String> = failed
        .iter()
        .take(NAMED)
        .map(|e| {
            let v = e
                .version
                .as_deref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default();
            format!("`{}{v}`: {} ({})", e.key, e.code, e.message)
        })
        .collect();
    let more = failed.len().saturating_sub(NAMED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    // Deleting a version that is already gone is success; only other codes fail.
    let class = match errors::classify(Some(&first.code), None) {
        ErrorClass::Fatal => ErrorClass::Retryable,
        c => c,
    };
    Some(ProviderError::new(
        class,
        format!(
            "aws DeleteObjects `{bucket}`: {} of the batch's keys were not deleted: {}{tail}",
            failed.len(),
            named.join(", ")
        ),
    ))
}

/// Delete one batch; its key errors as a [`ProviderError`].
async fn delete_batch(
    s3: aws_sdk_s3::Client,
    bucket: String,
    objects: Vec<ObjectIdentifier>,
) -> Result<(), ProviderError> {
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| errors::build("delete", e))?;
    let out = s3
        .delete_objects()
        .bucket(&bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| errors::sdk("DeleteObjects", &bucket, e))?;
    let failed: Vec<KeyError> = out
        .errors()
        .iter()
        // A version deleted meanwhile (another run, a lifecycle rule) is gone: fine.
        .filter(|e| e.code() != Some("NoSuchVersion") && e.code() != Some("NoSuchKey"))
        .map(|e| KeyError {
            key: e.key().unwrap_or_default().to_string(),
            version: e.version_id().map(str::to_string),
            code: e.code().unwrap_or("unknown").to_string(),
            message: e.message().unwrap_or_default().to_string(),
        })
        .collect();
    match batch_error(&bucket, &failed) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The batches in flight: at most [`IN_FLIGHT`]; the first failure fails the emptying
/// (dropping the set aborts the others).
struct InFlight {
    set: JoinSet<Result<(), ProviderError>>,
}

impl InFlight {
    /// Wait for one batch to finish.
    async fn join_one(&mut self) -> Result<(), ProviderError> {
        match self.set.join_next().await {
            Some(Ok(r)) => r,
            Some(Err(e)) => Err(ProviderError::fatal(format!(
                "a DeleteObjects task failed: {e}"
            ))),
            None => Ok(()),
        }
    }

    /// Start a batch, first waiting for a slot.
    async fn start(
        &mut self,
        c: &Clients,
        bucket: &str,
        objects: Vec<ObjectIdentifier>,
    ) -> Result<(), ProviderError> {
        while self.set.len() >= IN_FLIGHT {
            self.join_one().await?;
        }
        self.set
            .spawn(delete_batch(c.s3.clone(), bucket.to_string(), objects));
        Ok(())
    }

    /// Wait for every batch.
    async fn finish(&mut self) -> Result<(), ProviderError> {
        while !self.set.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }
}

/// Delete every object version and delete marker of `bucket`. `Ok(false)`: the bucket
/// does not exist.
///
/// Passes over the listing until one finds nothing: a pass can end early when the version
/// its marker names was deleted meanwhile (moto, unlike S3, treats markers as items that
/// must still exist), and objects written during a pass are found by the next.
pub async fn empty(c: &Clients, bucket: &str) -> Result<bool, ProviderError> {
    loop {
        match pass(c, bucket).await? {
            None => return Ok(false),
            Some(0) => return Ok(true),
            Some(_) => {}
        }
    }
}

/// One pass over the listing, deleting what it lists: how many versions and markers it
/// deleted, `None` when the bucket does not exist.
async fn pass(c: &Clients, bucket: &str) -> Result<Option<usize>, ProviderError> {
    let mut inflight = InFlight {
        set: JoinSet::new(),
    };
    let mut batch: Vec<ObjectIdentifier> = Vec::with_capacity(BATCH);
    let mut listed = 0;
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = match c
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(BATCH as i32)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if errors::code(&e) == Some("NoSuchBucket") => {
                inflight.finish().await?;
                return Ok(None);
            }
            Err(e) => return Err(errors::sdk("ListObjectVersions", bucket, e)),
        };
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        for (key, version) in versions {
            let Some(key) = key else { continue };
            listed += 1;
            batch.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()
                    .map_err(|e| errors::build("object id", e))?,
            );
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                inflight.start(c, bucket, full).await?;
            }
        }
        let truncated = page.is_truncated() == Some(true);
        match (truncated, page.next_key_marker()) {
            (true, Some(k)) => {
                key_marker = Some(k.to_string());
                version_marker = page.next_version_id_marker().map(str::to_string);
            }
            _ => break,
        }
    }
    if !batch.is_empty() {
        inflight.start(c, bucket, batch).await?;
    }
    inflight.finish().await?;
    Ok(Some(listed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ke(key: &str, code: &str) -> KeyError {
        KeyError {
            key: key.into(),
            version: Some("v1".into()),
            code: code.into(),
            message: "nope".into(),
        }
    }

    #[test]
    fn a_clean_batch_is_no_error() {
        assert!(batch_error("b", &[]).is_none());
    }

    #[test]
    fn a_partial_failure_names_the_first_keys_and_is_classed_by_its_code() {
        let failed: Vec<KeyError> = (0..5)
            .map(|i| ke(&format!("k{i}"), "AccessDenied"))
            .collect();
        let e = batch_error("b", &failed).expect("an error");
        assert_eq!(e.class, ErrorClass::Auth);
        assert!(e.message.contains("5 of the batch's keys"), "{}", e.message);
        assert!(
            e.message.contains("`k0@v1`: AccessDenied (nope)"),
            "{}",
            e.message
        );
        assert!(e.message.contains("`k2@v1`"), "{}", e.message);
        assert!(!e.message.contains("`k3@v1`"), "{}", e.message);
        assert!(e.message.contains("and 2 more"), "{}", e.message);
        let slow = batch_error("b", &[ke("k", "SlowDown")]).expect("an error");
        assert_eq!(slow.class, ErrorClass::Throttled);
        let internal = batch_error("b", &[ke("k", "InternalError")]).expect("an error");
        assert_eq!(internal.class, ErrorClass::Retryable);
        // An unknown code is worth another whole delete, not a give-up.
        let odd = batch_error("b", &[ke("k", "Odd")]).expect("an error");
        assert_eq!(odd.class, ErrorClass::Retryable);
    }
}
