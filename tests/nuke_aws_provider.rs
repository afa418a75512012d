//! The AWS provider's side of `overcast nuke`, against moto: a lab seeded straight through
//! the AWS API (tests/common/nuke_aws.rs) is discovered exactly (names, locations,
//! creation times, tags), linked (who uses what), its account read, and then every
//! discovered resource is deleted through `discovered_state` + `delete` in reverse-`uses`
//! order (conflicts retried in rounds), until discovery finds nothing.
#![cfg(feature = "aws")]

use std::collections::{BTreeMap, BTreeSet};

use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::{ErrorClass, OpContext, Provider};

mod common;

use common::nuke_aws::{self, AwsLab, lab_clients, lab_provider, seed_lab};
use common::servers::start_moto;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn op() -> OpContext {
    OpContext::detached("nuke-aws-test")
}

fn arns(found: &[DiscoveredResource]) -> Vec<String> {
    let mut out: Vec<String> = found.iter().map(|r| r.arn.clone()).collect();
    out.sort();
    out
}

/// Discovery lists exactly the lab, with names, locations, creation times and tags.
fn check_discovery(lab: &AwsLab, found: &[DiscoveredResource]) {
    assert_eq!(arns(found), lab.all(), "discovery lists exactly the lab");
    let by_arn: BTreeMap<&str, &DiscoveredResource> =
        found.iter().map(|r| (r.arn.as_str(), r)).collect();
    for (arn, name) in &lab.names {
        assert_eq!(
            by_arn[arn.as_str()].name.as_deref(),
            Some(name.as_str()),
            "name of {arn}"
        );
    }
    for r in found {
        let global =
            r.resource_type.starts_with("iam:") || r.resource_type.starts_with("cloudfront:");
        let want = if global { "global" } else { nuke_aws::REGION };
        assert_eq!(r.location.as_deref(), Some(want), "location of {}", r.arn);
        let dated = [
            "s3:bucket",
            "sqs:queue",
            "ec2:instance",
            "rds:db",
            "iam:role",
        ];
        if dated.contains(&r.resource_type.as_str()) {
            let t = r
                .created
                .as_deref()
                .unwrap_or_else(|| panic!("no creation time for {}", r.arn));
            assert!(
                t.len() >= 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
                "creation time of {} is not RFC 3339 UTC: {t}",
                r.arn
            );
            assert!(t > "2020-01-01", "creation time of {}: {t}", r.arn);
        }
        assert_eq!(
            r.tags.get("keep").is_some_and(|v| v == "true"),
            lab.keep.contains(&r.arn),
            "keep tag of {}",
            r.arn
        );
    }
}

/// The edges link_discovered found, as (user, used).
fn edges(found: &[DiscoveredResource]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = found
        .iter()
        .flat_map(|r| r.uses.iter().map(|u| (r.arn.clone(), u.clone())))
        .collect();
    out.sort();
    out
}

/// Delete through discovered_state + delete, as nuke does.
async fn delete_one(
    p: &overcast_aws::AwsProvider,
    r: &DiscoveredResource,
) -> Result<(), overcast_core::ProviderError> {
    let state = p
        .discovered_state(&op(), r)
        .await
        .unwrap_or_else(|e| panic!("discovered_state of {}: {e}", r.arn))
        .unwrap_or_else(|| panic!("{} ({}) has no state to delete", r.arn, r.resource_type));
    p.delete(&op(), &state).await
}

