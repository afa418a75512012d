//! `overcast nuke` on AWS, end to end through the binary against moto: a region seeded
//! straight through the AWS SDK (tests/common/nuke_aws.rs: buckets, one with thousands of
//! object versions and delete markers, a bucket behind a CloudFront distribution with an
//! origin access control, queues, roles with policies, functions with event source
//! mappings, EventBridge rules, security groups in use by instances and referencing each
//! other, a database with a read replica), some tagged `keep=true`, some owned by a stack.
#![cfg(feature = "aws")]

mod common;

use std::collections::BTreeSet;

use common::TestStack;
use common::arm::rt;
use common::nuke::{arns, in_order, result, set};
use common::nuke_aws::{AwsLab, REGION, lab_clients, seed_lab};
use common::servers::{Server, start_moto};

/// `overcast --json nuke --provider aws` on moto, with the machine's own AWS setup left out.
fn nuke(dir: &TestStack, moto: &Server, more: &[&str]) -> common::Run {
    let empty = dir.path().join("aws-empty-config");
    std::fs::write(&empty, "").expect("empty config");
    let mut c = dir.command(&[
        "--json",
        "nuke",
        "--provider",
        "aws",
        "--region",
        REGION,
        "--endpoint",
        &moto.endpoint,
    ]);
    c.args(more)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    common::Run(c.output().expect("run overcast"))
}

fn seeded() -> (Server, AwsLab, TestStack) {
    let moto = start_moto();
    let lab = rt().block_on(seed_lab(&moto.endpoint));
    (moto, lab, TestStack::yaml("stack: empty\nresources: {}\n"))
}

#[test]
fn a_seeded_region_is_listed_exactly_then_emptied_in_dependency_order_but_what_is_kept() {
    let (moto, lab, dir) = seeded();
    let all = set(&lab.all());
    let keep = set(&lab.keep);

    // Dry run: exactly the region, nothing changes.
    let r = nuke(&dir, &moto, &["--exclude-tag", "keep=true"]);
    assert_eq!(r.code(), Some(0), "{}", r.all());
    let v = result(&r);
    assert_eq!(v["account"]["kind"], "account");
    assert_eq!(v["account"]["id"], lab.account);
    assert_eq!(arns(&v, "delete"), set(&lab.not_kept()));
    assert_eq!(arns(&v, "keep"), keep);
    for e in v["delete"].as_array().expect("delete") {
        assert!(e["location"].is_string(), "{e}");
    }
    let r = nuke(&dir, &moto, &["--stack", "owned"]);
    assert_eq!(arns(&result(&r), "delete"), set(&lab.owned));
    let r = nuke(&dir, &moto, &["--type", "s3:bucket", "--type", "sqs:queue"]);
    let mut want = set(&lab.buckets);
    want.extend(lab.queues.iter().cloned());
    assert_eq!(arns(&result(&r), "delete"), want);
    let r = nuke(&dir, &moto, &["--name-regex", "^lab-q-[0-9]$"]);
    assert_eq!(arns(&result(&r), "delete").len(), 3);
    let r = nuke(&dir, &moto, &["--older-than", "1d"]);
    let v = result(&r);
    assert!(
        arns(&v, "delete").is_empty(),
        "everything was just made: {v}"
    );
    let again = result(&nuke(&dir, &moto, &[]));
    assert_eq!(arns(&again, "delete"), all, "a dry run changed nothing");

    // An account alias containing `prod` is refused unless the config names the account.
    let c = rt().block_on(lab_clients(&moto.endpoint));
    rt().block_on(
        c.iam
            .create_account_alias()
            .account_alias("acme-prod-lab")
            .send(),
    )
    .expect("alias");
    let r = nuke(&dir, &moto, &["--no-dry-run", "--yes"]);
    assert_eq!(r.code(), Some(1), "{}", r.all());
    assert!(r.stderr().contains("contains `prod`"), "{}", r.all());
    std::fs::write(
        dir.path().join("nuke.yaml"),
        format!(
            "allow: [\"{}\"]\nprotect:\n  - tag: keep=true\n",
            lab.account
        ),
    )
    .expect("config");

    // A database that refuses its delete (deletion protection, as AWS has it): the rest is
    // deleted, the report names it.
    let solo = lab
        .databases
        .iter()
        .find(|a| a.ends_with(":lab-db-solo"))
        .expect("lab-db-solo")
        .clone();
    rt().block_on(
        c.rds
            .modify_db_instance()
            .db_instance_identifier("lab-db-solo")
            .deletion_protection(true)
            .apply_immediately(true)
            .send(),
    )
    .expect("protect the database");
    let r = nuke(
        &dir,
        &moto,
        &["--no-dry-run", "--yes", "--config", "nuke.yaml"],
    );
    assert_eq!(r.code(), Some(1), "{}", r.all());
    let v = result(&r);
    assert_eq!(arns(&v, "failed"), BTreeSet::from([solo.clone()]), "{v}");
    assert!(arns(&v, "skipped").is_empty(), "{}", v["skipped"]);
    assert_eq!(arns(&v, "kept"), keep);
    let deleted = in_order(&v, "deleted");
    let not_kept: BTreeSet<String> = set(&lab.not_kept());
    assert_eq!(
        deleted.iter().cloned().collect::<BTreeSet<_>>(),
        not_kept.iter().filter(|a| **a != solo).cloned().collect()
    );
    assert!(
        deleted.contains(&lab.big_bucket),
        "the bucket of versions went"
    );
    let at = |arn: &str| deleted.iter().position(|d| d == arn);
    for (user, used) in &lab.edges {
        if let (Some(u), Some(d)) = (at(user), at(used)) {
            assert!(u < d, "{user} must go before {used}");
        }
    }
    assert!(at(&lab.distribution) < at(&lab.origin_bucket));
    assert!(at(&lab.db_replica) < at(&lab.db_primary));

    // The protection lifted, a second run finishes the job.
    rt().block_on(
        c.rds
            .modify_db_instance()
            .db_instance_identifier("lab-db-solo")
            .deletion_protection(false)
            .apply_immediately(true)
            .send(),
    )
    .expect("unprotect");
    let r = nuke(
        &dir,
        &moto,
        &["--no-dry-run", "--yes", "--config", "nuke.yaml"],
    );
    assert_eq!(r.code(), Some(0), "{}", r.all());
    assert_eq!(in_order(&result(&r), "deleted"), vec![solo]);
    let v = result(&nuke(&dir, &moto, &[]));
    assert_eq!(arns(&v, "delete"), keep, "only what was kept is left");
}
