//! examples/quickstart on GCP, end to end, through the `overcast` binary: drongo (Cloud
//! Storage), Google's Pub/Sub emulator and the contract-test server (Compute Engine, Cloud
//! SQL Admin, Cloud Functions v2, Cloud Scheduler), all on
//! 127.0.0.1 and started (and killed by PID) by each test. Only the example's `targets:`
//! block is swapped for a gcp target pointing at them (the block `scripts/emulators.sh
//! start gcp` prints). Every check goes through the servers' own APIs, not only overcast's.
#![cfg(feature = "gcp")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::TestStack;
use common::servers::{Server, start_drongo, start_gcp_contract, start_pubsub_emulator};

const PROJECT: &str = "overcast-local";
const REGION: &str = "us-central1";
const ZONE: &str = "us-central1-a";
const STACK: &str = "quickstart";

/// The three servers of a gcp target.
struct Gcp {
    drongo: Server,
    pubsub: Server,
    contract: Server,
}

impl Gcp {
    fn start(polls: u32) -> Gcp {
        Gcp {
            drongo: start_drongo(),
            pubsub: start_pubsub_emulator(),
            contract: start_gcp_contract(polls),
        }
    }

    /// The target block `scripts/emulators.sh start gcp` prints, for these servers.
    fn targets(&self) -> String {
        format!(
            "targets:\n  gcp:\n    provider: gcp\n    project: {PROJECT}\n    region: {REGION}\n    \
             zone: {ZONE}\n    storage_endpoint: {s}\n    functions_endpoint: {c}\n    \
             pubsub_endpoint: {p}\n    compute_endpoint: {c}\n    sql_endpoint: {c}\n    \
             scheduler_endpoint: {c}\ndefault_target: gcp\n",
            s = self.drongo.endpoint,
            p = self.pubsub.endpoint,
            c = self.contract.endpoint,
        )
    }

    /// A copy of examples/quickstart whose `targets:` block (only that) targets these servers.
    fn quickstart(&self) -> TestStack {
        let stack = TestStack::example("quickstart");
        stack.edit("targets:\n  local:\n    provider: local\n", &self.targets());
        stack
    }
}

/// One HTTP/1.1 request with a JSON body: the status and the JSON answer (Null if none).
fn call(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    common::http::http(server, method, path, "application/json", body.as_bytes())
}

/// GET a list and its `key` items, every page.
fn list(server: &Server, path: &str, key: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let p = match &token {
            Some(t) => format!("{path}{sep}pageToken={t}"),
            None => path.to_string(),
        };
        let (status, v) = call(server, "GET", &p, None);
        assert_eq!(status, 200, "GET {p}: {v}");
        out.extend(v[key].as_array().cloned().unwrap_or_default());
        match v["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_string()),
            None => return out,
        }
    }
}

fn compute(g: &Gcp, collection: &str) -> Vec<Value> {
    list(
        &g.contract,
        &format!("/compute/v1/projects/{PROJECT}/{collection}"),
        "items",
    )
}

fn buckets(g: &Gcp) -> Vec<Value> {
    list(
        &g.drongo,
        &format!("/storage/v1/b?project={PROJECT}"),
        "items",
    )
}

fn objects(g: &Gcp, bucket: &str) -> Vec<Value> {
    list(&g.drongo, &format!("/storage/v1/b/{bucket}/o"), "items")
}

fn functions(g: &Gcp) -> Vec<Value> {
    list(
        &g.contract,
        &format!("/v2/projects/{PROJECT}/locations/{REGION}/functions"),
        "functions",
    )
}

fn topics(g: &Gcp) -> Vec<Value> {
    list(
        &g.pubsub,
        &format!("/v1/projects/{PROJECT}/topics"),
        "topics",
    )
}

fn subscriptions(g: &Gcp) -> Vec<Value> {
    list(
        &g.pubsub,
        &format!("/v1/projects/{PROJECT}/subscriptions"),
        "subscriptions",
    )
}

fn sql_instances(g: &Gcp) -> Vec<Value> {
    list(
        &g.contract,
        &format!("/v1/projects/{PROJECT}/instances"),
        "items",
    )
}