#[test]
fn a_lab_is_discovered_linked_and_deleted_to_the_last_resource() {
    let moto = start_moto();
    let rt = rt();
    rt.block_on(async {
        let lab = seed_lab(&moto.endpoint).await;
        assert!(
            lab.big_bucket_versions >= 3000,
            "{}",
            lab.big_bucket_versions
        );
        let p = lab_provider(&moto.endpoint).await;

        let mut found = p
            .discover(&op(), &DiscoveryFilter::default())
            .await
            .expect("discover");
        check_discovery(&lab, &found);
        // The owner tags decode to the stack they name.
        let owned: Vec<String> = found
            .iter()
            .filter(|r| {
                p.decode_owner(&r.tags).is_some_and(|o| {
                    o.stack == nuke_aws::OWNED_STACK && o.target == nuke_aws::OWNED_TARGET
                })
            })
            .map(|r| r.arn.clone())
            .collect();
        assert_eq!(owned, lab.owned, "owned resources");
        // A tag filter: exactly the kept ones (untagged types are not even listed).
        let kept = p
            .discover(
                &op(),
                &DiscoveryFilter {
                    tags: vec![("keep".into(), Some("true".into()))],
                    types: Vec::new(),
                },
            )
            .await
            .expect("discover keep=true");
        assert_eq!(arns(&kept), lab.keep);

        p.link_discovered(&op(), &mut found).await.expect("link");
        assert_eq!(edges(&found), lab.edges, "the edges link_discovered finds");
        for g in &lab.mutual_groups {
            let r = found.iter().find(|r| &r.arn == g).expect("mutual group");
            assert!(
                r.uses.is_empty(),
                "{g} is in a cycle: no edge, {:?}",
                r.uses
            );
        }

        let account = p.account(&op()).await.expect("account");
        assert_eq!(
            (account.kind.as_str(), account.id.as_str()),
            ("account", "123456789012")
        );
        assert_eq!(account.name, None);
        let c = lab_clients(&moto.endpoint).await;
        c.iam
            .create_account_alias()
            .account_alias("lab-sandbox")
            .send()
            .await
            .expect("CreateAccountAlias");
        let account = p.account(&op()).await.expect("account");
        assert_eq!(account.name.as_deref(), Some("lab-sandbox"));

        // Out of order, what something uses is a conflict naming the user.
        let get = |arn: &str| found.iter().find(|r| r.arn == arn).expect("found").clone();
        let e = delete_one(&p, &get(&lab.web_group))
            .await
            .expect_err("web group in use");
        assert_eq!(e.class, ErrorClass::Conflict, "{e}");
        assert!(e.message.contains("instance i-"), "{e}");
        let e = delete_one(&p, &get(&lab.db_primary))
            .await
            .expect_err("primary has a replica");
        assert_eq!(e.class, ErrorClass::Conflict, "{e}");
        assert!(e.message.contains("lab-db-replica"), "{e}");

        // Users before what they use, in rounds; conflicts wait for the next round.
        let mut left: Vec<DiscoveredResource> = found.clone();
        let mut rounds = 0;
        while !left.is_empty() {
            rounds += 1;
            assert!(rounds <= 10, "no progress: left {:?}", arns(&left));
            // Ready: what no resource still left uses.
            let used: BTreeSet<String> = left.iter().flat_map(|r| r.uses.clone()).collect();
            let (ready, later): (Vec<_>, Vec<_>) =
                left.into_iter().partition(|r| !used.contains(&r.arn));
            assert!(!ready.is_empty(), "a cycle among {:?}", arns(&later));
            let mut next = later;
            for r in ready {
                match delete_one(&p, &r).await {
                    Ok(()) => {}
                    Err(e) if e.class == ErrorClass::Conflict => {
                        eprintln!("round {rounds}: {} waits: {e}", r.arn);
                        next.push(r);
                    }
                    Err(e) => panic!("delete {} ({}): {e}", r.arn, r.resource_type),
                }
            }
            left = next;
        }

        let after = p
            .discover(&op(), &DiscoveryFilter::default())
            .await
            .expect("discover after");
        assert!(after.is_empty(), "left after the nuke: {:?}", arns(&after));
        assert!(c.s3.head_bucket().bucket("lab-big").send().await.is_err());
    });
}

#[test]
fn a_bucket_of_thousands_of_versions_and_markers_is_emptied_and_deleted() {
    let moto = start_moto();
    let rt = rt();
    rt.block_on(async {
        let c = lab_clients(&moto.endpoint).await;
        c.s3.create_bucket()
            .bucket("many")
            .send()
            .await
            .expect("bucket");
        c.s3.put_bucket_versioning()
            .bucket("many")
            .versioning_configuration(
                overcast_aws::sdk::s3::types::VersioningConfiguration::builder()
                    .status(overcast_aws::sdk::s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("versioning");
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..8usize {
            let s3 = c.s3.clone();
            tasks.spawn(async move {
                for i in (w..1100).step_by(8) {
                    let key = format!("k/{i:05}");
                    for v in 0..2 {
                        s3.put_object()
                            .bucket("many")
                            .key(&key)
                            .body(format!("{v}").into_bytes().into())
                            .send()
                            .await
                            .expect("put");
                    }
                    s3.delete_object()
                        .bucket("many")
                        .key(&key)
                        .send()
                        .await
                        .expect("marker");
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.expect("task");
        }
        let p = lab_provider(&moto.endpoint).await;
        let found = p
            .discover(
                &op(),
                &DiscoveryFilter {
                    tags: Vec::new(),
                    types: vec!["s3:bucket".into()],
                },
            )
            .await
            .expect("discover");
        assert_eq!(arns(&found), vec!["arn:aws:s3:::many".to_string()]);
        delete_one(&p, &found[0])
            .await
            .expect("empty and delete 3,300 versions and markers");
        assert!(
            c.s3.head_bucket().bucket("many").send().await.is_err(),
            "bucket gone"
        );
        // Deleting it again is done, not an error.
        delete_one(&p, &found[0]).await.expect("delete again");
    });
}
