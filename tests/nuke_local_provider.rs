//! The local cloud's side of `nuke`, at the provider level: a lab seeded through the
//! provider's own `create` (several stacks, none of them the nuking one) is discovered with
//! names, locations and creation times, linked along its real dependencies, and deleted
//! entirely through `discovered_state` + `delete`, users before what they use; while a
//! stack's own `delete` (apply, destroy) still refuses another stack's native.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use common::nuke_local::{self, LocalLab};
use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::{ErrorClass, NativeAddr, NativeState, OpContext, Provider, ProviderContext};
use overcast_local::LocalProvider;
use serde_json::{Value, json};

fn ctx() -> OpContext {
    OpContext::detached("nuke-local-test")
}

/// A provider of `stack` on the lab's target.
fn provider(dir: &Path, stack: &str, target: &str, settings: Value) -> LocalProvider {
    let mut settings = settings.as_object().cloned().unwrap_or_default();
    settings
        .entry("helper_exe")
        .or_insert(json!(common::overcast_bin()));
    LocalProvider::new(ProviderContext {
        stack: stack.into(),
        target: target.into(),
        settings,
        spec_dir: dir.to_path_buf(),
        work_dir: dir.join(".overcast"),
    })
    .expect("provider")
}

/// Discover everything, owners decoded as the call layer decodes them.
async fn discover(p: &LocalProvider) -> Vec<DiscoveredResource> {
    let mut found = p
        .discover(&ctx(), &DiscoveryFilter::default())
        .await
        .expect("discover");
    for r in &mut found {
        r.owner = p.decode_owner(&r.tags);
    }
    found
}

/// RFC 3339 of `secs_ago` seconds before now, in the provider's format (which sorts as
/// time does).
fn rfc3339_ago(secs_ago: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    nuke_local::rfc3339(now - secs_ago)
}

/// The edges `link_discovered` found.
fn edges(found: &[DiscoveredResource]) -> BTreeSet<(String, String)> {
    found
        .iter()
        .flat_map(|r| r.uses.iter().map(|u| (r.arn.clone(), u.clone())))
        .collect()
}

/// Delete every discovered resource through `discovered_state` + `delete`, users before
/// what they use, retrying `Conflict`s in rounds like the engine. Returns the order.
async fn delete_all(p: &LocalProvider, found: &[DiscoveredResource]) -> Vec<String> {
    let mut left: BTreeMap<String, &DiscoveredResource> =
        found.iter().map(|r| (r.arn.clone(), r)).collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let used: BTreeSet<&String> = left.values().flat_map(|r| r.uses.iter()).collect();
        let ready: Vec<String> = left
            .keys()
            .filter(|arn| !used.contains(arn))
            .cloned()
            .collect();
        assert!(!ready.is_empty(), "a cycle among {:?}", left.keys());
        let mut progressed = false;
        for arn in ready {
            let r = left[&arn];
            let state = p
                .discovered_state(&ctx(), r)
                .await
                .expect("discovered_state")
                .unwrap_or_else(|| panic!("{arn} ({}) cannot be deleted", r.resource_type));
            match p.delete(&ctx(), &state).await {
                Ok(()) => {
                    left.remove(&arn);
                    order.push(arn);
                    progressed = true;
                }
                Err(e) if e.class == ErrorClass::Conflict => {}
                Err(e) => panic!("deleting {arn}: {e}"),
            }
        }
        assert!(progressed, "no progress; left: {:?}", left.keys());
    }
    order
}

