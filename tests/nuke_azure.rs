//! `overcast nuke` on Azure, end to end through the binary against the ARM contract-test
//! server: a subscription seeded with raw ARM calls (tests/common/nuke_azure.rs: five
//! resource groups, machines on NICs on security groups, public IPs and a network,
//! storage accounts, Service Bus, PostgreSQL with a replica, MySQL, Front Door over a
//! storage account and over a public IP, a function app on its plan), some tagged
//! `keep=true`, some owned by a stack.
#![cfg(feature = "azure")]

mod common;

use std::collections::BTreeSet;

use common::TestStack;
use common::arm::{SUBSCRIPTION, call};
use common::nuke::{arns, in_order, result, set};
use common::nuke_azure::{AzureLab, LOCATION, seed_lab};
use common::servers::{Server, start_azure_contract};
use serde_json::json;

/// `overcast nuke --provider azure` on the server, with more arguments.
fn nuke(dir: &TestStack, server: &Server, more: &[&str]) -> common::Run {
    let mut args = vec![
        "--json",
        "nuke",
        "--provider",
        "azure",
        "--subscription",
        SUBSCRIPTION,
        "--region",
        LOCATION,
        "--endpoint",
        &server.endpoint,
    ];
    args.extend_from_slice(more);
    dir.run(&args)
}

fn seeded() -> (Server, AzureLab, TestStack) {
    let server = start_azure_contract(1);
    let lab = seed_lab(&server);
    (
        server,
        lab,
        TestStack::yaml("stack: empty\nresources: {}\n"),
    )
}

/// Every resource ARM still lists, groups included.
fn remaining(server: &Server) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for path in [
        format!("/subscriptions/{SUBSCRIPTION}/resourcegroups?api-version=2022-09-01"),
        format!("/subscriptions/{SUBSCRIPTION}/resources?api-version=2022-09-01"),
    ] {
        let (_, page) = call(server, "GET", &path, None);
        for i in page["value"].as_array().into_iter().flatten() {
            if let Some(id) = i["id"].as_str() {
                out.insert(id.to_string());
            }
        }
    }
    out
}

#[test]
fn a_dry_run_lists_the_subscription_exactly_and_filters_select_exactly() {
    let (server, lab, dir) = seeded();
    let before = remaining(&server);
    let r = nuke(&dir, &server, &["--exclude-tag", "keep=true"]);
    assert_eq!(r.code(), Some(0), "{}", r.all());
    let v = result(&r);
    assert_eq!(v["account"]["kind"], "subscription");
    assert_eq!(v["account"]["id"], SUBSCRIPTION);
    assert!(v["account"]["name"].is_string(), "{}", v["account"]);
    let all = set(&lab.all);
    let keep = set(&lab.keep);
    assert_eq!(arns(&v, "delete"), all.difference(&keep).cloned().collect());
    assert_eq!(arns(&v, "keep"), keep);
    for e in v["delete"].as_array().expect("delete") {
        assert!(e["created"].is_string(), "ARM gives creation times: {e}");
        assert!(e["location"].is_string(), "{e}");
    }
    // By owner labels: exactly the stack's.
    let v = result(&nuke(&dir, &server, &["--stack", "owned"]));
    assert_eq!(arns(&v, "delete"), set(&lab.owned));
    // By type.
    let v = result(&nuke(
        &dir,
        &server,
        &["--type", "Microsoft.Network/networkInterfaces"],
    ));
    assert_eq!(arns(&v, "delete"), set(&lab.nics));
    // One resource group: what it holds, and the group.
    let v = result(&nuke(&dir, &server, &["--resource-group", "lab-data"]));
    let group = &lab.groups["lab-data"];
    let in_group: BTreeSet<String> = all
        .iter()
        .filter(|id| *id == group || id.starts_with(&format!("{group}/")))
        .cloned()
        .collect();
    assert_eq!(arns(&v, "delete"), in_group);
    assert_eq!(remaining(&server), before, "a dry run changes nothing");
}

#[test]
fn a_real_run_empties_the_subscription_but_what_is_kept_and_the_groups_holding_it() {
    let (server, lab, dir) = seeded();
    // A subscription whose name says prod is refused unless the config names it.
    let (status, _) = call(
        &server,
        "POST",
        "/__contract/config",
        Some(&json!({"subscriptionName": "contoso-production"})),
    );
    assert!(status < 300, "{status}");
    let r = nuke(&dir, &server, &["--no-dry-run", "--yes"]);
    assert_eq!(r.code(), Some(1), "{}", r.all());
    assert!(r.stderr().contains("contains `prod`"), "{}", r.all());
    std::fs::write(
        dir.path().join("nuke.yaml"),
        format!("allow: [\"{SUBSCRIPTION}\"]\nprotect:\n  - tag: keep=true\n"),
    )
    .expect("config");

    let r = nuke(
        &dir,
        &server,
        &["--no-dry-run", "--yes", "--config", "nuke.yaml"],
    );
    // The groups that hold a kept resource are refused: left, so the exit code says so.
    assert_eq!(r.code(), Some(1), "{}", r.all());
    let v = result(&r);
    let held: BTreeSet<String> = lab
        .keep_in_emptied_group
        .iter()
        .filter_map(|kept| {
            lab.groups
                .values()
                .find(|g| kept.starts_with(&format!("{g}/")))
                .cloned()
        })
        .collect();
    assert_eq!(held.len(), 2);
    assert_eq!(arns(&v, "failed"), held, "{}", v["failed"]);
    for f in v["failed"].as_array().expect("failed") {
        let why = f["why"].as_str().expect("why");
        assert!(
            why.contains("keep"),
            "the refusal names the kept resource: {why}"
        );
    }
    let keep = set(&lab.keep);
    assert_eq!(arns(&v, "kept"), keep);
    let all = set(&lab.all);
    let want: BTreeSet<String> = all
        .iter()
        .filter(|a| !keep.contains(*a) && !held.contains(*a))
        .cloned()
        .collect();
    let deleted = in_order(&v, "deleted");
    assert_eq!(deleted.iter().cloned().collect::<BTreeSet<_>>(), want);
    let at = |id: &str| deleted.iter().position(|d| d.eq_ignore_ascii_case(id));
    for (user, used) in &lab.edges {
        if let (Some(u), Some(d)) = (at(user), at(used)) {
            assert!(u < d, "{user} must go before {used}");
        }
    }
    let mut left = keep.clone();
    left.extend(held.iter().cloned());
    assert_eq!(remaining(&server), left);

    // A second run has nothing more it may delete, and says what is left and why.
    let r = nuke(
        &dir,
        &server,
        &["--no-dry-run", "--yes", "--config", "nuke.yaml"],
    );
    assert_eq!(r.code(), Some(1), "{}", r.all());
    let v = result(&r);
    assert!(arns(&v, "deleted").is_empty());
    assert_eq!(arns(&v, "failed"), held);
}
