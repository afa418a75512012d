//! Tests of the state module, each in its own temporary directory.

use std::fs;
use std::io::Write;
use std::path::Path;

use overcast_core::native::CreateRequest;
use overcast_core::{Kind, NativeAddr, NativeState, OwnerTags};
use serde_json::{Map, Value, json};

use super::*;

const STACK: &str = "shop";
const TARGET: &str = "prod";

fn addr(local: &str) -> NativeAddr {
    NativeAddr::new("web", local)
}

fn attrs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn native(local: &str, id: &str) -> NativeState {
    NativeState {
        addr: addr(local),
        kind: Kind::Storage,
        type_name: "local_dir".to_string(),
        id: id.to_string(),
        inputs: attrs(json!({ "path": format!("/tmp/{local}") })),
        outputs: attrs(json!({ "url": format!("file:///tmp/{local}") })),
        depends_on: Vec::new(),
        sensitive: Vec::new(),
        force_new: vec!["path".to_string()],
        protect: false,
    }
}

fn intent(local: &str) -> Intent {
    Intent::new(CreateRequest {
        addr: addr(local),
        kind: Kind::Storage,
        type_name: "local_dir".to_string(),
        inputs: attrs(json!({ "path": format!("/tmp/{local}") })),
        owner: OwnerTags {
            stack: STACK.into(),
            target: TARGET.into(),
            resource: addr(local).to_string(),
        },
        secrets: Default::default(),
    })
}

fn open(dir: &Path) -> StateStore {
    match StateStore::open(dir, STACK, TARGET, "apply") {
        Ok((store, _)) => store,
        Err(e) => panic!("open failed: {e}"),
    }
}

fn read_only(dir: &Path) -> StateStore {
    match StateStore::open_read_only(dir, STACK, TARGET) {
        Ok(store) => store,
        Err(e) => panic!("read-only open failed: {e}"),
    }
}

