//! The Azure provider's side of `nuke` on the ARM contract-test server: a lab seeded with
//! raw ARM calls (tests/common/nuke_azure.rs) is discovered whole (names, locations,
//! creation times), linked (every edge ARM enforces, every resource to its group), the
//! subscription is named, and every discovered resource not tagged `keep=true` is deleted
//! through `discovered_state` + `delete`, users before what they use, conflicts retried in
//! rounds as the engine does; a group that still holds a kept resource is refused.
#![cfg(feature = "azure")]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::arm::{SUBSCRIPTION, call, rt};
use common::nuke_azure::{AzureLab, LOCATION, lab_provider, seed_lab};
use common::servers::{Server, start_azure_contract};
use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::op::OpContext;
use overcast_core::{ErrorClass, Provider};
use serde_json::json;

fn discover(p: &overcast_azure::AzureProvider, link: bool) -> Vec<DiscoveredResource> {
    rt().block_on(async {
        let ctx = OpContext::detached("nuke");
        let mut found = p
            .discover(&ctx, &DiscoveryFilter::default())
            .await
            .expect("discover");
        if link {
            p.link_discovered(&ctx, &mut found).await.expect("link");
        }
        found
    })
}

fn ids(found: &[DiscoveredResource]) -> BTreeSet<String> {
    found.iter().map(|r| r.arn.clone()).collect()
}

/// Delete one discovered resource as nuke does: its state, then the ordinary delete.
fn delete(
    p: &overcast_azure::AzureProvider,
    r: &DiscoveredResource,
) -> Result<(), overcast_core::ProviderError> {
    rt().block_on(async {
        let ctx = OpContext::detached(format!("nuke {}", r.arn));
        let st = p
            .discovered_state(&ctx, r)
            .await?
            .unwrap_or_else(|| panic!("{} ({}) has no deletable state", r.arn, r.resource_type));
        p.delete(&ctx, &st).await
    })
}

fn seeded() -> (Server, AzureLab) {
    let server = start_azure_contract(1);
    let lab = seed_lab(&server);
    (server, lab)
}

#[test]
fn a_seeded_lab_is_discovered_whole_with_names_locations_and_creation_times_and_linked() {
    let (server, lab) = seeded();
    let p = lab_provider(&server, json!({}));
    let found = discover(&p, true);
    assert_eq!(
        ids(&found),
        lab.all.iter().cloned().collect(),
        "discovered exactly the lab"
    );
    assert!(
        lab.all.len() >= 30,
        "a lab of a few dozen: {}",
        lab.all.len()
    );
    let by_id: BTreeMap<&str, &DiscoveredResource> =
        found.iter().map(|r| (r.arn.as_str(), r)).collect();
    for r in &found {
        assert_eq!(r.name.as_deref(), r.arn.rsplit('/').next(), "{}", r.arn);
        let want = if r.resource_type.starts_with("Microsoft.Cdn/") {
            "global"
        } else {
            LOCATION
        };
        assert_eq!(r.location.as_deref(), Some(want), "{}", r.arn);
        let created = r
            .created
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no creation time", r.arn));
        assert!(
            created.ends_with('Z') && created.len() >= 20 && created.starts_with("20"),
            "{created}"
        );
        // Every resource uses its group; a group uses nothing.
        if r.resource_type == "Microsoft.Resources/resourceGroups" {
            assert!(r.uses.is_empty(), "{} uses {:?}", r.arn, r.uses);
        } else {
            let group = lab
                .groups
                .values()
                .find(|g| r.arn.starts_with(&format!("{g}/")))
                .expect("its group");
            assert!(
                r.uses.contains(group),
                "{} does not use its group: {:?}",
                r.arn,
                r.uses
            );
        }
    }
    for (user, used) in &lab.edges {
        let r = by_id
            .get(user.as_str())
            .unwrap_or_else(|| panic!("{user} not discovered"));
        assert!(
            r.uses.contains(used),
            "{user} should use {used}: {:?}",
            r.uses
        );
    }
    // Owner tags decode; keep tags are plain tags.
    for id in &lab.owned {
        let owner = p.decode_owner(&by_id[id.as_str()].tags).expect("owned");
        assert_eq!(
            (owner.stack.as_str(), owner.target.as_str()),
            ("owned", "lab")
        );
    }
    assert!(
        lab.keep
            .iter()
            .all(|id| by_id[id.as_str()].tags.get("keep").map(String::as_str) == Some("true"))
    );

    // The subscription and its display name.
    let who = rt()
        .block_on(p.account(&OpContext::detached("account")))
        .expect("account");
    assert_eq!(
        (who.kind.as_str(), who.id.as_str()),
        ("subscription", SUBSCRIPTION)
    );
    assert_eq!(who.name.as_deref(), Some("overcast contract lab"));
    call(
        &server,
        "POST",
        "/__contract/config",
        Some(&json!({"subscriptionName": "team prod"})),
    );
    let who = rt()
        .block_on(p.account(&OpContext::detached("account")))
        .expect("account");
    assert_eq!(who.name.as_deref(), Some("team prod"));

    // A target that names a group discovers that group and what is in it, nothing else.
    let scoped = lab_provider(&server, json!({"resource_group": "lab-web"}));
    let found = discover(&scoped, true);
    let web = &lab.groups["lab-web"];
    let want: BTreeSet<String> = lab
        .all
        .iter()
        .filter(|i| *i == web || i.starts_with(&format!("{web}/")))
        .cloned()
        .collect();
    assert_eq!(ids(&found), want);
    let app = found
        .iter()
        .find(|r| r.arn == lab.function_app)
        .expect("the app");
    assert!(
        app.uses.contains(&lab.function_plan) && app.uses.contains(&lab.function_storage),
        "{:?}",
        app.uses
    );
    // The other profile's origin (a public IP in lab-net) is outside the scope: no edge.
    let ip_profile = found
        .iter()
        .find(|r| r.arn == lab.cdn_ip_profile)
        .expect("the ip profile");
    assert_eq!(ip_profile.uses, vec![web.clone()]);
    let missing = lab_provider(&server, json!({"resource_group": "nope"}));
    let e = rt()
        .block_on(missing.discover(&OpContext::detached("d"), &DiscoveryFilter::default()))
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound, "{e:?}");
}

