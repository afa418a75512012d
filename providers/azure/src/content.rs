//! Storage `content` on Azure Blob Storage: the files of a directory uploaded as block blobs
//! of the container, through the data plane (azure_storage_blob). What to upload and delete
//! is decided by `overcast_core::content` (the same rules as on every cloud); this module
//! lists the container and moves the bytes.
//!
//! Two halves. [`DataPlane`] is the container's data: an account URL, the account name and
//! its key; every request carries a service SAS for the container signed with that key (the
//! crate has no shared-key login), but for creating the container, which a service SAS
//! cannot allow: an account SAS that allows only that. The ARM half ([`data_plane`]) only
//! finds that key, through the account's `listKeys`, and the URL: the target's
//! `blob_endpoint` when set (Azurite: the account it names holds every container's blobs),
//! else the account's own endpoint.
//!
//! Each blob records the SHA-256 of its file as metadata [`SHA256_META`] (Azure metadata
//! names are C# identifiers: core's `overcast-sha256` spelt with an underscore), and is
//! uploaded in blocks that each carry their `Content-MD5`, which the service checks, then
//! committed with the file's MD5 and content type. A blob is in sync when it records its
//! file's SHA-256 *and* its `Content-MD5` and content type still match the file: a blob
//! overwritten out of band, even one that kept the metadata, is uploaded again. Blobs
//! without the metadata (the application's uploads, logs) are never touched.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use azure_core::Bytes;
use azure_core::credentials::Secret;
use azure_core::http::{
    ClientOptions, HttpClientOptions, RequestContent, RetryOptions, Transport, Url, XmlFormat,
    new_http_client,
};
use azure_storage_blob::models::{
    BlobContainerClientListBlobsOptions, BlockBlobClientCommitBlockListOptions,
    BlockBlobClientStageBlockOptions, BlockLookupList, ListBlobsIncludeItem,
};
use azure_storage_blob::{
    BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions,
    BlockBlobClient, BlockBlobClientOptions,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures::TryStreamExt as _;
use md5::{Digest as _, Md5};
use overcast_core::content::{self, LocalFile, RemoteObject, SyncPlan};
use overcast_core::{Attrs, ErrorClass, ProviderError};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::{Clients, Settings};
use crate::errors;
use crate::handlers::str_of;
use crate::storage::{ACCOUNT_TYPE, API};

/// The metadata name under which a blob records the SHA-256 (hex) of its file: core's
/// `SHA256_META` as an Azure metadata name, which must be a C# identifier (no hyphen).
pub const SHA256_META: &str = "overcast_sha256";

/// The signed version (`sv`) of the SAS: the string-to-sign of 2020-12-06 and later (with
/// the encryption-scope field), which every `x-ms-version` the crate sends accepts.
pub const SAS_VERSION: &str = "2022-11-02";

/// What the SAS allows on the container: read, add, create, write, delete, list.
pub const SAS_PERMISSIONS: &str = "racwdl";

/// How long a SAS is valid. One is signed for every client, so a long sync never outlives
/// its token.
pub const SAS_LIFETIME: time::Duration = time::Duration::hours(1);

/// Size of the blocks a file is uploaded in (each with its own `Content-MD5`).
const BLOCK_SIZE: usize = 4 * 1024 * 1024;

// --- the service SAS ---------------------------------------------------------------------

/// A service SAS for one container (`sr=c`), as Microsoft's "Create a service SAS" defines
/// it for versions 2020-12-06 and later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSas<'a> {
    /// The account the container belongs to (the canonicalized resource names it).
    pub account: &'a str,
    /// The container.
    pub container: &'a str,
    /// `sp`, in the order Azure requires (`racwdl`).
    pub permissions: &'a str,
    /// `st`, when the SAS starts (absent: at once).
    pub start: Option<OffsetDateTime>,
    /// `se`, when it expires.
    pub expiry: OffsetDateTime,
    /// `spr`: `https`, or `https,http` (absent: both).
    pub protocol: Option<&'a str>,
    /// `sv`.
    pub version: &'a str,
}

/// A SAS time: ISO 8601 in UTC to the second (`2020-01-01T00:00:00Z`).
pub fn sas_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

