//! The GCP provider against emulators on 127.0.0.1, started and stopped (by PID) by these
//! tests: drongo (Cloud Storage's JSON API) and Google's Pub/Sub emulator. The provider
//! contract's conformance suite runs on them for storage and queue, and a stack with a
//! bucket and a queue goes through the `overcast` binary (apply, a no-op plan, an update,
//! destroy), checked through the emulators' own APIs.
//!
//! drongo comes from `scripts/test.sh` (`install_gcp_emulators` in scripts/emulators.sh, a
//! venv under ~/.cache/overcast), found through OVERCAST_DRONGO; the Pub/Sub emulator from
//! the Google Cloud SDK (OVERCAST_PUBSUB_EMULATOR, default its place under
//! /usr/lib/google-cloud-sdk; it needs Java). If one cannot be started the tests FAIL: a
//! skipped provider test would prove nothing.
#![cfg(feature = "gcp")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use overcast_gcp::sdk::pubsub::client::SubscriptionAdmin;
use serde_json::{Value, json};

mod common;

use common::TestStack;
use common::servers::{Server, start_drongo, start_gcp_contract, start_pubsub_emulator};

const PROJECT: &str = "overcast-test";

// ---------------------------------------------------------------------------------------
// The emulators: one of each per test, on ports of their own, killed by PID on drop (also
// when the test panics): tests/common/servers.rs.

type Emulator = Server;

fn drongo() -> Emulator {
    start_drongo()
}

fn pubsub_emulator() -> Emulator {
    start_pubsub_emulator()
}

// ---------------------------------------------------------------------------------------
// Checking through the emulators' own APIs.

