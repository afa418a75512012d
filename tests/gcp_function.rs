//! Functions on GCP (Cloud Functions 2nd gen) against servers on 127.0.0.1, started and
//! stopped (by PID) by these tests: the strict contract server (tests/gcp_server) serves
//! the Cloud Functions v2 control plane (bodies validated against Google's discovery
//! document, runtimes and limits checked, operations that take reads to finish, no
//! runtime), drongo serves Cloud Storage's JSON API (the staging bucket). The provider
//! conformance suite runs for the function kind; the source archive is checked in the
//! staging bucket with its MD5; event triggers are read back through the contract
//! server's API; and a stack goes through the `overcast` binary (apply, a no-op plan, a
//! new source, destroy) leaving no function and no staging bucket behind.
//!
//! drongo and the contract server's venv come from `scripts/test.sh` (a venv under
//! ~/.cache/overcast; OVERCAST_DRONGO overrides), the Pub/Sub emulator (the binary's
//! preflight lists topics) from the Google Cloud SDK (OVERCAST_PUBSUB_EMULATOR). If one
//! cannot be started the tests FAIL.
#![cfg(feature = "gcp")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use overcast_core::native::{CreateRequest, NativeSpec, OwnerTags};
use overcast_core::{AbstractResource, Kind, NativeAddr, NativeState, OpContext, Provider};
use serde_json::{Value, json};

mod common;

use common::TestStack;
use common::servers::{Server, start_gcp_contract};

const PROJECT: &str = "overcast-test";
const REGION: &str = "europe-west1";

// ---------------------------------------------------------------------------------------
// The servers: one of each per test, on a port of its own, killed by PID on drop.

struct Emulator {
    child: Child,
    endpoint: String,
    port: u16,
    output: Arc<Mutex<Vec<String>>>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    fn tail(&self) -> String {
        self.output
            .lock()
            .map(|o| {
                o.iter()
                    .rev()
                    .take(40)
                    .rev()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port on 127.0.0.1")
}

/// Start `program args(port)` on a free port and wait until it accepts connections; a
/// taken port is retried on another.
fn start(name: &'static str, program: &Path, args: impl Fn(u16) -> Vec<String>) -> Emulator {
    assert!(
        program.exists(),
        "{name} is not installed at {}: run `bash scripts/test.sh` (it installs the GCP \
         emulators) or set its OVERCAST_* variable (see tests/gcp_function.rs)",
        program.display()
    );
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut child = Command::new(program)
            .args(args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", program.display()));
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Ok(mut o) = out.lock() {
                        o.push(line);
                    }
                }
            });
        }
        let mut emu = Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            output,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return emu;
            }
            if let Ok(Some(status)) = emu.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                last = emu.tail();
                if last.to_ascii_lowercase().contains("already in use") {
                    break;
                }
                panic!("{name} exited ({status}) before it answered:\n{last}");
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not answer on port {port} within 60s:\n{}",
                emu.tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("{name}: its port was taken 5 times in a row:\n{last}")
}

fn drongo() -> Emulator {
    let program = std::env::var("OVERCAST_DRONGO")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(&std::env::var("HOME").unwrap_or_default())
                .join(".cache/overcast/venv-gcp/bin/drongo")
        });
    start("drongo", &program, |port| {
        vec![
            "server".into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
        ]
    })
}

fn pubsub_emulator() -> Emulator {
    let program = std::env::var("OVERCAST_PUBSUB_EMULATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(
                "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
            )
        });
    start("pubsub emulator", &program, |port| {
        vec!["--host=127.0.0.1".into(), format!("--port={port}")]
    })
}

// ---------------------------------------------------------------------------------------
// Checking through the servers' own APIs.

/// The contract server for Cloud Functions; each operation answers 2 reads as not done.
fn contract() -> Server {
    start_gcp_contract(2)
}

