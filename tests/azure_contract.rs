//! The Azure contract-test server (tests/azure_server) holds clients to the ARM management
//! plane: these tests prove it rejects what ARM rejects, with ARM's error body and code
//! (bodies checked against the published OpenAPI documents of the pinned api-versions,
//! api-version and Authorization required, names held to each type's rules), and that it
//! models the lifecycle the Azure provider depends on (long-running operations that take
//! polls, in each provider's style; resource group deletion that takes its content; 404
//! after delete; lists that must be followed by nextLink). They also run the server's own
//! Python unit tests, so `cargo test` covers them.
//!
//! Each test starts its own server on 127.0.0.1 (port 0, announced) and kills it by PID.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::servers::{Server, azure_contract_dir, azure_contract_python, start_azure_contract};
use serde_json::{Value, json};

const SUB: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const RESOURCES: &str = "2022-09-01";
const STORAGE: &str = "2023-05-01";
const SERVICEBUS: &str = "2021-11-01";

/// An answer: status, headers (lower-case names) and the JSON body (Null when empty).
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Value,
}

/// One plain HTTP/1.1 request; `target` is a path with its query, or a full URL on the server.
fn request(
    server: &Server,
    method: &str,
    target: &str,
    body: Option<&Value>,
    auth: bool,
) -> Answer {
    let target = target.strip_prefix(&server.endpoint).unwrap_or(target);
    assert!(
        target.starts_with('/'),
        "{target} is not on {}",
        server.endpoint
    );
    let mut s = TcpStream::connect(("127.0.0.1", server.port))
        .unwrap_or_else(|e| panic!("connect to {}: {e}", server.endpoint));
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    let authorization = if auth {
        "Authorization: Bearer contract-test-token\r\n"
    } else {
        ""
    };
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        server.port,
        payload.len()
    )
    .expect("send the request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, text) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to {method} {target}: {raw:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{method} {target}: the body is not JSON ({e}): {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// An authorized request to `path` with `api-version` appended.
fn call(server: &Server, method: &str, path: &str, api: &str, body: Option<&Value>) -> Answer {
    let sep = if path.contains('?') { '&' } else { '?' };
    request(
        server,
        method,
        &format!("{path}{sep}api-version={api}"),
        body,
        true,
    )
}

/// Assert ARM's error body, `{"error": {"code", "message"}}`, and the status; the message.
fn assert_arm_error(answer: &Answer, status: u16, code: &str) -> String {
    let body = &answer.body;
    assert_eq!(answer.status, status, "HTTP status; body: {body:#}");
    let error = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {body:#}"));
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only `error`: {body:#}"
    );
    assert_eq!(error["code"], json!(code), "error.code: {body:#}");
    let message = error["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "error.message is empty: {body:#}");
    message
}

fn group_path(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}")
}

fn account_path(rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{name}",
        group_path(rg)
    )
}

/// A valid storage account body, as ARM takes it (properties nested, not flattened).
fn account() -> Value {
    json!({
        "location": "westeurope",
        "sku": {"name": "Standard_LRS"},
        "kind": "StorageV2",
        "tags": {"overcast-stack": "contract"},
        "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": false}
    })
}

fn create_group(server: &Server, rg: &str) {
    let answer = call(
        server,
        "PUT",
        &group_path(rg),
        RESOURCES,
        Some(&json!({"location": "westeurope"})),
    );
    assert_eq!(answer.status, 201, "{:#}", answer.body);
}

/// Follow a Location URL until it stops answering 202: (reads, final answer).
fn poll_location(server: &Server, url: &str) -> (usize, Answer) {
    for reads in 1..=20 {
        let answer = request(server, "GET", url, None, true);
        if answer.status != 202 {
            return (reads, answer);
        }
        assert_eq!(
            answer.headers.get("retry-after").map(String::as_str),
            Some("0")
        );
    }
    panic!("{url} still answered 202 after 20 reads")
}

#[test]
fn python_unit_tests_of_the_server_pass() {
    let out = Command::new(azure_contract_python())
        .args(["-m", "unittest", "-v", "azure_server.test_server"])
        .current_dir(azure_contract_dir())
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
        ran >= 15,
        "expected the server's unit tests to run, got {ran}:\n{stderr}"
    );
}

