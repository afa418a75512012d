//! Storage `content`, the cloud-neutral half: a directory's files with their SHA-256, the
//! content type of each, and the difference between the directory and a bucket — what to
//! upload and what to delete. Each provider lists its bucket and moves the bytes; the
//! decision is taken here, once, for every cloud.
//!
//! The rules: an object carries the SHA-256 of the file it was uploaded from in its
//! metadata under [`SHA256_META`]. A file whose object is missing or records another hash
//! is uploaded; an object that records a hash (overcast uploaded it) but whose file is
//! gone is deleted; an object without the hash (logs, uploads by the application) is never
//! touched.
//!
//! ```
//! use std::collections::BTreeMap;
//! use overcast_core::content::{RemoteObject, diff, LocalFile};
//! let local = BTreeMap::from([("index.html".to_string(), LocalFile {
//!     path: "site/index.html".into(), sha256: "aa".into() })]);
//! let remote = BTreeMap::from([
//!     ("old.html".to_string(), RemoteObject { sha256: Some("bb".into()) }),
//!     ("upload.bin".to_string(), RemoteObject { sha256: None }),
//! ]);
//! let d = diff(&local, &remote);
//! assert_eq!(d.upload, ["index.html"]);
//! assert_eq!(d.delete, ["old.html"]);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ProviderError;

/// The metadata key under which an object records the SHA-256 (hex) of its file.
pub const SHA256_META: &str = "overcast-sha256";

/// One file of the content directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Where it is on this machine.
    pub path: PathBuf,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
}

/// What a bucket says about one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteObject {
    /// The SHA-256 recorded in its metadata; `None` when overcast did not upload it. A
    /// provider that can tell the object's bytes no longer match the recorded hash (GCS:
    /// its `md5Hash`) reports an empty string here, so the file is uploaded again.
    pub sha256: Option<String>,
}

/// What a sync does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Object keys to upload from their files, in key order.
    pub upload: Vec<String>,
    /// Object keys overcast uploaded whose file is gone, in key order.
    pub delete: Vec<String>,
}

impl SyncPlan {
    /// Whether the bucket already holds the directory.
    pub fn is_empty(&self) -> bool {
        self.upload.is_empty() && self.delete.is_empty()
    }
}

/// The files of `dir` by object key (the `/`-separated relative path), with their SHA-256.
/// Blocking: call [`files_of`] from async code.
pub fn files(dir: &Path) -> Result<BTreeMap<String, LocalFile>, ProviderError> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, LocalFile>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if let Ok(rel) = p.strip_prefix(root) {
                let sha256 = hex::encode(Sha256::digest(std::fs::read(&p)?));
                let key = rel.to_string_lossy().replace('\\', "/");
                out.insert(key, LocalFile { path: p, sha256 });
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out).map_err(|e| {
        ProviderError::invalid(format!("storage content `{}`: {e}", dir.display()))
            .with_hint("`content` names a directory relative to the spec file; check it exists and is readable")
    })?;
    Ok(out)
}

/// [`files`] on a blocking thread.
pub async fn files_of(dir: &Path) -> Result<BTreeMap<String, LocalFile>, ProviderError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || files(&dir))
        .await
        .map_err(|e| ProviderError::fatal(format!("storage content task: {e}")))?
}

/// The content type an object of this key is served with, from its extension.
pub fn content_type(key: &str) -> &'static str {
    let ext = match key.rsplit_once('.') {
        Some((_, ext)) if !ext.contains('/') => ext.to_ascii_lowercase(),
        _ => String::new(),
    };
    match ext.as_str() {
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

/// What to upload and delete so the bucket holds `local`, given what it holds.
pub fn diff(
    local: &BTreeMap<String, LocalFile>,
    remote: &BTreeMap<String, RemoteObject>,
) -> SyncPlan {
    let upload = local
        .iter()
        .filter(|(key, file)| {
            remote.get(*key).and_then(|o| o.sha256.as_deref()) != Some(file.sha256.as_str())
        })
        .map(|(key, _)| key.clone())
        .collect();
    let delete = remote
        .iter()
        .filter(|(key, o)| o.sha256.is_some() && !local.contains_key(*key))
        .map(|(key, _)| key.clone())
        .collect();
    SyncPlan { upload, delete }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(sha: Option<&str>) -> RemoteObject {
        RemoteObject {
            sha256: sha.map(str::to_string),
        }
    }

    #[test]
    fn the_walk_keys_files_by_relative_path_with_their_sha256() {
        let dir = std::env::temp_dir().join(format!("overcast-content-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("css")).expect("mkdir");
        std::fs::write(dir.join("index.html"), b"hello").expect("write");
        std::fs::write(dir.join("css/site.css"), b"").expect("write");
        let f = files(&dir).expect("walk");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(f.keys().collect::<Vec<_>>(), ["css/site.css", "index.html"]);
        assert_eq!(
            f["index.html"].sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let e = files(&dir).unwrap_err();
        assert!(e.message.contains("storage content"), "{}", e.message);
    }

    #[test]
    fn changed_and_missing_files_upload_and_only_overcast_objects_are_deleted() {
        let file = |sha: &str| LocalFile {
            path: PathBuf::from("x"),
            sha256: sha.into(),
        };
        let local = BTreeMap::from([
            ("same".to_string(), file("1")),
            ("changed".to_string(), file("2")),
            ("missing".to_string(), file("3")),
            ("overwritten".to_string(), file("4")),
        ]);
        let remote = BTreeMap::from([
            ("same".to_string(), remote(Some("1"))),
            ("changed".to_string(), remote(Some("old"))),
            ("overwritten".to_string(), remote(None)),
            ("gone".to_string(), remote(Some("5"))),
            ("foreign".to_string(), remote(None)),
        ]);
        let d = diff(&local, &remote);
        assert_eq!(d.upload, ["changed", "missing", "overwritten"]);
        assert_eq!(d.delete, ["gone"]);
        assert!(!d.is_empty());
        let only_same = BTreeMap::from([("same".to_string(), file("1"))]);
        let remote = BTreeMap::from([
            ("same".to_string(), self::remote(Some("1"))),
            ("foreign".to_string(), self::remote(None)),
        ]);
        assert!(diff(&only_same, &remote).is_empty());
    }

    #[test]
    fn content_types_come_from_the_extension() {
        assert_eq!(content_type("a/index.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("app.mjs"), "text/javascript");
        assert_eq!(content_type("v1.0/README"), "application/octet-stream");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }
}