impl ContainerSas<'_> {
    /// The string-to-sign: permissions, start, expiry, canonicalized resource, identifier,
    /// IP, protocol, version, resource (`c`), snapshot time, encryption scope, then the five
    /// response-header overrides (`rscc`, `rscd`, `rsce`, `rscl`, `rsct`), each on its line,
    /// empty when unused.
    pub fn string_to_sign(&self) -> String {
        [
            self.permissions.to_string(),
            self.start.map(sas_time).unwrap_or_default(),
            sas_time(self.expiry),
            format!("/blob/{}/{}", self.account, self.container),
            String::new(), // signedIdentifier
            String::new(), // signedIP
            self.protocol.unwrap_or_default().to_string(),
            self.version.to_string(),
            "c".to_string(),
            String::new(), // signedSnapshotTime
            String::new(), // signedEncryptionScope
            String::new(), // rscc
            String::new(), // rscd
            String::new(), // rsce
            String::new(), // rscl
            String::new(), // rsct
        ]
        .join("\n")
    }

    /// The token (the query string, without `?`): HMAC-SHA256 of the string-to-sign with
    /// the base64-decoded account key.
    pub fn token(&self, key: &Secret) -> Result<String, ProviderError> {
        let sig = sign(self.account, &self.string_to_sign(), key)?;
        let mut url = Url::parse("https://sas.invalid/").expect("a constant URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("sp", self.permissions);
            if let Some(start) = self.start {
                q.append_pair("st", &sas_time(start));
            }
            q.append_pair("se", &sas_time(self.expiry));
            if let Some(protocol) = self.protocol {
                q.append_pair("spr", protocol);
            }
            q.append_pair("sv", self.version);
            q.append_pair("sr", "c");
            q.append_pair("sig", &sig);
        }
        Ok(url.query().unwrap_or_default().to_string())
    }
}

/// An account SAS for the blob service (`ss=b`), as Microsoft's "Create an account SAS"
/// defines it for versions 2020-12-06 and later. Only creating a container needs one: a
/// service SAS grants nothing on the container itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSas<'a> {
    /// The account.
    pub account: &'a str,
    /// `sp` (`c`: create).
    pub permissions: &'a str,
    /// `srt`: `s`ervice, `c`ontainer, `o`bject.
    pub resource_types: &'a str,
    /// `st` (absent: at once).
    pub start: Option<OffsetDateTime>,
    /// `se`.
    pub expiry: OffsetDateTime,
    /// `spr` (absent: both).
    pub protocol: Option<&'a str>,
    /// `sv`.
    pub version: &'a str,
}

impl AccountSas<'_> {
    /// The string-to-sign: account, permissions, services (`b`), resource types, start,
    /// expiry, IP, protocol, version, encryption scope, each followed by a newline.
    pub fn string_to_sign(&self) -> String {
        let mut s = [
            self.account.to_string(),
            self.permissions.to_string(),
            "b".to_string(),
            self.resource_types.to_string(),
            self.start.map(sas_time).unwrap_or_default(),
            sas_time(self.expiry),
            String::new(), // signedIP
            self.protocol.unwrap_or_default().to_string(),
            self.version.to_string(),
            String::new(), // signedEncryptionScope
        ]
        .join("\n");
        s.push('\n');
        s
    }

    /// The token (the query string, without `?`).
    pub fn token(&self, key: &Secret) -> Result<String, ProviderError> {
        let sig = sign(self.account, &self.string_to_sign(), key)?;
        let mut url = Url::parse("https://sas.invalid/").expect("a constant URL");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("sv", self.version);
            q.append_pair("ss", "b");
            q.append_pair("srt", self.resource_types);
            q.append_pair("sp", self.permissions);
            if let Some(start) = self.start {
                q.append_pair("st", &sas_time(start));
            }
            q.append_pair("se", &sas_time(self.expiry));
            if let Some(protocol) = self.protocol {
                q.append_pair("spr", protocol);
            }
            q.append_pair("sig", &sig);
        }
        Ok(url.query().unwrap_or_default().to_string())
    }
}

/// HMAC-SHA256 of `string_to_sign` with the base64-decoded key, base64.
fn sign(account: &str, string_to_sign: &str, key: &Secret) -> Result<String, ProviderError> {
    azure_core::hmac::hmac_sha256(string_to_sign, key).map_err(|e| {
        ProviderError::invalid(format!(
            "the key of storage account `{account}` cannot sign: {e}"
        ))
    })
}