/// Microsoft's own Python SDKs (azure-mgmt-resource, -storage, -servicebus, at their default
/// api-versions) drive tests/azure_server/sdk_check.py against the server: groups, a storage
/// account and a container, a Service Bus namespace and a queue, created, read, listed (one
/// item a page, so paging is followed) and deleted. The venv comes from `install_azure_sdks`
/// in scripts/emulators.sh; without it the test fails.
#[test]
fn microsofts_python_sdks_run_against_the_server() {
    let python = common::servers::azure_sdk_python();
    assert!(
        python.exists(),
        "{} does not exist: run `bash scripts/test.sh` (install_azure_sdks)",
        python.display()
    );
    let server = start_azure_contract(2);
    let config = request(
        &server,
        "POST",
        "/__contract/config",
        Some(&json!({"pageSize": 1})),
        false,
    );
    assert_eq!(config.status, 200, "{}", config.body);
    let out = Command::new(&python)
        .arg("azure_server/sdk_check.py")
        .arg(&server.endpoint)
        .current_dir(azure_contract_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run sdk_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("sdk_check: OK"),
        "sdk_check.py failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn requests_arm_rejects_are_rejected_with_arms_error_body() {
    let server = start_azure_contract(2);
    let acct = account_path("rg-contract", "overcastacct1");

    // Before anything else: Authorization, api-version, and the group must exist.
    let missing_auth = request(
        &server,
        "GET",
        &format!("{}?api-version={RESOURCES}", group_path("rg-contract")),
        None,
        false,
    );
    assert_arm_error(&missing_auth, 401, "AuthenticationFailed");
    assert_arm_error(
        &request(&server, "GET", &group_path("rg-contract"), None, true),
        400,
        "MissingApiVersionParameter",
    );
    let msg = assert_arm_error(
        &call(
            &server,
            "GET",
            &group_path("rg-contract"),
            "2021-05-01",
            None,
        ),
        400,
        "InvalidApiVersionParameter",
    );
    assert!(msg.contains(RESOURCES), "names the pinned version: {msg}");
    assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&account())),
        404,
        "ResourceGroupNotFound",
    );
    create_group(&server, "rg-contract");
    // Every stable version Microsoft.Storage publishes is served (an SDK's default is
    // usually newer than the pinned one); one it never published is refused, as ARM does.
    let msg = assert_arm_error(
        &call(&server, "PUT", &acct, "2022-08-01", Some(&account())),
        400,
        "NoRegisteredProviderFound",
    );
    assert!(msg.contains(STORAGE), "names the supported versions: {msg}");

    // Bodies are held to the OpenAPI definition of the pinned version.
    let mut unknown = account();
    unknown["properties"]["colour"] = json!("blue");
    let msg = assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&unknown)),
        400,
        "InvalidRequestContent",
    );
    assert!(msg.contains("colour"), "names the property: {msg}");

    let mut flattened = account();
    flattened["allowBlobPublicAccess"] = json!(false);
    assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&flattened)),
        400,
        "InvalidRequestContent",
    );

    let mut wrong_type = account();
    wrong_type["properties"]["allowBlobPublicAccess"] = json!("false");
    let msg = assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&wrong_type)),
        400,
        "InvalidRequestContent",
    );
    assert!(msg.contains("allowBlobPublicAccess"), "{msg}");

    let mut bad_enum = account();
    bad_enum["sku"]["name"] = json!("Standard_XRS");
    let msg = assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&bad_enum)),
        400,
        "InvalidRequestContent",
    );
    assert!(msg.contains("Standard_XRS"), "{msg}");

    let mut missing = account();
    missing.as_object_mut().expect("an object").remove("kind");
    let msg = assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&missing)),
        400,
        "InvalidRequestContent",
    );
    assert!(msg.contains("kind"), "{msg}");

    let mut no_location = account();
    no_location
        .as_object_mut()
        .expect("an object")
        .remove("location");
    assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&no_location)),
        400,
        "LocationRequired",
    );

    let mut read_only = account();
    read_only["properties"]["provisioningState"] = json!("Succeeded");
    let msg = assert_arm_error(
        &call(&server, "PUT", &acct, STORAGE, Some(&read_only)),
        400,
        "InvalidRequestContent",
    );
    assert!(msg.contains("provisioningState"), "{msg}");

    for bad_name in [
        "ab",
        "Overcast_Acct",
        "overcast-acct",
        "a234567890123456789012345",
    ] {
        assert_arm_error(
            &call(
                &server,
                "PUT",
                &account_path("rg-contract", bad_name),
                STORAGE,
                Some(&account()),
            ),
            400,
            "AccountNameInvalid",
        );
    }

    // Service Bus: a session queue on a Basic namespace, and a lock longer than PT5M.
    let ns = format!(
        "{}/providers/Microsoft.ServiceBus/namespaces/overcast-contract-ns",
        group_path("rg-contract")
    );
    let created = call(
        &server,
        "PUT",
        &ns,
        SERVICEBUS,
        Some(&json!({"location": "westeurope", "sku": {"name": "Basic"}})),
    );
    assert_eq!(created.status, 201, "{:#}", created.body);
    let settled = request(&server, "POST", "/__contract/settle", None, false);
    assert_eq!(settled.body["settled"], 1);
    let queue = format!("{ns}/queues/jobs");
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &queue,
            SERVICEBUS,
            Some(&json!({"properties": {"requiresSession": true}})),
        ),
        400,
        "BadRequest",
    );
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &queue,
            SERVICEBUS,
            Some(&json!({"properties": {"lockDuration": "PT10M"}})),
        ),
        400,
        "BadRequest",
    );

    // No storage account was created, and the log holds every request as sent.
    let list = call(
        &server,
        "GET",
        &format!(
            "{}/providers/Microsoft.Storage/storageAccounts",
            group_path("rg-contract")
        ),
        STORAGE,
        None,
    );
    assert_eq!(list.body["value"], json!([]), "{:#}", list.body);
    let log = request(&server, "GET", "/__contract/requests", None, false);
    let requests = log.body["requests"].as_array().expect("a request list");
    assert_eq!(requests[0]["status"], 401, "{:#}", log.body);
    let unknown_put = requests
        .iter()
        .find(|r| r["body"]["properties"]["colour"] == "blue")
        .expect("the unknown-property PUT is logged");
    assert_eq!(unknown_put["method"], "PUT");
    assert_eq!(unknown_put["path"], json!(acct));
    assert_eq!(unknown_put["query"]["api-version"], STORAGE);
    assert_eq!(unknown_put["headers"]["authorization"], "Bearer");
    assert_eq!(unknown_put["status"], 400);
}

