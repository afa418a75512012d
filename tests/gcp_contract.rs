//! The GCP contract-test server (tests/gcp_server) holds clients to the real APIs: these
//! tests prove it rejects what Google rejects, with Google's error body, and models the
//! lifecycle the GCP provider depends on (operations DONE only after polls, 409 on
//! duplicates, fingerprints, resources in use, requestId idempotency). They also run the
//! server's own Python unit tests, so `cargo test` covers them.
//!
//! Each test starts its own server on 127.0.0.1 (port 0, announced) and kills it by PID.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::servers::{Server, gcp_contract_dir, gcp_contract_python, start_gcp_contract};
use serde_json::{Value, json};

const PROJECT: &str = "/compute/v1/projects/contract-test";
const ZONE: &str = "/compute/v1/projects/contract-test/zones/us-central1-a";
const SQL: &str = "/v1/projects/contract-test";

/// One plain HTTP/1.1 request to the server: (status, JSON body).
fn call(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", server.port))
        .unwrap_or_else(|e| panic!("connect to {}: {e}", server.endpoint));
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        server.port,
        payload.len()
    )
    .expect("send the request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to {method} {path}: {raw:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let json = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{method} {path}: the body is not JSON ({e}): {body}"));
    (status, json)
}

/// Assert Google's error body: the code, status and reason, and return the message.
fn assert_google_error(answer: &(u16, Value), code: u16, status: &str, reason: &str) -> String {
    let (got, body) = answer;
    assert_eq!(*got, code, "HTTP status; body: {body:#}");
    let error = &body["error"];
    assert_eq!(error["code"], json!(code), "error.code: {body:#}");
    assert_eq!(error["status"], json!(status), "error.status: {body:#}");
    assert_eq!(
        error["errors"][0]["reason"],
        json!(reason),
        "error.errors[0].reason: {body:#}"
    );
    let message = error["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "error.message is empty: {body:#}");
    message
}

/// A valid instance insert body (Debian 12 from its image family, on `network`).
fn instance(name: &str, network: &str) -> Value {
    json!({
        "name": name,
        "machineType": "zones/us-central1-a/machineTypes/e2-small",
        "labels": {"overcast-stack": "contract"},
        "disks": [{
            "boot": true,
            "autoDelete": true,
            "initializeParams": {
                "sourceImage": "projects/debian-cloud/global/images/family/debian-12",
                "diskSizeGb": "10"
            }
        }],
        "networkInterfaces": [{"network": network, "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}]
    })
}

/// The path of an operation from its selfLink (which names this server).
fn op_path(server: &Server, op: &Value) -> String {
    let link = op["selfLink"]
        .as_str()
        .expect("the operation has a selfLink");
    link.strip_prefix(&server.endpoint)
        .unwrap_or_else(|| panic!("selfLink {link} is not on {}", server.endpoint))
        .to_string()
}

/// Poll an operation until DONE; how many reads it took.
fn wait_done(server: &Server, op: &Value) -> usize {
    let path = op_path(server, op);
    for reads in 1..=20 {
        let (status, body) = call(server, "GET", &path, None);
        assert_eq!(status, 200, "{path}: {body:#}");
        if body["status"] == "DONE" {
            assert!(body.get("error").is_none(), "operation failed: {body:#}");
            return reads;
        }
    }
    panic!("{path} was not DONE after 20 reads")
}

#[test]
fn python_unit_tests_of_the_server_pass() {
    let out = Command::new(gcp_contract_python())
        .args(["-m", "unittest", "-v", "gcp_server.test_server"])
        .current_dir(gcp_contract_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python -m unittest");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the server's unit tests failed:\n{stderr}"
    );
    // unittest exits 0 when it found nothing to run: insist that it ran tests.
    let ran: usize = stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("Ran ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(
        ran >= 10,
        "expected the server's unit tests to run, got {ran}:\n{stderr}"
    );
}

#[test]
fn request_bodies_are_checked_against_the_discovery_documents() {
    let server = start_gcp_contract(2);
    let insert = format!("{ZONE}/instances");

    let mut unknown = instance("vm-a", "global/networks/default");
    unknown["colour"] = json!("blue");
    let msg = assert_google_error(
        &call(&server, "POST", &insert, Some(&unknown)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );
    assert!(msg.contains("colour"), "the message names the field: {msg}");

    let mut bad_enum = instance("vm-a", "global/networks/default");
    bad_enum["networkInterfaces"][0]["accessConfigs"][0]["type"] = json!("TWO_TO_ONE_NAT");
    let msg = assert_google_error(
        &call(&server, "POST", &insert, Some(&bad_enum)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );
    assert!(msg.contains("TWO_TO_ONE_NAT"), "{msg}");

    let mut missing = instance("vm-a", "global/networks/default");
    missing
        .as_object_mut()
        .expect("an object")
        .remove("machineType");
    let msg = assert_google_error(
        &call(&server, "POST", &insert, Some(&missing)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );
    assert!(msg.contains("machineType"), "{msg}");

    let mut output_only = instance("vm-a", "global/networks/default");
    output_only["status"] = json!("RUNNING");
    let msg = assert_google_error(
        &call(&server, "POST", &insert, Some(&output_only)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );
    assert!(msg.contains("status"), "{msg}");

    let mut wrong_type = instance("vm-a", "global/networks/default");
    wrong_type["canIpForward"] = json!("true");
    assert_google_error(
        &call(&server, "POST", &insert, Some(&wrong_type)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );

    let bad_name = instance("VM_A", "global/networks/default");
    assert_google_error(
        &call(&server, "POST", &insert, Some(&bad_name)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );

    // Cloud SQL: readOnly fields and enums are held to its own document.
    let sql = json!({"name": "db-a", "databaseVersion": "POSTGRES_15",
                     "settings": {"tier": "db-custom-2-4096"}, "dnsName": "x.example"});
    assert_google_error(
        &call(&server, "POST", &format!("{SQL}/instances"), Some(&sql)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );
    let sql = json!({"name": "db-a", "databaseVersion": "POSTGRES_7",
                     "settings": {"tier": "db-custom-2-4096"}});
    assert_google_error(
        &call(&server, "POST", &format!("{SQL}/instances"), Some(&sql)),
        400,
        "INVALID_ARGUMENT",
        "invalid",
    );

    // Nothing was created, and the log holds every request as sent.
    let (_, list) = call(&server, "GET", &insert, None);
    assert!(list.get("items").is_none(), "nothing was created: {list:#}");
    let (_, log) = call(&server, "GET", "/__contract/requests", None);
    let requests = log["requests"].as_array().expect("a request list");
    assert_eq!(requests.len(), 9, "{log:#}");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["path"], json!(insert));
    assert_eq!(requests[0]["body"]["colour"], "blue");
    assert_eq!(requests[0]["status"], 400);
}

#[test]
fn instance_lifecycle_follows_the_api() {
    let server = start_gcp_contract(2);
    let insert = format!("{ZONE}/instances");

    // A network of its own, for the in-use check.
    let (status, op) = call(
        &server,
        "POST",
        &format!("{PROJECT}/global/networks"),
        Some(&json!({"name": "contract-net", "autoCreateSubnetworks": true})),
    );
    assert_eq!(status, 200, "{op:#}");
    wait_done(&server, &op);

    let (status, op) = call(
        &server,
        "POST",
        &insert,
        Some(&instance("vm-a", "global/networks/contract-net")),
    );
    assert_eq!(status, 200, "{op:#}");
    assert_eq!(op["kind"], "compute#operation");
    assert_eq!(op["status"], "PENDING");
    assert_eq!(op["operationType"], "insert");
    // Before DONE the instance is there, still provisioning.
    let (status, vm) = call(&server, "GET", &format!("{ZONE}/instances/vm-a"), None);
    assert_eq!((status, vm["status"].as_str()), (200, Some("PROVISIONING")));
    // Two reads answer RUNNING, the third DONE.
    let path = op_path(&server, &op);
    assert_eq!(call(&server, "GET", &path, None).1["status"], "RUNNING");
    assert_eq!(call(&server, "GET", &path, None).1["status"], "RUNNING");
    assert_eq!(call(&server, "GET", &path, None).1["status"], "DONE");

    let (status, vm) = call(&server, "GET", &format!("{ZONE}/instances/vm-a"), None);
    assert_eq!(status, 200, "{vm:#}");
    assert_eq!(vm["status"], "RUNNING");
    assert_eq!(vm["labels"]["overcast-stack"], "contract");
    assert!(
        vm["networkInterfaces"][0]["accessConfigs"][0]["natIP"].is_string(),
        "{vm:#}"
    );

    assert_google_error(
        &call(
            &server,
            "POST",
            &insert,
            Some(&instance("vm-a", "global/networks/contract-net")),
        ),
        409,
        "ALREADY_EXISTS",
        "alreadyExists",
    );

    // setLabels with the current fingerprint works once; then that fingerprint is stale.
    let set_labels = json!({"labels": {"overcast-stack": "changed"},
                            "labelFingerprint": vm["labelFingerprint"]});
    let (status, op) = call(
        &server,
        "POST",
        &format!("{ZONE}/instances/vm-a/setLabels"),
        Some(&set_labels),
    );
    assert_eq!(status, 200, "{op:#}");
    wait_done(&server, &op);
    assert_google_error(
        &call(
            &server,
            "POST",
            &format!("{ZONE}/instances/vm-a/setLabels"),
            Some(&set_labels),
        ),
        412,
        "FAILED_PRECONDITION",
        "conditionNotMet",
    );

    // The network is in use by the instance.
    let msg = assert_google_error(
        &call(
            &server,
            "DELETE",
            &format!("{PROJECT}/global/networks/contract-net"),
            None,
        ),
        400,
        "INVALID_ARGUMENT",
        "resourceInUseByAnotherResource",
    );
    assert!(msg.contains("vm-a"), "{msg}");

    let (status, op) = call(&server, "DELETE", &format!("{ZONE}/instances/vm-a"), None);
    assert_eq!(status, 200, "{op:#}");
    assert_eq!(wait_done(&server, &op), 3);
    assert_google_error(
        &call(&server, "GET", &format!("{ZONE}/instances/vm-a"), None),
        404,
        "NOT_FOUND",
        "notFound",
    );
    // Now the network can go.
    let (status, op) = call(
        &server,
        "DELETE",
        &format!("{PROJECT}/global/networks/contract-net"),
        None,
    );
    assert_eq!(status, 200, "{op:#}");
    wait_done(&server, &op);
}

#[test]
fn a_repeated_request_id_returns_the_first_operation() {
    let server = start_gcp_contract(2);
    let path = format!("{PROJECT}/global/firewalls?requestId=3b9e2a1c-7d4f-4e8a-9c0b-1f2e3d4c5b6a");
    let body = json!({"name": "allow-http", "network": "global/networks/default",
                      "allowed": [{"IPProtocol": "tcp", "ports": ["80"]}],
                      "sourceRanges": ["0.0.0.0/0"]});
    let (status, first) = call(&server, "POST", &path, Some(&body));
    assert_eq!(status, 200, "{first:#}");
    let (status, again) = call(&server, "POST", &path, Some(&body));
    assert_eq!(status, 200, "a retry is not a duplicate: {again:#}");
    assert_eq!(again["name"], first["name"], "the same operation");
    wait_done(&server, &first);
    // After completion, the same requestId still gives that operation, not a 409.
    let (status, late) = call(&server, "POST", &path, Some(&body));
    assert_eq!((status, &late["name"]), (200, &first["name"]), "{late:#}");
    assert_eq!(late["status"], "DONE");
    let (_, list) = call(&server, "GET", &format!("{PROJECT}/global/firewalls"), None);
    let items = list["items"].as_array().expect("one firewall");
    assert_eq!(items.len(), 1, "{list:#}");
    // Without a requestId, the same body is a duplicate.
    assert_google_error(
        &call(
            &server,
            "POST",
            &format!("{PROJECT}/global/firewalls"),
            Some(&body),
        ),
        409,
        "ALREADY_EXISTS",
        "alreadyExists",
    );
}

#[test]
fn cloud_sql_instances_wait_for_their_operations() {
    let server = start_gcp_contract(1);
    let body = json!({"name": "db-a", "databaseVersion": "POSTGRES_15", "region": "us-central1",
                      "settings": {"tier": "db-custom-2-4096"}});
    let (status, op) = call(&server, "POST", &format!("{SQL}/instances"), Some(&body));
    assert_eq!(status, 200, "{op:#}");
    assert_eq!(op["kind"], "sql#operation");
    // A database on an instance still being created: Cloud SQL's one-operation-at-a-time.
    assert_google_error(
        &call(
            &server,
            "POST",
            &format!("{SQL}/instances/db-a/databases"),
            Some(&json!({"name": "app"})),
        ),
        409,
        "ABORTED",
        "operationInProgress",
    );
    assert_eq!(wait_done(&server, &op), 2);
    let (_, inst) = call(&server, "GET", &format!("{SQL}/instances/db-a"), None);
    assert_eq!(inst["state"], "RUNNABLE", "{inst:#}");
    assert_google_error(
        &call(&server, "POST", &format!("{SQL}/instances"), Some(&body)),
        409,
        "ALREADY_EXISTS",
        "instanceAlreadyExists",
    );
    let (status, op) = call(
        &server,
        "POST",
        &format!("{SQL}/instances/db-a/databases"),
        Some(&json!({"name": "app"})),
    );
    assert_eq!(status, 200, "{op:#}");
    wait_done(&server, &op);
    let (status, db) = call(
        &server,
        "GET",
        &format!("{SQL}/instances/db-a/databases/app"),
        None,
    );
    assert_eq!((status, &db["name"]), (200, &json!("app")), "{db:#}");
    let (status, op) = call(&server, "DELETE", &format!("{SQL}/instances/db-a"), None);
    assert_eq!(status, 200, "{op:#}");
    wait_done(&server, &op);
    assert_google_error(
        &call(&server, "GET", &format!("{SQL}/instances/db-a"), None),
        404,
        "NOT_FOUND",
        "instanceDoesNotExist",
    );
}
