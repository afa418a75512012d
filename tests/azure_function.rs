//! Functions on Azure (a Linux function app on a Consumption plan, run from its package)
//! against servers on 127.0.0.1, started and stopped (by PID) by these tests: the ARM
//! contract server (tests/azure_server) serves Resource Manager (Microsoft.Web plans and
//! sites, storage accounts and their keys, Service Bus and its rules' keys, bodies checked
//! against the published 2024-04-01 schemas, creates that take polls, no runtime); Azurite
//! serves the blob data plane the packages go to.
//!
//! What is proven: the conformance suite for an http function (an in-place update of
//! `env`, a replacement from Python to Node.js) and a schedule function (a new schedule in
//! place); each trigger's package in Azurite, fetched through the URL the app runs from
//! (its SAS reads and does not write), is a zip with the source, `host.json`, the generated
//! entry file and a `function.json` whose binding is the trigger's (http, timer in
//! NCRONTAB, Service Bus with sessions and the namespace's connection, blob on the storage
//! resource's container with its account's connection); a changed source is drift, an
//! update deploys a new package and drops the old; invoking against the test server is
//! refused; and a stack goes through the `overcast` binary (apply, a no-op plan, a new
//! source, destroy) with no tagged resource and no package left behind.
//!
//! What cannot be proven here: that Azure Functions runs the package (nothing runs), and
//! Azure's own checks of the SAS and of `linuxFxVersion` beyond what the server models.
#![cfg(feature = "azure")]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::TestStack;
use common::servers::{Azurite, Server, start_azure_contract, start_azurite};
use overcast_core::conformance::{self, Case, Target};
use overcast_core::kinds::{Kind, Properties};
use overcast_core::native::{CreateRequest, NativeSpec, OwnerTags};
use overcast_core::provider::ProviderContext;
use overcast_core::refs::{self, Lookup, Ref, RefError};
use overcast_core::{AbstractResource, Attrs, NativeAddr, NativeState, OpContext, Provider};
use serde_json::{Value, json};

const POLLS: u32 = 2;
/// ARM subscription ids are GUIDs (the contract server refuses anything else).
const SUBSCRIPTION: &str = "00000000-0000-4000-8000-0000000000f1";
const TARGET: &str = "azure";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

// ---------------------------------------------------------------------------------------
// HTTP by hand: ARM's answers through the contract server, blobs through Azurite.

/// One HTTP/1.1 request on 127.0.0.1:`port`: (status, body bytes).
fn http(port: u16, method: &str, target: &str, headers: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("send");
    s.write_all(body).expect("send the body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

/// Undo `Transfer-Encoding: chunked`.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        raw = &raw[eol + 2..];
        out.extend_from_slice(&raw[..size.min(raw.len())]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
    out
}

/// An ARM call to the contract server: (status, JSON body).
fn arm(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let payload = body.map(Value::to_string).unwrap_or_default();
    let (status, bytes) = http(
        server.port,
        method,
        path,
        "Authorization: Bearer test\r\nContent-Type: application/json\r\n",
        payload.as_bytes(),
    );
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A function app's app settings, through ARM.
fn app_settings(server: &Server, app_id: &str) -> BTreeMap<String, String> {
    let (status, body) = arm(
        server,
        "POST",
        &format!("{app_id}/config/appsettings/list?api-version=2024-04-01"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body["properties"].clone()).expect("settings")
}

/// GET an `http://127.0.0.1:<port>/...` URL (Azurite's, with its SAS).
fn get_url(url: &str) -> (u16, Vec<u8>) {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .expect("an Azurite URL");
    let (port, target) = rest.split_at(rest.find('/').expect("a path"));
    http(
        port.parse().expect("a port"),
        "GET",
        target,
        "x-ms-version: 2022-11-02\r\n",
        b"",
    )
}

/// The entries of a zip, read by Python's zipfile (another implementation than the one
/// that wrote it): name → text.
fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("package.zip");
    std::fs::write(&path, bytes).expect("write the zip");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             assert z.testzip() is None\n\
             print(json.dumps({n: z.read(n).decode('utf-8', 'replace') for n in z.namelist()}))",
        ])
        .arg(&path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "not a valid zip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the entries")
}

// ---------------------------------------------------------------------------------------
// The provider, its sources, and natives made as the engine makes them.

/// A spec directory with a Python source (`src`) and a Node.js one (`nodesrc`).
fn sources() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "src/main.py",
        "def handler(event, context):\n    return {\"ok\": True, \"event\": event}\n",
    );
    write(
        "nodesrc/index.js",
        "exports.handler = async (event, context) => ({ ok: true, event });\n",
    );
    dir
}