#[test]
fn long_running_operations_take_polls_and_group_delete_cascades() {
    let server = start_azure_contract(2);
    create_group(&server, "rg-life");
    let acct = account_path("rg-life", "overcastlife1");

    // Storage accounts: 202 with a Location URL, 202 on two reads, then 200 with the account.
    let started = call(&server, "PUT", &acct, STORAGE, Some(&account()));
    assert_eq!(started.status, 202, "{:#}", started.body);
    assert_eq!(started.body, Value::Null);
    assert!(!started.headers.contains_key("azure-asyncoperation"));
    let location = started.headers["location"].clone();
    let (reads, done) = poll_location(&server, &location);
    assert_eq!((reads, done.status), (3, 200), "{:#}", done.body);
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(done.body["id"], json!(acct));
    assert_eq!(done.body["tags"]["overcast-stack"], "contract");
    let again = call(&server, "PUT", &acct, STORAGE, Some(&account()));
    assert_eq!(again.status, 200, "PUT is idempotent: {:#}", again.body);
    let keys = call(&server, "POST", &format!("{acct}/listKeys"), STORAGE, None);
    assert_eq!(keys.status, 200, "{:#}", keys.body);
    assert!(keys.body["keys"][0]["value"].is_string(), "{:#}", keys.body);
    let container = call(
        &server,
        "PUT",
        &format!("{acct}/blobServices/default/containers/data"),
        STORAGE,
        Some(&json!({"properties": {"publicAccess": "None"}})),
    );
    assert_eq!(container.status, 201, "{:#}", container.body);

    // Service Bus namespaces: 201 with Azure-AsyncOperation; the status resource answers
    // InProgress twice, then Succeeded.
    let ns = format!(
        "{}/providers/Microsoft.ServiceBus/namespaces/overcast-life-ns",
        group_path("rg-life")
    );
    let started = call(
        &server,
        "PUT",
        &ns,
        SERVICEBUS,
        Some(&json!({"location": "westeurope", "sku": {"name": "Standard"}})),
    );
    assert_eq!(started.status, 201, "{:#}", started.body);
    assert_eq!(started.body["properties"]["provisioningState"], "Created");
    let status_url = started.headers["azure-asyncoperation"].clone();
    let states: Vec<Value> = (0..3)
        .map(|_| request(&server, "GET", &status_url, None, true).body["status"].clone())
        .collect();
    assert_eq!(
        states,
        vec![json!("InProgress"), json!("InProgress"), json!("Succeeded")]
    );
    let queue = call(
        &server,
        "PUT",
        &format!("{ns}/queues/jobs"),
        SERVICEBUS,
        Some(&json!({"properties": {"lockDuration": "PT1M", "maxDeliveryCount": 5}})),
    );
    assert_eq!(
        queue.status, 200,
        "queues are synchronous: {:#}",
        queue.body
    );

    // Deleting the group: 202 + Location; once done, everything in it is gone.
    let deleting = call(&server, "DELETE", &group_path("rg-life"), RESOURCES, None);
    assert_eq!(deleting.status, 202, "{:#}", deleting.body);
    let gone = call(&server, "GET", &group_path("rg-life"), RESOURCES, None);
    assert_eq!(gone.body["properties"]["provisioningState"], "Deleting");
    let (_, done) = poll_location(&server, &deleting.headers["location"]);
    assert_eq!(done.status, 200);
    assert_arm_error(
        &call(&server, "GET", &group_path("rg-life"), RESOURCES, None),
        404,
        "ResourceGroupNotFound",
    );
    create_group(&server, "rg-life");
    assert_arm_error(
        &call(&server, "GET", &acct, STORAGE, None),
        404,
        "ResourceNotFound",
    );
    assert_arm_error(
        &call(
            &server,
            "GET",
            &format!("{ns}/queues/jobs"),
            SERVICEBUS,
            None,
        ),
        404,
        "ResourceNotFound",
    );
    let all = call(
        &server,
        "GET",
        &format!("/subscriptions/{SUB}/resources"),
        RESOURCES,
        None,
    );
    assert_eq!(all.body["value"], json!([]), "{:#}", all.body);
}