/// One HTTP request to the server on `port`: the status and the JSON body.
fn api(port: u16, method: &str, path: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn buckets(emu: &Emulator) -> Vec<Value> {
    let (status, v) = api(emu.port, "GET", &format!("/storage/v1/b?project={PROJECT}"));
    assert_eq!(status, 200, "list buckets: {v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn objects(emu: &Emulator, bucket: &str) -> Vec<Value> {
    let (status, v) = api(emu.port, "GET", &format!("/storage/v1/b/{bucket}/o"));
    assert_eq!(status, 200, "list objects of {bucket}: {v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn functions(cf: &Server) -> Vec<Value> {
    let (status, v) = api(
        cf.port,
        "GET",
        &format!("/v2/projects/{PROJECT}/locations/{REGION}/functions"),
    );
    assert_eq!(status, 200, "list functions: {v}");
    v["functions"].as_array().cloned().unwrap_or_default()
}

fn function(cf: &Server, full_name: &str) -> Value {
    let (status, v) = api(cf.port, "GET", &format!("/v2/{full_name}"));
    assert_eq!(status, 200, "get {full_name}: {v}");
    v
}

// ---------------------------------------------------------------------------------------
// The provider, called directly.

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn provider(
    emu: &Emulator,
    cf: &Server,
    stack: &str,
    spec_dir: &Path,
) -> overcast_gcp::GcpProvider {
    let settings = json!({
        "project": PROJECT,
        "region": REGION,
        "storage_endpoint": emu.endpoint,
        "functions_endpoint": cf.endpoint,
        // Not called by these tests; set so no client looks for Google credentials.
        "pubsub_endpoint": emu.endpoint,
    });
    overcast_gcp::GcpProvider::new(overcast_core::ProviderContext {
        stack: stack.into(),
        target: "gcp".into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: spec_dir.to_path_buf(),
        work_dir: spec_dir.to_path_buf(),
    })
    .expect("provider")
}

/// A function's source directory under `dir`.
fn write_source(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir.join("src/lib")).expect("mkdir");
    std::fs::write(dir.join("src/main.py"), body).expect("write main.py");
    std::fs::write(dir.join("src/lib/util.py"), "X = 1\n").expect("write util.py");
}

fn owner(stack: &str, resource: &str) -> OwnerTags {
    OwnerTags {
        stack: stack.into(),
        target: "gcp".into(),
        resource: resource.into(),
    }
}

/// Create `spec` (of `resource`) as the engine would, with `inputs` resolved.
async fn create(
    p: &overcast_gcp::GcpProvider,
    stack: &str,
    resource: &str,
    spec: &NativeSpec,
    inputs: overcast_core::Attrs,
    kind: Kind,
) -> NativeState {
    let addr = NativeAddr::new(resource.to_string(), spec.local.clone());
    let req = CreateRequest {
        addr: addr.clone(),
        kind,
        type_name: spec.type_name.clone(),
        inputs: inputs.clone(),
        owner: owner(stack, &addr.to_string()),
        secrets: Default::default(),
    };
    let ctx = OpContext::detached(format!("create-{addr}"));
    let obs = p
        .create(&ctx, &req)
        .await
        .unwrap_or_else(|e| panic!("create {addr}: {e}"));
    let mut st = NativeState::new(addr, kind, spec.type_name.clone(), obs.id);
    st.inputs = inputs;
    st.outputs = obs.outputs;
    st
}

/// The staging bucket of the target, created as the engine does before any function
/// (the target has one once a function of the stack has been expanded).
async fn create_staging(p: &overcast_gcp::GcpProvider, stack: &str) -> NativeState {
    expand(
        p,
        "any",
        json!({"runtime": "python3.12", "handler": "main.handle", "source": "src"}),
        &[],
    );
    let spec = p.expand_target().expect("expand_target").remove(0);
    assert_eq!(spec.local, "staging");
    let resource = NativeAddr::target_resource("gcp");
    create(
        p,
        stack,
        &resource,
        &spec,
        spec.inputs.clone(),
        Kind::Target,
    )
    .await
}

fn expand(
    p: &overcast_gcp::GcpProvider,
    name: &str,
    props: Value,
    kinds: &[(&str, Kind)],
) -> Vec<NativeSpec> {
    let res = AbstractResource {
        name: name.into(),
        properties: overcast_core::kinds::Properties::from_value(Kind::Function, props)
            .expect("valid properties"),
        referenced_kinds: kinds.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
    };
    p.expand(&res).expect("expand")
}

// ---------------------------------------------------------------------------------------

#[test]
fn the_gcp_provider_passes_the_conformance_suite_for_function() {
    use overcast_core::conformance::{self, Case, Target};
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path(), "def handle(request):\n    return 'ok'\n");
    let case = Case::new(
        "api",
        Kind::Function,
        json!({"runtime": "python3.12", "handler": "main.handle", "source": "src"}),
    )
    .expect("valid properties")
    .with_update(
        json!({"runtime": "python3.13", "handler": "main.handle", "source": "src",
                        "memory": 512, "timeout": 120, "env": {"MODE": "prod"}}),
    )
    .expect("update");
    let failure = rt().block_on(async {
        let p = provider(&emu, &cf, "conform", dir.path());
        let staging = create_staging(&p, "conform").await;
        let target = Target {
            stack: "conform".into(),
            target: "gcp".into(),
        };
        let r = conformance::check(&p, &target, &case).await;
        // The functions deleted their archives: the bucket is empty and can go.
        let ctx = OpContext::detached("delete-staging");
        let deleted = p.delete(&ctx, &staging).await;
        (
            r.err().map(|f| f.to_string()),
            deleted.err().map(|e| e.to_string()),
        )
    });
    assert!(
        failure.0.is_none(),
        "the GCP provider fails the conformance suite for function:\n  {}\ncontract server:\n{}",
        failure.0.unwrap_or_default(),
        cf.output_tail()
    );
    assert!(
        failure.1.is_none(),
        "staging bucket delete: {:?}",
        failure.1
    );
    assert!(buckets(&emu).is_empty(), "no bucket left");
    assert!(functions(&cf).is_empty(), "no function left");
}

#[test]
fn the_source_archive_is_deterministic_and_lands_in_the_staging_bucket_with_its_md5() {
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path(), "def handle(request):\n    return 'v1'\n");
    // Same directory, same bytes.
    let a = overcast_core::archive::zip_dir(&dir.path().join("src")).expect("zip");
    let b = overcast_core::archive::zip_dir(&dir.path().join("src")).expect("zip");
    assert_eq!(a, b, "two zips of one directory differ");
    let sha = |bytes: &[u8]| {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(bytes))
    };
    rt().block_on(async {
        let p = provider(&emu, &cf, "src", dir.path());
        let staging = create_staging(&p, "src").await;
        let bucket = staging.id.clone();
        let specs = expand(
            &p,
            "api",
            json!({"runtime": "python3.12", "handler": "main.handle", "source": "src", "memory": 256}),
            &[],
        );
        let f = &specs[0];
        let fname = f.inputs["name"].as_str().expect("name").to_string();
        let mut st = create(&p, "src", "api", f, f.inputs.clone(), Kind::Function).await;

        // The archive: `<function>/<sha256>.zip`, with the MD5 of the zip's bytes.
        let objs = objects(&emu, &bucket);
        assert_eq!(objs.len(), 1, "{objs:?}");
        assert_eq!(objs[0]["name"], format!("{fname}/{}.zip", sha(&a)));
        assert_eq!(
            objs[0]["md5Hash"],
            overcast_gcp::objects::md5_base64(&a),
            "the stored object is not the zip"
        );
        // The function deploys that object.
        let live = function(&cf, &st.id);
        let src = &live["buildConfig"]["source"]["storageSource"];
        assert_eq!(src["bucket"], bucket.as_str());
        assert_eq!(src["object"], objs[0]["name"]);
        assert_eq!(src["generation"], objs[0]["generation"]);
        assert_eq!(live["buildConfig"]["runtime"], "python312");
        assert_eq!(live["buildConfig"]["entryPoint"], "handle");
        assert_eq!(live["serviceConfig"]["availableMemory"], "256Mi");
        assert_eq!(live["serviceConfig"]["timeoutSeconds"], 30);
        assert!(live["labels"]["overcast-stack"].is_string(), "{live}");
        assert!(st.outputs["url"].as_str().is_some_and(|u| !u.is_empty()));

        // A new source: read says the code is out of date; the update deploys a new
        // object and drops the old one.
        let ctx = OpContext::detached("src");
        std::fs::write(dir.path().join("src/main.py"), "def handle(request):\n    return 'v2'\n")
            .expect("write");
        let seen = p.read(&ctx, &st).await.expect("read").expect("exists");
        assert_eq!(seen.inputs["code_in_sync"], false, "a new source is not seen");
        let new_zip = overcast_core::archive::zip_dir(&dir.path().join("src")).expect("zip");
        let obs = p.update(&ctx, &st, &f.inputs).await.expect("update");
        assert_eq!(obs.inputs["code_in_sync"], true);
        let objs = objects(&emu, &bucket);
        assert_eq!(objs.len(), 1, "the old archive is gone: {objs:?}");
        assert_eq!(objs[0]["name"], format!("{fname}/{}.zip", sha(&new_zip)));
        let live = function(&cf, &st.id);
        assert_eq!(
            live["buildConfig"]["source"]["storageSource"]["object"],
            objs[0]["name"]
        );
        st.outputs = obs.outputs;

        // Destroy: the function and its archive, then the empty bucket.
        p.delete(&ctx, &st).await.expect("delete function");
        p.delete(&ctx, &st).await.expect("delete again: already gone");
        assert!(objects(&emu, &bucket).is_empty(), "archives left behind");
        // An archive whose function was never created (a create interrupted after the
        // upload) goes with the staging bucket.
        let gcs = overcast_gcp::gcs::Gcs::new(emu.endpoint.clone(), None).expect("client");
        let stray = std::collections::BTreeMap::from([(
            "overcast-function".to_string(),
            "oc-src-gcp-gone-12345678".to_string(),
        )]);
        gcs.upload(&bucket, "oc-src-gcp-gone-12345678/0.zip", &a, "application/zip", &stray)
            .await
            .expect("upload a stray archive");
        p.delete(&ctx, &staging).await.expect("delete the staging bucket");
    });
    assert!(buckets(&emu).is_empty(), "no bucket left");
    assert!(functions(&cf).is_empty(), "no function left");
}