fn provider(
    server: &Server,
    azurite: &Azurite,
    stack: &str,
    spec_dir: &Path,
) -> overcast_azure::AzureProvider {
    let settings = json!({
        "subscription_id": SUBSCRIPTION,
        "location": "westeurope",
        "arm_endpoint": server.endpoint,
        "blob_endpoint": azurite.blob_endpoint,
    });
    overcast_azure::AzureProvider::new(ProviderContext {
        stack: stack.into(),
        target: TARGET.into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: spec_dir.to_path_buf(),
        work_dir: spec_dir.to_path_buf(),
    })
    .expect("provider")
}

fn request(
    stack: &str,
    addr: NativeAddr,
    kind: Kind,
    spec: &NativeSpec,
    inputs: Attrs,
) -> CreateRequest {
    CreateRequest {
        owner: OwnerTags {
            stack: stack.into(),
            target: TARGET.into(),
            resource: addr.to_string(),
        },
        addr,
        kind,
        type_name: spec.type_name.clone(),
        inputs,
        secrets: Default::default(),
    }
}

/// Create the target's own natives (its resource group) as the engine would first.
async fn create_target(p: &overcast_azure::AzureProvider, stack: &str) {
    for spec in p.expand_target().expect("target natives") {
        let addr = NativeAddr::new(format!("@{TARGET}"), spec.local.clone());
        let req = request(stack, addr, Kind::Target, &spec, spec.inputs.clone());
        p.create(&OpContext::detached("target"), &req)
            .await
            .expect("create the resource group");
    }
}

/// The inputs of `spec` with its references resolved against `states`.
fn resolve(spec: &NativeSpec, states: &[NativeState]) -> Attrs {
    let mut lookup = |r: &Ref| -> Result<Lookup, RefError> {
        match r {
            Ref::Native {
                resource,
                local,
                attr,
            } => Ok(states
                .iter()
                .find(|s| s.addr.resource == *resource && s.addr.local == *local)
                .map_or(Lookup::Unknown, |s| {
                    Lookup::Known(
                        s.outputs
                            .get(attr)
                            .or_else(|| s.inputs.get(attr))
                            .cloned()
                            .unwrap_or(Value::Null),
                    )
                })),
            other => panic!("unexpected reference {other}"),
        }
    };
    spec.inputs
        .iter()
        .map(|(k, v)| (k.clone(), refs::resolve(v, &mut lookup).expect("resolve")))
        .collect()
}

/// Expand and create a resource's natives in order, as the engine would; their states.
async fn create_resource(
    p: &overcast_azure::AzureProvider,
    stack: &str,
    name: &str,
    kind: Kind,
    props: Value,
    done: &mut Vec<NativeState>,
) -> Vec<NativeState> {
    let referenced = done
        .iter()
        .map(|s| (s.addr.resource.clone(), s.kind))
        .collect();
    let res = AbstractResource {
        name: name.into(),
        properties: Properties::from_value(kind, props).expect("properties"),
        referenced_kinds: referenced,
    };
    let mut mine = Vec::new();
    for spec in p.expand(&res).expect("expand") {
        let inputs = resolve(&spec, done);
        let addr = NativeAddr::new(name, spec.local.clone());
        let req = request(stack, addr.clone(), kind, &spec, inputs.clone());
        let obs = p
            .create(&OpContext::detached("create"), &req)
            .await
            .unwrap_or_else(|e| panic!("create {addr}: {}", e.to_report()));
        let mut st = NativeState::new(addr, kind, &spec.type_name, obs.id);
        st.inputs = inputs;
        st.outputs = obs.outputs;
        st.force_new = spec.force_new.clone();
        done.push(st.clone());
        mine.push(st);
    }
    mine
}