#[test]
fn lists_must_be_followed_by_next_link() {
    let server = start_azure_contract(0);
    let names: Vec<String> = (0..12).map(|i| format!("rg-page-{i:02}")).collect();
    for name in &names {
        create_group(&server, name);
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut next = Some(format!(
        "/subscriptions/{SUB}/resourcegroups?api-version={RESOURCES}"
    ));
    while let Some(url) = next {
        let page = request(&server, "GET", &url, None, true);
        assert_eq!(page.status, 200, "{:#}", page.body);
        let value = page.body["value"].as_array().expect("a value array");
        assert!(value.len() <= 5, "pages are small: {}", value.len());
        seen.extend(
            value
                .iter()
                .map(|g| g["name"].as_str().unwrap_or_default().to_string()),
        );
        next = page.body["nextLink"].as_str().map(str::to_string);
        pages += 1;
    }
    assert_eq!(pages, 3, "12 groups in pages of 5");
    assert_eq!(seen, names);

    // The generic resource list pages too, and filters by tag as ARM does.
    for i in 0..6 {
        let name = format!("overcastpage{i}");
        let mut body = account();
        body["tags"] = json!({"parity": if i % 2 == 0 { "even" } else { "odd" }});
        let answer = call(
            &server,
            "PUT",
            &account_path("rg-page-00", &name),
            STORAGE,
            Some(&body),
        );
        assert_eq!(answer.status, 202, "{:#}", answer.body);
        let (_, done) = poll_location(&server, &answer.headers["location"]);
        assert_eq!(done.status, 200, "{:#}", done.body);
    }
    let first = call(
        &server,
        "GET",
        &format!("/subscriptions/{SUB}/resources"),
        RESOURCES,
        None,
    );
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(5));
    let next = first.body["nextLink"]
        .as_str()
        .expect("a nextLink")
        .to_string();
    assert!(next.contains("$skiptoken="), "{next}");
    let second = request(&server, "GET", &next, None, true);
    assert_eq!(second.body["value"].as_array().map(Vec::len), Some(1));
    assert!(second.body.get("nextLink").is_none(), "{:#}", second.body);
    let filtered = call(
        &server,
        "GET",
        &format!(
            "/subscriptions/{SUB}/resources?$filter=tagName%20eq%20'parity'%20and%20tagValue%20eq%20'odd'"
        ),
        RESOURCES,
        None,
    );
    let odd: Vec<&str> = filtered.body["value"]
        .as_array()
        .expect("a value array")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(odd, ["overcastpage1", "overcastpage3", "overcastpage5"]);
}