/// Kills what the lab runs, whatever the test's outcome.
struct Cleanup(LocalLab);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_lab_is_discovered_linked_and_emptied_users_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = nuke_local::seed_local_lab(dir.path(), "lab", &common::overcast_bin(), true).await;
    let lab = Cleanup(lab);
    let lab = &lab.0;
    let pids = lab.pids();
    assert!(pids.len() >= 8, "instances and cdn servers run: {pids:?}");
    assert!(
        lab.all.len() >= 30,
        "a few dozen natives: {}",
        lab.all.len()
    );
    for t in [
        "local_bucket",
        "local_queue",
        "local_sqlite",
        "local_function",
        "local_process",
        "local_cdn",
    ] {
        assert!(lab.by_type.contains_key(t), "no {t} seeded");
    }
    if common::postgres_required() {
        assert!(lab.postgres.is_some(), "PostgreSQL is required here");
    }

    // The nuking provider belongs to none of the lab's stacks.
    let p = provider(dir.path(), "nuke", "lab", json!({}));
    let account = p.account(&ctx()).await.expect("account");
    assert_eq!(account.kind, "directory");
    assert_eq!(account.id, lab.root.display().to_string());
    assert_eq!(account.name.as_deref(), Some("lab"));

    let mut found = discover(&p).await;
    let arns: BTreeSet<String> = found.iter().map(|r| r.arn.clone()).collect();
    assert_eq!(arns, lab.all, "discovery lists exactly the lab");
    let (recent, month) = (rfc3339_ago(3600), rfc3339_ago(29 * 86_400));
    for r in &found {
        assert_eq!(r.id, r.arn);
        assert_eq!(r.name.as_ref(), Some(&lab.addr[&r.arn]), "{}", r.arn);
        assert_eq!(r.location.as_deref(), Some("lab"), "{}", r.arn);
        assert!(r.owner.is_some(), "{}: owner decodes", r.arn);
        let created = r
            .created
            .clone()
            .unwrap_or_else(|| panic!("{}: no created", r.arn));
        assert_eq!(created.len(), 20, "{created}: RFC 3339 UTC, seconds");
        if lab.old.contains(&r.arn) {
            assert!(created < month, "{}: backdated, created {created}", r.arn);
        } else {
            assert!(created > recent, "{}: just made, created {created}", r.arn);
        }
    }

    p.link_discovered(&ctx(), &mut found).await.expect("link");
    assert_eq!(edges(&found), lab.edges, "exactly the seeded chains");

    let order = delete_all(&p, &found).await;
    assert_eq!(order.len(), lab.all.len());
    let pos: BTreeMap<&String, usize> = order.iter().enumerate().map(|(i, a)| (a, i)).collect();
    for (user, used) in &lab.edges {
        assert!(pos[user] < pos[used], "{user} must go before {used}");
    }
    assert!(lab.remaining().is_empty(), "left: {:?}", lab.remaining());
    assert!(discover(&p).await.is_empty(), "nothing left to discover");
    let alive: Vec<i32> = pids.into_iter().filter(|pid| common::alive(*pid)).collect();
    assert!(alive.is_empty(), "processes still running: {alive:?}");
    if let Some(pg) = &lab.postgres {
        let cluster = common::postgres_cluster_dir(Path::new(pg));
        assert!(
            common::postmaster_pid(&cluster).is_none_or(|pid| !common::alive(pid)),
            "the PostgreSQL cluster still runs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_refuses_a_foreign_native_that_a_discovered_state_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("lab-src")).expect("mkdir");
    std::fs::write(dir.path().join("lab-src/main.py"), "").expect("write");
    for noop in [false, true] {
        let target = if noop { "n" } else { "m" };
        let settings = json!({"noop": noop});
        let a = provider(dir.path(), "a", target, settings.clone());
        // A noop provider replays its ledger once: a fresh one sees what others did since.
        let b = || provider(dir.path(), "b", target, settings.clone());
        let req = |stack: &str| overcast_core::native::CreateRequest {
            addr: NativeAddr::new("site", "bucket"),
            kind: overcast_core::Kind::Storage,
            type_name: "local_bucket".into(),
            inputs: json!({"content": null})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            owner: overcast_core::OwnerTags {
                stack: stack.into(),
                target: target.into(),
                resource: "site.bucket".into(),
            },
            secrets: Default::default(),
        };
        let obs = a.create(&ctx(), &req("a")).await.expect("create");
        let found = discover(&b()).await;
        assert_eq!(found.len(), 1);

        // Stack b's own state of that address (an apply's, a destroy's) is refused...
        if !noop {
            let own = NativeState::new(
                NativeAddr::new("site", "bucket"),
                overcast_core::Kind::Storage,
                "local_bucket",
                obs.id.clone(),
            );
            let e = b().delete(&ctx(), &own).await.expect_err("foreign");
            assert_eq!(e.class, ErrorClass::Conflict, "{e}");
            assert!(e.message.contains("stack `a`"), "{e}");
            assert_eq!(discover(&b()).await.len(), 1, "still there");
        }

        // ...while the state discovery made reads and deletes it.
        let state = b()
            .discovered_state(&ctx(), &found[0])
            .await
            .expect("state")
            .expect("deletable");
        assert!(b().read(&ctx(), &state).await.expect("read").is_some());

        // A doctored id outside the target is refused, not followed.
        let mut elsewhere = state.clone();
        elsewhere.id = dir.path().join("lab-src").display().to_string();
        let e = b().delete(&ctx(), &elsewhere).await.expect_err("outside");
        assert_eq!(e.class, ErrorClass::InvalidInput, "{e}");
        assert!(dir.path().join("lab-src/main.py").exists());

        // Replaced since discovery (deleted, made again by another stack): refused.
        let mut own_a = state.clone();
        own_a.inputs.clear();
        a.delete(&ctx(), &own_a).await.expect("a deletes its own");
        provider(dir.path(), "c", target, settings.clone())
            .create(&ctx(), &req("c"))
            .await
            .expect("c creates");
        assert!(b().read(&ctx(), &state).await.expect("read").is_none());
        let e = b().delete(&ctx(), &state).await.expect_err("replaced");
        assert_eq!(e.class, ErrorClass::InvalidInput, "{e}");
        assert!(e.message.contains("stack `c`"), "{e}");

        // Found again, it goes; gone again, a delete is done.
        let found = discover(&b()).await;
        let state = b()
            .discovered_state(&ctx(), &found[0])
            .await
            .expect("state")
            .expect("deletable");
        b().delete(&ctx(), &state).await.expect("delete");
        assert!(discover(&b()).await.is_empty(), "noop {noop}: gone");
        b().delete(&ctx(), &state)
            .await
            .expect("deleting what is gone is done");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noop_natives_link_through_their_resolved_inputs_and_are_emptied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = nuke_local::seed_noop_lab(dir.path(), "bench").await;
    let p = provider(dir.path(), "nuke", "bench", json!({"noop": true}));
    let mut found = discover(&p).await;
    let arns: BTreeSet<String> = found.iter().map(|r| r.arn.clone()).collect();
    assert_eq!(arns, lab.all);
    let recent = rfc3339_ago(3600);
    for r in &found {
        assert_eq!(r.name.as_ref(), Some(&lab.addr[&r.arn]));
        assert_eq!(r.location.as_deref(), Some("bench"));
        assert!(r.created.as_ref().is_some_and(|c| *c > recent), "{r:?}");
    }
    p.link_discovered(&ctx(), &mut found).await.expect("link");
    assert_eq!(edges(&found), lab.edges);
    let order = delete_all(&p, &found).await;
    assert_eq!(order.len(), lab.all.len());
    assert!(discover(&p).await.is_empty());
    assert!(
        !lab.root.join("noop.ledger").exists(),
        "the empty ledger is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_deletes_fails_listed_deletes_fatally_after_the_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = nuke_local::seed_noop_lab(dir.path(), "t").await;
    let p = provider(
        dir.path(),
        "nuke",
        "t",
        json!({"noop": true, "latency_ms": 60, "fail_deletes": ["site", "free-3.queue"]}),
    );
    let found = discover(&p).await;
    let mut failed = BTreeSet::new();
    for r in &found {
        let state = p
            .discovered_state(&ctx(), r)
            .await
            .expect("state")
            .expect("deletable");
        let t0 = Instant::now();
        let res = p.delete(&ctx(), &state).await;
        assert!(
            t0.elapsed() >= Duration::from_millis(60),
            "latency applies to delete"
        );
        if let Err(e) = res {
            assert_eq!(e.class, ErrorClass::Fatal, "{e}");
            assert!(e.message.contains("fail_deletes"), "{e}");
            failed.insert(r.name.clone().unwrap_or_default());
        }
    }
    assert_eq!(
        failed,
        BTreeSet::from(["site.bucket".to_string(), "free-3.queue".to_string()])
    );
    let left: BTreeSet<String> = discover(&p).await.into_iter().map(|r| r.arn).collect();
    assert_eq!(left.len(), 2, "the failed ones are left: {left:?}");
    assert!(left.is_subset(&lab.all));
}
