//! Storage `content` on Azure, the data-plane half (`overcast_azure::content::DataPlane`),
//! against Azurite started and stopped by PID here: a directory synced into a container
//! through the blob crate with a service SAS signed from the account key, then checked
//! through Azurite's REST API by hand (its listing, and each blob's bytes, `Content-Type`,
//! `Content-MD5` and `overcast_sha256` metadata); changed, removed and foreign blobs;
//! blobs overwritten out of band that kept the metadata (drift `in_sync` sees and `sync`
//! repairs); a wrong key refused.
//!
//! What Azurite cannot prove: the ARM half (`listKeys` through Resource Manager), Azure's
//! own checks of the SAS (Azurite checks its signature and permissions, not `spr`: it
//! serves http), and that Azure keeps the committed `x-ms-blob-content-md5` as Azurite does.
#![cfg(feature = "azure")]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use overcast_azure::content::{DataPlane, SHA256_META, md5_base64};
use overcast_core::ErrorClass;
use overcast_core::content::content_type;
use sha2::{Digest, Sha256};

mod common;

use common::servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite, start_azurite};

const CONTAINER: &str = "site";

/// One HTTP answer: status, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Undo `Transfer-Encoding: chunked`.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        raw = &raw[eol + 2..];
        out.extend_from_slice(&raw[..size.min(raw.len())]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}