/// Hide the signature of any SAS in `text` (errors of the HTTP client name the URL).
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("sig=") {
        out.push_str(&rest[..i + 4]);
        out.push_str("REDACTED");
        rest = &rest[i + 4..];
        let end = rest
            .find(|c: char| c == '&' || c == '"' || c == '\'' || c == ')' || c.is_whitespace())
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

// --- errors ------------------------------------------------------------------------------

/// Storage error codes worth waiting out.
const BUSY_CODES: &[&str] = &["ContainerBeingDeleted", "ServerBusy", "OperationTimedOut"];

/// An error of the data plane, classified, its message free of the SAS.
fn storage_error(op: &str, e: &azure_core::Error) -> ProviderError {
    use azure_core::error::ErrorKind;
    let msg = redact(&e.to_string());
    match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let status = u16::from(*status);
            let code = error_code.as_deref().unwrap_or("");
            let class = if BUSY_CODES.contains(&code) {
                ErrorClass::Retryable
            } else {
                errors::class_of(status, code)
            };
            let mut err = ProviderError::new(class, format!("{op}: HTTP {status} {code}: {msg}"));
            if class == ErrorClass::Auth {
                err = err.with_hint(
                    "the container's SAS was refused: check that the account key ARM's listKeys \
                     returns is the one of the account the blob endpoint names",
                );
            }
            err
        }
        // Never sent: safe to try again.
        ErrorKind::Connection => ProviderError::retryable(format!("{op}: {msg}")),
        ErrorKind::Io => ProviderError::retryable(format!("{op}: {msg}")).with_outcome_unknown(),
        _ => ProviderError::fatal(format!("{op}: {msg}")).with_outcome_unknown(),
    }
}

fn status_of(e: &azure_core::Error) -> Option<u16> {
    e.http_status().map(u16::from)
}

// --- the data plane ----------------------------------------------------------------------

/// What a listing says about one blob.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob {
    /// Its `Content-Type`.
    pub content_type: Option<String>,
    /// Its `Content-MD5`, base64.
    pub content_md5: Option<String>,
    /// Its metadata.
    pub metadata: BTreeMap<String, String>,
}

impl Blob {
    /// The SHA-256 overcast recorded, if it uploaded the blob (metadata names are
    /// case-insensitive).
    pub fn sha256(&self) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(SHA256_META))
            .map(|(_, v)| v.as_str())
    }
}

/// The blobs of one storage account, signed for with its key.
#[derive(Clone)]
pub struct DataPlane {
    /// The account URL (`https://{account}.blob.core.windows.net`, or Azurite's
    /// `http://127.0.0.1:P/devstoreaccount1`), no trailing slash.
    endpoint: Url,
    account: String,
    key: Secret,
    transport: Transport,
    page_size: Option<i32>,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane")
            .field("endpoint", &self.endpoint.as_str())
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// The base64 MD5 of `bytes`, as `Content-MD5` carries it.
pub fn md5_base64(bytes: &[u8]) -> String {
    B64.encode(Md5::digest(bytes))
}

impl DataPlane {
    /// The data of `account` at `endpoint` (its account URL), signed with `key` (base64, as
    /// `listKeys` gives it). No network access.
    pub fn new(endpoint: &str, account: &str, key: &str) -> Result<DataPlane, ProviderError> {
        let raw = endpoint.trim_end_matches('/');
        let endpoint: Url = raw.parse().map_err(|e| {
            ProviderError::invalid(format!("blob endpoint `{raw}` is not a URL: {e}"))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.cannot_be_a_base() {
            return Err(ProviderError::invalid(format!(
                "blob endpoint `{raw}` is not an http(s) URL"
            )));
        }
        if account.is_empty() {
            return Err(ProviderError::invalid(format!(
                "blob endpoint `{raw}`: no storage account to sign for"
            )));
        }
        B64.decode(key.trim()).map_err(|_| {
            ProviderError::invalid(format!(
                "the key of storage account `{account}` is not base64"
            ))
        })?;
        // One connection pool for every client of this account; no decompression, so what
        // is read is what is stored.
        let http = HttpClientOptions {
            automatic_decompression: false,
        };
        Ok(DataPlane {
            endpoint,
            account: account.to_string(),
            key: Secret::new(key.trim().to_string()),
            transport: Transport::new(new_http_client(Some(http))),
            page_size: None,
        })
    }

    /// List `n` blobs per page (the service's default: 5,000), so a test can cross pages.
    pub fn with_page_size(mut self, n: i32) -> DataPlane {
        self.page_size = Some(n);
        self
    }

    /// The account the SAS names.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// A SAS for `container`, valid from now for [`SAS_LIFETIME`]: https only against
    /// Azure, https or http against an `http://` endpoint (Azurite).
    pub fn sas(&self, container: &str) -> Result<String, ProviderError> {
        ContainerSas {
            account: &self.account,
            container,
            permissions: SAS_PERMISSIONS,
            start: None,
            expiry: OffsetDateTime::now_utc() + SAS_LIFETIME,
            protocol: Some(self.protocol()),
            version: SAS_VERSION,
        }
        .token(&self.key)
    }

    /// An account SAS that allows creating containers, and nothing else.
    pub fn create_container_sas(&self) -> Result<String, ProviderError> {
        AccountSas {
            account: &self.account,
            permissions: "c",
            resource_types: "c",
            start: None,
            expiry: OffsetDateTime::now_utc() + SAS_LIFETIME,
            protocol: Some(self.protocol()),
            version: SAS_VERSION,
        }
        .token(&self.key)
    }

    /// `spr`: https only against Azure, https or http against an `http://` endpoint.
    fn protocol(&self) -> &'static str {
        if self.endpoint.scheme() == "https" {
            "https"
        } else {
            "https,http"
        }
    }

    /// The URL of `container`, or of its blob `blob` (each `/`-separated part of the name
    /// a path segment), without a SAS.
    pub fn url(&self, container: &str, blob: Option<&str>) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty().push(container);
            if let Some(name) = blob {
                segs.extend(name.split('/'));
            }
        }
        url
    }

