//! The GCP provider's `database` kind (Cloud SQL: an instance, its read replicas, a
//! database and a user) against the contract-test server (tests/gcp_server), which serves
//! Cloud SQL Admin v1 as Google does: operations DONE only after polls, one operation at
//! a time per instance, 409 on a taken name, and a primary with replicas not deletable.
//!
//! Each test starts its own server (port 0, killed by PID on drop).
#![cfg(feature = "gcp")]

mod common;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::servers::{Server, free_port, http_get, start_gcp_contract};
use overcast_core::conformance::{self, Case, Target};
use overcast_core::kinds::Properties;
use overcast_core::native::{CreateRequest, NativeAddr, NativeSpec, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::provider::{AbstractResource, Provider};
use overcast_core::{Attrs, ErrorClass, Kind};
use serde_json::{Value, json};

const POLLS: u32 = 2;

// ---------------------------------------------------------------------------------------
// Discovery (a conformance step) lists every service of the target: Cloud Storage and
// Pub/Sub answer from their emulators (drongo, Google's Pub/Sub emulator), started here as
// tests/gcp_emulators.rs starts them and killed by PID on drop.

struct Emulator {
    child: Child,
    endpoint: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn emulator(name: &str, program: PathBuf, args: impl Fn(u16) -> Vec<String>) -> Emulator {
    assert!(
        program.exists(),
        "{name} is not installed at {}: run `bash scripts/test.sh` (it installs the GCP emulators)",
        program.display()
    );
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(&program)
            .args(args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let mut emu = Emulator {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return emu;
            }
            if let Ok(Some(_)) = emu.child.try_wait() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not answer on {port} within 60s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("{name} could not be started on a free port 5 times in a row")
}

fn drongo() -> Emulator {
    let program = std::env::var("OVERCAST_DRONGO")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/overcast/venv-gcp/bin/drongo")
        });
    emulator("drongo", program, |port| {
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
    emulator("pubsub emulator", program, |port| {
        vec!["--host=127.0.0.1".into(), format!("--port={port}")]
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The provider on the contract server's Cloud SQL; Cloud Storage and Pub/Sub on the
/// emulators when given, else on the contract server too (only discovery calls them).
fn provider_with(
    server: &Server,
    others: Option<(&Emulator, &Emulator)>,
    dir: &std::path::Path,
    stack: &str,
) -> overcast_gcp::GcpProvider {
    let ep = json!(server.endpoint);
    let (storage, pubsub) = match others {
        Some((s, p)) => (json!(s.endpoint), json!(p.endpoint)),
        None => (ep.clone(), ep.clone()),
    };
    let settings = json!({
        "project": "contract-test",
        "region": "us-central1",
        "sql_endpoint": ep,
        "storage_endpoint": storage,
        "pubsub_endpoint": pubsub,
    });
    overcast_gcp::GcpProvider::new(overcast_core::ProviderContext {
        stack: stack.into(),
        target: "gcp".into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: dir.to_path_buf(),
        work_dir: dir.to_path_buf(),
    })
    .expect("provider")
}

fn provider(server: &Server, dir: &std::path::Path, stack: &str) -> overcast_gcp::GcpProvider {
    provider_with(server, None, dir, stack)
}

/// Every request the server received: (method, path, body).
fn requests(server: &Server) -> Vec<(String, String, Value)> {
    let raw = http_get(server.port, "/__contract/requests").expect("request log");
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("[]");
    let v: Value = serde_json::from_str(body).expect("request log is JSON");
    v["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or_default().to_string(),
                r["path"].as_str().unwrap_or_default().to_string(),
                r["body"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_gcp_provider_passes_the_conformance_suite_for_database() {
    let server = start_gcp_contract(POLLS);
    let (storage, pubsub) = (drongo(), pubsub_emulator());
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = vec![
        Case::new(
            "pg",
            Kind::Database,
            json!({"version": "15", "size": "micro"}),
        )
        .expect("case")
        // Tier, disk growth and backups change in place.
        .with_update(
            json!({"version": "15", "size": "small", "storage_gb": 30, "backup_retention_days": 0}),
        )
        .expect("update")
        // A major version change is a new instance (under a new name).
        .with_replace(json!({"version": "16", "size": "small", "storage_gb": 30}))
        .expect("replace"),
        Case::new(
            "my",
            Kind::Database,
            json!({"engine": "mysql", "version": "8.0", "read_replicas": 1}),
        )
        .expect("case"),
    ];
    let failures = rt().block_on(async {
        let p = provider_with(&server, Some((&storage, &pubsub)), dir.path(), "conform");
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
        "the GCP provider fails the conformance suite for database on the contract server:\n  {}\nserver:\n{}",
        failures.join("\n  "),
        server.output_tail()
    );
}

/// Preflight asks Cloud SQL Admin for one page of instances only when the stack has a
/// database, and names the service when it does not answer.
#[test]
fn preflight_lists_cloud_sql_instances_only_for_a_stack_with_a_database() {
    let server = start_gcp_contract(POLLS);
    let (storage, pubsub) = (drongo(), pubsub_emulator());
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = rt();
    let instance_lists = |server: &Server| {
        requests(server)
            .iter()
            .filter(|(m, path, _)| m == "GET" && path.ends_with("/instances"))
            .count()
    };

    let without = provider_with(&server, Some((&storage, &pubsub)), dir.path(), "pre");
    rt.block_on(without.preflight())
        .expect("preflight of a stack without a database");
    assert_eq!(
        instance_lists(&server),
        0,
        "Cloud SQL asked without a database"
    );

    let with = provider_with(&server, Some((&storage, &pubsub)), dir.path(), "pre");
    natives(&with, "db", json!({"size": "micro"}));
    rt.block_on(with.preflight())
        .expect("preflight of a stack with a database");
    assert_eq!(
        instance_lists(&server),
        1,
        "one page of Cloud SQL instances"
    );

    // Cloud SQL gone: preflight says which service did not answer.
    drop(server);
    let e = rt
        .block_on(with.preflight())
        .expect_err("Cloud SQL does not answer");
    assert!(
        e.message.contains("Cloud SQL Admin did not answer"),
        "{}",
        e.message
    );
}

/// The natives of a database resource.
fn natives(p: &overcast_gcp::GcpProvider, name: &str, props: Value) -> Vec<NativeSpec> {
    p.expand(&AbstractResource {
        name: name.into(),
        properties: Properties::from_value(Kind::Database, props).expect("properties"),
        referenced_kinds: BTreeMap::new(),
    })
    .expect("expand")
}

fn request(
    p: &overcast_gcp::GcpProvider,
    stack: &str,
    res: &str,
    spec: &NativeSpec,
    ids: &BTreeMap<String, String>,
) -> CreateRequest {
    let mut inputs = Attrs::new();
    for (k, v) in &spec.inputs {
        let v = match v.as_str() {
            Some(s) if s.starts_with("${") => {
                let local = s.trim_start_matches("${").trim_end_matches(".name}");
                let local = local.split_once('.').map(|(_, l)| l).unwrap_or(local);
                json!(ids.get(local).cloned().unwrap_or_default())
            }
            _ => v.clone(),
        };
        inputs.insert(k.clone(), v);
    }
    CreateRequest {
        addr: NativeAddr::new(res, spec.local.clone()),
        kind: Kind::Database,
        type_name: spec.type_name.clone(),
        inputs,
        owner: OwnerTags {
            stack: stack.into(),
            target: "gcp".into(),
            resource: format!("{res}.{}", spec.local),
        },
        secrets: p.generate_secrets(&spec.type_name),
    }
}

fn instance_posts(server: &Server) -> usize {
    requests(server)
        .iter()
        .filter(|(m, path, _)| m == "POST" && path.ends_with("/instances"))
        .count()
}

#[test]
fn a_tier_change_is_one_patch_a_retried_create_is_adopted_and_a_primary_with_replicas_is_kept() {
    let server = start_gcp_contract(POLLS);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = provider(&server, dir.path(), "shop");
    rt().block_on(async {
        let specs = natives(
            &p,
            "db",
            json!({"version": "16", "size": "micro", "read_replicas": 1}),
        );
        let mut ids = BTreeMap::new();
        let mut states = BTreeMap::new();
        let mut reqs = BTreeMap::new();
        for spec in &specs {
            let req = request(&p, "shop", "db", spec, &ids);
            let ctx = OpContext::detached(format!("create-{}", spec.local));
            let obs = p.create(&ctx, &req).await.unwrap_or_else(|e| {
                panic!(
                    "create {}: {}\n{}",
                    spec.local,
                    e.to_report(),
                    server.output_tail()
                )
            });
            ids.insert(spec.local.clone(), obs.id.clone());
            states.insert(spec.local.clone(), obs);
            reqs.insert(spec.local.clone(), req);
        }
        assert_eq!(instance_posts(&server), 2, "a primary and one replica");
        let user = &states["user"];
        assert!(
            user.outputs["password"]
                .as_str()
                .is_some_and(|p| p.len() >= 20)
        );

        // A create retried after a lost answer: 409, adopted (ours by its labels), not a
        // second instance.
        let again = p
            .create(&OpContext::detached("create-instance"), &reqs["instance"])
            .await
            .expect("a retried create adopts the instance");
        assert_eq!(again.id, ids["instance"]);
        let listed = requests(&server)
            .iter()
            .filter(|(m, path, _)| m == "POST" && path.ends_with("/instances"))
            .count();
        assert_eq!(listed, 3, "the retry posted once more and was answered 409");

        // Someone else's instance of that name is a conflict, not adopted.
        let mut foreign = reqs["instance"].clone();
        foreign.owner.stack = "other".into();
        let e = p
            .create(&OpContext::detached("foreign"), &foreign)
            .await
            .expect_err("another stack's instance is not adopted");
        assert!(e.message.contains("not this stack's"), "{}", e.message);

        // The tier changes in place: one PATCH with the new tier, no new instance.
        let bigger = natives(
            &p,
            "db",
            json!({"version": "16", "size": "small", "read_replicas": 1}),
        );
        let spec = bigger
            .iter()
            .find(|s| s.local == "instance")
            .expect("instance");
        let mut prior = overcast_core::NativeState::new(
            NativeAddr::new("db", "instance"),
            Kind::Database,
            spec.type_name.clone(),
            ids["instance"].clone(),
        );
        prior.inputs = states["instance"].inputs.clone();
        let updated = p
            .update(&OpContext::detached("update"), &prior, &spec.inputs)
            .await
            .expect("update the tier");
        assert_eq!(updated.inputs["tier"], spec.inputs["tier"]);
        let patches: Vec<Value> = requests(&server)
            .into_iter()
            .filter(|(m, _, _)| m == "PATCH")
            .map(|(_, _, b)| b)
            .collect();
        assert_eq!(patches.len(), 1, "{patches:?}");
        assert_eq!(patches[0]["settings"]["tier"], spec.inputs["tier"]);
        assert_eq!(instance_posts(&server), 4);

        // A disk cannot shrink in place: refused with what to do.
        let mut smaller = spec.inputs.clone();
        smaller.insert("disk_gb".into(), json!(10));
        let e = p
            .update(&OpContext::detached("shrink"), &prior, &smaller)
            .await
            .expect_err("a disk shrink is refused");
        assert!(e.message.contains("cannot shrink"), "{}", e.message);

        // The primary cannot go while its replica exists: Cloud SQL refuses, the error is
        // a conflict (the replicas go first) that names them and says so.
        let e = p
            .delete(&OpContext::detached("delete-primary"), &prior)
            .await
            .expect_err("a primary with replicas is not deleted");
        assert_eq!(e.class, ErrorClass::Conflict, "{}", e.to_report());
        assert!(e.message.contains("in use by"), "{}", e.message);
        assert!(
            e.hint
                .as_deref()
                .unwrap_or_default()
                .contains("read replicas"),
            "{}",
            e.to_report()
        );

        // The password never went anywhere but the user insert.
        let password = user.outputs["password"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for (m, path, body) in requests(&server) {
            if body.to_string().contains(&password) {
                assert!(
                    m == "POST" && path.ends_with("/users"),
                    "{m} {path} carries the password"
                );
            }
        }
        assert!(!e.to_report().contains(&password));
    });
}

// ---------------------------------------------------------------------------------------
// The binary, end to end: apply, a no-op plan, the password masked everywhere but an
// explicit output request, destroy.

fn cli_spec(sql: &Server, storage: &Emulator, pubsub: &Emulator, size: &str) -> String {
    format!(
        r#"stack: gdb
default_target: gcp
targets:
  gcp:
    provider: gcp
    project: contract-test
    region: us-central1
    sql_endpoint: {}
    storage_endpoint: {}
    pubsub_endpoint: {}
resources:
  db:
    kind: database
    version: "16"
    size: {size}
outputs:
  pw: ${{db.password}}
  host: ${{db.endpoint}}
"#,
        sql.endpoint, storage.endpoint, pubsub.endpoint
    )
}

#[test]
fn a_cloud_sql_database_applies_updates_in_place_and_destroys_through_the_cli() {
    let server = start_gcp_contract(POLLS);
    let (storage, pubsub) = (drongo(), pubsub_emulator());
    let stack = common::TestStack::yaml(&cli_spec(&server, &storage, &pubsub, "micro"));
    let applied = stack.ok(&["apply", "--auto-approve"]);
    let password = stack.ok(&["output", "pw"]).stdout().trim().to_string();
    assert!(password.len() >= 20, "a generated password: {password:?}");
    assert_eq!(stack.ok(&["output", "host"]).stdout().trim(), "192.0.2.2");
    assert!(!applied.all().contains(&password), "{}", applied.all());

    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code(),
        Some(0),
        "a plan right after apply changes nothing:\n{}",
        plan.all()
    );
    for args in [
        &["plan", "--json"][..],
        &["state", "show", "db.user"],
        &["output"],
        &["output", "--json"],
    ] {
        let r = stack.ok(args);
        assert!(
            !r.all().contains(&password),
            "overcast {args:?} leaked the password:\n{}",
            r.all()
        );
    }

    // A bigger size is a patch of the same instance, not a new one.
    std::fs::write(
        stack.path().join("overcast.yaml"),
        cli_spec(&server, &storage, &pubsub, "small"),
    )
    .expect("write spec");
    stack.ok(&["apply", "--auto-approve"]);
    let log = requests(&server);
    assert_eq!(
        log.iter()
            .filter(|(m, p, _)| m == "POST" && p.ends_with("/instances"))
            .count(),
        1,
        "one instance created"
    );
    assert!(
        log.iter()
            .any(|(m, _, b)| m == "PATCH" && b["settings"]["tier"] == "db-custom-2-3840"),
        "the tier was patched"
    );

    stack.ok(&["destroy", "--auto-approve"]);
    let log = requests(&server);
    assert!(
        log.iter()
            .any(|(m, p, _)| m == "DELETE" && p.contains("/instances/"))
    );
}