fn state_file(dir: &Path, ext: &str) -> std::path::PathBuf {
    dir.join("state").join(format!("{STACK}.{TARGET}.{ext}"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn ids(store: &StateStore) -> Vec<(String, String)> {
    store
        .resources()
        .values()
        .map(|r| (r.addr.to_string(), r.id.clone()))
        .collect()
}

#[test]
fn round_trip() {
    let dir = tempdir();
    let mut store = open(dir.path());
    assert_eq!(store.serial(), 0);
    assert_eq!(store.lineage(), "");
    store.put(native("a", "id-a")).unwrap();
    store.put(native("b", "id-b")).unwrap();
    store.record_intent(intent("c")).unwrap();
    store.set_outputs(attrs(json!({ "url": "x" }))).unwrap();
    store.compact().unwrap();
    let lineage = store.lineage().to_string();
    assert!(
        uuid::Uuid::parse_str(&lineage).is_ok(),
        "lineage is a uuid: {lineage}"
    );
    assert_eq!(store.serial(), 1);
    drop(store);

    assert_eq!(
        fs::metadata(state_file(dir.path(), "journal"))
            .unwrap()
            .len(),
        0
    );
    let text = fs::read_to_string(state_file(dir.path(), "json")).unwrap();
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw["version"], 1);
    assert_eq!(raw["serial"], 1);
    assert_eq!(raw["stack"], STACK);
    assert_eq!(raw["resources"]["web.a"]["id"], "id-a");
    assert_eq!(raw["intents"]["web.c"]["request"]["addr"], "web.c");

    let store = read_only(dir.path());
    assert_eq!(
        ids(&store),
        [
            ("web.a".into(), "id-a".into()),
            ("web.b".into(), "id-b".into())
        ]
    );
    assert_eq!(store.resources()[&addr("a")], native("a", "id-a"));
    assert_eq!(
        store.intents()[&addr("c")],
        intent("c").clone_with_time(&store.intents()[&addr("c")])
    );
    assert_eq!(store.outputs()["url"], "x");
    assert_eq!(store.lineage(), lineage);
    assert!(!store.is_dirty());
}

impl Intent {
    /// The same intent with `other`'s timestamp, to compare across a clock tick.
    fn clone_with_time(&self, other: &Intent) -> Intent {
        Intent {
            recorded_at: other.recorded_at.clone(),
            ..self.clone()
        }
    }
}

#[test]
fn journal_replay_after_crash() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.put(native("b", "1")).unwrap();
    store.put(native("a", "2")).unwrap();
    store.remove(&addr("b")).unwrap();
    store.record_intent(intent("c")).unwrap();
    store.record_intent(intent("d")).unwrap();
    store.clear_intent(&addr("d")).unwrap();
    store.set_outputs(attrs(json!({ "n": 1 }))).unwrap();
    drop(store); // "crash": no compaction

    assert!(!state_file(dir.path(), "json").exists());
    let lines = fs::read_to_string(state_file(dir.path(), "journal")).unwrap();
    assert_eq!(lines.lines().count(), 8);
    assert!(
        lines.starts_with(r#"{"base":0,"op":"put","state":{"#),
        "{lines}"
    );

    let mut store = open(dir.path());
    assert_eq!(ids(&store), [("web.a".into(), "2".into())]);
    assert_eq!(store.intents().keys().collect::<Vec<_>>(), [&addr("c")]);
    assert_eq!(store.outputs()["n"], 1);
    assert!(store.is_dirty());
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    drop(store);

    let store = read_only(dir.path());
    assert_eq!(ids(&store), [("web.a".into(), "2".into())]);
    assert_eq!(store.intents().len(), 1);
}

#[test]
fn put_clears_intent() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.record_intent(intent("a")).unwrap();
    store.put(native("a", "1")).unwrap();
    assert!(store.intents().is_empty());
    drop(store);
    assert!(open(dir.path()).intents().is_empty());
}

#[test]
fn torn_last_line_is_ignored_and_cut_by_next_append() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.put(native("b", "1")).unwrap();
    drop(store);
    let journal = state_file(dir.path(), "journal");
    fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(br#"{"base":0,"op":"put","state":{"addr":"web.c","ki"#)
        .unwrap();

    let ro = read_only(dir.path());
    assert_eq!(ro.resources().len(), 2);
    drop(ro);

    let mut store = open(dir.path());
    assert_eq!(store.resources().len(), 2);
    store.put(native("d", "1")).unwrap();
    drop(store);
    let text = fs::read_to_string(&journal).unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    let store = open(dir.path());
    assert_eq!(
        store
            .resources()
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["web.a", "web.b", "web.d"]
    );
}

#[test]
fn complete_last_line_without_newline_is_kept() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    drop(store);
    let journal = state_file(dir.path(), "journal");
    let text = fs::read_to_string(&journal).unwrap();
    fs::write(&journal, text.trim_end()).unwrap();

    let mut store = open(dir.path());
    assert_eq!(store.resources().len(), 1);
    store.put(native("b", "1")).unwrap();
    drop(store);
    assert_eq!(fs::read_to_string(&journal).unwrap().lines().count(), 2);
    assert_eq!(open(dir.path()).resources().len(), 2);
}