/// One HTTP/1.1 request to Azurite; `target` is the path and query.
fn http(az: &Azurite, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut c = TcpStream::connect(("127.0.0.1", az.server.port)).expect("connect to Azurite");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
         Content-Length: {}\r\nx-ms-version: 2022-11-02\r\n",
        az.server.port,
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    c.write_all(head.as_bytes()).expect("send");
    c.write_all(body).expect("send body");
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// The path and query of a container or blob URL, with a fresh SAS.
fn target(dp: &DataPlane, blob: Option<&str>, extra: &str) -> String {
    let url = dp.signed_url(CONTAINER, blob).expect("signed url");
    format!("{}?{extra}{}", url.path(), url.query().unwrap_or_default())
}

/// The blob names of the container, from Azurite's List Blobs XML.
fn listed(az: &Azurite, dp: &DataPlane) -> Vec<String> {
    let a = http(
        az,
        "GET",
        &target(dp, None, "restype=container&comp=list&"),
        &[],
        b"",
    );
    let xml = String::from_utf8_lossy(&a.body).to_string();
    assert_eq!(a.status, 200, "list blobs: {xml}");
    xml.split("<Name>")
        .skip(1)
        .filter_map(|s| s.split_once("</Name>").map(|(n, _)| n.to_string()))
        .collect()
}

/// Get Blob.
fn get(az: &Azurite, dp: &DataPlane, name: &str) -> Answer {
    http(az, "GET", &target(dp, Some(name), ""), &[], b"")
}

/// Put Blob made out of band, with the given content type and metadata.
fn put_raw(az: &Azurite, dp: &DataPlane, name: &str, bytes: &[u8], ctype: &str, sha: Option<&str>) {
    let meta = format!("x-ms-meta-{SHA256_META}");
    let mut headers = vec![("x-ms-blob-type", "BlockBlob"), ("Content-Type", ctype)];
    if let Some(sha) = sha {
        headers.push((meta.as_str(), sha));
    }
    let a = http(az, "PUT", &target(dp, Some(name), ""), &headers, bytes);
    assert_eq!(
        a.status,
        201,
        "put {name}: {}",
        String::from_utf8_lossy(&a.body)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file of `dir` is a blob with its bytes, content type, MD5 and SHA-256.
fn assert_holds(az: &Azurite, dp: &DataPlane, dir: &Path, files: &[&str]) {
    for name in files {
        let bytes = std::fs::read(dir.join(name)).expect("read file");
        let a = get(az, dp, name);
        assert_eq!(a.status, 200, "get {name}");
        assert!(a.body == bytes, "{name}: the blob holds other bytes");
        assert_eq!(
            a.headers.get("content-type").map(String::as_str),
            Some(content_type(name)),
            "{name}: content type"
        );
        assert_eq!(
            a.headers.get("content-md5"),
            Some(&md5_base64(&bytes)),
            "{name}: Content-MD5"
        );
        assert_eq!(
            a.headers.get(&format!("x-ms-meta-{SHA256_META}")),
            Some(&sha256_hex(&bytes)),
            "{name}: recorded SHA-256"
        );
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_syncs_into_a_container_and_drift_is_repaired() {
    let az = start_azurite();
    // Two blobs a page, so every listing crosses pages.
    let dp = DataPlane::new(&az.blob_endpoint, AZURITE_ACCOUNT, AZURITE_KEY)
        .expect("data plane")
        .with_page_size(2);
    let site = tempfile::tempdir().expect("tempdir");
    let dir = site.path();
    // 5 MiB + 1: two blocks, each with its own Content-MD5.
    let big: Vec<u8> = (0..5 * 1024 * 1024 + 1).map(|i| (i % 251) as u8).collect();
    write(dir, "index.html", b"<h1>hello</h1>");
    write(dir, "css/site.css", b"body { margin: 0 }");
    write(dir, "img/logo.png", &[0x89, b'P', b'N', b'G', 0, 1, 2]);
    write(dir, "docs/read me.txt", b"spaces in a name");
    write(dir, "empty.json", b"");
    write(dir, "big.bin", &big);
    let all = [
        "big.bin",
        "css/site.css",
        "docs/read me.txt",
        "empty.json",
        "img/logo.png",
        "index.html",
    ];

    // Azurite has no such container yet: it holds nothing.
    assert!(!dp.in_sync(CONTAINER, dir).await.expect("in_sync"));
    dp.sync(CONTAINER, dir).await.expect("first sync");
    assert_eq!(listed(&az, &dp), all);
    assert_holds(&az, &dp, dir, &all);
    assert!(dp.in_sync(CONTAINER, dir).await.expect("in_sync"));
    let listing = dp.blobs(CONTAINER).await.expect("blobs");
    assert_eq!(listing.len(), all.len(), "every page is read");
    assert_eq!(
        listing["index.html"].sha256(),
        Some(sha256_hex(b"<h1>hello</h1>").as_str())
    );

    // Again: the container exists (409 is fine), nothing differs.
    dp.sync(CONTAINER, dir).await.expect("second sync");
    assert_eq!(listing, dp.blobs(CONTAINER).await.expect("blobs"));

    // A changed file, a removed one, and a blob someone else wrote (no metadata).
    write(dir, "css/site.css", b"body { margin: 1em }");
    std::fs::remove_file(dir.join("img/logo.png")).expect("rm");
    put_raw(&az, &dp, "uploads/user.txt", b"theirs", "text/plain", None);
    assert!(!dp.in_sync(CONTAINER, dir).await.expect("in_sync"));
    dp.sync(CONTAINER, dir).await.expect("sync after changes");
    let now = [
        "big.bin",
        "css/site.css",
        "docs/read me.txt",
        "empty.json",
        "index.html",
    ];
    assert_holds(&az, &dp, dir, &now);
    let names = listed(&az, &dp);
    assert!(!names.contains(&"img/logo.png".to_string()), "{names:?}");
    assert!(names.contains(&"uploads/user.txt".to_string()), "{names:?}");
    assert_eq!(get(&az, &dp, "uploads/user.txt").body, b"theirs");
    assert!(dp.in_sync(CONTAINER, dir).await.expect("in_sync"));

    // Overwritten out of band, keeping the metadata: other bytes...
    let index_sha = sha256_hex(b"<h1>hello</h1>");
    put_raw(
        &az,
        &dp,
        "index.html",
        b"<h1>defaced</h1>",
        content_type("index.html"),
        Some(&index_sha),
    );
    assert!(!dp.in_sync(CONTAINER, dir).await.expect("in_sync"));
    dp.sync(CONTAINER, dir).await.expect("repair the bytes");
    assert_holds(&az, &dp, dir, &now);
    assert!(dp.in_sync(CONTAINER, dir).await.expect("in_sync"));

    // ...or the same bytes served as another type.
    put_raw(
        &az,
        &dp,
        "index.html",
        b"<h1>hello</h1>",
        "application/octet-stream",
        Some(&index_sha),
    );
    assert!(!dp.in_sync(CONTAINER, dir).await.expect("in_sync"));
    dp.sync(CONTAINER, dir).await.expect("repair the type");
    assert_holds(&az, &dp, dir, &now);
    assert!(dp.in_sync(CONTAINER, dir).await.expect("in_sync"));

    // A directory missing on this machine says nothing about the container.
    assert!(
        dp.in_sync(CONTAINER, &dir.join("nowhere"))
            .await
            .expect("in_sync")
    );
    // The foreign blob outlived every sync.
    assert_eq!(get(&az, &dp, "uploads/user.txt").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sas_signed_with_another_key_is_refused() {
    let az = start_azurite();
    let wrong = "A".repeat(86) + "==";
    let dp = DataPlane::new(&az.blob_endpoint, AZURITE_ACCOUNT, &wrong).expect("data plane");
    let site = tempfile::tempdir().expect("tempdir");
    write(site.path(), "index.html", b"x");
    let e = dp
        .sync(CONTAINER, site.path())
        .await
        .expect_err("a wrong key");
    assert_eq!(e.class, ErrorClass::Auth, "{}", e.message);
    // The signature is refused (Azure says AuthenticationFailed, Azurite
    // AuthorizationFailure), not a permission.
    assert!(
        e.message.contains("failed to authenticate"),
        "the signature is refused: {}",
        e.message
    );
    // Nothing was created.
    let right = DataPlane::new(&az.blob_endpoint, AZURITE_ACCOUNT, AZURITE_KEY).expect("dp");
    let e = right.blobs(CONTAINER).await.expect_err("no container");
    assert_eq!(e.class, ErrorClass::NotFound, "{}", e.message);

    // With the right key the container exists; another key still reads nothing of it.
    right.ensure_container(CONTAINER).await.expect("create");
    let e = dp.blobs(CONTAINER).await.expect_err("a wrong key");
    assert_eq!(e.class, ErrorClass::Auth, "{}", e.message);
    assert!(
        e.message.contains("failed to authenticate"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("sig=") || e.message.contains("sig=REDACTED"));
}