#[test]
fn queue_and_storage_triggers_carry_their_event_trigger() {
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path(), "def on_event(event):\n    pass\n");
    rt().block_on(async {
        let p = provider(&emu, &cf, "evt", dir.path());
        let staging = create_staging(&p, "evt").await;
        let ctx = OpContext::detached("evt");

        // A queue trigger: its topic comes from `${jobs.topic.id}`.
        let specs = expand(
            &p,
            "worker",
            json!({"runtime": "python3.12", "handler": "main.on_event", "source": "src",
                   "trigger": {"type": "queue", "source": "${jobs}"}}),
            &[("jobs", Kind::Queue)],
        );
        let f = &specs[0];
        assert_eq!(f.inputs["trigger"]["topic"], "${jobs.topic.id}");
        assert!(f.force_new.contains(&"trigger".to_string()));
        let topic = format!("projects/{PROJECT}/topics/jobs");
        let mut inputs = f.inputs.clone();
        inputs["trigger"]["topic"] = json!(topic);
        let queue_fn = create(&p, "evt", "worker", f, inputs, Kind::Function).await;
        let live = function(&cf, &queue_fn.id);
        let t = &live["eventTrigger"];
        assert_eq!(
            t["eventType"],
            "google.cloud.pubsub.topic.v1.messagePublished"
        );
        assert_eq!(t["pubsubTopic"], topic.as_str());
        // google-cloud-rust sends enums as numbers (`enum-encoding=int`, which Google
        // accepts); the server keeps it by name, as Google answers it.
        assert_eq!(t["retryPolicy"], "RETRY_POLICY_RETRY", "{t}");
        let seen = p
            .read(&ctx, &queue_fn)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(seen.inputs, queue_fn.inputs, "drift after create");
        // Event functions have no URL to call, and the server runs no code anyway.
        let e = p
            .invoke(&ctx, &queue_fn, json!({}))
            .await
            .expect_err("no runtime");
        assert!(e.message.contains("no runtime"), "{}", e.message);

        // A storage trigger: object finalized in `${site.bucket.name}`.
        let specs = expand(
            &p,
            "thumbs",
            json!({"runtime": "nodejs22", "handler": "index.onEvent", "source": "src",
                   "trigger": {"type": "storage", "source": "${site}"}}),
            &[("site", Kind::Storage)],
        );
        let f = &specs[0];
        assert_eq!(f.inputs["trigger"]["bucket"], "${site.bucket.name}");
        let mut inputs = f.inputs.clone();
        inputs["trigger"]["bucket"] = json!("uploads-bucket");
        let storage_fn = create(&p, "evt", "thumbs", f, inputs, Kind::Function).await;
        let live = function(&cf, &storage_fn.id);
        let t = &live["eventTrigger"];
        assert_eq!(t["eventType"], "google.cloud.storage.object.v1.finalized");
        assert_eq!(
            t["eventFilters"],
            json!([{"attribute": "bucket", "value": "uploads-bucket"}])
        );
        assert_eq!(live["buildConfig"]["runtime"], "nodejs22");

        // Both are discovered with their owner labels.
        let filter = p.owner_filter("evt", Some("gcp"));
        let found = p.discover(&ctx, &filter).await.expect("discover");
        let fns: Vec<_> = found
            .iter()
            .filter(|d| d.resource_type == "functions:function")
            .collect();
        assert_eq!(fns.len(), 2, "{found:?}");
        let view = p.to_abstract(&storage_fn).expect("a function");
        assert_eq!(view.kind, Kind::Function);
        assert_eq!(view.properties["runtime"], "nodejs22");
        assert_eq!(view.properties["trigger"]["type"], "storage");

        for st in [&queue_fn, &storage_fn] {
            p.delete(&ctx, st).await.expect("delete function");
        }
        p.delete(&ctx, &staging)
            .await
            .expect("delete staging bucket");
    });
    assert!(buckets(&emu).is_empty(), "no bucket left");
    assert!(functions(&cf).is_empty(), "no function left");
}