    /// [`DataPlane::url`] with a fresh SAS.
    pub fn signed_url(&self, container: &str, blob: Option<&str>) -> Result<Url, ProviderError> {
        let mut url = self.url(container, blob);
        url.set_query(Some(&self.sas(container)?));
        Ok(url)
    }

    fn client_options(&self) -> ClientOptions {
        ClientOptions {
            transport: Some(self.transport.clone()),
            // The engine's call layer is the one retry loop.
            retry: RetryOptions::none(),
            ..ClientOptions::default()
        }
    }

    fn container_client(&self, container: &str) -> Result<BlobContainerClient, ProviderError> {
        let options = BlobContainerClientOptions {
            client_options: self.client_options(),
            ..BlobContainerClientOptions::default()
        };
        BlobContainerClient::new(self.signed_url(container, None)?, None, Some(options))
            .map_err(|e| storage_error(&format!("container `{container}`"), &e))
    }

    fn block_blob_client(
        &self,
        container: &str,
        key: &str,
    ) -> Result<BlockBlobClient, ProviderError> {
        let options = BlockBlobClientOptions {
            client_options: self.client_options(),
            ..BlockBlobClientOptions::default()
        };
        BlockBlobClient::new(self.signed_url(container, Some(key))?, None, Some(options))
            .map_err(|e| storage_error(&format!("blob `{container}/{key}`"), &e))
    }

    fn blob_client(&self, container: &str, key: &str) -> Result<BlobClient, ProviderError> {
        let options = BlobClientOptions {
            client_options: self.client_options(),
            ..BlobClientOptions::default()
        };
        BlobClient::new(self.signed_url(container, Some(key))?, None, Some(options))
            .map_err(|e| storage_error(&format!("blob `{container}/{key}`"), &e))
    }

    /// Create `container` on the data plane unless it exists (against Azure, ARM made it;
    /// against Azurite, nothing did), with an account SAS that allows only that.
    pub async fn ensure_container(&self, container: &str) -> Result<(), ProviderError> {
        let op = format!(
            "create container `{container}` of account `{}`",
            self.account
        );
        let mut url = self.url(container, None);
        url.set_query(Some(&self.create_container_sas()?));
        let options = BlobContainerClientOptions {
            client_options: self.client_options(),
            ..BlobContainerClientOptions::default()
        };
        let client = BlobContainerClient::new(url, None, Some(options))
            .map_err(|e| storage_error(&op, &e))?;
        match client.create(None).await {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(409) => match e.kind() {
                azure_core::error::ErrorKind::HttpResponse {
                    error_code: Some(code),
                    ..
                } if code != "ContainerAlreadyExists" => Err(storage_error(&op, &e)),
                _ => Ok(()),
            },
            Err(e) => Err(storage_error(&op, &e)),
        }
    }