const CDN: &str = "2024-09-01";

/// Wait out a long-running operation by its Azure-AsyncOperation status resource: the
/// statuses read until it ended.
fn poll_status(server: &Server, url: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let status = request(server, "GET", url, None, true).body["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        seen.push(status.clone());
        if status != "InProgress" {
            return seen;
        }
    }
    panic!("{url} still InProgress after 20 reads")
}

/// A Microsoft.Cdn PUT that runs as a long-running operation: 201 with the resource in
/// its transient state and an Azure-AsyncOperation header; returns the body once done.
fn put_cdn(server: &Server, path: &str, body: &Value) -> Value {
    let started = call(server, "PUT", path, CDN, Some(body));
    assert_eq!(started.status, 201, "PUT {path}: {:#}", started.body);
    assert_eq!(started.body["properties"]["provisioningState"], "Creating");
    let statuses = poll_status(server, &started.headers["azure-asyncoperation"]);
    assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
    call(server, "GET", path, CDN, None).body
}

#[test]
fn front_door_requests_front_door_rejects_are_rejected_with_its_error_body() {
    let server = start_azure_contract(2);
    create_group(&server, "rg-afd");
    let profile = format!(
        "{}/providers/Microsoft.Cdn/profiles/overcast-afd",
        group_path("rg-afd")
    );
    let afd = json!({"location": "global", "sku": {"name": "Standard_AzureFrontDoor"}});

    // Front Door profiles are global, Front Door SKUs, and take no read-only property.
    let regional = json!({"location": "westeurope", "sku": {"name": "Standard_AzureFrontDoor"}});
    assert_arm_error(
        &call(&server, "PUT", &profile, CDN, Some(&regional)),
        400,
        "LocationNotAvailableForResourceType",
    );
    let unknown_sku = json!({"location": "global", "sku": {"name": "Standard_Cheap"}});
    assert_arm_error(
        &call(&server, "PUT", &profile, CDN, Some(&unknown_sku)),
        400,
        "InvalidRequestContent",
    );
    let read_only = json!({"location": "global", "sku": {"name": "Standard_AzureFrontDoor"},
        "properties": {"resourceState": "Active"}});
    assert_arm_error(
        &call(&server, "PUT", &profile, CDN, Some(&read_only)),
        400,
        "InvalidRequestContent",
    );
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &profile.replace("overcast-afd", "under_score"),
            CDN,
            Some(&afd),
        ),
        400,
        "BadRequest",
    );
    assert_arm_error(
        &call(&server, "PUT", &profile, "2024-03-01", Some(&afd)),
        400,
        "NoRegisteredProviderFound",
    );
    put_cdn(&server, &profile, &afd);

    // An endpoint gets its default domain; a child takes no location.
    let endpoint = put_cdn(
        &server,
        &format!("{profile}/afdEndpoints/overcast-edge"),
        &json!({"location": "global", "properties": {"enabledState": "Enabled"}}),
    );
    let host = endpoint["properties"]["hostName"]
        .as_str()
        .unwrap_or_default();
    assert!(
        host.starts_with("overcast-edge-") && host.ends_with(".z01.azurefd.net"),
        "{endpoint:#}"
    );
    let group = format!("{profile}/originGroups/origins");
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &group,
            CDN,
            Some(&json!({"location": "global"})),
        ),
        400,
        "InvalidRequestContent",
    );
    put_cdn(
        &server,
        &group,
        &json!({"properties": {"loadBalancingSettings": {"sampleSize": 4}}}),
    );

    // A route needs an origin in its group; a rule's cache duration is Front Door's format.
    let route_body = json!({"properties": {"originGroup": {"id": group},
        "linkToDefaultDomain": "Enabled", "patternsToMatch": ["/*"]}});
    let route = format!("{profile}/afdEndpoints/overcast-edge/routes/default");
    let message = assert_arm_error(
        &call(&server, "PUT", &route, CDN, Some(&route_body)),
        400,
        "BadRequest",
    );
    assert!(message.contains("at least one enabled origin"), "{message}");
    put_cdn(
        &server,
        &format!("{group}/origins/origin"),
        &json!({"properties": {"hostName": "acct.blob.core.windows.net"}}),
    );
    let rule_set = call(
        &server,
        "PUT",
        &format!("{profile}/ruleSets/overcast"),
        CDN,
        Some(&json!({})),
    );
    assert_eq!(
        rule_set.status, 201,
        "rule sets are synchronous: {:#}",
        rule_set.body
    );
    let rule = |duration: &str, name: &str| {
        json!({"properties": {"order": 1, "actions": [{"name": name, "parameters": {
            "typeName": "DeliveryRuleRouteConfigurationOverrideActionParameters",
            "cacheConfiguration": {"cacheBehavior": "OverrideAlways", "cacheDuration": duration}}}]}})
    };
    let rule_path = format!("{profile}/ruleSets/overcast/rules/cachettl");
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &rule_path,
            CDN,
            Some(&rule("1 hour", "RouteConfigurationOverride")),
        ),
        400,
        "BadRequest",
    );
    // A polymorphic action is held to the subtype its name gives.
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &rule_path,
            CDN,
            Some(&rule("01:00:00", "Teleport")),
        ),
        400,
        "InvalidRequestContent",
    );
    put_cdn(
        &server,
        &rule_path,
        &rule("1.00:00:00", "RouteConfigurationOverride"),
    );
    let mut with_rules = route_body.clone();
    with_rules["properties"]["ruleSets"] = json!([{"id": format!("{profile}/ruleSets/overcast")}]);
    put_cdn(&server, &route, &with_rules);

    // What the route uses cannot go: the last origin of its group, the group, the rule set.
    for (what, path) in [
        ("origin", format!("{group}/origins/origin")),
        ("origin group", group.clone()),
        ("rule set", format!("{profile}/ruleSets/overcast")),
    ] {
        let refused = call(&server, "DELETE", &path, CDN, None);
        assert_eq!(refused.status, 400, "{what}: {:#}", refused.body);
        assert_eq!(refused.body["error"]["code"], "BadRequest", "{what}");
    }

    // Deleting the profile: 202 with both headers, and everything under it goes.
    let deleting = call(&server, "DELETE", &profile, CDN, None);
    assert_eq!(deleting.status, 202, "{:#}", deleting.body);
    assert!(deleting.headers.contains_key("location"));
    poll_status(&server, &deleting.headers["azure-asyncoperation"]);
    for gone in [
        profile.clone(),
        route,
        rule_path,
        format!("{group}/origins/origin"),
    ] {
        assert_arm_error(
            &call(&server, "GET", &gone, CDN, None),
            404,
            "ResourceNotFound",
        );
    }
}