#[test]
fn an_http_function_on_the_emulator_is_not_invoked_but_refused() {
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    let p = provider(&emu, &cf, "inv", dir.path());
    let mut st = NativeState::new(
        NativeAddr::new("api", "function"),
        Kind::Function,
        "gcp_cloud_function".to_string(),
        format!("projects/{PROJECT}/locations/{REGION}/functions/f"),
    );
    st.inputs = json!({"trigger": {"type": "http"}})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let e = rt()
        .block_on(p.invoke(&OpContext::detached("inv"), &st, json!({"a": 1})))
        .expect_err("refused");
    assert!(
        e.message.contains("no runtime") && e.message.contains(&cf.endpoint),
        "{}",
        e.message
    );
}

#[test]
fn a_schedule_trigger_expands_to_a_scheduler_job_posting_to_the_function() {
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    let p = provider(&emu, &cf, "cron", dir.path());
    let specs = expand(
        &p,
        "nightly",
        json!({"runtime": "python3.12", "handler": "main.run", "source": "src",
               "trigger": {"type": "schedule", "schedule": "0 3 * * *"}}),
        &[],
    );
    assert_eq!(specs.len(), 2);
    let job = &specs[1];
    assert_eq!(job.type_name, "gcp_scheduler_job");
    assert_eq!(job.inputs["schedule"], "0 3 * * *");
    assert_eq!(job.inputs["uri"], "${nightly.function.url}");
    assert_eq!(job.inputs["time_zone"], "Etc/UTC");
    assert_eq!(job.inputs["http_method"], "POST");
    assert_eq!(job.inputs["region"], REGION);
    assert_eq!(job.depends_on, ["function"]);
    assert_eq!(job.force_new, ["name", "region"]);
    assert_eq!(specs[0].inputs["trigger"]["type"], "http");
}

