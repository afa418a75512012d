//! Storage `content` on Cloud Storage: the files of a directory uploaded as objects of the
//! bucket. What to upload and delete is decided by `overcast_core::content` (the same
//! rules as on every cloud); this module lists the bucket and moves the bytes.
//!
//! Each object carries the SHA-256 of its file as custom metadata `overcast-sha256`, and is
//! uploaded with its MD5, which Cloud Storage checks. An object is in sync when it records
//! its file's SHA-256 *and* its `md5Hash` (computed by the service from the stored bytes)
//! and content type still match the file: an object overwritten out of band, even one that
//! kept the metadata, is uploaded again. Objects without the metadata (the application's
//! uploads, logs) are never touched by a sync.
//!
//! Content is an input of the bucket native (`content`, the directory, and
//! `content_in_sync`, which `read` reports false on drift), as on AWS: the objects live
//! and die with the bucket, and a drifted object shows in the plan as an update of it.

use std::collections::BTreeMap;
use std::path::Path;

use overcast_core::ProviderError;
use overcast_core::content::{self, LocalFile, RemoteObject, SHA256_META, SyncPlan};

use crate::config::Clients;
use crate::objects::{ObjectMeta, md5_base64, object_path};

/// Every object of the bucket with the hash it records; an object whose bytes or content
/// type no longer match the file of the same key records the empty hash (re-upload).
async fn remote(
    c: &Clients,
    bucket: &str,
    local: &BTreeMap<String, LocalFile>,
) -> Result<BTreeMap<String, RemoteObject>, ProviderError> {
    let mut out = BTreeMap::new();
    for o in c.gcs.list_objects(bucket, "").await? {
        let mut sha256 = o.metadata.get(SHA256_META).cloned();
        if let Some(file) = local.get(&o.name)
            && sha256.as_deref() == Some(file.sha256.as_str())
            && !same_bytes(&o, file).await?
        {
            sha256 = Some(String::new());
        }
        out.insert(o.name, RemoteObject { sha256 });
    }
    Ok(out)
}

/// Whether the stored object holds the file's bytes (its MD5) with the file's content type.
async fn same_bytes(o: &ObjectMeta, file: &LocalFile) -> Result<bool, ProviderError> {
    if o.content_type.as_deref() != Some(content::content_type(&o.name)) {
        return Ok(false);
    }
    let bytes = tokio::fs::read(&file.path).await?;
    Ok(o.md5_hash.as_deref() == Some(md5_base64(&bytes).as_str()))
}

/// Upload what differs, delete what overcast uploaded and the directory no longer has.
pub async fn sync(c: &Clients, bucket: &str, dir: &Path) -> Result<(), ProviderError> {
    let local = content::files_of(dir).await?;
    let SyncPlan { upload, delete } = content::diff(&local, &remote(c, bucket, &local).await?);
    for key in upload {
        let Some(file) = local.get(&key) else {
            continue;
        };
        let bytes = tokio::fs::read(&file.path).await?;
        let meta = BTreeMap::from([(SHA256_META.to_string(), file.sha256.clone())]);
        c.gcs
            .upload(bucket, &key, &bytes, content::content_type(&key), &meta)
            .await?;
    }
    for key in delete {
        overcast_core::error::gone_as(c.gcs.delete_object(bucket, &key).await, ())?;
    }
    Ok(())
}

/// Whether the bucket holds the directory: every file with the same bytes, and no object
/// overcast uploaded whose file is gone. A directory missing from this machine gives no
/// basis to claim drift: in sync.
pub async fn in_sync(c: &Clients, bucket: &str, dir: &Path) -> Result<bool, ProviderError> {
    let Ok(local) = content::files_of(dir).await else {
        return Ok(true);
    };
    Ok(content::diff(&local, &remote(c, bucket, &local).await?).is_empty())
}

/// Object deletes in flight at once while a bucket is emptied.
const DELETES_IN_FLIGHT: usize = 16;

/// Delete every object of the bucket, every generation of it (a versioned bucket keeps
/// noncurrent ones, and Cloud Storage refuses to delete a bucket that holds any): the
/// stack owns the bucket, so destroying it destroys what is in it, whoever wrote it.
///
/// Streamed: one listing page (at most 1,000 versions) at a time, its deletes
/// [`DELETES_IN_FLIGHT`] at a time (the JSON API has no multi-object delete), so memory
/// does not grow with the bucket. The first failed delete stops it (the call layer
/// retries the bucket's delete, which starts again from what is left).
pub async fn empty(c: &Clients, bucket: &str) -> Result<(), ProviderError> {
    let op = format!("list the object versions of gs://{bucket}");
    let mut token: Option<String> = None;
    loop {
        let mut req = c
            .gcs
            .http
            .get(c.gcs.url(&format!("b/{bucket}/o")))
            .query(&[("versions", "true")]);
        if let Some(t) = &token {
            req = req.query(&[("pageToken", t.as_str())]);
        }
        let page = c.gcs.send(&op, req).await?.unwrap_or_default();
        let versions = page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                Some((
                    item["name"].as_str()?.to_string(),
                    item["generation"].as_str()?.to_string(),
                ))
            });
        delete_versions(&c.gcs, bucket, versions).await?;
        match page["nextPageToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(()),
        }
    }
}

/// Delete `(name, generation)` versions of `bucket`, [`DELETES_IN_FLIGHT`] at a time; one
/// gone already counts as deleted.
async fn delete_versions(
    gcs: &crate::gcs::Gcs,
    bucket: &str,
    versions: impl Iterator<Item = (String, String)>,
) -> Result<(), ProviderError> {
    let mut running = tokio::task::JoinSet::new();
    let joined = |r: Result<Result<(), ProviderError>, tokio::task::JoinError>| {
        r.map_err(|e| ProviderError::fatal(format!("emptying gs://{bucket}: {e}")))?
    };
    for (name, generation) in versions {
        if running.len() >= DELETES_IN_FLIGHT
            && let Some(done) = running.join_next().await
        {
            joined(done)?;
        }
        let (gcs, bucket) = (gcs.clone(), bucket.to_string());
        running.spawn(async move {
            let del = format!("delete gs://{bucket}/{name}#{generation}");
            let req = gcs
                .http
                .delete(gcs.url(&object_path(&bucket, &name)))
                .query(&[("generation", generation.as_str())]);
            overcast_core::error::gone_as(gcs.send(&del, req).await.map(|_| ()), ())
        });
    }
    while let Some(done) = running.join_next().await {
        joined(done)?;
    }
    Ok(())
}
