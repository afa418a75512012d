//! `overcast nuke` on GCP, end to end through the binary against drongo (Cloud Storage),
//! Google's Pub/Sub emulator and the contract-test server (Compute Engine, Cloud SQL,
//! Cloud Functions, Cloud Scheduler): a project seeded directly through the APIs
//! (tests/common/nuke_gcp.rs: buckets, one with a couple of thousand object generations,
//! topics and subscriptions, functions, scheduler jobs, instances and firewalls on a
//! network, the load balancer chain over a bucket, a Cloud SQL primary with a replica),
//! some labelled `keep=true`, some owned by a stack.
#![cfg(feature = "gcp")]

mod common;

use std::collections::BTreeSet;

use common::TestStack;
use common::nuke::{arns, in_order, result, set};
use common::nuke_gcp::{GcpLab, PROJECT, SeededGcp, seed, settle};

fn nuke(stack: &TestStack, more: &[&str]) -> common::Run {
    let mut args = vec!["--json", "nuke", "--target", "lab"];
    args.extend_from_slice(more);
    stack.run(&args)
}

fn seeded(versions: usize) -> (GcpLab, SeededGcp, TestStack) {
    let lab = GcpLab::start();
    let seeded = seed(&lab, versions);
    settle(&lab);
    let stack = TestStack::yaml(&format!(
        "stack: empty\n{}resources: {{}}\n",
        lab.target_yaml("lab")
    ));
    (lab, seeded, stack)
}

#[test]
fn a_dry_run_lists_the_project_exactly_and_a_real_run_empties_it_but_what_is_kept() {
    let (lab, s, stack) = seeded(2000);
    assert_eq!(s.versions, 2000);
    let all = set(&s.all);
    let keep = set(&s.keep);

    let r = nuke(&stack, &["--exclude-tag", "keep=true"]);
    assert_eq!(r.code(), Some(0), "{}", r.all());
    let v = result(&r);
    assert_eq!(v["account"]["kind"], "project");
    assert_eq!(v["account"]["id"], PROJECT);
    assert_eq!(arns(&v, "delete"), all.difference(&keep).cloned().collect());
    assert_eq!(arns(&v, "keep"), keep);
    let v = result(&nuke(&stack, &["--stack", "owned"]));
    assert_eq!(arns(&v, "delete"), set(&s.owned));
    let v = result(&nuke(&stack, &["--type", "compute:instance"]));
    assert_eq!(arns(&v, "delete"), set(&s.by_type["compute:instance"]));

    // For real, with a config that protects what is labelled keep=true.
    std::fs::write(
        stack.path().join("nuke.yaml"),
        "protect:\n  - tag: keep=true\n",
    )
    .expect("config");
    let r = nuke(&stack, &["--config", "nuke.yaml", "--no-dry-run", "--yes"]);
    assert_eq!(r.code(), Some(0), "{}", r.all());
    let v = result(&r);
    assert_eq!(v["complete"], true, "{v}");
    let deleted = in_order(&v, "deleted");
    assert_eq!(
        deleted.iter().cloned().collect::<BTreeSet<_>>(),
        all.difference(&keep).cloned().collect()
    );
    assert_eq!(arns(&v, "kept"), keep);
    let at = |arn: &str| deleted.iter().position(|d| d == arn);
    for (user, used) in &s.edges {
        if let (Some(u), Some(d)) = (at(user), at(used)) {
            assert!(u < d, "{user} must go before {used}");
        }
    }
    // The chain went in Google's order: forwarding rule, proxy, URL map, backend, bucket.
    let chain = [
        &s.cdn_rule,
        &s.cdn_proxy,
        &s.cdn_url_map,
        &s.cdn_backend,
        &s.cdn_bucket,
    ];
    let pos: Vec<usize> = chain.iter().map(|a| at(a).expect("deleted")).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
    assert!(
        at(&s.sql_replica) < at(&s.sql_primary),
        "the replica goes before its primary"
    );

    // What is left is exactly what was kept.
    let v = result(&nuke(&stack, &[]));
    assert_eq!(arns(&v, "delete"), keep);
    drop(lab);
}
