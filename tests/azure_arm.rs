//! The Azure provider against the ARM contract-test server (tests/azure_server), which
//! serves Resource Manager as Azure does where overcast depends on it: long-running
//! operations that take polls, bodies validated against the published api-version schemas,
//! ARM's error bodies, resource groups that delete their content.
//!
//! The conformance suite of contract v2 for the kinds the provider builds through ARM
//! alone (storage without content, queue, database), then the `overcast` binary through
//! apply, a no-op plan, an update, a replacement, drift repair and destroy. Each test
//! starts its own server (port 0, killed by PID on drop).
#![cfg(feature = "azure")]

mod common;

use std::time::Duration;

use common::TestStack;
use common::arm::{SUBSCRIPTION, call, request_log, rt, tagged, tagged_groups};
use common::servers::{Server, start_azure_contract};
use overcast_core::conformance::{self, Case, Target};
use overcast_core::kinds::Kind;
use overcast_core::native::{NativeSpec, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::provider::{Provider, ProviderContext};
use serde_json::{Value, json};

const POLLS: u32 = 2;

fn provider(server: &Server, stack: &str, extra: Value) -> overcast_azure::AzureProvider {
    let mut settings = json!({
        "subscription_id": SUBSCRIPTION,
        "location": "westeurope",
        "arm_endpoint": server.endpoint,
    });
    if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    overcast_azure::AzureProvider::new(ProviderContext {
        stack: stack.into(),
        target: "azure".into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: ".".into(),
        work_dir: ".".into(),
    })
    .expect("provider")
}

/// Create the target's own natives (its resource group) as the engine would before any
/// resource of the target.
async fn create_target_natives(p: &overcast_azure::AzureProvider, stack: &str) {
    for spec in p.expand_target().expect("target natives") {
        let NativeSpec {
            local,
            type_name,
            inputs,
            ..
        } = spec;
        let addr = overcast_core::NativeAddr::new("@azure", local);
        let req = overcast_core::native::CreateRequest {
            owner: OwnerTags {
                stack: stack.into(),
                target: "azure".into(),
                resource: addr.to_string(),
            },
            addr,
            kind: Kind::Target,
            type_name,
            inputs,
            secrets: Default::default(),
        };
        p.create(&OpContext::detached("target"), &req)
            .await
            .expect("create the target's resource group");
    }
}

#[test]
fn the_azure_provider_passes_the_conformance_suite_on_the_arm_contract_server() {
    let server = start_azure_contract(POLLS);
    let cases = vec![
        Case::new("site", Kind::Storage, json!({"versioning": true}))
            .expect("case")
            .with_update(
                json!({"versioning": false, "class": "infrequent", "public": true,
                "lifecycle": [{"prefix": "logs/", "expire_after_days": 30}]}),
            )
            .expect("update"),
        Case::new("cold", Kind::Storage, json!({"class": "archive"})).expect("case"),
        Case::new(
            "jobs",
            Kind::Queue,
            json!({"visibility_timeout": 45, "dead_letter": {"max_receives": 4}}),
        )
        .expect("case")
        .with_update(json!({"visibility_timeout": 60, "retention": 3600}))
        .expect("update")
        // Sessions are fixed when a queue is created.
        .with_replace(json!({"ordered": true}))
        .expect("replace"),
        Case::new(
            "pg",
            Kind::Database,
            json!({"version": "15", "size": "micro", "read_replicas": 1}),
        )
        .expect("case")
        .with_update(
            json!({"version": "15", "size": "small", "storage_gb": 64, "read_replicas": 1}),
        )
        .expect("update")
        .with_replace(json!({"version": "16", "size": "small", "read_replicas": 1}))
        .expect("replace"),
        Case::new(
            "my",
            Kind::Database,
            json!({"engine": "mysql", "version": "8.0"}),
        )
        .expect("case"),
    ];
    let failures = rt().block_on(async {
        let p = provider(&server, "conform", json!({}));
        create_target_natives(&p, "conform").await;
        let target = Target {
            stack: "conform".into(),
            target: "azure".into(),
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
        "the Azure provider fails the conformance suite on the ARM contract server:\n  {}\nserver:\n{}",
        failures.join("\n  "),
        server.output_tail()
    );
}

#[test]
fn preflight_names_a_missing_subscription_and_a_missing_given_group() {
    let server = start_azure_contract(POLLS);
    let rt = rt();
    let e = overcast_azure::AzureProvider::new(ProviderContext {
        stack: "s".into(),
        target: "azure".into(),
        settings: json!({"arm_endpoint": server.endpoint})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        spec_dir: ".".into(),
        work_dir: ".".into(),
    })
    .expect("provider");
    // SAFETY of the test: AZURE_SUBSCRIPTION_ID is not set by the test command.
    if std::env::var("AZURE_SUBSCRIPTION_ID").is_err() {
        let err = rt.block_on(e.preflight()).expect_err("no subscription");
        assert!(
            err.message.contains("AZURE_SUBSCRIPTION_ID"),
            "{}",
            err.message
        );
    }
    let p = provider(&server, "s", json!({"resource_group": "not-there"}));
    let err = rt.block_on(p.preflight()).expect_err("a missing group");
    assert!(
        err.message.contains("`not-there` does not exist"),
        "{}",
        err.message
    );
    let ok = provider(&server, "s", json!({}));
    rt.block_on(ok.preflight())
        .expect("preflight against the server");
}

#[test]
fn a_stack_on_azure_applies_plans_clean_updates_replaces_repairs_drift_and_destroys() {
    let server = start_azure_contract(POLLS);
    let stack = TestStack::yaml(&format!(
        "stack: armtest\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    arm_endpoint: {}\ndefault_target: azure\nresources:\n  \
         site:\n    kind: storage\n    versioning: true\n  jobs:\n    kind: queue\n    \
         visibility_timeout: 30s\n  db:\n    kind: database\n    engine: postgres\n    size: micro\n",
        server.endpoint
    ));
    stack.ok(&["apply", "--auto-approve"]);
    let ids = tagged(&server, "armtest");
    assert_eq!(ids.len(), 3, "account, namespace and server: {ids:?}");
    // The group too, tagged.
    assert_eq!(tagged_groups(&server, "armtest").len(), 1);
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a no-op plan:\n{}", plan.all());

    // An in-place update: the account's tier.
    stack.edit(
        "    versioning: true\n",
        "    versioning: true\n    class: infrequent\n",
    );
    stack.ok(&["apply", "--auto-approve"]);
    let account = ids
        .iter()
        .find(|i| i.contains("storageAccounts"))
        .expect("the account");
    let live = call(
        &server,
        "GET",
        &format!("{account}?api-version=2023-05-01"),
        None,
    )
    .1;
    assert_eq!(live["properties"]["accessTier"], "Cool", "{live}");

    // A replacement: sessions are fixed at creation.
    stack.edit(
        "    visibility_timeout: 30s\n",
        "    visibility_timeout: 30s\n    ordered: true\n",
    );
    let run = stack.ok(&["apply", "--auto-approve"]);
    assert!(
        run.all().contains("replace") || run.all().contains("jobs"),
        "{}",
        run.all()
    );

    // Drift made through ARM itself: versioning turned off behind overcast's back.
    let (status, body) = call(
        &server,
        "PUT",
        &format!("{account}/blobServices/default?api-version=2023-05-01"),
        Some(&json!({"properties": {"isVersioningEnabled": false}})),
    );
    assert!(status < 300, "{status} {body}");
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(2), "drift shows:\n{}", plan.all());
    stack.ok(&["apply", "--auto-approve"]);
    let blob = call(
        &server,
        "GET",
        &format!("{account}/blobServices/default?api-version=2023-05-01"),
        None,
    )
    .1;
    assert_eq!(blob["properties"]["isVersioningEnabled"], true, "{blob}");
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code(), Some(0));

    stack.ok(&["destroy", "--auto-approve"]);
    assert!(
        tagged(&server, "armtest").is_empty(),
        "nothing tagged is left"
    );
    assert!(
        tagged_groups(&server, "armtest").is_empty(),
        "the group is gone"
    );
}

#[test]
fn kill_9_in_the_middle_of_an_azure_apply_then_apply_again_leaves_no_duplicate_nor_orphan() {
    // Slow operations: the kill lands while the server still runs one.
    let server = start_azure_contract(30);
    let stack = TestStack::yaml(&format!(
        "stack: killtest\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    arm_endpoint: {}\ndefault_target: azure\nresources:\n  \
         site:\n    kind: storage\n  jobs:\n    kind: queue\n  db:\n    kind: database\n    size: micro\n",
        server.endpoint
    ));
    let mut child = stack
        .command(&["apply", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start apply");
    let puts = |server: &Server| {
        request_log(server)
            .iter()
            .filter(|l| l.starts_with("PUT ") && l.contains("/providers/"))
            .count()
    };
    let started = common::wait_until(Duration::from_secs(60), || puts(&server) >= 2);
    // Child::kill is SIGKILL to exactly this PID.
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(started, "the apply reached the server before the kill");

    // Time passes on the server: what the killed run started finishes; the resumed apply
    // adopts it (ARM names are ids: a PUT of the same id is the same resource).
    let (s, v) = call(
        &server,
        "POST",
        "/__contract/config",
        Some(&json!({"polls": 1})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(&server, "POST", "/__contract/settle", None);
    assert_eq!(s, 200, "{v}");
    let r = stack.run(&["apply", "--auto-approve"]);
    assert_eq!(
        r.code(),
        Some(0),
        "the resumed apply failed:\n{}\nrequests:\n{}",
        r.all(),
        request_log(&server).join("\n")
    );
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code(), Some(0));

    // No duplicate and no orphan: exactly the stack's tagged resources, each in state.
    let ids = tagged(&server, "killtest");
    assert_eq!(ids.len(), 3, "account, namespace, server: {ids:?}");
    let state = stack.ok(&["state", "list", "--json"]).stdout();
    for id in &ids {
        let name = id.rsplit('/').next().unwrap_or_default();
        assert!(state.contains(name), "`{id}` is not in state:\n{state}");
    }
    stack.ok(&["destroy", "--auto-approve"]);
    assert!(tagged(&server, "killtest").is_empty());
}