/// One HTTP request to drongo: the status and the JSON body.
fn storage_api(emu: &Emulator, method: &str, path: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", emu.port)).expect("connect to drongo");
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

/// The buckets of the test project.
fn buckets(emu: &Emulator) -> Vec<Value> {
    let (status, v) = storage_api(emu, "GET", &format!("/storage/v1/b?project={PROJECT}"));
    assert_eq!(status, 200, "list buckets: {v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The subscriptions of the test project, through the emulator's API.
fn subscriptions(emu: &Emulator) -> Vec<overcast_gcp::sdk::pubsub::model::Subscription> {
    rt().block_on(async {
        let admin = SubscriptionAdmin::builder()
            .with_endpoint(&emu.endpoint)
            .with_credentials(
                overcast_gcp::sdk::auth::credentials::anonymous::Builder::new().build(),
            )
            .build()
            .await
            .expect("subscription admin client");
        admin
            .list_subscriptions()
            .set_project(format!("projects/{PROJECT}"))
            .send()
            .await
            .expect("list subscriptions")
            .subscriptions
    })
}

/// Discovery lists every type the provider has, Compute's included: the target points
/// Compute at the contract-test server (tests/gcp_server), not at Google.
fn settings(
    storage: &Emulator,
    pubsub: &Emulator,
    compute: &Server,
) -> serde_json::Map<String, Value> {
    json!({
        "project": PROJECT,
        "region": "europe-west1",
        "storage_endpoint": storage.endpoint,
        "pubsub_endpoint": pubsub.endpoint,
        // The contract server serves the Cloud Functions control plane (discovery lists
        // functions).
        "functions_endpoint": compute.endpoint,
        "compute_endpoint": compute.endpoint,
        "sql_endpoint": compute.endpoint,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The provider conformance suite (overcast_core::conformance).

#[test]
fn the_gcp_provider_passes_the_conformance_suite_for_storage_and_queue() {
    use overcast_core::Kind;
    use overcast_core::conformance::{self, Case, Target};
    let (storage, pubsub) = (drongo(), pubsub_emulator());
    let compute = start_gcp_contract(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let case = |name: &str, kind, props| Case::new(name, kind, props).expect("valid properties");
    let cases = vec![
        case("files", Kind::Storage, json!({}))
            .with_update(json!({"versioning": true, "class": "infrequent", "public": true}))
            .expect("update"),
        case("jobs", Kind::Queue, json!({"visibility_timeout": 30}))
            .with_update(json!({"visibility_timeout": 60, "retention": "2d"}))
            .expect("update")
            .with_replace(json!({"visibility_timeout": 60, "ordered": true}))
            .expect("replace"),
        case(
            "work",
            Kind::Queue,
            json!({"dead_letter": {"max_receives": 5}}),
        )
        .with_update(json!({"dead_letter": {"max_receives": 10}}))
        .expect("update"),
    ];
    let failures = rt().block_on(async {
        let ctx = overcast_core::ProviderContext {
            stack: "conform".into(),
            target: "gcp".into(),
            settings: settings(&storage, &pubsub, &compute),
            spec_dir: dir.path().to_path_buf(),
            work_dir: dir.path().to_path_buf(),
        };
        let p = overcast_gcp::GcpProvider::new(ctx).expect("provider");
        let target = Target {
            stack: "conform".into(),
            target: "gcp".into(),
        };
        let mut failures = Vec::new();
        for case in &cases {
            if let Err(f) = conformance::check(&p, &target, case).await {
                failures.push(f.to_string());
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "the GCP provider fails the conformance suite on drongo and the Pub/Sub emulator:\n  {}\n\
         drongo:\n{}\npubsub:\n{}",
        failures.join("\n  "),
        storage.output_tail(),
        pubsub.output_tail()
    );
}

// ---------------------------------------------------------------------------------------
// The binary, end to end.

fn spec(
    storage: &Emulator,
    pubsub: &Emulator,
    compute: &Server,
    versioning: bool,
    ack: u32,
) -> String {
    format!(
        r#"stack: gshop
default_target: gcp
targets:
  gcp:
    provider: gcp
    project: {PROJECT}
    region: europe-west1
    storage_endpoint: {}
    pubsub_endpoint: {}
    functions_endpoint: {2}
    compute_endpoint: {2}
    sql_endpoint: {2}
resources:
  files:
    kind: storage
    versioning: {versioning}
  jobs:
    kind: queue
    visibility_timeout: {ack}
    dead_letter:
      max_receives: 5
"#,
        storage.endpoint, pubsub.endpoint, compute.endpoint
    )
}

#[test]
fn a_bucket_and_a_queue_on_gcp_apply_plan_update_and_destroy_through_the_cli() {
    let (storage, pubsub) = (drongo(), pubsub_emulator());
    let compute = start_gcp_contract(0);
    let stack = TestStack::yaml(&spec(&storage, &pubsub, &compute, false, 30));
    stack.ok(&["apply", "--auto-approve"]);

    // The bucket exists, carries the owner labels and is in the target's region. A stack
    // without functions has no staging bucket (and no network without compute).
    let bs = buckets(&storage);
    assert_eq!(bs.len(), 1, "one bucket: {bs:?}");
    let b = &bs[0];
    let name = b["name"].as_str().expect("bucket name").to_string();
    assert!(name.starts_with("oc-gshop-gcp-files-"), "{name}");
    assert_eq!(b["labels"]["overcast-stack"], "gshop");
    assert_eq!(b["labels"]["overcast-target"], "gcp");
    assert_eq!(b["location"], "EUROPE-WEST1");
    assert_eq!(b["versioning"]["enabled"], false);

    // The queue: a subscription with the ack deadline and a dead-letter topic, and one
    // on the dead-letter topic that keeps what dead-letters.
    let subs = subscriptions(&pubsub);
    assert_eq!(subs.len(), 2, "{subs:?}");
    let main = subs
        .iter()
        .find(|s| s.dead_letter_policy.is_some())
        .expect("the queue's subscription has a dead-letter policy");
    assert_eq!(main.ack_deadline_seconds, 30);
    let dl = main.dead_letter_policy.as_ref().expect("policy");
    assert_eq!(dl.max_delivery_attempts, 5);
    assert!(
        subs.iter().any(|s| s.topic == dl.dead_letter_topic),
        "the dead-letter topic has a subscription: {subs:?}"
    );

    // Discovery finds the five natives by their owner labels, all in state.
    let out = stack.ok(&["discover", "--json"]).stdout();
    let doc: Value = serde_json::from_str(out.trim()).expect("discover JSON");
    let list = doc["resources"].as_array().cloned().unwrap_or_default();
    let mut types: Vec<&str> = list.iter().filter_map(|r| r["type"].as_str()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "pubsub:subscription",
            "pubsub:subscription",
            "pubsub:topic",
            "pubsub:topic",
            "storage:bucket"
        ],
        "{doc}"
    );
    assert!(list.iter().all(|r| r["standing"] == "in state"), "{doc}");

    // Nothing to do on a second plan (`--detailed-exitcode`: 0 no changes, 2 changes):
    // what the emulators report reads back equal to what the spec asks.
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "a plan right after apply changes nothing:\n{}",
        plan.all()
    );

    // An update in place: versioning on, a longer ack deadline.
    std::fs::write(
        stack.path().join("overcast.yaml"),
        spec(&storage, &pubsub, &compute, true, 90),
    )
    .expect("write spec");
    stack.ok(&["apply", "--auto-approve"]);
    let (status, b) = storage_api(&storage, "GET", &format!("/storage/v1/b/{name}"));
    assert_eq!(status, 200, "the same bucket is still there: {b}");
    assert_eq!(b["versioning"]["enabled"], true);
    let subs = subscriptions(&pubsub);
    let main = subs
        .iter()
        .find(|s| s.dead_letter_policy.is_some())
        .expect("subscription");
    assert_eq!(main.ack_deadline_seconds, 90);

    stack.ok(&["destroy", "--auto-approve"]);
    assert!(buckets(&storage).is_empty(), "no bucket left");
    assert!(subscriptions(&pubsub).is_empty(), "no subscription left");
}

// ---------------------------------------------------------------------------------------
// Preflight: what is missing is named, with where it was looked for.

fn no_emulator_spec(project: Option<&str>) -> String {
    let project = project
        .map(|p| format!("    project: {p}\n"))
        .unwrap_or_default();
    format!(
        "stack: gshop\ndefault_target: gcp\ntargets:\n  gcp:\n    provider: gcp\n{project}\
         resources:\n  files:\n    kind: storage\n"
    )
}

#[test]
fn a_gcp_target_without_a_project_fails_naming_where_it_looked() {
    let stack = TestStack::yaml(&no_emulator_spec(None));
    let out = stack
        .command(&["apply", "--auto-approve"])
        .env_remove("GOOGLE_CLOUD_PROJECT")
        .env_remove("CLOUDSDK_CORE_PROJECT")
        .output()
        .expect("run overcast");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "apply without a project succeeded:\n{text}"
    );
    assert!(
        text.contains("no Google Cloud project") && text.contains("GOOGLE_CLOUD_PROJECT"),
        "{text}"
    );
}

#[test]
fn a_gcp_target_without_credentials_fails_naming_application_default_credentials() {
    let stack = TestStack::yaml(&no_emulator_spec(Some(PROJECT)));
    let home = tempfile::tempdir().expect("tempdir");
    let out = stack
        .command(&["apply", "--auto-approve"])
        // No ADC anywhere: a key file that does not exist, and a home without gcloud's.
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            home.path().join("missing-key.json"),
        )
        .env("HOME", home.path())
        .env_remove("CLOUDSDK_CONFIG")
        .output()
        .expect("run overcast");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "apply without credentials succeeded:\n{text}"
    );
    assert!(
        text.contains("no Google Cloud credentials")
            && text.contains("Application Default Credentials"),
        "{text}"
    );
}
