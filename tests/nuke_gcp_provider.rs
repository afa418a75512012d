//! The GCP provider's side of `overcast nuke`, on a lab project seeded directly through the
//! APIs (tests/common/nuke_gcp.rs): discovery finds exactly what is there with names,
//! locations and creation times; `link_discovered` finds every dependency; `account` names
//! the project; and every discovered resource is deleted through `discovered_state` +
//! `delete` in reverse-`uses` order, the refusals Google makes (a network in use, a
//! primary with a replica) coming back as conflicts that name the user.
#![cfg(feature = "gcp")]

use std::collections::{BTreeMap, BTreeSet};

use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::op::OpContext;
use overcast_core::provider::{Provider, ProviderContext};
use overcast_core::{ErrorClass, ProviderError};
use overcast_gcp::GcpProvider;

mod common;

use common::arm::rt;
use common::nuke_gcp::{GcpLab, OWNED_STACK, OWNED_TARGET, PROJECT, REGION, SeededGcp, ZONE};

fn provider(lab: &GcpLab, dir: &std::path::Path) -> GcpProvider {
    GcpProvider::new(ProviderContext {
        stack: "nuke".into(),
        target: "lab".into(),
        settings: lab.settings(),
        spec_dir: dir.to_path_buf(),
        work_dir: dir.to_path_buf(),
    })
    .expect("provider")
}

/// Delete `r` as nuke does: through `discovered_state` and `delete`.
async fn delete(
    p: &GcpProvider,
    ctx: &OpContext,
    r: &DiscoveredResource,
) -> Result<(), ProviderError> {
    let state = p
        .discovered_state(ctx, r)
        .await
        .expect("discovered_state")
        .unwrap_or_else(|| panic!("{} ({}) cannot be deleted", r.arn, r.resource_type));
    p.delete(ctx, &state).await
}

fn by_arn<'a>(found: &'a [DiscoveredResource], arn: &str) -> &'a DiscoveredResource {
    found
        .iter()
        .find(|r| r.arn == arn)
        .unwrap_or_else(|| panic!("{arn} was not discovered"))
}

/// Names, locations and creation times as each API gives them.
fn check_metadata(found: &[DiscoveredResource]) {
    for r in found {
        let name = r
            .name
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no name", r.arn));
        assert!(
            r.arn.ends_with(&format!("/{name}")),
            "{} named {name}",
            r.arn
        );
        let location = r.location.as_deref().unwrap_or_default();
        let want = match r.resource_type.as_str() {
            "compute:instance" => ZONE,
            t if t.starts_with("compute:") || t.starts_with("pubsub:") => "global",
            "storage:bucket" => "us-central1",
            _ => REGION,
        };
        assert_eq!(location, want, "location of {}", r.arn);
        // Pub/Sub and Cloud Scheduler give no creation time; every other API does.
        let has_time = !matches!(
            r.resource_type.as_str(),
            "pubsub:topic" | "pubsub:subscription" | "scheduler:job"
        );
        match (&r.created, has_time) {
            (Some(t), true) => assert!(
                t.ends_with('Z') && t.len() >= 20 && t.starts_with("20"),
                "{}: created {t}",
                r.arn
            ),
            (None, false) => {}
            (c, _) => panic!("{}: created {c:?}", r.arn),
        }
    }
}

/// Owners decode on the owned resources, `keep=true` is on the kept ones, nothing else.
fn check_labels(p: &GcpProvider, found: &[DiscoveredResource], seeded: &SeededGcp) {
    for r in found {
        let owner = p.decode_owner(&r.tags);
        if seeded.owned.contains(&r.arn) {
            let o = owner.unwrap_or_else(|| panic!("{} has no owner: {:?}", r.arn, r.tags));
            assert_eq!(
                (o.stack.as_str(), o.target.as_str()),
                (OWNED_STACK, OWNED_TARGET)
            );
        } else {
            assert!(owner.is_none(), "{} has an owner", r.arn);
        }
        let kept = r.tags.get("keep").map(String::as_str) == Some("true");
        assert_eq!(
            kept,
            seeded.keep.contains(&r.arn),
            "keep label of {}",
            r.arn
        );
    }
}