#[test]
fn every_discovered_resource_is_deleted_users_first_and_a_group_holding_a_kept_resource_is_refused()
{
    let (server, lab) = seeded();
    let p = lab_provider(&server, json!({}));
    let found = discover(&p, true);
    let by_id: BTreeMap<String, DiscoveredResource> =
        found.iter().map(|r| (r.arn.clone(), r.clone())).collect();

    // Out of order, ARM refuses: conflicts that name the user.
    let e = delete(&p, &by_id[&lab.nsg]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");
    assert!(e.message.contains("lab-nic-"), "{}", e.message);
    let e = delete(&p, &by_id[&lab.public_ips[1]]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");
    let e = delete(&p, &by_id[&lab.nics[0]]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");
    assert!(e.message.contains("lab-vm-0"), "{}", e.message);
    let e = delete(&p, &by_id[&lab.vnet]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");
    let e = delete(&p, &by_id[&lab.subnet_nsg]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");
    let e = delete(&p, &by_id[&lab.function_plan]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");
    assert!(e.message.contains("lab-fn"), "{}", e.message);
    let e = delete(&p, &by_id[&lab.groups["lab-data"]]).unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e:?}");

    // Everything but what is tagged keep=true, in rounds: a resource goes once nothing
    // still pending uses it; a conflict waits for the next round.
    let keep: BTreeSet<&String> = lab.keep.iter().collect();
    let mut pending: BTreeSet<String> = found
        .iter()
        .map(|r| r.arn.clone())
        .filter(|a| !keep.contains(a))
        .collect();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for _round in 0..10 {
        let ready: Vec<String> = pending
            .iter()
            .filter(|a| !pending.iter().any(|other| by_id[other].uses.contains(a)))
            .cloned()
            .collect();
        let mut progress = false;
        for a in ready {
            match delete(&p, &by_id[&a]) {
                Ok(()) => {
                    pending.remove(&a);
                    refused.remove(&a);
                    order.push(a);
                    progress = true;
                }
                Err(e) if e.class == ErrorClass::Conflict => {
                    refused.insert(a, e.message);
                }
                Err(e) => panic!("deleting {a}: {e:?}"),
            }
        }
        if !progress {
            break;
        }
    }
    // Left: the groups that still hold a kept account, refused with a message naming it.
    let held: BTreeMap<String, &String> = lab
        .keep_in_emptied_group
        .iter()
        .map(|kept| {
            let group = lab
                .groups
                .values()
                .find(|g| kept.starts_with(&format!("{g}/")))
                .expect("its group");
            (group.clone(), kept)
        })
        .collect();
    assert_eq!(pending, held.keys().cloned().collect(), "left: {refused:?}");
    for (group, kept) in &held {
        let name = kept.rsplit('/').next().unwrap_or_default();
        assert!(refused[group].contains(name), "{}", refused[group]);
    }
    // Users went before what they use.
    let pos = |id: &String| order.iter().position(|a| a == id);
    for (user, used) in &lab.edges {
        if let (Some(u), Some(d)) = (pos(user), pos(used)) {
            assert!(u < d, "{user} was deleted after {used}");
        }
    }
    // What is left is exactly the kept resources and the group that holds one.
    let left = ids(&discover(&p, false));
    let mut want: BTreeSet<String> = lab.keep.iter().cloned().collect();
    want.extend(held.keys().cloned());
    assert_eq!(left, want);
    // Children went with their parents: the queues, the profiles' origins, the OS disks.
    let (_, page) = call(
        &server,
        "GET",
        &format!("/subscriptions/{SUBSCRIPTION}/resources?api-version=2022-09-01"),
        None,
    );
    let types: BTreeSet<&str> = page["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["type"].as_str())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["Microsoft.Storage/storageAccounts"]),
        "{page}"
    );
    // Deleting what is gone is done.
    delete(&p, &by_id[&lab.vms[0]]).expect("a gone machine is deleted");
}