const WEB: &str = "2024-04-01";

fn plan_path(name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Web/serverfarms/{name}",
        group_path("rg-web")
    )
}

fn site_path(name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Web/sites/{name}",
        group_path("rg-web")
    )
}

/// A Linux function app on `plan`, as the Azure provider sends it.
fn site(plan: &str, fx: &str) -> Value {
    json!({
        "location": "westeurope",
        "kind": "functionapp,linux",
        "tags": {"overcast:stack": "contract"},
        "properties": {
            "serverFarmId": plan_path(plan),
            "reserved": true,
            "httpsOnly": true,
            "siteConfig": {
                "linuxFxVersion": fx,
                "appSettings": [{"name": "FUNCTIONS_WORKER_RUNTIME", "value": "python"}],
                "minTlsVersion": "1.2",
                "ftpsState": "Disabled"
            }
        }
    })
}

#[test]
fn function_apps_and_plans_are_held_to_microsoft_webs_rules() {
    let server = start_azure_contract(2);
    create_group(&server, "rg-web");
    let consumption = |reserved: bool| {
        json!({"location": "westeurope", "kind": "functionapp",
               "sku": {"name": "Y1", "tier": "Dynamic"}, "properties": {"reserved": reserved}})
    };
    let put = call(
        &server,
        "PUT",
        &plan_path("plan1"),
        WEB,
        Some(&consumption(true)),
    );
    assert_eq!(put.status, 200, "a plan is made at once: {:#}", put.body);
    assert_eq!(put.body["sku"]["tier"], "Dynamic");
    assert_eq!(put.body["properties"]["provisioningState"], "Succeeded");
    call(
        &server,
        "PUT",
        &plan_path("windows"),
        WEB,
        Some(&consumption(false)),
    );

    // Bodies the published schema rejects.
    let mut unknown = site("plan1", "Python|3.12");
    unknown["properties"]["linuxFx"] = json!("Python|3.12");
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &site_path("fn-contract-1"),
            WEB,
            Some(&unknown),
        ),
        400,
        "InvalidRequestContent",
    );
    let mut read_only = site("plan1", "Python|3.12");
    read_only["properties"]["defaultHostName"] = json!("mine.example.com");
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &site_path("fn-contract-1"),
            WEB,
            Some(&read_only),
        ),
        400,
        "InvalidRequestContent",
    );
    let mut flat = site("plan1", "Python|3.12");
    flat["serverFarmId"] = json!(plan_path("plan1"));
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &site_path("fn-contract-1"),
            WEB,
            Some(&flat),
        ),
        400,
        "InvalidRequestContent",
    );
    // Names: global DNS labels.
    for bad in ["a", "-fn", "fn-", "fn_1"] {
        assert_arm_error(
            &call(
                &server,
                "PUT",
                &site_path(bad),
                WEB,
                Some(&site("plan1", "Python|3.12")),
            ),
            400,
            "InvalidResourceName",
        );
    }
    // The provider's own rules.
    let msg = assert_arm_error(
        &call(
            &server,
            "PUT",
            &site_path("fn-contract-1"),
            WEB,
            Some(&site("nope", "Python|3.12")),
        ),
        404,
        "NotFound",
    );
    assert!(msg.contains("Cannot find ServerFarm"), "{msg}");
    assert_arm_error(
        &call(
            &server,
            "PUT",
            &site_path("fn-contract-1"),
            WEB,
            Some(&site("windows", "Python|3.12")),
        ),
        400,
        "BadRequest",
    );
    // Linux Consumption's last Python is 3.12; a stack the catalog lacks is no stack.
    for fx in ["Python|3.13", "Ruby|3.3"] {
        let msg = assert_arm_error(
            &call(
                &server,
                "PUT",
                &site_path("fn-contract-1"),
                WEB,
                Some(&site("plan1", fx)),
            ),
            400,
            "BadRequest",
        );
        assert!(msg.contains("LinuxFxVersion"), "{msg}");
    }

    // A create: 202 with the body and an operation that takes polls.
    let created = call(
        &server,
        "PUT",
        &site_path("fn-contract-1"),
        WEB,
        Some(&site("plan1", "Python|3.12")),
    );
    assert_eq!(created.status, 202, "{:#}", created.body);
    assert_eq!(
        created.body["properties"]["defaultHostName"],
        "fn-contract-1.azurewebsites.net"
    );
    assert_eq!(
        created.body["properties"]["siteConfig"]["appSettings"],
        Value::Null
    );
    let op = created
        .headers
        .get("azure-asyncoperation")
        .cloned()
        .expect("Azure-AsyncOperation");
    let statuses: Vec<Value> = (0..3)
        .map(|_| request(&server, "GET", &op, None, true).body["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("InProgress"), json!("InProgress"), json!("Succeeded")]
    );
    let settings = call(
        &server,
        "POST",
        &format!("{}/config/appsettings/list", site_path("fn-contract-1")),
        WEB,
        None,
    );
    assert_eq!(settings.status, 200);
    assert_eq!(
        settings.body["properties"],
        json!({"FUNCTIONS_WORKER_RUNTIME": "python"})
    );
    // Site names are global: another group (or subscription) cannot have it.
    create_group(&server, "rg-web2");
    let elsewhere = format!(
        "{}/providers/Microsoft.Web/sites/FN-CONTRACT-1",
        group_path("rg-web2")
    );
    let mut body = site("plan1", "Python|3.12");
    body["properties"]["serverFarmId"] = json!(plan_path("plan1"));
    assert_arm_error(
        &call(&server, "PUT", &elsewhere, WEB, Some(&body)),
        409,
        "Conflict",
    );
    // A plan with an app cannot go first; PATCH is not how overcast changes either.
    let msg = assert_arm_error(
        &call(&server, "DELETE", &plan_path("plan1"), WEB, None),
        409,
        "Conflict",
    );
    assert!(msg.contains("fn-contract-1"), "{msg}");
    assert_arm_error(
        &call(
            &server,
            "PATCH",
            &site_path("fn-contract-1"),
            WEB,
            Some(&json!({"tags": {}})),
        ),
        405,
        "MethodNotAllowed",
    );
    assert_eq!(
        call(&server, "DELETE", &site_path("fn-contract-1"), WEB, None).status,
        200
    );
    assert_eq!(
        call(&server, "DELETE", &plan_path("plan1"), WEB, None).status,
        200
    );
}
