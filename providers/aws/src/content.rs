//! Storage `content`: the files of a directory uploaded as objects of a bucket. Each
//! object carries the SHA-256 of its file in its metadata (`x-amz-meta-overcast-sha256`),
//! so a sync uploads only what changed and `read` can tell whether the bucket still holds
//! the directory. Objects overcast uploaded whose file is gone are deleted; other objects
//! (logs, uploads by the application) are left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use overcast_core::ProviderError;
use sha2::{Digest, Sha256};

use crate::config::Clients;
use crate::errors;

const META: &str = "overcast-sha256";

/// Files of `dir` by object key (`/`-separated relative path), with their SHA-256.
fn files(dir: &Path) -> Result<BTreeMap<String, (PathBuf, String)>, ProviderError> {
    fn walk(
        root: &Path,
        dir: &Path,
        out: &mut BTreeMap<String, (PathBuf, String)>,
    ) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if let Ok(rel) = p.strip_prefix(root) {
                let hash = hex::encode(Sha256::digest(std::fs::read(&p)?));
                out.insert(rel.to_string_lossy().replace('\\', "/"), (p.clone(), hash));
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)
        .map_err(|e| ProviderError::invalid(format!("storage content `{}`: {e}", dir.display())))?;
    Ok(out)
}

fn content_type(key: &str) -> &'static str {
    match key
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        _ => "application/octet-stream",
    }
}

async fn listed(dir: &Path) -> Result<BTreeMap<String, (PathBuf, String)>, ProviderError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || files(&dir))
        .await
        .map_err(|e| ProviderError::fatal(format!("content task: {e}")))?
}

/// The SHA-256 recorded on an object, `None` when it does not exist or has none.
async fn remote_hash(
    c: &Clients,
    bucket: &str,
    key: &str,
) -> Result<Option<String>, ProviderError> {
    match c.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(out.metadata().and_then(|m| m.get(META)).cloned()),
        Err(e) => errors::gone_as(
            errors::sdk("HeadObject", &format!("{bucket}/{key}"), e),
            None,
        ),
    }
}

/// Upload what differs, delete what overcast uploaded and the directory no longer has.
pub async fn sync(c: &Clients, bucket: &str, dir: &Path) -> Result<(), ProviderError> {
    let local = listed(dir).await?;
    for (key, (path, hash)) in &local {
        if remote_hash(c, bucket, key).await?.as_deref() == Some(hash.as_str()) {
            continue;
        }
        let body = tokio::fs::read(path).await?;
        c.s3.put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type(key))
            .metadata(META, hash)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| errors::sdk("PutObject", &format!("{bucket}/{key}"), e))?;
    }
    let mut pages =
        c.s3.list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
    let mut stale = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListObjectsV2", bucket, e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            if !local.contains_key(key) && remote_hash(c, bucket, key).await?.is_some() {
                stale.push(key.to_string());
            }
        }
    }
    for key in stale {
        c.s3.delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| errors::sdk("DeleteObject", &format!("{bucket}/{key}"), e))?;
    }
    Ok(())
}

/// Whether every file of `dir` is in the bucket with the same content. A directory that
/// is gone from this machine gives no basis to claim drift: in sync.
pub async fn in_sync(c: &Clients, bucket: &str, dir: &Path) -> Result<bool, ProviderError> {
    let Ok(local) = listed(dir).await else {
        return Ok(true);
    };
    for (key, (_, hash)) in &local {
        if remote_hash(c, bucket, key).await?.as_deref() != Some(hash.as_str()) {
            return Ok(false);
        }
    }
    Ok(true)
}