fn scheduler_jobs(g: &Gcp) -> Vec<Value> {
    list(
        &g.contract,
        &format!("/v1/projects/{PROJECT}/locations/{REGION}/jobs"),
        "jobs",
    )
}

fn name_of(v: &Value) -> String {
    let n = v["name"].as_str().unwrap_or_default();
    n.rsplit('/').next().unwrap_or(n).to_string()
}

/// Whether a resource's owner labels say the quickstart owns it: `labels`, Cloud SQL's
/// `settings.userLabels`, or (load-balancing resources have no labels) the owner in the
/// `description`.
fn owned(v: &Value) -> bool {
    [&v["labels"], &v["settings"]["userLabels"]]
        .iter()
        .any(|l| l["overcast-stack"] == STACK)
        || v["description"]
            .as_str()
            .is_some_and(|d| d.contains(&format!("overcast-stack={STACK}")))
}

/// Every live resource of the project on the three servers, as `collection/name`, with
/// whether it carries the quickstart's labels. Collections without labels (Pub/Sub
/// subscriptions on the emulator keep them; objects do not have any) are listed whole.
fn live(g: &Gcp) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for b in buckets(g) {
        let bn = name_of(&b);
        for o in objects(g, &bn) {
            out.push((
                format!("object/{bn}/{}", o["name"].as_str().unwrap_or("")),
                owned(&b),
            ));
        }
        out.push((format!("bucket/{bn}"), owned(&b)));
    }
    for (c, items) in [
        ("topic", topics(g)),
        ("subscription", subscriptions(g)),
        ("function", functions(g)),
        ("sql", sql_instances(g)),
        ("job", scheduler_jobs(g)),
        ("instance", compute(g, &format!("zones/{ZONE}/instances"))),
        ("firewall", compute(g, "global/firewalls")),
        ("network", compute(g, "global/networks")),
        ("backendBucket", compute(g, "global/backendBuckets")),
        ("urlMap", compute(g, "global/urlMaps")),
        ("targetHttpProxy", compute(g, "global/targetHttpProxies")),
        ("forwardingRule", compute(g, "global/forwardingRules")),
    ] {
        for i in items {
            out.push((format!("{c}/{}", name_of(&i)), owned(&i)));
        }
    }
    out
}

/// The stack's live resources: labelled, or inside a labelled bucket; the project's
/// `default` network is not the stack's.
fn leftovers(g: &Gcp) -> Vec<String> {
    live(g)
        .into_iter()
        .filter(|(n, owned)| *owned || (n.starts_with("network/") && n != "network/default"))
        .map(|(n, _)| n)
        .collect()
}

/// The base64 MD5 of a file's bytes (drongo computes its `md5Hash` from what it received).
fn md5_b64(bytes: &[u8]) -> String {
    overcast_gcp::objects::md5_base64(bytes)
}

fn the_one<'a>(items: &'a [Value], what: &str) -> &'a Value {
    let own: Vec<&Value> = items.iter().filter(|v| owned(v)).collect();
    assert_eq!(own.len(), 1, "one {what} of the quickstart: {items:#?}");
    own[0]
}

/// The site bucket (not the functions' staging bucket).
fn site_bucket(g: &Gcp) -> Value {
    let all = buckets(g);
    let bs: Vec<&Value> = all
        .iter()
        .filter(|b| owned(b) && b["labels"]["overcast-resource"] == "site_2ebucket")
        .collect();
    assert_eq!(bs.len(), 1, "one site bucket: {all:#?}");
    bs[0].clone()
}

fn plan_exit(stack: &TestStack) -> (Option<i32>, String) {
    let r = stack.run(&["plan", "--detailed-exitcode"]);
    (r.code(), r.all())
}

fn function_env(g: &Gcp) -> Value {
    let fns = functions(g);
    the_one(&fns, "function")["serviceConfig"]["environmentVariables"].clone()
}