#[test]
fn corrupt_middle_line_is_an_error_with_its_line() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.put(native("b", "1")).unwrap();
    drop(store);
    let journal = state_file(dir.path(), "journal");
    let text = fs::read_to_string(&journal).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{not json");
    fs::write(&journal, lines.join("\n") + "\n").unwrap();

    for result in [
        StateStore::open(dir.path(), STACK, TARGET, "apply").map(|(s, _)| s),
        StateStore::open_read_only(dir.path(), STACK, TARGET),
    ] {
        match result {
            Err(e @ StateError::Corrupt { .. }) => {
                let StateError::Corrupt { path, line, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(path, &journal);
                assert_eq!(*line, Some(2));
                let msg = e.to_string();
                assert!(msg.contains(&format!("{}:2", journal.display())), "{msg}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    // Nothing was dropped: the file is as it was.
    assert_eq!(fs::read_to_string(&journal).unwrap().lines().count(), 3);
}

#[test]
fn corrupt_snapshot_names_file_and_line() {
    let dir = tempdir();
    fs::create_dir_all(dir.path().join("state")).unwrap();
    fs::write(
        state_file(dir.path(), "json"),
        "{\n \"version\": 1,\n \"serial\": }\n",
    )
    .unwrap();
    match StateStore::open_read_only(dir.path(), STACK, TARGET) {
        Err(StateError::Corrupt { line: Some(3), .. }) => {}
        other => panic!("expected Corrupt at line 3, got {other:?}"),
    }
}

#[test]
fn crash_between_snapshot_rename_and_journal_truncation_applies_nothing_twice() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "from-journal")).unwrap();
    store.set_outputs(attrs(json!({ "n": 1 }))).unwrap();
    drop(store);
    // The snapshot a compaction would have renamed into place (serial 0 + 1), but with
    // content that differs from the journal so that a re-application would show.
    let snapshot = json!({
        "version": 1, "serial": 1, "lineage": "00000000-0000-4000-8000-000000000000",
        "stack": STACK, "target": TARGET,
        "resources": { "web.a": native("a", "compacted") },
        "intents": {}, "outputs": { "n": 2 },
    });
    fs::write(state_file(dir.path(), "json"), snapshot.to_string()).unwrap();

    let mut store = open(dir.path());
    assert_eq!(ids(&store), [("web.a".into(), "compacted".into())]);
    assert_eq!(store.outputs()["n"], 2);
    assert!(!store.is_dirty());
    store.compact().unwrap();
    assert_eq!(store.serial(), 1, "nothing changed: no new serial");
    assert_eq!(
        fs::metadata(state_file(dir.path(), "journal"))
            .unwrap()
            .len(),
        0,
        "stale journal emptied"
    );
    // New records go on top of serial 1 and are replayed.
    store.put(native("b", "new")).unwrap();
    drop(store);
    assert_eq!(
        ids(&open(dir.path())),
        [
            ("web.a".into(), "compacted".into()),
            ("web.b".into(), "new".into())
        ]
    );
}

#[test]
fn journal_newer_than_snapshot_is_an_error() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    store.put(native("b", "1")).unwrap(); // base 1
    drop(store);
    // Roll the snapshot back to serial 0 (as if restored from an old copy).
    fs::remove_file(state_file(dir.path(), "json")).unwrap();
    match StateStore::open_read_only(dir.path(), STACK, TARGET) {
        Err(StateError::Corrupt {
            line: Some(1),
            message,
            ..
        }) => assert!(message.contains("older than its journal")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn backup_keeps_previous_snapshot() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    assert!(!state_file(dir.path(), "json.backup").exists());
    store.put(native("b", "1")).unwrap();
    store.compact().unwrap();
    let backup: Value =
        serde_json::from_str(&fs::read_to_string(state_file(dir.path(), "json.backup")).unwrap())
            .unwrap();
    assert_eq!(backup["serial"], 1);
    assert_eq!(backup["resources"].as_object().unwrap().len(), 1);
    let current: Value =
        serde_json::from_str(&fs::read_to_string(state_file(dir.path(), "json")).unwrap()).unwrap();
    assert_eq!(current["serial"], 2);
    assert_eq!(current["lineage"], backup["lineage"]);
    assert!(!state_file(dir.path(), "json.tmp").exists());
}

#[test]
fn second_open_is_locked_and_names_the_holder() {
    let dir = tempdir();
    let first = open(dir.path());
    let holder_id = first.lock_info().unwrap().id.clone();
    match StateStore::open(dir.path(), STACK, TARGET, "destroy") {
        Err(e @ StateError::Locked { .. }) => {
            let StateError::Locked { holder, path } = &e else {
                unreachable!()
            };
            let holder = holder.as_ref().expect("holder details");
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.operation, "apply");
            assert_eq!(path, &state_file(dir.path(), "lock"));
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("pid {}", std::process::id())),
                "{msg}"
            );
            assert!(msg.contains("`apply`"), "{msg}");
            assert!(msg.contains(&holder.created), "{msg}");
            assert!(
                msg.contains(&format!("overcast state unlock {holder_id}")),
                "{msg}"
            );
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // Readers do not need the lock.
    assert_eq!(read_only(dir.path()).serial(), 0);
    drop(first);
    assert!(
        !state_file(dir.path(), "lock").exists(),
        "lock file removed on release"
    );
    let (_store, interrupted) = StateStore::open(dir.path(), STACK, TARGET, "destroy").unwrap();
    assert_eq!(interrupted, None);
}

#[test]
fn takes_over_a_lock_file_left_by_a_dead_holder() {
    let dir = tempdir();
    let dead = LockInfo {
        id: "dead-id".into(),
        pid: 4_000_000,
        host: "elsewhere".into(),
        user: "someone".into(),
        operation: "destroy".into(),
        created: "2026-01-02T03:04:05Z".into(),
    };
    fs::create_dir_all(dir.path().join("state")).unwrap();
    fs::write(
        state_file(dir.path(), "lock"),
        serde_json::to_string(&dead).unwrap(),
    )
    .unwrap();

    let (store, interrupted) = StateStore::open(dir.path(), STACK, TARGET, "apply").unwrap();
    assert_eq!(interrupted, Some(dead));
    let now: LockInfo =
        serde_json::from_str(&fs::read_to_string(state_file(dir.path(), "lock")).unwrap()).unwrap();
    assert_eq!(now.pid, std::process::id());
    assert_eq!(Some(&now), store.lock_info());
    drop(store);

    // An empty lock file (holder died before writing) is taken over silently.
    fs::write(state_file(dir.path(), "lock"), "").unwrap();
    let (_store, interrupted) = StateStore::open(dir.path(), STACK, TARGET, "apply").unwrap();
    assert_eq!(interrupted, None);
}

#[test]
fn force_unlock_checks_the_id() {
    let dir = tempdir();
    assert!(matches!(
        force_unlock(dir.path(), STACK, TARGET, "x"),
        Err(StateError::NotLocked { .. })
    ));
    let store = open(dir.path());
    let id = store.lock_info().unwrap().id.clone();
    match force_unlock(dir.path(), STACK, TARGET, "wrong") {
        Err(e @ StateError::LockIdMismatch { .. }) => {
            assert!(e.to_string().contains(&id), "{e}");
            assert!(state_file(dir.path(), "lock").exists());
        }
        other => panic!("expected LockIdMismatch, got {other:?}"),
    }
    force_unlock(dir.path(), STACK, TARGET, &id).unwrap();
    assert!(!state_file(dir.path(), "lock").exists());
}

#[test]
fn read_only_store_refuses_writes() {
    let dir = tempdir();
    let mut store = read_only(dir.path());
    assert!(matches!(
        store.put(native("a", "1")),
        Err(StateError::ReadOnly { .. })
    ));
    assert!(matches!(
        store.remove(&addr("a")),
        Err(StateError::ReadOnly { .. })
    ));
    assert!(matches!(
        store.record_intent(intent("a")),
        Err(StateError::ReadOnly { .. })
    ));
    assert!(matches!(
        store.clear_intent(&addr("a")),
        Err(StateError::ReadOnly { .. })
    ));
    assert!(matches!(
        store.set_outputs(Map::new()),
        Err(StateError::ReadOnly { .. })
    ));
    assert!(matches!(store.compact(), Err(StateError::ReadOnly { .. })));
    assert!(store.lock_info().is_none());
    // A read-only open leaves no files behind.
    assert!(!dir.path().join("state").exists());
}

#[test]
fn serial_increments_only_on_change() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.compact().unwrap();
    assert_eq!(store.serial(), 0, "nothing to write");
    assert!(!state_file(dir.path(), "json").exists());
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    // Re-recording identical state changes nothing and costs no journal record.
    store.put(native("a", "1")).unwrap();
    store.remove(&addr("zzz")).unwrap();
    assert!(!store.is_dirty());
    assert_eq!(
        fs::metadata(state_file(dir.path(), "journal"))
            .unwrap()
            .len(),
        0
    );
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    store.remove(&addr("a")).unwrap();
    store.compact().unwrap();
    assert_eq!(store.serial(), 2);
    let lineage = store.lineage().to_string();
    drop(store);
    let store = read_only(dir.path());
    assert_eq!((store.serial(), store.lineage()), (2, lineage.as_str()));
}

#[test]
fn newer_format_version_is_refused() {
    let dir = tempdir();
    fs::create_dir_all(dir.path().join("state")).unwrap();
    let path = state_file(dir.path(), "json");
    fs::write(
        &path,
        json!({ "version": 2, "serial": 1, "something": "else" }).to_string(),
    )
    .unwrap();
    match StateStore::open_read_only(dir.path(), STACK, TARGET) {
        Err(
            e @ StateError::VersionTooNew {
                found: 2,
                supported: 1,
                ..
            },
        ) => {
            assert!(e.to_string().contains("upgrade overcast"), "{e}")
        }
        other => panic!("expected VersionTooNew, got {other:?}"),
    }
}

#[test]
fn snapshot_of_another_stack_is_refused() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    drop(store);
    fs::rename(
        state_file(dir.path(), "json"),
        dir.path().join("state/shop.staging.json"),
    )
    .unwrap();
    match StateStore::open_read_only(dir.path(), STACK, "staging") {
        Err(StateError::Corrupt { message, .. }) => {
            assert!(message.contains("target `prod`"), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn list_targets_finds_snapshots_and_journals() {
    let dir = tempdir();
    assert!(list_targets(dir.path(), STACK).is_empty());
    let mut a = StateStore::open(dir.path(), STACK, "prod", "apply")
        .unwrap()
        .0;
    a.put(native("a", "1")).unwrap();
    a.compact().unwrap();
    let mut b = StateStore::open(dir.path(), STACK, "dev", "apply")
        .unwrap()
        .0;
    b.put(native("a", "1")).unwrap();
    let _c = StateStore::open(dir.path(), STACK, "empty", "plan")
        .unwrap()
        .0;
    let mut other = StateStore::open(dir.path(), "other", "qa", "apply")
        .unwrap()
        .0;
    other.put(native("a", "1")).unwrap();
    assert_eq!(list_targets(dir.path(), STACK), ["dev", "prod"]);
}

#[test]
fn names_that_cannot_be_file_names_are_refused() {
    let dir = tempdir();
    for (stack, target) in [("a.b", "c"), ("a", "../x"), ("", "c"), ("a", "")] {
        assert!(matches!(
            StateStore::open(dir.path(), stack, target, "apply"),
            Err(StateError::InvalidName { .. })
        ));
    }
}

#[test]
fn batch_is_one_record_group_and_skips_only_no_ops() {
    let dir = tempdir();
    let mut store = open(dir.path());
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    store
        .apply_changes([
            Change::Put(native("a", "1")), // no-op: skipped
            Change::Intent(intent("b")),
            Change::Put(native("b", "1")), // clears the intent recorded just before
            Change::Remove(addr("b")),
            Change::Put(native("c", "1")),
            Change::Outputs(attrs(json!({ "k": "v" }))),
        ])
        .unwrap();
    let lines = fs::read_to_string(state_file(dir.path(), "journal")).unwrap();
    assert_eq!(lines.lines().count(), 5, "{lines}");
    let expect = |s: &StateStore| {
        assert_eq!(
            s.resources()
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["web.a", "web.c"]
        );
        assert!(s.intents().is_empty());
        assert_eq!(s.outputs()["k"], "v");
    };
    expect(&store);
    drop(store);
    expect(&open(dir.path()));
}

#[test]
fn write_atomic_replaces_a_file() {
    let dir = tempdir();
    let path = dir.path().join("plan.json");
    write_atomic(&path, b"one").unwrap();
    write_atomic(&path, b"two").unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "two");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}