    /// Every blob of `container` by name, with its properties and metadata, page after page.
    pub async fn blobs(&self, container: &str) -> Result<BTreeMap<String, Blob>, ProviderError> {
        let op = format!("list the blobs of container `{container}`");
        let options = BlobContainerClientListBlobsOptions {
            include: Some(vec![ListBlobsIncludeItem::Metadata]),
            maxresults: self.page_size,
            ..BlobContainerClientListBlobsOptions::default()
        };
        let mut pages = self
            .container_client(container)?
            .list_blobs(Some(options))
            .map_err(|e| storage_error(&op, &e))?
            .into_pages();
        let mut out = BTreeMap::new();
        while let Some(page) = pages.try_next().await.map_err(|e| storage_error(&op, &e))? {
            let page = page.into_model().map_err(|e| storage_error(&op, &e))?;
            for item in page.blob_items {
                let Some(name) = item.name else { continue };
                let props = item.properties.unwrap_or_default();
                let metadata = item
                    .metadata
                    .and_then(|m| m.values)
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                out.insert(
                    name,
                    Blob {
                        content_type: props.content_type,
                        content_md5: props.content_md5.map(|m| B64.encode(m)),
                        metadata,
                    },
                );
            }
        }
        Ok(out)
    }

    /// Upload `bytes` as the block blob `key`: blocks of [`BLOCK_SIZE`], each with its
    /// `Content-MD5` (checked by the service), committed with the whole file's MD5, its
    /// content type and the SHA-256 metadata.
    pub async fn upload(
        &self,
        container: &str,
        key: &str,
        bytes: Bytes,
        sha256: &str,
    ) -> Result<(), ProviderError> {
        let op = format!("upload blob `{container}/{key}`");
        let client = self.block_blob_client(container, key)?;
        let mut ids = Vec::new();
        let mut offset = 0;
        while offset < bytes.len() {
            let end = (offset + BLOCK_SIZE).min(bytes.len());
            let chunk = bytes.slice(offset..end);
            let id = format!("{:06}", ids.len()).into_bytes();
            let options = BlockBlobClientStageBlockOptions {
                transactional_content_md5: Some(Md5::digest(&chunk).to_vec()),
                ..BlockBlobClientStageBlockOptions::default()
            };
            client
                .stage_block(&id, chunk.len() as u64, chunk.into(), Some(options))
                .await
                .map_err(|e| storage_error(&op, &e))?;
            ids.push(id);
            offset = end;
        }
        let list = BlockLookupList {
            latest: Some(ids),
            ..BlockLookupList::default()
        };
        let body: RequestContent<BlockLookupList, XmlFormat> = list
            .try_into()
            .map_err(|e: azure_core::Error| storage_error(&op, &e))?;
        let options = BlockBlobClientCommitBlockListOptions {
            blob_content_md5: Some(Md5::digest(&bytes).to_vec()),
            blob_content_type: Some(content::content_type(key).to_string()),
            metadata: Some(HashMap::from([(
                SHA256_META.to_string(),
                sha256.to_string(),
            )])),
            ..BlockBlobClientCommitBlockListOptions::default()
        };
        client
            .commit_block_list(body, Some(options))
            .await
            .map_err(|e| storage_error(&op, &e))?;
        Ok(())
    }

    /// Delete the blob `key` (already gone: done).
    pub async fn delete(&self, container: &str, key: &str) -> Result<(), ProviderError> {
        match self.blob_client(container, key)?.delete(None).await {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(storage_error(
                &format!("delete blob `{container}/{key}`"),
                &e,
            )),
        }
    }

    /// Every blob of the container with the hash it records; a blob whose bytes or content
    /// type no longer match the file of the same name records the empty hash (re-upload).
    async fn remote(
        &self,
        container: &str,
        local: &BTreeMap<String, LocalFile>,
    ) -> Result<BTreeMap<String, RemoteObject>, ProviderError> {
        let mut out = BTreeMap::new();
        for (name, blob) in self.blobs(container).await? {
            let mut sha256 = blob.sha256().map(str::to_string);
            if let Some(file) = local.get(&name)
                && sha256.as_deref() == Some(file.sha256.as_str())
                && !same_bytes(&name, &blob, file).await?
            {
                sha256 = Some(String::new());
            }
            out.insert(name, RemoteObject { sha256 });
        }
        Ok(out)
    }