#[test]
fn a_seeded_gcp_lab_is_discovered_linked_and_emptied_in_dependency_order() {
    let lab = GcpLab::start();
    let seeded = common::nuke_gcp::seed(&lab, 60);
    assert!(seeded.all.len() >= 40, "a few dozen: {}", seeded.all.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let p = provider(&lab, dir.path());
    let ctx = OpContext::detached("nuke");
    rt().block_on(async {
        let account = p.account(&ctx).await.expect("account");
        assert_eq!(
            (account.kind.as_str(), account.id.as_str()),
            ("project", PROJECT)
        );
        assert_eq!(account.name, None);

        // Exactly what was seeded, of every discoverable type.
        let mut found = p
            .discover(&ctx, &DiscoveryFilter::default())
            .await
            .unwrap_or_else(|e| panic!("discover: {}", e.to_report()));
        let arns: BTreeSet<&str> = found.iter().map(|r| r.arn.as_str()).collect();
        let want: BTreeSet<&str> = seeded.all.iter().map(String::as_str).collect();
        assert_eq!(arns, want);
        let types: BTreeSet<String> = found.iter().map(|r| r.resource_type.clone()).collect();
        let all_types: BTreeSet<String> = p.discoverable_types().into_iter().collect();
        assert_eq!(types, all_types, "every discoverable type is seeded");
        for r in &found {
            let ty = seeded
                .by_type
                .get(&r.resource_type)
                .cloned()
                .unwrap_or_default();
            assert!(
                ty.contains(&r.arn),
                "{} is not a {}",
                r.arn,
                r.resource_type
            );
        }
        check_metadata(&found);
        check_labels(&p, &found, &seeded);

        // Every dependency, and nothing else.
        p.link_discovered(&ctx, &mut found)
            .await
            .unwrap_or_else(|e| panic!("link: {}", e.to_report()));
        let edges: BTreeSet<(String, String)> = found
            .iter()
            .flat_map(|r| r.uses.iter().map(|u| (r.arn.clone(), u.clone())))
            .collect();
        let want: BTreeSet<(String, String)> = seeded.edges.iter().cloned().collect();
        assert_eq!(edges, want);
        assert!(
            by_arn(&found, &seeded.cdn_rule)
                .uses
                .contains(&seeded.cdn_proxy)
        );
        assert!(
            by_arn(&found, &seeded.sql_replica)
                .uses
                .contains(&seeded.sql_primary)
        );

        // What Google refuses comes back as a conflict naming the user.
        let e = delete(&p, &ctx, by_arn(&found, &seeded.network))
            .await
            .expect_err("a network in use is not deleted");
        assert_eq!(e.class, ErrorClass::Conflict, "{}", e.to_report());
        assert!(
            e.message.contains("lab-vm-") || e.message.contains("lab-fw-"),
            "{}",
            e.message
        );
        let e = delete(&p, &ctx, by_arn(&found, &seeded.sql_primary))
            .await
            .expect_err("a primary with a replica is not deleted");
        assert_eq!(e.class, ErrorClass::Conflict, "{}", e.to_report());
        assert!(e.message.contains("lab-db-replica"), "{}", e.message);
        for (user, used) in [
            (&seeded.cdn_rule, &seeded.cdn_proxy),
            (&seeded.cdn_proxy, &seeded.cdn_url_map),
            (&seeded.cdn_url_map, &seeded.cdn_backend),
        ] {
            let e = delete(&p, &ctx, by_arn(&found, used))
                .await
                .expect_err("a load balancer part in use is not deleted");
            assert_eq!(e.class, ErrorClass::Conflict, "{}", e.to_report());
            let user_name = user.rsplit('/').next().unwrap_or_default();
            assert!(e.message.contains(user_name), "{used}: {}", e.message);
        }

        // Everything, users first; conflicts go again in the next round.
        let mut left: BTreeMap<String, DiscoveredResource> =
            found.iter().map(|r| (r.arn.clone(), r.clone())).collect();
        let mut order: Vec<String> = Vec::new();
        let mut why: BTreeMap<String, String> = BTreeMap::new();
        for round in 0.. {
            if left.is_empty() {
                break;
            }
            // The longest chain is five deep (forwarding rule to bucket).
            assert!(round < 8, "still left after 8 rounds: {why:#?}");
            // Ready: nothing left uses it.
            let used: BTreeSet<&String> = left.values().flat_map(|r| r.uses.iter()).collect();
            let ready: Vec<DiscoveredResource> = left
                .values()
                .filter(|r| !used.contains(&r.arn))
                .cloned()
                .collect();
            assert!(!ready.is_empty(), "a cycle among {:?}", left.keys());
            for r in ready {
                match delete(&p, &ctx, &r).await {
                    Ok(()) => {
                        left.remove(&r.arn);
                        order.push(r.arn.clone());
                    }
                    Err(e) if e.class == ErrorClass::Conflict => {
                        why.insert(r.arn.clone(), e.to_report());
                    }
                    Err(e) => panic!("delete {}: {}", r.arn, e.to_report()),
                }
            }
        }
        let pos = |arn: &str| order.iter().position(|a| a == arn).expect("deleted");
        for (user, used) in &seeded.edges {
            assert!(pos(user) < pos(used), "{user} went after {used}");
        }

        // Nothing is left, the versioned bucket's every generation included.
        let again = p
            .discover(&ctx, &DiscoveryFilter::default())
            .await
            .unwrap_or_else(|e| panic!("discover: {}", e.to_report()));
        assert!(again.is_empty(), "left: {again:?}");
    });
}
