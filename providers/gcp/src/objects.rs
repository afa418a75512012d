//! Cloud Storage objects through the JSON API: upload with checksums, metadata, listing
//! and delete. Storage `content` and the functions' source archives are uploaded through
//! these calls.
//!
//! An upload is a multipart request (metadata + media) that carries the MD5 of the bytes:
//! Cloud Storage refuses the object when what arrived does not match, so a corrupted
//! upload never lands. The caller's own metadata (e.g. a SHA-256 of the source file)
//! rides along, so a later read can tell whether the object still holds those bytes.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use overcast_core::ProviderError;
use serde::Deserialize;
use serde_json::json;

use crate::gcs::Gcs;

/// What the JSON API says about an object (the fields overcast uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name (its key in the bucket).
    pub name: String,
    /// The bucket.
    pub bucket: String,
    /// The object's generation: changes on every overwrite.
    pub generation: String,
    /// Size in bytes (the API sends a decimal string).
    #[serde(default)]
    pub size: String,
    /// Base64 MD5 of the content (absent for composite objects).
    #[serde(default)]
    pub md5_hash: Option<String>,
    /// The content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Custom metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// The base64 MD5 of `bytes`, as the JSON API writes `md5Hash`.
pub fn md5_base64(bytes: &[u8]) -> String {
    B64.encode(Md5::digest(bytes))
}

/// The path of an object: its name percent-encoded as one path segment (`a/b` -> `a%2Fb`).
pub(crate) fn object_path(bucket: &str, name: &str) -> String {
    let encoded: String = url_segment(name);
    format!("b/{bucket}/o/{encoded}")
}

/// Percent-encode everything but the unreserved characters of RFC 3986.
fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn meta_of(op: &str, v: Option<serde_json::Value>) -> Result<ObjectMeta, ProviderError> {
    let v = v.ok_or_else(|| ProviderError::fatal(format!("{op}: empty answer")))?;
    serde_json::from_value(v)
        .map_err(|e| ProviderError::fatal(format!("{op}: unreadable object metadata: {e}")))
}

impl Gcs {
    /// Upload `bytes` as `bucket/name` with `content_type` and custom `metadata`; the
    /// MD5 travels with it and the service checks it.
    pub async fn upload(
        &self,
        bucket: &str,
        name: &str,
        bytes: &[u8],
        content_type: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<ObjectMeta, ProviderError> {
        let md5 = md5_base64(bytes);
        let head = json!({
            "name": name,
            "contentType": content_type,
            "md5Hash": md5,
            "metadata": metadata,
        });
        // A boundary that cannot occur in the body: derived from the content's hash.
        let boundary = format!("overcast-{}", url_segment(&md5).replace('%', ""));
        let mut body = Vec::with_capacity(bytes.len() + 512);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{head}\r\n\
                 --{boundary}\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!("{}/upload/storage/v1/b/{bucket}/o", self.endpoint());
        let req = self
            .http
            .post(url)
            .query(&[("uploadType", "multipart")])
            .header(
                "Content-Type",
                format!("multipart/related; boundary={boundary}"),
            )
            .body(body);
        let op = format!("upload gs://{bucket}/{name}");
        let meta = meta_of(&op, self.send(&op, req).await?)?;
        if meta.md5_hash.as_deref().is_some_and(|m| m != md5) {
            return Err(ProviderError::retryable(format!(
                "{op}: the stored object's MD5 ({}) is not the uploaded bytes' ({md5})",
                meta.md5_hash.as_deref().unwrap_or_default()
            )));
        }
        Ok(meta)
    }

    /// An object's metadata; a not-found error when it does not exist.
    pub async fn object(&self, bucket: &str, name: &str) -> Result<ObjectMeta, ProviderError> {
        let op = format!("get gs://{bucket}/{name}");
        let req = self.http.get(self.url(&object_path(bucket, name)));
        meta_of(&op, self.send(&op, req).await?)
    }

    /// Every object of `bucket` whose name starts with `prefix`, page by page.
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectMeta>, ProviderError> {
        let op = format!("list gs://{bucket}/{prefix}");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self
                .http
                .get(self.url(&format!("b/{bucket}/o")))
                .query(&[("prefix", prefix)]);
            if let Some(t) = &token {
                req = req.query(&[("pageToken", t.as_str())]);
            }
            let page = self.send(&op, req).await?.unwrap_or_default();
            for item in page["items"].as_array().into_iter().flatten() {
                out.push(meta_of(&op, Some(item.clone()))?);
            }
            match page["nextPageToken"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Delete an object (its live generation); a not-found error when it is gone.
    pub async fn delete_object(&self, bucket: &str, name: &str) -> Result<(), ProviderError> {
        let op = format!("delete gs://{bucket}/{name}");
        let req = self.http.delete(self.url(&object_path(bucket, name)));
        self.send(&op, req).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_encoded_path_segment() {
        assert_eq!(object_path("b", "a/b c.txt"), "b/b/o/a%2Fb%20c.txt");
        assert_eq!(object_path("b", "ä~x"), "b/b/o/%C3%A4~x");
    }

    #[test]
    fn md5_is_base64_as_the_api_writes_it() {
        // The JSON API's md5Hash of "hello".
        assert_eq!(md5_base64(b"hello"), "XUFAKrxLKna5cZ2REBfFkg==");
    }
}