// ---------------------------------------------------------------------------------------
// The binary, end to end.

fn spec(storage: &Emulator, cf: &Server, pubsub: &Emulator, memory: u32) -> String {
    format!(
        r#"stack: gfn
default_target: gcp
targets:
  gcp:
    provider: gcp
    project: {PROJECT}
    region: {REGION}
    storage_endpoint: {ep}
    functions_endpoint: {fe}
    pubsub_endpoint: {ps}
resources:
  api:
    kind: function
    runtime: python3.12
    handler: main.handle
    source: src
    memory: {memory}
    env:
      GREETING: hello
"#,
        ep = storage.endpoint,
        fe = cf.endpoint,
        ps = pubsub.endpoint
    )
}

#[test]
fn a_function_stack_applies_updates_and_destroys_through_the_binary() {
    let (emu, cf, pubsub) = (drongo(), contract(), pubsub_emulator());
    let stack = TestStack::yaml(&spec(&emu, &cf, &pubsub, 256));
    write_source(stack.path(), "def handle(request):\n    return 'v1'\n");
    let out = stack.run(&["apply", "--auto-approve"]);
    assert_eq!(
        out.code(),
        Some(0),
        "apply failed:\n{}\ndrongo:\n{}\ncontract server:\n{}",
        out.all(),
        emu.tail(),
        cf.output_tail()
    );
    let fns = functions(&cf);
    assert_eq!(fns.len(), 1, "{fns:?}");
    assert_eq!(fns[0]["serviceConfig"]["availableMemory"], "256Mi");
    assert_eq!(
        fns[0]["serviceConfig"]["environmentVariables"]["GREETING"],
        "hello"
    );
    let bs = buckets(&emu);
    assert_eq!(bs.len(), 1, "the staging bucket: {bs:?}");
    let staging = bs[0]["name"].as_str().expect("name").to_string();
    assert_eq!(objects(&emu, &staging).len(), 1);
    assert!(
        stack.state_addrs().iter().any(|a| a == "@gcp.staging"),
        "{:?}",
        stack.state_addrs()
    );

    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "a plan right after apply changes nothing:\n{}",
        plan.all()
    );

    // A new source and more memory: one in-place update.
    std::fs::write(
        stack.path().join("src/main.py"),
        "def handle(request):\n    return 'v2'\n",
    )
    .expect("write");
    stack.edit("memory: 256", "memory: 512");
    let out = stack.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code(), Some(0), "update failed:\n{}", out.all());
    let fns = functions(&cf);
    assert_eq!(fns[0]["serviceConfig"]["availableMemory"], "512Mi");
    let objs = objects(&emu, &staging);
    assert_eq!(objs.len(), 1, "{objs:?}");
    assert_eq!(
        fns[0]["buildConfig"]["source"]["storageSource"]["object"],
        objs[0]["name"]
    );

    let out = stack.run(&["destroy", "--auto-approve"]);
    assert_eq!(
        out.code(),
        Some(0),
        "destroy failed:\n{}\ndrongo:\n{}\ncontract server:\n{}",
        out.all(),
        emu.tail(),
        cf.output_tail()
    );
    assert!(functions(&cf).is_empty(), "no function left");
    assert!(buckets(&emu).is_empty(), "the staging bucket is gone");
}

