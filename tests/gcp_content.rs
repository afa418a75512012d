//! Storage `content` on GCP, through the `overcast` binary against drongo (Cloud Storage's
//! JSON API) and the Pub/Sub emulator (the provider's preflight lists topics), both started
//! and stopped by PID here. Every object is checked through drongo's own API: its MD5, its
//! content type and the SHA-256 overcast records; drift made out of band shows in the plan
//! and is repaired by apply; objects overcast did not upload are left alone; destroy
//! empties and deletes the bucket.
//!
//! What drongo cannot prove: it does not check the `md5Hash` sent with an upload (Cloud
//! Storage refuses a mismatch), keeps no noncurrent generations (the `versions=true`
//! listing and the per-generation deletes that empty a versioned bucket are not
//! exercised), ignores `ifGenerationMatch`, and drops `versioning` from a bucket insert
//! (only a patch sets it), so this stack leaves versioning off.
#![cfg(feature = "gcp")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

mod common;

use common::TestStack;
use common::servers::{Server, start_drongo, start_pubsub_emulator};

const PROJECT: &str = "overcast-test";

/// One HTTP request to drongo: the status and the JSON body.
fn api(s: &Server, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect to drongo");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("send");
    c.write_all(body).expect("send body");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn get(s: &Server, path: &str) -> (u16, Value) {
    api(s, "GET", path, "application/json", b"")
}

fn buckets(s: &Server) -> Vec<Value> {
    let (status, v) = get(s, &format!("/storage/v1/b?project={PROJECT}"));
    assert_eq!(status, 200, "list buckets: {v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The bucket's objects by name.
fn objects(s: &Server, bucket: &str) -> std::collections::BTreeMap<String, Value> {
    let (status, v) = get(s, &format!("/storage/v1/b/{bucket}/o"));
    assert_eq!(status, 200, "list objects: {v}");
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| Some((o["name"].as_str()?.to_string(), o.clone())))
        .collect()
}

/// A simple media upload made out of band (no overcast metadata).
fn upload_raw(s: &Server, bucket: &str, name: &str, bytes: &[u8]) {
    let (status, v) = api(
        s,
        "POST",
        &format!("/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}"),
        "text/plain",
        bytes,
    );
    assert_eq!(status, 200, "upload {name}: {v}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn spec(storage: &Server, pubsub: &Server) -> String {
    format!(
        r#"stack: gsite
default_target: gcp
targets:
  gcp:
    provider: gcp
    project: {PROJECT}
    region: europe-west1
    storage_endpoint: {}
    pubsub_endpoint: {}
resources:
  site:
    kind: storage
    public: true
    content: public
"#,
        storage.endpoint, pubsub.endpoint
    )
}

const FILES: [(&str, &str); 3] = [
    ("index.html", "<h1>hello</h1>\n"),
    ("css/site.css", "h1 { color: teal }\n"),
    ("app.js", "console.log('hi')\n"),
];

/// The plan's exit code with `--detailed-exitcode` (0: no changes, 2: changes) and output.
fn plan(stack: &TestStack) -> (Option<i32>, String) {
    let run = stack.run(&["plan", "--detailed-exitcode"]);
    (run.code(), run.all())
}

#[test]
fn storage_content_is_uploaded_checked_resynced_on_drift_and_emptied_on_destroy() {
    let (storage, pubsub) = (start_drongo(), start_pubsub_emulator());
    let stack = TestStack::yaml(&spec(&storage, &pubsub));
    let dir = stack.path().join("public");
    for (name, text) in FILES {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    stack.ok(&["apply", "--auto-approve"]);

    let bs = buckets(&storage);
    assert_eq!(bs.len(), 1, "one bucket: {bs:?}");
    let bucket = bs[0]["name"].as_str().expect("name").to_string();

    // Every file is an object with its MD5, content type and SHA-256.
    let objs = objects(&storage, &bucket);
    assert_eq!(
        objs.keys().collect::<Vec<_>>(),
        ["app.js", "css/site.css", "index.html"],
        "{objs:?}"
    );
    for (name, text) in FILES {
        let o = &objs[name];
        assert_eq!(
            o["md5Hash"],
            overcast_gcp::objects::md5_base64(text.as_bytes())
        );
        assert_eq!(
            o["metadata"]["overcast-sha256"],
            sha256_hex(text.as_bytes())
        );
        assert_eq!(
            o["contentType"],
            overcast_core::content::content_type(name),
            "{name}"
        );
    }
    assert_eq!(
        objs["index.html"]["contentType"],
        "text/html; charset=utf-8"
    );
    // Public: the objects are readable by allUsers through the bucket's IAM policy.
    let (status, policy) = get(&storage, &format!("/storage/v1/b/{bucket}/iam"));
    assert_eq!(status, 200, "{policy}");
    assert!(
        policy["bindings"].as_array().is_some_and(|bs| bs
            .iter()
            .any(|b| b["role"] == "roles/storage.objectViewer"
                && b["members"] == json!(["allUsers"]))),
        "{policy}"
    );
    let (code, out) = plan(&stack);
    assert_eq!(code, Some(0), "nothing to do right after apply:\n{out}");

    // Out of band: an object overcast did not upload, index.html overwritten, app.js
    // deleted, the content type of css/site.css changed.
    upload_raw(&storage, &bucket, "uploads/user.txt", b"the application's");
    upload_raw(&storage, &bucket, "index.html", b"defaced");
    let (status, v) = api(
        &storage,
        "DELETE",
        &format!("/storage/v1/b/{bucket}/o/app.js"),
        "application/json",
        b"",
    );
    assert!(
        status == 204 || status == 200,
        "delete app.js: {status} {v}"
    );
    let (status, v) = api(
        &storage,
        "PATCH",
        &format!("/storage/v1/b/{bucket}/o/css%2Fsite.css"),
        "application/json",
        br#"{"contentType": "application/octet-stream"}"#,
    );
    assert_eq!(status, 200, "patch site.css: {v}");

    let (code, out) = plan(&stack);
    assert_eq!(code, Some(2), "the plan shows the drift:\n{out}");
    assert!(out.contains("content_in_sync"), "{out}");
    stack.ok(&["apply", "--auto-approve"]);
    let objs = objects(&storage, &bucket);
    for (name, text) in FILES {
        assert_eq!(
            objs[name]["md5Hash"],
            overcast_gcp::objects::md5_base64(text.as_bytes()),
            "{name} repaired"
        );
        assert_eq!(
            objs[name]["contentType"],
            overcast_core::content::content_type(name)
        );
    }
    assert!(objs.contains_key("uploads/user.txt"), "foreign object kept");
    let (code, out) = plan(&stack);
    assert_eq!(code, Some(0), "nothing to do after the repair:\n{out}");

    // A file removed from the directory: its object goes, the foreign one stays.
    std::fs::remove_file(dir.join("css/site.css")).expect("rm");
    let (code, out) = plan(&stack);
    assert_eq!(code, Some(2), "a removed file is a change:\n{out}");
    stack.ok(&["apply", "--auto-approve"]);
    let objs = objects(&storage, &bucket);
    assert_eq!(
        objs.keys().collect::<Vec<_>>(),
        ["app.js", "index.html", "uploads/user.txt"],
        "{objs:?}"
    );

    // Destroy empties the bucket (the foreign object too: the stack owns the bucket) and
    // deletes it.
    stack.ok(&["destroy", "--auto-approve"]);
    assert!(buckets(&storage).is_empty(), "no bucket left");
}

/// The provider contract's conformance suite for a storage with content: create (the
/// objects uploaded), read without drift, a retried create, adopt, discover, update
/// (versioning on: the content re-synced, still no drift), delete (emptied) and again.
#[test]
fn storage_with_content_passes_the_conformance_suite() {
    use overcast_core::Kind;
    use overcast_core::conformance::{self, Case, Target};
    let (storage, pubsub) = (start_drongo(), start_pubsub_emulator());
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in FILES {
        let p = dir.path().join("public").join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let case = Case::new("site", Kind::Storage, json!({"content": "public"}))
        .expect("valid properties")
        .with_update(json!({"content": "public", "public": true}))
        .expect("update");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        let ctx = overcast_core::ProviderContext {
            stack: "conform".into(),
            target: "gcp".into(),
            settings: json!({
                "project": PROJECT, "region": "europe-west1",
                "storage_endpoint": storage.endpoint, "pubsub_endpoint": pubsub.endpoint,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
            spec_dir: dir.path().to_path_buf(),
            work_dir: dir.path().to_path_buf(),
        };
        let p = overcast_gcp::GcpProvider::new(ctx).expect("provider");
        let target = Target {
            stack: "conform".into(),
            target: "gcp".into(),
        };
        conformance::check(&p, &target, &case).await
    });
    if let Err(f) = result {
        panic!(
            "storage with content fails the conformance suite on drongo: {f}\ndrongo:\n{}",
            storage.output_tail()
        );
    }
    assert!(
        buckets(&storage).is_empty(),
        "the bucket was emptied and deleted"
    );
}