fn app_of(states: &[NativeState]) -> &NativeState {
    states
        .iter()
        .find(|s| s.addr.local == "app")
        .expect("the app native")
}

/// The package an app runs from: its URL (with the SAS) and its entries.
fn package_of(server: &Server, app: &NativeState) -> (String, BTreeMap<String, String>) {
    let settings = app_settings(server, &app.id);
    let url = settings
        .get("WEBSITE_RUN_FROM_PACKAGE")
        .cloned()
        .expect("WEBSITE_RUN_FROM_PACKAGE");
    let (status, bytes) = get_url(&url);
    assert_eq!(
        status,
        200,
        "the package at {url}: {}",
        String::from_utf8_lossy(&bytes)
    );
    (url, unzip(&bytes))
}

fn json_entry(entries: &BTreeMap<String, String>, name: &str) -> Value {
    serde_json::from_str(
        entries
            .get(name)
            .unwrap_or_else(|| panic!("{name} in {:?}", entries.keys())),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---------------------------------------------------------------------------------------

#[test]
fn the_function_kind_passes_the_conformance_suite_on_the_contract_server_and_azurite() {
    let server = start_azure_contract(POLLS);
    let azurite = start_azurite();
    let dir = sources();
    let cases = vec![
        Case::new(
            "api",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "src",
                   "env": {"GREETING": "hi"}}),
        )
        .expect("case")
        // env is an app setting: the app is updated in place.
        .with_update(
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "src",
                            "env": {"GREETING": "hello"}, "timeout": 60}),
        )
        .expect("update")
        // Azure Functions does not change the language of an app: a new app.
        .with_replace(
            json!({"runtime": "nodejs20", "handler": "index.handler", "source": "nodesrc",
                             "env": {"GREETING": "hello"}}),
        )
        .expect("replace"),
        Case::new(
            "tick",
            Kind::Function,
            json!({"runtime": "python3.11", "handler": "main.handler", "source": "src",
                   "trigger": {"type": "schedule", "schedule": "every 5m"}}),
        )
        .expect("case")
        // A new schedule is a new function.json: a new package, in place.
        .with_update(
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "src",
                            "trigger": {"type": "schedule", "schedule": "0 12 * * MON-FRI"}}),
        )
        .expect("update"),
    ];
    let failures = rt().block_on(async {
        let p = provider(&server, &azurite, "conform", dir.path());
        create_target(&p, "conform").await;
        let target = Target {
            stack: "conform".into(),
            target: TARGET.into(),
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
        "the function kind fails the conformance suite:\n  {}\nserver:\n{}",
        failures.join("\n  "),
        server.output_tail()
    );
}

#[test]
fn each_trigger_has_its_binding_in_the_package_the_app_runs_from() {
    let server = start_azure_contract(POLLS);
    let azurite = start_azurite();
    let dir = sources();
    let stack = "pkgs";
    let rt = rt();
    let p = provider(&server, &azurite, stack, dir.path());
    let ctx = OpContext::detached("pkgs");
    let mut done = Vec::new();
    let (api, tick, work, blobs, jobs, site) = rt.block_on(async {
        create_target(&p, stack).await;
        let jobs = create_resource(
            &p,
            stack,
            "jobs",
            Kind::Queue,
            json!({"ordered": true}),
            &mut done,
        )
        .await;
        let site = create_resource(&p, stack, "site", Kind::Storage, json!({}), &mut done).await;
        let f = |trigger: Value| {
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "src",
                   "timeout": 120, "trigger": trigger})
        };
        let api = create_resource(
            &p,
            stack,
            "api",
            Kind::Function,
            f(json!({"type": "http"})),
            &mut done,
        )
        .await;
        let tick = create_resource(
            &p,
            stack,
            "tick",
            Kind::Function,
            f(json!({"type": "schedule", "schedule": "every 5m"})),
            &mut done,
        )
        .await;
        let work = create_resource(
            &p,
            stack,
            "work",
            Kind::Function,
            f(json!({"type": "queue", "source": "${jobs}"})),
            &mut done,
        )
        .await;
        let blobs = create_resource(
            &p,
            stack,
            "blobs",
            Kind::Function,
            f(json!({"type": "storage", "source": "${site}"})),
            &mut done,
        )
        .await;
        (api, tick, work, blobs, jobs, site)
    });

    // http: an anonymous trigger at /api/<function>, answered through the entry file.
    let app = app_of(&api);
    let (url, entries) = package_of(&server, app);
    for name in [
        "main.py",
        "host.json",
        "overcast_entry.py",
        "api/function.json",
    ] {
        assert!(entries.contains_key(name), "{name} in {:?}", entries.keys());
    }
    let host = json_entry(&entries, "host.json");
    assert_eq!(host["version"], "2.0");
    assert_eq!(host["functionTimeout"], "00:02:00");
    assert_eq!(
        host["extensionBundle"]["id"],
        "Microsoft.Azure.Functions.ExtensionBundle"
    );
    let f = json_entry(&entries, "api/function.json");
    assert_eq!(f["scriptFile"], "../overcast_entry.py");
    assert_eq!(f["entryPoint"], "http");
    assert_eq!(f["bindings"][0]["type"], "httpTrigger");
    assert_eq!(f["bindings"][0]["authLevel"], "anonymous");
    assert!(
        entries["overcast_entry.py"].contains("importlib.import_module(\"main\"), \"handler\""),
        "{}",
        entries["overcast_entry.py"]
    );
    let host_name = app.outputs["host"].as_str().expect("host");
    assert!(host_name.ends_with(".azurewebsites.net"), "{host_name}");
    assert_eq!(
        app.outputs["url"],
        json!(format!("https://{host_name}/api/api"))
    );
    let settings = app_settings(&server, &app.id);
    assert_eq!(settings["FUNCTIONS_EXTENSION_VERSION"], "~4");
    assert_eq!(settings["FUNCTIONS_WORKER_RUNTIME"], "python");
    assert!(settings["AzureWebJobsStorage"].contains(&format!(
        "AccountName={}",
        app.inputs["storage_account"].as_str().expect("account")
    )));
    // The package's SAS reads; it does not write.
    let target = url
        .strip_prefix("http://127.0.0.1:")
        .expect("Azurite")
        .split_once('/')
        .expect("path")
        .1;
    let (status, _) = http(
        azurite.server.port,
        "PUT",
        &format!("/{target}"),
        "x-ms-version: 2022-11-02\r\nx-ms-blob-type: BlockBlob\r\n",
        b"overwritten",
    );
    assert_eq!(status, 403, "a read-only SAS refuses a write");
    let (_, site_live) = arm(
        &server,
        "GET",
        &format!("{}?api-version=2024-04-01", app.id),
        None,
    );
    assert_eq!(
        site_live["properties"]["siteConfig"]["linuxFxVersion"],
        "Python|3.12"
    );
    assert_eq!(site_live["kind"], "functionapp,linux");

    // schedule: a timer in NCRONTAB (seconds first), UTC.
    let (_, entries) = package_of(&server, app_of(&tick));
    let f = json_entry(&entries, "tick/function.json");
    assert_eq!(f["entryPoint"], "schedule");
    assert_eq!(f["bindings"][0]["type"], "timerTrigger");
    assert_eq!(f["bindings"][0]["schedule"], "0 */5 * * * *");
    assert_eq!(app_of(&tick).outputs["url"], Value::Null);

    // queue: Service Bus, sessions on an ordered queue, the namespace's connection.
    let queue = jobs
        .iter()
        .find(|s| s.addr.local == "queue")
        .expect("queue");
    let namespace = jobs
        .iter()
        .find(|s| s.addr.local == "namespace")
        .expect("ns");
    let (_, entries) = package_of(&server, app_of(&work));
    let f = json_entry(&entries, "work/function.json");
    let b = &f["bindings"][0];
    assert_eq!(b["type"], "serviceBusTrigger");
    assert_eq!(b["queueName"], queue.inputs["name"]);
    assert_eq!(b["isSessionsEnabled"], true);
    assert_eq!(b["connection"], "OVERCAST_SERVICEBUS");
    let settings = app_settings(&server, &app_of(&work).id);
    let ns = namespace.inputs["name"].as_str().expect("ns name");
    assert!(
        settings["OVERCAST_SERVICEBUS"].starts_with(&format!(
            "Endpoint=sb://{ns}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
        )),
        "{}",
        settings["OVERCAST_SERVICEBUS"]
    );

    // storage: a blob trigger on the storage resource's container, its account's connection.
    let account = site
        .iter()
        .find(|s| s.addr.local == "account")
        .expect("account");
    let container = site
        .iter()
        .find(|s| s.addr.local == "container")
        .expect("container");
    let (_, entries) = package_of(&server, app_of(&blobs));
    let f = json_entry(&entries, "blobs/function.json");
    let b = &f["bindings"][0];
    assert_eq!(b["type"], "blobTrigger");
    assert_eq!(
        b["path"],
        json!(format!(
            "{}/{{name}}",
            container.inputs["name"].as_str().expect("name")
        ))
    );
    assert_eq!(b["connection"], "OVERCAST_BLOB");
    let settings = app_settings(&server, &app_of(&blobs).id);
    assert!(settings["OVERCAST_BLOB"].contains(&format!(
        "AccountName={}",
        account.inputs["name"].as_str().expect("account name")
    )));

    // A new source is drift; the update deploys a new package and drops the old one.
    let app = app_of(&api).clone();
    let (old_url, _) = package_of(&server, &app);
    std::fs::write(
        dir.path().join("src/main.py"),
        "def handler(event, context):\n    return {\"ok\": 2}\n",
    )
    .expect("edit the source");
    rt.block_on(async {
        let live = p.read(&ctx, &app).await.expect("read").expect("there");
        assert_eq!(live.inputs["code_in_sync"], false, "a new source is drift");
        let obs = p.update(&ctx, &app, &app.inputs).await.expect("update");
        assert_ne!(obs.outputs["package"], app.outputs["package"]);
        let live = p.read(&ctx, &app).await.expect("read").expect("there");
        assert_eq!(live.inputs, app.inputs, "in sync after the update");
    });
    let (new_url, entries) = package_of(&server, &app);
    assert_ne!(old_url, new_url);
    assert!(entries["main.py"].contains("\"ok\": 2"));
    assert_eq!(get_url(&old_url).0, 404, "the old package is deleted");

    // No runtime on a test server: invoking is refused, and says why.
    let err = rt
        .block_on(p.invoke(&ctx, &app, json!({"a": 1})))
        .expect_err("refused");
    assert!(err.message.contains("test server"), "{}", err.message);
    let err = rt
        .block_on(p.invoke(&ctx, app_of(&tick), json!({})))
        .expect_err("refused");
    assert!(err.message.contains("cannot be invoked"), "{}", err.message);

    // Deleting the natives (in reverse) leaves no package behind.
    rt.block_on(async {
        for st in done.iter().rev() {
            p.delete(&ctx, st)
                .await
                .unwrap_or_else(|e| panic!("delete {}: {}", st.addr, e.to_report()));
        }
    });
    assert_eq!(
        get_url(&new_url).0,
        404,
        "the package is deleted with its app"
    );
}