    /// Upload what differs, delete what overcast uploaded and `dir` no longer has; the
    /// container is created first when the data plane lacks it.
    pub async fn sync(&self, container: &str, dir: &Path) -> Result<(), ProviderError> {
        let local = content::files_of(dir).await?;
        self.ensure_container(container).await?;
        let SyncPlan { upload, delete } =
            content::diff(&local, &self.remote(container, &local).await?);
        for key in upload {
            let Some(file) = local.get(&key) else {
                continue;
            };
            let bytes = Bytes::from(tokio::fs::read(&file.path).await?);
            self.upload(container, &key, bytes, &file.sha256).await?;
        }
        for key in delete {
            self.delete(container, &key).await?;
        }
        Ok(())
    }

    /// Whether the container holds `dir`: every file with the same bytes and content type,
    /// and no blob overcast uploaded whose file is gone. A directory missing from this
    /// machine gives no basis to claim drift: in sync. A container the data plane lacks
    /// holds nothing.
    pub async fn in_sync(&self, container: &str, dir: &Path) -> Result<bool, ProviderError> {
        let Ok(local) = content::files_of(dir).await else {
            return Ok(true);
        };
        let remote = match self.remote(container, &local).await {
            Err(e) if e.class == ErrorClass::NotFound => BTreeMap::new(),
            other => other?,
        };
        Ok(content::diff(&local, &remote).is_empty())
    }
}

/// Whether the stored blob holds the file's bytes (its `Content-MD5`) with the file's
/// content type.
async fn same_bytes(name: &str, blob: &Blob, file: &LocalFile) -> Result<bool, ProviderError> {
    if blob.content_type.as_deref() != Some(content::content_type(name)) {
        return Ok(false);
    }
    let bytes = tokio::fs::read(&file.path).await?;
    Ok(blob.content_md5.as_deref() == Some(md5_base64(&bytes).as_str()))
}

// --- the ARM half ------------------------------------------------------------------------

/// `listKeys`' answer.
#[derive(Debug, Deserialize)]
struct AccountKeys {
    #[serde(default)]
    keys: Vec<AccountKey>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountKey {
    #[serde(default)]
    key_name: String,
    value: String,
}

/// The account URL and account name that hold the blobs of storage account `account`: the
/// target's `blob_endpoint` and its last path segment when set (Azurite's
/// `devstoreaccount1`, which holds every container), else the account's public endpoint.
pub fn account_endpoint(
    settings: &Settings,
    account: &str,
) -> Result<(String, String), ProviderError> {
    match &settings.blob_endpoint {
        Some(ep) => {
            let ep = ep.trim_end_matches('/');
            let url: Url = ep.parse().map_err(|e| {
                ProviderError::invalid(format!("azure `blob_endpoint` `{ep}` is not a URL: {e}"))
            })?;
            let name = url
                .path_segments()
                .and_then(|mut s| s.rfind(|s| !s.is_empty()))
                .map(str::to_string)
                .ok_or_else(|| {
                    ProviderError::invalid(format!("azure `blob_endpoint` `{ep}` names no account"))
                        .with_hint(
                            "end it with the account, e.g. http://127.0.0.1:10000/devstoreaccount1",
                        )
                })?;
            Ok((ep.to_string(), name))
        }
        None => Ok((
            format!("https://{account}.blob.core.windows.net"),
            account.to_string(),
        )),
    }
}

/// The URL of a container: under the target's `blob_endpoint` when it names one (Azurite),
/// else the account's public blob endpoint.
pub fn container_url(c: &Clients, account: &str, container: &str) -> Result<String, ProviderError> {
    let (endpoint, _) = account_endpoint(&c.settings, account)?;
    Ok(format!("{endpoint}/{container}"))
}

/// The data plane of storage account `account`: its first key from ARM's `listKeys`.
pub async fn data_plane(c: &Clients, account: &str) -> Result<DataPlane, ProviderError> {
    let path = format!("{}/listKeys", c.id(ACCOUNT_TYPE, account));
    let keys: AccountKeys = c.arm.post(&path, API, None).await?;
    let key = keys.keys.into_iter().next().ok_or_else(|| {
        ProviderError::fatal(format!(
            "listKeys of storage account `{account}` returned no key"
        ))
    })?;
    tracing::debug!(account, key = key.key_name, "signing blob requests");
    let (endpoint, name) = account_endpoint(&c.settings, account)?;
    DataPlane::new(&endpoint, &name, &key.value)
}

/// Bring the container of `inputs` (`account`, `name`) to its `content` directory, relative
/// to the spec's directory (none: nothing to do).
pub async fn sync(c: &Clients, inputs: &Attrs) -> Result<(), ProviderError> {
    let Some(dir) = inputs.get("content").and_then(Value::as_str) else {
        return Ok(());
    };
    let account = str_of(inputs, "account")?;
    let container = str_of(inputs, "name")?;
    data_plane(c, account)
        .await?
        .sync(container, &c.spec_dir.join(dir))
        .await
}

/// Whether the container holds the directory `dir` (relative to the spec's directory). A
/// directory missing from this machine is in sync, without asking Azure.
pub async fn in_sync(
    c: &Clients,
    account: &str,
    container: &str,
    dir: &str,
) -> Result<bool, ProviderError> {
    let dir = c.spec_dir.join(dir);
    if !tokio::fs::metadata(&dir).await.is_ok_and(|m| m.is_dir()) {
        return Ok(true);
    }
    data_plane(c, account).await?.in_sync(container, &dir).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Azurite's well-known key of `devstoreaccount1` (public, in Microsoft's docs).
    const DEV_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    fn day(year: i32, month: time::Month, d: u8) -> OffsetDateTime {
        time::Date::from_calendar_date(year, month, d)
            .expect("date")
            .with_hms(0, 0, 0)
            .expect("time")
            .assume_utc()
    }

