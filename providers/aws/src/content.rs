//! Storage `content` on S3: the files of a directory uploaded as objects of a bucket. What
//! to upload and delete is decided by `overcast_core::content` (the same rules on every
//! cloud); this module lists the bucket and moves the bytes. Each object carries the
//! SHA-256 of its file as `x-amz-meta-overcast-sha256`.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;
use overcast_core::ProviderError;
use overcast_core::content::{self, RemoteObject, SHA256_META, SyncPlan};

use crate::config::Clients;
use crate::errors;

/// The SHA-256 recorded on an object, `None` when it does not exist or has none.
async fn remote_hash(
    c: &Clients,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, ProviderError> {
    match c.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(out.metadata().and_then(|m| m.get(SHA256_META)).cloned()),
        Err(e) => errors::gone_as(
            errors::sdk("HeadObject", &format!("{bucket}/{key}"), e),
            None,
        ),
    }
}

/// Every object of the bucket with the hash it records (ListObjectsV2 carries no user
/// metadata: one HEAD per object).
async fn remote(
    c: &Clients,
    bucket: &str,
) -> Result<BTreeMap<String, RemoteObject>, ProviderError> {
    let mut pages =
        c.s3.list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListObjectsV2", bucket, e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            let sha256 = remote_hash(c, bucket, key).await?;
            out.insert(key.to_string(), RemoteObject { sha256 });
        }
    }
    Ok(out)
}

/// Upload what differs, delete what overcast uploaded and the directory no longer has.
pub async fn sync(c: &Clients, bucket: &str, dir: &Path) -> Result<(), ProviderError> {
    let local = content::files_of(dir).await?;
    let SyncPlan { upload, delete } = content::diff(&local, &remote(c, bucket).await?);
    for key in upload {
        let Some(file) = local.get(&key) else {
            continue;
        };
        let body = tokio::fs::read(&file.path).await?;
        c.s3.put_object()
            .bucket(bucket)
            .key(&key)
            .content_type(content::content_type(&key))
            .metadata(SHA256_META, &file.sha256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| errors::sdk("PutObject", &format!("{bucket}/{key}"), e))?;
    }
    for key in delete {
        c.s3.delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| errors::sdk("DeleteObject", &format!("{bucket}/{key}"), e))?;
    }
    Ok(())
}

/// Whether the bucket holds the directory: every file with the same content, and no
/// object overcast uploaded whose file is gone. A directory that is gone from this machine
/// gives no basis to claim drift: in sync.
pub async fn in_sync(c: &Clients, bucket: &str, dir: &Path) -> Result<bool, ProviderError> {
    let Ok(local) = content::files_of(dir).await else {
        return Ok(true);
    };
    Ok(content::diff(&local, &remote(c, bucket).await?).is_empty())
}