#[test]
fn the_quickstart_on_gcp_applies_updates_replaces_repairs_drift_and_destroys() {
    let g = Gcp::start(1);
    let stack = g.quickstart();
    stack.ok(&["apply", "--auto-approve"]);

    // 1. Every resource, through the servers' own APIs.
    // The site bucket holds the site's files, byte for byte (MD5s).
    let site = site_bucket(&g);
    let bucket = name_of(&site);
    let site_dir = stack.path().join("site");
    let mut want: Vec<(String, String)> = common::files_under(&site_dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(site_dir.join(&rel)).expect("read site file");
            (rel.to_string_lossy().replace('\\', "/"), md5_b64(&bytes))
        })
        .collect();
    want.sort();
    let mut got: Vec<(String, String)> = objects(&g, &bucket)
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default().to_string(),
                o["md5Hash"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, want, "the site's objects in {bucket}");

    // The CDN chain: backend bucket on the site bucket, URL map, proxy, forwarding rule.
    let bbs = compute(&g, "global/backendBuckets");
    let bb = the_one(&bbs, "backend bucket");
    assert_eq!(bb["bucketName"], bucket.as_str());
    assert_eq!(bb["enableCdn"], true);
    the_one(&compute(&g, "global/urlMaps"), "url map");
    the_one(&compute(&g, "global/targetHttpProxies"), "proxy");
    the_one(&compute(&g, "global/forwardingRules"), "forwarding rule");

    // The queue: topic + subscription with its dead-letter topic (and its subscription).
    let ts = topics(&g);
    assert_eq!(
        ts.iter().filter(|t| owned(t)).count(),
        2,
        "the queue's topic and its dead-letter topic: {ts:#?}"
    );
    let subs = subscriptions(&g);
    let main = subs
        .iter()
        .find(|s| s["deadLetterPolicy"].is_object())
        .unwrap_or_else(|| panic!("a subscription with a dead-letter policy: {subs:#?}"));
    assert_eq!(main["ackDeadlineSeconds"], 30);
    assert_eq!(main["deadLetterPolicy"]["maxDeliveryAttempts"], 5);
    assert!(owned(main), "{main}");

    // Cloud SQL: the instance, its database and its user.
    let sqls = sql_instances(&g);
    let sql = the_one(&sqls, "Cloud SQL instance").clone();
    let sql_name = name_of(&sql);
    assert!(
        sql["databaseVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("POSTGRES_")),
        "{sql}"
    );
    let dbs = list(
        &g.contract,
        &format!("/v1/projects/{PROJECT}/instances/{sql_name}/databases"),
        "items",
    );
    assert!(
        dbs.iter().any(|d| d["name"] == "quickstart"),
        "the database: {dbs:#?}"
    );
    let users = list(
        &g.contract,
        &format!("/v1/projects/{PROJECT}/instances/{sql_name}/users"),
        "items",
    );
    assert!(!users.is_empty(), "a user: {users:#?}");

    // The function, with its environment resolved from the database and the queue.
    let env = function_env(&g);
    assert_eq!(env["GREETING"], "Hello", "{env}");
    assert_eq!(env["DB_ENGINE"], "postgres", "{env}");
    assert!(
        env["DB_ENDPOINT"].as_str().is_some_and(|e| !e.is_empty()),
        "{env}"
    );
    assert!(
        env["QUEUE_URL"].as_str().is_some_and(|e| !e.is_empty()),
        "{env}"
    );

    // The instance, its firewall rule (port 8080) and the stack's network.
    let instances = compute(&g, &format!("zones/{ZONE}/instances"));
    let instance = the_one(&instances, "instance").clone();
    let fws = compute(&g, "global/firewalls");
    let fw = the_one(&fws, "firewall").clone();
    assert!(fw.to_string().contains("8080"), "{fw}");
    let nets: Vec<Value> = compute(&g, "global/networks")
        .into_iter()
        .filter(|n| n["name"] != "default")
        .collect();
    assert_eq!(nets.len(), 1, "the stack's network: {nets:#?}");
    let before = leftovers(&g);

    // 2. Nothing to do right after.
    let (code, out) = plan_exit(&stack);
    assert_eq!(
        code,
        Some(0),
        "a plan right after apply changes nothing:\n{out}"
    );

    // 3. In place: the function's environment changes, nothing is replaced.
    stack.ok(&["apply", "--auto-approve", "--var", "greeting=Howdy"]);
    assert_eq!(function_env(&g)["GREETING"], "Howdy");
    assert_eq!(
        leftovers(&g),
        before,
        "the same resources after an in-place update"
    );
    stack.edit("default: Hello", "default: Howdy");
    let (code, out) = plan_exit(&stack);
    assert_eq!(code, Some(0), "{out}");

    // 4. Replace: another image makes another instance; the old one is gone.
    stack.edit("    size: nano\n", "    size: nano\n    image: debian-12\n");
    stack.ok(&["apply", "--auto-approve"]);
    let now = compute(&g, &format!("zones/{ZONE}/instances"));
    let replaced = the_one(&now, "instance");
    assert_ne!(replaced["id"], instance["id"], "a new instance");
    assert!(
        !now.iter().any(|i| i["id"] == instance["id"]),
        "the old instance is gone: {now:#?}"
    );
    let (code, out) = plan_exit(&stack);
    assert_eq!(code, Some(0), "{out}");

    // 5. Drift, made through the servers' own APIs.
    let instance = replaced.clone();
    let iname = name_of(&instance);
    let first = &want[0].0;
    let (s, v) = call(
        &g.drongo,
        "DELETE",
        &format!("/storage/v1/b/{bucket}/o/{}", first.replace('/', "%2F")),
        None,
    );
    assert!(s == 204 || s == 200, "delete {first}: {s} {v}");
    // The startup script, changed through setMetadata with the instance's fingerprint.
    let (s, v) = call(
        &g.contract,
        "POST",
        &format!("/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances/{iname}/setMetadata"),
        Some(&json!({
            "fingerprint": instance["metadata"]["fingerprint"],
            "items": [{"key": "startup-script", "value": "echo drifted"}],
        })),
    );
    assert_eq!(s, 200, "setMetadata: {v}");
    wait_op(&g, &v);
    let fwname = name_of(&fw);
    let (s, v) = call(
        &g.contract,
        "PATCH",
        &format!("/compute/v1/projects/{PROJECT}/global/firewalls/{fwname}"),
        Some(&json!({"allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]})),
    );
    assert_eq!(s, 200, "patch firewall: {v}");
    wait_op(&g, &v);
    let (code, out) = plan_exit(&stack);
    assert_eq!(code, Some(2), "the plan sees the drift:\n{out}");
    for what in ["site", "api"] {
        assert!(out.contains(what), "the plan names {what}:\n{out}");
    }
    stack.ok(&["apply", "--auto-approve"]);
    let (code, out) = plan_exit(&stack);
    assert_eq!(code, Some(0), "repaired:\n{out}");
    assert!(
        objects(&g, &bucket)
            .iter()
            .any(|o| o["name"] == first.as_str()),
        "{first} is back"
    );
    let inst = compute(&g, &format!("zones/{ZONE}/instances"));
    let inst = the_one(&inst, "instance");
    assert_eq!(inst["name"], iname.as_str());
    assert!(
        inst["metadata"].to_string().contains("api listening on"),
        "the startup script is back: {inst}"
    );
    let fws = compute(&g, "global/firewalls");
    assert!(the_one(&fws, "firewall").to_string().contains("8080"));

    // 6. Destroy: nothing of the quickstart is left anywhere.
    stack.ok(&["destroy", "--auto-approve"]);
    let left = leftovers(&g);
    assert!(left.is_empty(), "left after destroy: {left:#?}");
    assert!(sql_instances(&g).is_empty() && functions(&g).is_empty());
}

/// Wait until the contract server's operation `op` (a compute answer) is DONE, reading it
/// through its own API.
fn wait_op(g: &Gcp, op: &Value) {
    let name = op["name"].as_str().expect("an operation");
    let path = if op["zone"].is_string() {
        format!("/compute/v1/projects/{PROJECT}/zones/{ZONE}/operations/{name}")
    } else {
        format!("/compute/v1/projects/{PROJECT}/global/operations/{name}")
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let (s, v) = call(&g.contract, "GET", &path, None);
        assert_eq!(s, 200, "GET {path}: {v}");
        if v["status"] == "DONE" {
            assert!(v["error"].is_null(), "{v}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{path} is not DONE after 20s");
}

/// The contract server's request log, one line a request.
fn request_log(g: &Gcp) -> Vec<String> {
    let (_, log) = call(&g.contract, "GET", "/__contract/requests", None);
    log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["method"], r["path"], r["query"], r["status"]
            )
        })
        .collect()
}

/// The inserts the contract server answered 409 (a name taken).
fn conflicts(g: &Gcp) -> usize {
    let (_, v) = call(&g.contract, "GET", "/__contract/requests", None);
    v["requests"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["method"] == "POST" && r["status"] == 409)
                .count()
        })
        .unwrap_or(0)
}