    #[test]
    fn the_string_to_sign_has_every_field_of_2020_12_06_in_its_place() {
        // The Java SDK's container vector (SasClientTests' canonicalized-resource cases):
        // "\n\n<se>\n/blob/<account>/c\n\n\n\n<sv>\nc\n\n\n\n\n\n\n".
        let sas = ContainerSas {
            account: "acct",
            container: "c",
            permissions: "",
            start: None,
            expiry: day(2017, time::Month::January, 1),
            protocol: None,
            version: SAS_VERSION,
        };
        assert_eq!(
            sas.string_to_sign(),
            format!("\n\n2017-01-01T00:00:00Z\n/blob/acct/c\n\n\n\n{SAS_VERSION}\nc\n\n\n\n\n\n\n")
        );
        assert_eq!(sas.string_to_sign().split('\n').count(), 16);
    }

    #[test]
    fn a_token_matches_the_python_sdks_for_the_same_values() {
        // azure-storage-blob's generate_container_sas (sv 2020-12-06) for account `storage`,
        // container `folder`, an empty key, permission `z`, start and expiry 2020-01-01, as
        // recorded in a public test suite.
        let sas = ContainerSas {
            account: "storage",
            container: "folder",
            permissions: "z",
            start: Some(day(2020, time::Month::January, 1)),
            expiry: day(2020, time::Month::January, 1),
            protocol: None,
            version: "2020-12-06",
        };
        assert_eq!(
            sas.token(&Secret::new("")).expect("token"),
            "sp=z&st=2020-01-01T00%3A00%3A00Z&se=2020-01-01T00%3A00%3A00Z&sv=2020-12-06&sr=c\
             &sig=d4WH0Brk41kB13PB48H5V5vP6xDdAzEfI%2FRypd%2BXpow%3D"
        );
    }

    #[test]
    fn a_token_is_signed_with_the_decoded_key() {
        // HMAC-SHA256 over the documented string-to-sign with the base64-decoded key,
        // computed independently (Python's hmac module).
        let sas = ContainerSas {
            account: "devstoreaccount1",
            container: "site",
            permissions: SAS_PERMISSIONS,
            start: None,
            expiry: day(2030, time::Month::January, 1),
            protocol: Some("https,http"),
            version: SAS_VERSION,
        };
        assert_eq!(
            sas.token(&Secret::new(DEV_KEY)).expect("token"),
            "sp=racwdl&se=2030-01-01T00%3A00%3A00Z&spr=https%2Chttp&sv=2022-11-02&sr=c\
             &sig=bhv82%2B2%2F23aHJg301u0A%2FfCXlzPNlYjCWXgbvvP5PRQ%3D"
        );
        assert!(sas.token(&Secret::new("not base64!")).is_err());
    }