/// Every resource of the subscription that carries the stack's tag, through ARM's generic
/// list (not overcast's state).
fn tagged(server: &Server, stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = format!(
        "/subscriptions/{SUBSCRIPTION}/resources?api-version=2022-09-01&$filter=tagName%20eq%20%27overcast:stack%27%20and%20tagValue%20eq%20%27{stack}%27"
    );
    loop {
        let (status, page) = arm(server, "GET", &path, None);
        assert_eq!(status, 200, "{page}");
        for item in page["value"].as_array().into_iter().flatten() {
            out.push(item["id"].as_str().unwrap_or_default().to_string());
        }
        match page["nextLink"].as_str() {
            Some(next) => path = next.trim_start_matches(&server.endpoint).to_string(),
            None => return out,
        }
    }
}

#[test]
fn a_stack_with_functions_applies_plans_clean_redeploys_a_new_source_and_destroys() {
    let server = start_azure_contract(POLLS);
    let azurite = start_azurite();
    let stack = TestStack::yaml(&format!(
        "stack: fntest\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    arm_endpoint: {}\n    blob_endpoint: {}\ndefault_target: azure\n\
         resources:\n  jobs:\n    kind: queue\n    ordered: true\n  \
         work:\n    kind: function\n    runtime: python3.12\n    handler: main.handler\n    source: src\n    \
         trigger:\n      type: queue\n      source: ${{jobs}}\n  \
         api:\n    kind: function\n    runtime: python3.12\n    handler: main.handler\n    source: src\n    \
         env:\n      GREETING: hi\n",
        server.endpoint, azurite.blob_endpoint
    ));
    std::fs::create_dir_all(stack.path().join("src")).expect("mkdir");
    std::fs::write(
        stack.path().join("src/main.py"),
        "def handler(event, context):\n    return event\n",
    )
    .expect("write the source");
    stack.ok(&["apply", "--auto-approve"]);
    let ids = tagged(&server, "fntest");
    let sites: Vec<&String> = ids
        .iter()
        .filter(|i| i.contains("/Microsoft.Web/sites/"))
        .collect();
    let plans = ids
        .iter()
        .filter(|i| i.contains("/Microsoft.Web/serverfarms/"))
        .count();
    assert_eq!((sites.len(), plans), (2, 2), "{ids:?}");
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a no-op plan:\n{}", plan.all());

    // A new source: drift of both functions' code, redeployed in place.
    std::fs::write(
        stack.path().join("src/main.py"),
        "def handler(event, context):\n    return {\"v\": 2}\n",
    )
    .expect("edit the source");
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "a new source shows:\n{}", plan.all());
    stack.ok(&["apply", "--auto-approve"]);
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code(), Some(0));
    let packages: Vec<String> = sites
        .iter()
        .map(|id| app_settings(&server, id)["WEBSITE_RUN_FROM_PACKAGE"].clone())
        .collect();
    for url in &packages {
        let (status, bytes) = get_url(url);
        assert_eq!(status, 200, "{url}");
        assert!(unzip(&bytes)["main.py"].contains("\"v\": 2"));
    }

    // env changes in place.
    stack.edit("      GREETING: hi\n", "      GREETING: hello\n");
    stack.ok(&["apply", "--auto-approve"]);
    let api = sites
        .iter()
        .find(|id| app_settings(&server, id).contains_key("GREETING"))
        .expect("the api app");
    assert_eq!(app_settings(&server, api)["GREETING"], "hello");

    let invoke = stack.run(&["invoke", "api"]);
    assert_ne!(invoke.code(), Some(0), "{}", invoke.all());
    assert!(invoke.all().contains("test server"), "{}", invoke.all());

    stack.ok(&["destroy", "--auto-approve"]);
    assert!(
        tagged(&server, "fntest").is_empty(),
        "nothing tagged is left"
    );
    for url in &packages {
        assert_eq!(get_url(url).0, 404, "no package is left: {url}");
    }
}