/// The contract server's request log: `(method, path, query)` of each API request.
fn requests(cf: &Server) -> Vec<(String, String, Value)> {
    let (status, v) = api(cf.port, "GET", "/__contract/requests");
    assert_eq!(status, 200, "request log: {v}");
    v["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or_default().to_string(),
                r["path"].as_str().unwrap_or_default().to_string(),
                r["query"].clone(),
            )
        })
        .collect()
}

#[test]
fn operations_are_polled_and_an_update_patches_only_what_changed() {
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path(), "def handle(request):\n    return 'ok'\n");
    rt().block_on(async {
        let p = provider(&emu, &cf, "mask", dir.path());
        let staging = create_staging(&p, "mask").await;
        let props = json!({"runtime": "python3.12", "handler": "main.handle", "source": "src",
                           "memory": 256, "env": {"MODE": "dev"}});
        let f = expand(&p, "api", props, &[]).remove(0);
        let st = create(&p, "mask", "api", &f, f.inputs.clone(), Kind::Function).await;
        // The create waited for its operation: read until done (2 reads answer not done).
        let log = requests(&cf);
        let op_reads = |log: &[(String, String, Value)]| {
            log.iter()
                .filter(|(m, path, _)| m == "GET" && path.contains("/operations/"))
                .count()
        };
        assert!(
            log.iter().any(|(m, path, q)| m == "POST"
                && path.ends_with("/functions")
                && q["functionId"] == f.inputs["name"]),
            "{log:?}"
        );
        assert_eq!(op_reads(&log), 3, "{log:?}");
        let live = function(&cf, &st.id);
        assert_eq!(live["state"], "ACTIVE");
        assert!(
            st.outputs["url"]
                .as_str()
                .is_some_and(|u| u.starts_with(&cf.endpoint)),
            "the url is the function's serviceConfig.uri: {:?}",
            st.outputs
        );

        // More memory, nothing else: one patch whose mask names the memory only.
        let mut inputs = f.inputs.clone();
        inputs.insert("memory".into(), json!(512));
        let ctx = OpContext::detached("mask");
        let obs = p.update(&ctx, &st, &inputs).await.expect("update");
        assert_eq!(obs.inputs["memory"], 512);
        let log = requests(&cf);
        let patches: Vec<_> = log.iter().filter(|(m, _, _)| m == "PATCH").collect();
        assert_eq!(patches.len(), 1, "{log:?}");
        let mask = patches[0].2["updateMask"].as_str().unwrap_or_default();
        assert!(
            mask == "serviceConfig.availableMemory" || mask == "service_config.available_memory",
            "{mask}"
        );
        assert_eq!(op_reads(&log), 6, "{log:?}");
        let live = function(&cf, &st.id);
        assert_eq!(live["serviceConfig"]["availableMemory"], "512Mi");
        assert_eq!(live["serviceConfig"]["environmentVariables"]["MODE"], "dev");
        assert_eq!(live["state"], "ACTIVE");

        let mut st = st;
        st.outputs = obs.outputs;
        p.delete(&ctx, &st).await.expect("delete function");
        let (status, _) = api(cf.port, "GET", &format!("/v2/{}", st.id));
        assert_eq!(
            status, 404,
            "the function is gone once its operation is done"
        );
        p.delete(&ctx, &staging)
            .await
            .expect("delete staging bucket");
    });
}

