//! The GCP provider's Compute Engine natives (compute: instances, firewall rules and the
//! target's network; cdn: the load balancer over a backend bucket) against the Compute
//! contract-test server (tests/gcp_server), whose operations answer two reads as not DONE
//! (`--polls 2`), so every wait goes through the poller. The conformance suite runs for
//! compute and cdn; the rest checks, in the server's request log, what the provider sent:
//! stop / setMachineType / start for a machine type change, a setLabels retried after a
//! 412, one insert for a retried create, a network refused while in use.
//!
//! Each test starts its own server (port 0, announced) and kills it by PID.
#![cfg(feature = "gcp")]

mod common;

use common::servers::{Server, http_get, start_gcp_contract};
use overcast_core::conformance::{self, Case, Target};
use overcast_core::native::{CreateRequest, NativeAddr, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::{ErrorClass, Kind, NativeState, Provider};
use overcast_gcp::GcpProvider;
use serde_json::{Value, json};

const PROJECT: &str = "overcast-test";
const STACK: &str = "conform";
const TARGET: &str = "gcp";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// An emulator process on a port of its own, killed by PID on drop.
struct Emulator {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `program args(port)` and wait until it accepts connections.
fn emulator(
    what: &str,
    program: std::path::PathBuf,
    args: impl Fn(u16) -> Vec<String>,
) -> Emulator {
    assert!(
        program.exists(),
        "{what} is not installed at {}: run `bash scripts/test.sh`, which installs it",
        program.display()
    );
    let port = common::servers::free_port();
    let child = std::process::Command::new(&program)
        .args(args(port))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let emu = Emulator {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not answer on port {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    emu
}

/// drongo (Cloud Storage) and the Pub/Sub emulator: the conformance suite's discovery step
/// lists every type the provider discovers, buckets and topics included.
fn storage_and_pubsub() -> (Emulator, Emulator) {
    let home = std::env::var("HOME").unwrap_or_default();
    let drongo = std::env::var("OVERCAST_DRONGO").map_or_else(
        |_| std::path::Path::new(&home).join(".cache/overcast/venv-gcp/bin/drongo"),
        std::path::PathBuf::from,
    );
    let pubsub = std::env::var("OVERCAST_PUBSUB_EMULATOR").map_or_else(
        |_| {
            std::path::PathBuf::from(
                "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
            )
        },
        std::path::PathBuf::from,
    );
    (
        emulator("drongo", drongo, |p| {
            vec![
                "server".into(),
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                p.to_string(),
            ]
        }),
        emulator("the Pub/Sub emulator", pubsub, |p| {
            vec!["--host=127.0.0.1".into(), format!("--port={p}")]
        }),
    )
}

fn provider(server: &Server) -> GcpProvider {
    provider_with(server, json!({}))
}

fn provider_with(server: &Server, extra: Value) -> GcpProvider {
    let dir = std::env::temp_dir();
    let mut settings = json!({
        "project": PROJECT,
        "region": "us-central1",
        "zone": "us-central1-a",
        "compute_endpoint": server.endpoint,
    });
    if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    GcpProvider::new(overcast_core::ProviderContext {
        stack: STACK.into(),
        target: TARGET.into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: dir.clone(),
        work_dir: dir,
    })
    .expect("provider")
}

/// Every request the server has seen: {method, path, query, body, status}.
fn requests(server: &Server) -> Vec<Value> {
    let raw = http_get(server.port, "/__contract/requests").expect("the request log");
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let log: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("request log: {e}: {body}"));
    log["requests"].as_array().cloned().unwrap_or_default()
}

/// (method, last path segment, status) of the requests whose path contains `part`.
fn calls(server: &Server, part: &str) -> Vec<(String, String, u64)> {
    requests(server)
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or_default().contains(part))
        .map(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            (
                r["method"].as_str().unwrap_or_default().to_string(),
                path.rsplit('/').next().unwrap_or_default().to_string(),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn owner(resource: &str) -> OwnerTags {
    OwnerTags {
        stack: STACK.into(),
        target: TARGET.into(),
        resource: resource.into(),
    }
}

/// Create the natives of one expansion (the target's network first), as the engine would.
async fn create_native(
    p: &GcpProvider,
    ctx: &OpContext,
    addr: NativeAddr,
    kind: Kind,
    spec: &overcast_core::NativeSpec,
) -> NativeState {
    let req = CreateRequest {
        owner: owner(&addr.to_string()),
        addr: addr.clone(),
        kind,
        type_name: spec.type_name.clone(),
        inputs: spec.inputs.clone(),
        secrets: Default::default(),
    };
    let obs = p
        .create(ctx, &req)
        .await
        .unwrap_or_else(|e| panic!("create {addr}: {}", e.to_report()));
    let mut st = NativeState::new(addr, kind, spec.type_name.clone(), obs.id);
    st.inputs = spec.inputs.clone();
    st.outputs = obs.outputs;
    st
}

async fn network(p: &GcpProvider) -> NativeState {
    let ctx = OpContext::detached("network");
    let resource = p
        .expand(&compute_resource("web", json!({})))
        .expect("expand");
    assert!(!resource.is_empty());
    let specs = p.expand_target().expect("target natives");
    assert_eq!(specs.len(), 1, "one network per target: {specs:?}");
    create_native(
        p,
        &ctx,
        NativeAddr::new(NativeAddr::target_resource(TARGET), "network"),
        Kind::Target,
        &specs[0],
    )
    .await
}

fn compute_resource(name: &str, props: Value) -> overcast_core::AbstractResource {
    overcast_core::AbstractResource {
        name: name.into(),
        properties: overcast_core::kinds::Properties::from_value(Kind::Compute, props)
            .expect("properties"),
        referenced_kinds: Default::default(),
    }
}

/// Expand a compute resource and create its natives (firewall, then instances).
async fn compute(p: &GcpProvider, ctx: &OpContext, name: &str, props: Value) -> Vec<NativeState> {
    let specs = p.expand(&compute_resource(name, props)).expect("expand");
    let mut out = Vec::new();
    for spec in &specs {
        out.push(
            create_native(
                p,
                ctx,
                NativeAddr::new(name, spec.local.clone()),
                Kind::Compute,
                spec,
            )
            .await,
        );
    }
    out
}

#[test]
fn the_gcp_provider_passes_the_conformance_suite_for_compute_and_cdn() {
    let server = start_gcp_contract(2);
    let (storage, pubsub) = storage_and_pubsub();
    let p = provider_with(
        &server,
        json!({"storage_endpoint": storage.endpoint, "pubsub_endpoint": pubsub.endpoint}),
    );
    let case = |name: &str, kind, props| Case::new(name, kind, props).expect("valid properties");
    let cases = vec![
        case(
            "web",
            Kind::Compute,
            json!({"size": "small", "ports": [80], "startup": "echo hello", "count": 2}),
        )
        .with_update(
            json!({"size": "medium", "ports": [80, 443], "startup": "echo bye", "count": 2}),
        )
        .expect("update")
        .with_replace(
            json!({"size": "medium", "ports": [80, 443], "image": "debian-12", "count": 2}),
        )
        .expect("replace"),
        case(
            "edge",
            Kind::Cdn,
            json!({"origin": "gs://overcast-test-site", "cache_ttl": 600}),
        )
        .with_update(json!({"origin": "gs://overcast-test-site", "cache_ttl": 60}))
        .expect("update"),
    ];
    let target = Target {
        stack: STACK.into(),
        target: TARGET.into(),
    };
    let failures = rt().block_on(async {
        // The conformance suite creates a resource's natives, not the target's: the
        // network the instances live on is made first, as the engine does.
        network(&p).await;
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
        "the GCP provider fails the conformance suite on the Compute contract server:\n  {}\n{}",
        failures.join("\n  "),
        server.output_tail()
    );
}

#[test]
fn a_machine_type_change_stops_resizes_and_starts_the_instance_in_place() {
    let server = start_gcp_contract(2);
    let p = provider(&server);
    rt().block_on(async {
        network(&p).await;
        let ctx = OpContext::detached("create web");
        let states = compute(&p, &ctx, "web", json!({"size": "small"})).await;
        let vm = &states[0];
        assert_eq!(vm.inputs["machine_type"], "e2-small");
        let specs = p
            .expand(&compute_resource("web", json!({"size": "large"})))
            .expect("expand");
        let mut inputs = specs[0].inputs.clone();
        assert_eq!(inputs["machine_type"], "e2-standard-2");
        let obs = p
            .update(&OpContext::detached("resize web"), vm, &inputs)
            .await
            .unwrap_or_else(|e| panic!("update: {}", e.to_report()));
        assert_eq!(obs.id, vm.id, "changed in place, not replaced");
        assert_eq!(obs.inputs["machine_type"], "e2-standard-2");
        assert_eq!(obs.outputs["status"], "RUNNING");
        let posts: Vec<String> = calls(&server, "/instances/")
            .into_iter()
            .filter(|(m, _, _)| m == "POST")
            .map(|(_, verb, _)| verb)
            .collect();
        assert_eq!(posts, ["stop", "setMachineType", "start"], "{posts:?}");
        // No drift after the change.
        inputs.insert("machine_type".into(), json!("e2-standard-2"));
        let live = p.read(&ctx, vm).await.expect("read").expect("exists");
        assert_eq!(live.inputs, inputs);
    });
}

#[test]
fn a_stale_label_fingerprint_is_read_again_and_the_labels_set() {
    let server = start_gcp_contract(2);
    let p = provider(&server);
    rt().block_on(async {
        network(&p).await;
        let ctx = OpContext::detached("create web");
        let states = compute(&p, &ctx, "web", json!({})).await;
        let (zone, name) =
            overcast_gcp::compute::instance::parse_id(&states[0].id).expect("instance id");
        let c = &p.clients().await.expect("clients").compute;
        let mut labels: std::collections::HashMap<String, String> =
            overcast_gcp::labels::owner_labels(&owner("web.instance[0]"));
        labels.insert("team".into(), "shop".into());
        // Base64 of 8 bytes, as Compute's fingerprints, but not the instance's.
        let stale = "c3RhbGUtZnA=";
        overcast_gcp::compute::instance::set_labels(
            c,
            &OpContext::detached("label"),
            &zone,
            &name,
            &labels,
            Some(stale),
        )
        .await
        .unwrap_or_else(|e| panic!("set labels: {}", e.to_report()));
        let statuses: Vec<u64> = calls(&server, "/setLabels")
            .into_iter()
            .map(|(_, _, s)| s)
            .collect();
        assert_eq!(
            statuses,
            [412, 200],
            "a 412, then the retry with a fresh fingerprint"
        );
        let live = overcast_gcp::compute::instance::get(c, &zone, &name)
            .await
            .expect("instance");
        assert_eq!(live["labels"]["team"], "shop");
    });
}

#[test]
fn a_retried_insert_with_the_same_request_id_makes_one_instance() {
    let server = start_gcp_contract(2);
    let p = provider(&server);
    rt().block_on(async {
        network(&p).await;
        let specs = p
            .expand(&compute_resource("web", json!({})))
            .expect("expand");
        let ctx = OpContext::detached("create web once");
        let addr = NativeAddr::new("web", "instance[0]");
        let first = create_native(&p, &ctx, addr.clone(), Kind::Compute, &specs[0]).await;
        // The same intent again (its answer was lost): same requestId, same instance.
        let again = create_native(&p, &ctx, addr, Kind::Compute, &specs[0]).await;
        assert_eq!(first.id, again.id);
        let inserts: Vec<Value> = requests(&server)
            .into_iter()
            .filter(|r| {
                r["method"] == "POST"
                    && r["path"]
                        .as_str()
                        .unwrap_or_default()
                        .ends_with("/instances")
            })
            .collect();
        assert_eq!(inserts.len(), 2, "{inserts:?}");
        assert_eq!(
            inserts[0]["query"]["requestId"],
            inserts[1]["query"]["requestId"]
        );
        let c = &p.clients().await.expect("clients").compute;
        let all = overcast_gcp::compute::instance::list(c)
            .await
            .expect("list");
        assert_eq!(all.len(), 1, "one instance: {all:?}");
    });
}

#[test]
fn a_network_in_use_is_refused_then_deleted_once_its_instances_are_gone() {
    let server = start_gcp_contract(2);
    let p = provider(&server);
    rt().block_on(async {
        let net = network(&p).await;
        let ctx = OpContext::detached("web");
        let states = compute(&p, &ctx, "web", json!({"ports": [8080]})).await;
        let e = p
            .delete(&OpContext::detached("delete network"), &net)
            .await
            .expect_err("a network in use is not deleted");
        assert_eq!(e.class, ErrorClass::Conflict, "{}", e.to_report());
        assert!(e.message.contains("in use"), "{}", e.message);
        for st in states.iter().rev() {
            p.delete(&ctx, st).await.expect("delete");
        }
        p.delete(&OpContext::detached("delete network again"), &net)
            .await
            .unwrap_or_else(|e| panic!("delete network: {}", e.to_report()));
        assert!(p.read(&ctx, &net).await.expect("read").is_none());
    });
}

#[test]
fn discovery_finds_the_stacks_compute_resources_with_their_owners() {
    let server = start_gcp_contract(2);
    let p = provider(&server);
    rt().block_on(async {
        network(&p).await;
        let ctx = OpContext::detached("web");
        compute(&p, &ctx, "web", json!({"ports": [80], "count": 2})).await;
        let mut filter = p.owner_filter(STACK, Some(TARGET));
        // Compute's types only: this test runs no storage or Pub/Sub emulator.
        filter.types = p
            .discoverable_types()
            .into_iter()
            .filter(|t| t.starts_with("compute:"))
            .collect();
        let found = p.discover(&ctx, &filter).await.expect("discover");
        let mut owners: Vec<(String, String)> = found
            .iter()
            .filter_map(|r| Some((r.resource_type.clone(), p.decode_owner(&r.tags)?.resource)))
            .collect();
        owners.sort();
        assert_eq!(
            owners,
            [
                ("compute:firewall".to_string(), "web.firewall".to_string()),
                ("compute:instance".into(), "web.instance[0]".into()),
                ("compute:instance".into(), "web.instance[1]".into()),
                ("compute:network".into(), "@gcp.network".into()),
            ]
        );
        // The project's `default` network carries no owner: not the stack's.
        let other = overcast_core::discovery::DiscoveryFilter {
            types: filter.types.clone(),
            ..p.owner_filter("another", None)
        };
        assert!(p.discover(&ctx, &other).await.expect("discover").is_empty());
        for r in &found {
            let st = p
                .discovered_state(&ctx, r)
                .await
                .expect("state")
                .expect("a managed type");
            assert!(p.read(&ctx, &st).await.expect("read").is_some(), "{}", r.id);
        }
    });
}

fn cli_spec(compute: &Server, storage: &Emulator, pubsub: &Emulator, size: &str) -> String {
    format!(
        r#"stack: gweb
default_target: gcp
targets:
  gcp:
    provider: gcp
    project: {PROJECT}
    region: us-central1
    zone: us-central1-b
    compute_endpoint: {}
    storage_endpoint: {}
    pubsub_endpoint: {}
resources:
  site:
    kind: storage
  web:
    kind: compute
    size: {size}
    count: 2
    ports: [80]
    startup: "echo hello > /tmp/hello"
  edge:
    kind: cdn
    origin: ${{site}}
    cache_ttl: 300
"#,
        compute.endpoint, storage.endpoint, pubsub.endpoint
    )
}

/// Names of a Compute collection on the server (`global/networks`, `zones/Z/instances`).
fn names_of(server: &Server, collection: &str) -> Vec<String> {
    let path = format!("/compute/v1/projects/{PROJECT}/{collection}");
    let raw = http_get(server.port, &path).expect("list");
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let list: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    let mut out: Vec<String> = list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn compute_and_a_cdn_on_gcp_apply_plan_resize_and_destroy_through_the_cli() {
    let server = start_gcp_contract(2);
    let (storage, pubsub) = storage_and_pubsub();
    let stack = common::TestStack::yaml(&cli_spec(&server, &storage, &pubsub, "small"));
    stack.ok(&["apply", "--auto-approve"]);

    // The stack's own network, created first; the instances and the firewall rule on it.
    let networks = names_of(&server, "global/networks");
    let own: Vec<&String> = networks.iter().filter(|n| *n != "default").collect();
    assert_eq!(own.len(), 1, "one network of the stack: {networks:?}");
    let instances = names_of(&server, "zones/us-central1-b/instances");
    assert_eq!(instances.len(), 2, "{instances:?}");
    assert_eq!(names_of(&server, "global/firewalls").len(), 1);
    for chain in [
        "backendBuckets",
        "urlMaps",
        "targetHttpProxies",
        "forwardingRules",
    ] {
        assert_eq!(
            names_of(&server, &format!("global/{chain}")).len(),
            1,
            "{chain}"
        );
    }
    let addrs = stack.state_addrs();
    assert!(addrs.iter().any(|a| a == "@gcp.network"), "{addrs:?}");

    // What the server reports reads back equal to what the spec asks: nothing to do.
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "a plan right after apply changes nothing:\n{}",
        plan.all()
    );

    // A larger size: each instance stopped, resized and started in place.
    std::fs::write(
        stack.path().join("overcast.yaml"),
        cli_spec(&server, &storage, &pubsub, "large"),
    )
    .expect("write spec");
    stack.ok(&["apply", "--auto-approve"]);
    assert_eq!(
        names_of(&server, "zones/us-central1-b/instances"),
        instances,
        "the same instances"
    );
    let verbs: Vec<String> = calls(&server, "/instances/")
        .into_iter()
        .filter(|(m, v, _)| {
            m == "POST" && ["stop", "setMachineType", "start"].contains(&v.as_str())
        })
        .map(|(_, v, _)| v)
        .collect();
    assert_eq!(
        verbs.iter().filter(|v| *v == "setMachineType").count(),
        2,
        "{verbs:?}"
    );

    // Destroy: the network goes last, once nothing uses it.
    stack.ok(&["destroy", "--auto-approve"]);
    assert!(names_of(&server, "zones/us-central1-b/instances").is_empty());
    assert_eq!(names_of(&server, "global/networks"), ["default"]);
    for chain in [
        "firewalls",
        "backendBuckets",
        "urlMaps",
        "targetHttpProxies",
        "forwardingRules",
    ] {
        assert!(
            names_of(&server, &format!("global/{chain}")).is_empty(),
            "{chain}"
        );
    }
}