    #[test]
    fn the_account_string_to_sign_ends_with_the_encryption_scope_and_a_newline() {
        // The Java SDK's account vector (SasClientTests' accountSasImplUtilStringToSign):
        // "<account>\nr\nb\no\n<st>\n<se>\n\n\n<sv>\n\n".
        let t = day(2017, time::Month::January, 1);
        let sas = AccountSas {
            account: "acct",
            permissions: "r",
            resource_types: "o",
            start: Some(t),
            expiry: t,
            protocol: None,
            version: SAS_VERSION,
        };
        assert_eq!(
            sas.string_to_sign(),
            format!(
                "acct\nr\nb\no\n2017-01-01T00:00:00Z\n2017-01-01T00:00:00Z\n\n\n{SAS_VERSION}\n\n"
            )
        );
        let token = AccountSas {
            permissions: "c",
            resource_types: "c",
            start: None,
            protocol: Some("https"),
            ..sas
        }
        .token(&Secret::new(DEV_KEY))
        .expect("token");
        assert!(
            token.starts_with(&format!(
                "sv={SAS_VERSION}&ss=b&srt=c&sp=c&se=2017-01-01T00%3A00%3A00Z&spr=https&sig="
            )),
            "{token}"
        );
    }

    #[test]
    fn md5s_are_base64_as_content_md5_carries_them() {
        assert_eq!(md5_base64(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(md5_base64(b"hello"), "XUFAKrxLKna5cZ2REBfFkg==");
    }

    #[test]
    fn urls_name_the_account_container_and_blob_path_and_carry_a_fresh_sas() {
        let dp = DataPlane::new(
            "http://127.0.0.1:10000/devstoreaccount1/",
            "devstoreaccount1",
            DEV_KEY,
        )
        .expect("data plane");
        assert_eq!(
            dp.url("site", Some("css/a b.css")).as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/site/css/a%20b.css"
        );
        assert_eq!(
            dp.url("site", None).as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/site"
        );
        let signed = dp.signed_url("site", Some("index.html")).expect("url");
        let q: BTreeMap<String, String> = signed.query_pairs().into_owned().collect();
        assert_eq!(q["sr"], "c");
        assert_eq!(q["sp"], "racwdl");
        assert_eq!(q["sv"], SAS_VERSION);
        assert_eq!(q["spr"], "https,http", "an http endpoint allows http");
        let expiry = OffsetDateTime::now_utc() + SAS_LIFETIME;
        assert!(q["se"] <= sas_time(expiry) && q["se"] > sas_time(OffsetDateTime::now_utc()));

        let azure = DataPlane::new("https://acct.blob.core.windows.net", "acct", DEV_KEY)
            .expect("data plane");
        let signed = azure.signed_url("c1", None).expect("url");
        assert_eq!(signed.path(), "/c1");
        let q: BTreeMap<String, String> = signed.query_pairs().into_owned().collect();
        assert_eq!(q["spr"], "https", "Azure gets https only");

        assert!(DataPlane::new("http://127.0.0.1:1/a", "a", "%%%").is_err());
        assert!(DataPlane::new("ftp://x/a", "a", DEV_KEY).is_err());
        assert!(format!("{dp:?}").contains("devstoreaccount1"));
        assert!(!format!("{dp:?}").contains(DEV_KEY));
    }

    #[test]
    fn the_blob_endpoint_names_the_account_that_holds_the_blobs() {
        let mut s = Settings::default();
        assert_eq!(
            account_endpoint(&s, "acct").expect("endpoint"),
            (
                "https://acct.blob.core.windows.net".to_string(),
                "acct".to_string()
            )
        );
        s.blob_endpoint = Some("http://127.0.0.1:10000/devstoreaccount1/".into());
        assert_eq!(
            account_endpoint(&s, "acct").expect("endpoint"),
            (
                "http://127.0.0.1:10000/devstoreaccount1".to_string(),
                "devstoreaccount1".to_string()
            )
        );
        s.blob_endpoint = Some("http://127.0.0.1:10000".into());
        assert!(account_endpoint(&s, "acct").is_err());
    }

    #[test]
    fn signatures_are_redacted_from_messages() {
        assert_eq!(
            redact("error sending request for url (http://h/c/b?se=x&sig=ab%2Fc%3D&sr=c): boom"),
            "error sending request for url (http://h/c/b?se=x&sig=REDACTED&sr=c): boom"
        );
        assert_eq!(
            redact("GET http://h/c?sig=abc"),
            "GET http://h/c?sig=REDACTED"
        );
        assert_eq!(redact("no token here"), "no token here");
    }

    #[test]
    fn the_recorded_hash_is_read_whatever_the_case_of_its_name() {
        let blob = Blob {
            metadata: BTreeMap::from([("Overcast_SHA256".to_string(), "aa".to_string())]),
            ..Blob::default()
        };
        assert_eq!(blob.sha256(), Some("aa"));
        assert_eq!(Blob::default().sha256(), None);
        assert!(!SHA256_META.contains('-'));
    }
}