#[test]
fn a_function_whose_deployment_failed_is_redeployed_by_the_retried_create() {
    let (emu, cf) = (drongo(), contract());
    let dir = tempfile::tempdir().expect("tempdir");
    write_source(dir.path(), "def handle(request):\n    return 'ok'\n");
    rt().block_on(async {
        let p = provider(&emu, &cf, "fail", dir.path());
        let staging = create_staging(&p, "fail").await;
        let f = expand(
            &p,
            "api",
            json!({"runtime": "python3.12", "handler": "main.handle", "source": "src"}),
            &[],
        )
        .remove(0);
        let addr = NativeAddr::new("api".to_string(), f.local.clone());
        let req = CreateRequest {
            addr: addr.clone(),
            kind: Kind::Function,
            type_name: f.type_name.clone(),
            inputs: f.inputs.clone(),
            owner: owner("fail", &addr.to_string()),
            secrets: Default::default(),
        };
        let ctx = OpContext::detached("fail");
        // The deployment fails: the function is left FAILED, as on Google.
        let mut s = TcpStream::connect(("127.0.0.1", cf.port)).expect("connect");
        let body = r#"{"code": "INTERNAL", "message": "build failed: no module main"}"#;
        write!(
            s,
            "POST /__contract/fail-next HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("fail-next");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        assert!(out.contains(" 200 "), "{out}");
        let e = p
            .create(&ctx, &req)
            .await
            .expect_err("the deployment failed");
        assert!(e.message.contains("build failed"), "{}", e.message);
        let id = format!(
            "projects/{PROJECT}/locations/{REGION}/functions/{}",
            f.inputs["name"].as_str().expect("name")
        );
        assert_eq!(function(&cf, &id)["state"], "FAILED");
        // The engine retries the create: the function is ours, so it is redeployed.
        let obs = p.create(&ctx, &req).await.expect("the retried create");
        assert_eq!(function(&cf, &id)["state"], "ACTIVE");
        assert_eq!(obs.outputs["state"], "ACTIVE");
        let mut st = NativeState::new(addr, Kind::Function, f.type_name.clone(), obs.id);
        st.inputs = f.inputs.clone();
        st.outputs = obs.outputs;
        p.delete(&ctx, &st).await.expect("delete function");
        p.delete(&ctx, &staging)
            .await
            .expect("delete staging bucket");
    });
    assert!(functions(&cf).is_empty(), "no function left");
}