/// The mutating requests the contract server has seen.
fn inserts(g: &Gcp) -> usize {
    let (_, v) = call(&g.contract, "GET", "/__contract/requests", None);
    v["requests"]
        .as_array()
        .map(|a| a.iter().filter(|r| r["method"] == "POST").count())
        .unwrap_or(0)
}

#[test]
fn kill_9_in_the_middle_of_a_gcp_apply_then_apply_again_leaves_no_duplicate_nor_orphan() {
    // Slow operations: the kill lands while the server still runs one.
    let g = Gcp::start(20);
    let stack = g.quickstart();
    let mut child = stack
        .command(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start apply");
    let started = common::wait_until(Duration::from_secs(60), || inserts(&g) >= 1);
    // Child::kill is SIGKILL to exactly this PID.
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(
        started,
        "the apply reached the contract server before the kill"
    );

    // Resume at once, while the killed run's operation is still running: the resumed
    // apply meets its name taken by an insert that has not finished. Then time passes on
    // the server (every operation still running finishes, as Compute finishes what it
    // accepted), and the resumed apply adopts what the killed run made.
    let (s, v) = call(
        &g.contract,
        "POST",
        "/__contract/config",
        Some(&json!({"polls": 1})),
    );
    assert_eq!(s, 200, "{v}");
    let resumed = stack
        .command(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the resumed apply");
    common::wait_until(Duration::from_secs(30), || conflicts(&g) >= 1);
    let (s, v) = call(&g.contract, "POST", "/__contract/settle", None);
    assert_eq!(s, 200, "{v}");
    let r = common::Run(resumed.wait_with_output().expect("resumed apply"));
    if r.code() != Some(0) {
        panic!(
            "the resumed apply failed:\n{}\nrequests:\n{}",
            r.all(),
            request_log(&g).join("\n")
        );
    }

    // Recovery probed only real names: no unknown value ever went into a request path.
    let log = request_log(&g);
    assert!(
        !log.iter().any(|l| l.contains("%1F") || l.contains("known")),
        "a request named a value not known yet:\n{}",
        log.join("\n")
    );

    // No duplicate: one of each per name.
    for (what, items) in [
        ("instance", compute(&g, &format!("zones/{ZONE}/instances"))),
        ("firewall", compute(&g, "global/firewalls")),
        ("sql instance", sql_instances(&g)),
        ("function", functions(&g)),
        ("backend bucket", compute(&g, "global/backendBuckets")),
        ("url map", compute(&g, "global/urlMaps")),
        ("proxy", compute(&g, "global/targetHttpProxies")),
        ("forwarding rule", compute(&g, "global/forwardingRules")),
    ] {
        the_one(&items, what);
    }
    let nets: Vec<Value> = compute(&g, "global/networks")
        .into_iter()
        .filter(|n| n["name"] != "default")
        .collect();
    assert_eq!(nets.len(), 1, "one network: {nets:#?}");

    // No orphan: every labelled live resource is in state (compared by name).
    let r = stack.ok(&["state", "list", "--json"]);
    let state: Value = serde_json::from_str(r.stdout().trim()).expect("state json");
    let in_state: BTreeSet<String> = state
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .map(|id| id.rsplit('/').next().unwrap_or(id).to_string())
        .collect();
    let live_owned: BTreeSet<String> = leftovers(&g)
        .into_iter()
        .filter(|n| !n.starts_with("object/"))
        .map(|n| n.rsplit('/').next().unwrap_or(&n).to_string())
        .collect();
    let orphans: Vec<&String> = live_owned.difference(&in_state).collect();
    assert!(
        orphans.is_empty(),
        "live but not in state: {orphans:?}\nstate: {in_state:?}"
    );
    let (code, out) = plan_exit(&stack);
    assert_eq!(code, Some(0), "converged:\n{out}");

    stack.ok(&["destroy", "--auto-approve"]);
    let left = leftovers(&g);
    assert!(left.is_empty(), "left after destroy: {left:#?}");
}
