//! Tests of the state store. Those that are not about files run against every backend
//! (`local::*` and `memory::*`, see `for_each_backend!`), each on a fresh harness; the
//! rest are about the local files or the memory backend's lease.

use std::fs;

use overcast_core::native::CreateRequest;
use overcast_core::{Kind, NativeAddr, NativeState, OwnerTags};
use serde_json::{Map, Value, json};

use super::memory::LEASE_SECS;
use super::testing::{Harness, LocalHarness, MemoryHarness, for_each_backend};
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
        type_name: "test_bucket".to_string(),
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
        type_name: "test_bucket".to_string(),
        inputs: attrs(json!({ "path": format!("/tmp/{local}") })),
        owner: OwnerTags {
            stack: STACK.into(),
            target: TARGET.into(),
            resource: addr(local).to_string(),
        },
        secrets: Default::default(),
    })
}

fn open(h: &dyn Harness) -> StateStore {
    match StateStore::open_at(h.location(), STACK, TARGET, "apply") {
        Ok((store, _)) => store,
        Err(e) => panic!("open failed: {e}"),
    }
}

fn read_only(h: &dyn Harness) -> StateStore {
    match StateStore::open_read_only_at(h.location(), STACK, TARGET) {
        Ok(store) => store,
        Err(e) => panic!("read-only open failed: {e}"),
    }
}

/// The names the backend gives the objects of `shop`/`prod`, as errors show them.
fn names(h: &dyn Harness) -> StateNames {
    h.location().backend(STACK, TARGET).unwrap().names().clone()
}

/// Who the backend says holds the lock of `shop`/`prod`.
fn lock_holder(h: &dyn Harness) -> Option<LockInfo> {
    h.location()
        .backend(STACK, TARGET)
        .unwrap()
        .lock_holder()
        .unwrap()
}

fn raw(h: &dyn Harness, ext: &str) -> Option<String> {
    h.read_text(STACK, TARGET, ext)
}

fn journal_len(h: &dyn Harness) -> usize {
    raw(h, "journal").map_or(0, |t| t.len())
}

fn ids(store: &StateStore) -> Vec<(String, String)> {
    store
        .resources()
        .values()
        .map(|r| (r.addr.to_string(), r.id.clone()))
        .collect()
}

fn keys(store: &StateStore) -> Vec<String> {
    store.resources().keys().map(ToString::to_string).collect()
}

for_each_backend!(
    round_trip,
    journal_replay_after_crash,
    put_clears_intent,
    torn_last_line_is_ignored_and_cut_by_next_append,
    complete_last_line_without_newline_is_kept,
    corrupt_middle_line_is_an_error_with_its_line,
    corrupt_snapshot_names_its_line,
    crash_between_snapshot_replacement_and_journal_truncation_applies_nothing_twice,
    journal_newer_than_snapshot_is_an_error,
    backup_keeps_previous_snapshot,
    second_open_is_locked_and_names_the_holder,
    takes_over_a_lock_left_by_a_dead_holder,
    force_unlock_checks_the_id,
    read_only_store_refuses_writes,
    serial_increments_only_on_change,
    newer_format_version_is_refused,
    snapshot_of_another_stack_is_refused,
    list_targets_finds_snapshots_and_journals,
    names_that_cannot_be_object_names_are_refused,
    batch_is_one_record_group_and_skips_only_no_ops,
);

fn round_trip(h: &dyn Harness) {
    let mut store = open(h);
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

    assert_eq!(journal_len(h), 0);
    let raw: Value = serde_json::from_str(&raw(h, "json").unwrap()).unwrap();
    assert_eq!(raw["version"], 1);
    assert_eq!(raw["serial"], 1);
    assert_eq!(raw["stack"], STACK);
    assert_eq!(raw["resources"]["web.a"]["id"], "id-a");
    assert_eq!(raw["intents"]["web.c"]["request"]["addr"], "web.c");

    let store = read_only(h);
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

fn journal_replay_after_crash(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    store.put(native("b", "1")).unwrap();
    store.put(native("a", "2")).unwrap();
    store.remove(&addr("b")).unwrap();
    store.record_intent(intent("c")).unwrap();
    store.record_intent(intent("d")).unwrap();
    store.clear_intent(&addr("d")).unwrap();
    store.set_outputs(attrs(json!({ "n": 1 }))).unwrap();
    drop(store); // "crash": no compaction

    assert_eq!(raw(h, "json"), None);
    let lines = raw(h, "journal").unwrap();
    assert_eq!(lines.lines().count(), 8);
    assert!(
        lines.starts_with(r#"{"base":0,"op":"put","state":{"#),
        "{lines}"
    );

    let mut store = open(h);
    assert_eq!(ids(&store), [("web.a".into(), "2".into())]);
    assert_eq!(store.intents().keys().collect::<Vec<_>>(), [&addr("c")]);
    assert_eq!(store.outputs()["n"], 1);
    assert!(store.is_dirty());
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    drop(store);

    let store = read_only(h);
    assert_eq!(ids(&store), [("web.a".into(), "2".into())]);
    assert_eq!(store.intents().len(), 1);
}

fn put_clears_intent(h: &dyn Harness) {
    let mut store = open(h);
    store.record_intent(intent("a")).unwrap();
    store.put(native("a", "1")).unwrap();
    assert!(store.intents().is_empty());
    drop(store);
    assert!(open(h).intents().is_empty());
}

fn torn_last_line_is_ignored_and_cut_by_next_append(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    store.put(native("b", "1")).unwrap();
    drop(store);
    let torn = raw(h, "journal").unwrap() + r#"{"base":0,"op":"put","state":{"addr":"web.c","ki"#;
    h.write_raw(STACK, TARGET, "journal", torn.as_bytes());

    let ro = read_only(h);
    assert_eq!(ro.resources().len(), 2);
    drop(ro);

    let mut store = open(h);
    assert_eq!(store.resources().len(), 2);
    store.put(native("d", "1")).unwrap();
    drop(store);
    let text = raw(h, "journal").unwrap();
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    assert_eq!(keys(&open(h)), ["web.a", "web.b", "web.d"]);
}

fn complete_last_line_without_newline_is_kept(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    drop(store);
    let text = raw(h, "journal").unwrap();
    h.write_raw(STACK, TARGET, "journal", text.trim_end().as_bytes());

    let mut store = open(h);
    assert_eq!(store.resources().len(), 1);
    store.put(native("b", "1")).unwrap();
    drop(store);
    assert_eq!(raw(h, "journal").unwrap().lines().count(), 2);
    assert_eq!(open(h).resources().len(), 2);
}

fn corrupt_middle_line_is_an_error_with_its_line(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    store.put(native("b", "1")).unwrap();
    drop(store);
    let text = raw(h, "journal").unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(1, "{not json");
    let damaged = lines.join("\n") + "\n";
    h.write_raw(STACK, TARGET, "journal", damaged.as_bytes());

    let journal = names(h).journal;
    for result in [
        StateStore::open_at(h.location(), STACK, TARGET, "apply").map(|(s, _)| s),
        StateStore::open_read_only_at(h.location(), STACK, TARGET),
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
    // Nothing was dropped: the journal is as it was, and the failed open released the lock.
    assert_eq!(raw(h, "journal").unwrap(), damaged);
    assert_eq!(lock_holder(h), None);
}

fn corrupt_snapshot_names_its_line(h: &dyn Harness) {
    h.write_raw(
        STACK,
        TARGET,
        "json",
        b"{\n \"version\": 1,\n \"serial\": }\n",
    );
    match StateStore::open_read_only_at(h.location(), STACK, TARGET) {
        Err(e @ StateError::Corrupt { line: Some(3), .. }) => {
            let want = format!("{}:3", names(h).snapshot.display());
            assert!(e.to_string().contains(&want), "{e}");
        }
        other => panic!("expected Corrupt at line 3, got {other:?}"),
    }
}

fn crash_between_snapshot_replacement_and_journal_truncation_applies_nothing_twice(
    h: &dyn Harness,
) {
    let mut store = open(h);
    store.put(native("a", "from-journal")).unwrap();
    store.set_outputs(attrs(json!({ "n": 1 }))).unwrap();
    drop(store);
    // The snapshot a compaction would have put in place (serial 0 + 1), but with content
    // that differs from the journal so that a re-application would show.
    let snapshot = json!({
        "version": 1, "serial": 1, "lineage": "00000000-0000-4000-8000-000000000000",
        "stack": STACK, "target": TARGET,
        "resources": { "web.a": native("a", "compacted") },
        "intents": {}, "outputs": { "n": 2 },
    });
    h.write_raw(STACK, TARGET, "json", snapshot.to_string().as_bytes());

    let mut store = open(h);
    assert_eq!(ids(&store), [("web.a".into(), "compacted".into())]);
    assert_eq!(store.outputs()["n"], 2);
    assert!(!store.is_dirty());
    store.compact().unwrap();
    assert_eq!(store.serial(), 1, "nothing changed: no new serial");
    assert_eq!(journal_len(h), 0, "stale journal emptied");
    // New records go on top of serial 1 and are replayed.
    store.put(native("b", "new")).unwrap();
    drop(store);
    assert_eq!(
        ids(&open(h)),
        [
            ("web.a".into(), "compacted".into()),
            ("web.b".into(), "new".into())
        ]
    );
}

fn journal_newer_than_snapshot_is_an_error(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    store.put(native("b", "1")).unwrap(); // base 1
    drop(store);
    // Roll the snapshot back to serial 0 (as if restored from an old copy).
    h.remove_raw(STACK, TARGET, "json");
    match StateStore::open_read_only_at(h.location(), STACK, TARGET) {
        Err(StateError::Corrupt {
            line: Some(1),
            message,
            ..
        }) => assert!(message.contains("older than its journal")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn backup_keeps_previous_snapshot(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    assert_eq!(raw(h, "json.backup"), None);
    store.put(native("b", "1")).unwrap();
    store.compact().unwrap();
    let backup: Value = serde_json::from_str(&raw(h, "json.backup").unwrap()).unwrap();
    assert_eq!(backup["serial"], 1);
    assert_eq!(backup["resources"].as_object().unwrap().len(), 1);
    let current: Value = serde_json::from_str(&raw(h, "json").unwrap()).unwrap();
    assert_eq!(current["serial"], 2);
    assert_eq!(current["lineage"], backup["lineage"]);
    assert_eq!(raw(h, "json.tmp"), None);
}

fn second_open_is_locked_and_names_the_holder(h: &dyn Harness) {
    let first = open(h);
    let holder_id = first.lock_info().unwrap().id.clone();
    match StateStore::open_at(h.location(), STACK, TARGET, "destroy") {
        Err(e @ StateError::Locked { .. }) => {
            let StateError::Locked { holder, path } = &e else {
                unreachable!()
            };
            let holder = holder.as_ref().expect("holder details");
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.operation, "apply");
            assert_eq!(path, &names(h).lock);
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
    assert_eq!(read_only(h).serial(), 0);
    assert_eq!(lock_holder(h).as_ref(), first.lock_info());
    drop(first);
    assert_eq!(lock_holder(h), None, "lock released on drop");
    let (_store, interrupted) =
        StateStore::open_at(h.location(), STACK, TARGET, "destroy").unwrap();
    assert_eq!(interrupted, None);
}

fn dead_holder() -> LockInfo {
    LockInfo {
        id: "dead-id".into(),
        pid: 4_000_000,
        host: "elsewhere".into(),
        user: "someone".into(),
        operation: "destroy".into(),
        created: "2026-01-02T03:04:05Z".into(),
    }
}

fn takes_over_a_lock_left_by_a_dead_holder(h: &dyn Harness) {
    h.plant_dead_lock(STACK, TARGET, &dead_holder());
    let (store, interrupted) = StateStore::open_at(h.location(), STACK, TARGET, "apply").unwrap();
    assert_eq!(interrupted, Some(dead_holder()));
    let now = lock_holder(h).expect("new holder recorded");
    assert_eq!(now.pid, std::process::id());
    assert_eq!(Some(&now), store.lock_info());
    drop(store);
    let (_store, interrupted) = StateStore::open_at(h.location(), STACK, TARGET, "apply").unwrap();
    assert_eq!(interrupted, None, "a released lock is no interruption");
}

fn force_unlock_checks_the_id(h: &dyn Harness) {
    assert!(matches!(
        force_unlock_at(h.location(), STACK, TARGET, "x"),
        Err(StateError::NotLocked { .. })
    ));
    let store = open(h);
    let id = store.lock_info().unwrap().id.clone();
    match force_unlock_at(h.location(), STACK, TARGET, "wrong") {
        Err(e @ StateError::LockIdMismatch { .. }) => {
            assert!(e.to_string().contains(&id), "{e}");
            assert_eq!(lock_holder(h).map(|l| l.id), Some(id.clone()));
        }
        other => panic!("expected LockIdMismatch, got {other:?}"),
    }
    force_unlock_at(h.location(), STACK, TARGET, &id).unwrap();
    assert_eq!(lock_holder(h), None);
}

fn read_only_store_refuses_writes(h: &dyn Harness) {
    let mut store = read_only(h);
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
    assert!(matches!(
        store.apply_changes([Change::Remove(addr("a"))]),
        Err(StateError::ReadOnly { .. })
    ));
    assert!(matches!(store.sync(), Err(StateError::ReadOnly { .. })));
    assert!(matches!(store.compact(), Err(StateError::ReadOnly { .. })));
    assert!(store.lock_info().is_none());
    assert!(!store.is_writable());
    // A read-only open leaves nothing behind.
    assert!(h.is_empty());
}

fn serial_increments_only_on_change(h: &dyn Harness) {
    let mut store = open(h);
    store.compact().unwrap();
    assert_eq!(store.serial(), 0, "nothing to write");
    assert_eq!(raw(h, "json"), None);
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    // Re-recording identical state changes nothing and costs no journal record.
    store.put(native("a", "1")).unwrap();
    store.remove(&addr("zzz")).unwrap();
    assert!(!store.is_dirty());
    assert_eq!(journal_len(h), 0);
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    store.remove(&addr("a")).unwrap();
    store.compact().unwrap();
    assert_eq!(store.serial(), 2);
    let lineage = store.lineage().to_string();
    drop(store);
    let store = read_only(h);
    assert_eq!((store.serial(), store.lineage()), (2, lineage.as_str()));
}

fn newer_format_version_is_refused(h: &dyn Harness) {
    let newer = json!({ "version": 2, "serial": 1, "something": "else" });
    h.write_raw(STACK, TARGET, "json", newer.to_string().as_bytes());
    match StateStore::open_read_only_at(h.location(), STACK, TARGET) {
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

fn snapshot_of_another_stack_is_refused(h: &dyn Harness) {
    let mut store = open(h);
    store.put(native("a", "1")).unwrap();
    store.compact().unwrap();
    drop(store);
    // Copied under another target's name.
    let snapshot = h.read_raw(STACK, TARGET, "json").unwrap();
    h.write_raw(STACK, "staging", "json", &snapshot);
    match StateStore::open_read_only_at(h.location(), STACK, "staging") {
        Err(StateError::Corrupt { message, .. }) => {
            assert!(message.contains("target `prod`"), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn list_targets_finds_snapshots_and_journals(h: &dyn Harness) {
    let location = h.location();
    assert!(location.list_targets(STACK).unwrap().is_empty());
    let mut a = StateStore::open_at(location, STACK, "prod", "apply")
        .unwrap()
        .0;
    a.put(native("a", "1")).unwrap();
    a.compact().unwrap();
    let mut b = StateStore::open_at(location, STACK, "dev", "apply")
        .unwrap()
        .0;
    b.put(native("a", "1")).unwrap();
    let _c = StateStore::open_at(location, STACK, "empty", "plan")
        .unwrap()
        .0;
    let mut other = StateStore::open_at(location, "other", "qa", "apply")
        .unwrap()
        .0;
    other.put(native("a", "1")).unwrap();
    assert_eq!(location.list_targets(STACK).unwrap(), ["dev", "prod"]);
}

fn names_that_cannot_be_object_names_are_refused(h: &dyn Harness) {
    for (stack, target) in [
        ("a.b", "c"),
        ("a", "../x"),
        ("", "c"),
        ("a", ""),
        ("a", "b/c"),
    ] {
        assert!(
            matches!(
                StateStore::open_at(h.location(), stack, target, "apply"),
                Err(StateError::InvalidName { .. })
            ),
            "{stack:?} {target:?}"
        );
        assert!(matches!(
            StateStore::open_read_only_at(h.location(), stack, target),
            Err(StateError::InvalidName { .. })
        ));
    }
    assert!(h.is_empty());
}

fn batch_is_one_record_group_and_skips_only_no_ops(h: &dyn Harness) {
    let mut store = open(h);
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
    let lines = raw(h, "journal").unwrap();
    assert_eq!(lines.lines().count(), 5, "{lines}");
    let expect = |s: &StateStore| {
        assert_eq!(keys(s), ["web.a", "web.c"]);
        assert!(s.intents().is_empty());
        assert_eq!(s.outputs()["k"], "v");
    };
    expect(&store);
    drop(store);
    expect(&open(h));
}

// --- The local files: where they are, and what only files do.

#[test]
fn local_state_keeps_its_file_names_and_work_dir_api() {
    let h = LocalHarness::new();
    let (mut store, _) = StateStore::open(h.work_dir(), STACK, TARGET, "apply").unwrap();
    assert!(h.file(STACK, TARGET, "lock").exists());
    assert_eq!(store.path(), h.file(STACK, TARGET, "json"));
    store.put(native("a", "1")).unwrap();
    assert!(h.file(STACK, TARGET, "journal").exists());
    store.compact().unwrap();
    store.put(native("b", "1")).unwrap();
    store.compact().unwrap();
    assert!(h.file(STACK, TARGET, "json").exists());
    assert!(h.file(STACK, TARGET, "json.backup").exists());
    assert!(!h.file(STACK, TARGET, "json.tmp").exists());
    let id = store.lock_info().unwrap().id.clone();
    assert_eq!(list_targets(h.work_dir(), STACK), [TARGET]);
    drop(store);
    assert!(
        !h.file(STACK, TARGET, "lock").exists(),
        "lock file removed on release"
    );
    let ro = StateStore::open_read_only(h.work_dir(), STACK, TARGET).unwrap();
    assert_eq!(keys(&ro), ["web.a", "web.b"]);
    assert!(matches!(
        force_unlock(h.work_dir(), STACK, TARGET, &id),
        Err(StateError::NotLocked { path }) if path == h.file(STACK, TARGET, "lock")
    ));
}

#[test]
fn local_empty_lock_file_is_taken_over_silently() {
    // A holder that died between creating the lock file and writing its details.
    let h = LocalHarness::new();
    h.write_raw(STACK, TARGET, "lock", b"");
    let (_store, interrupted) = StateStore::open_at(h.location(), STACK, TARGET, "apply").unwrap();
    assert_eq!(interrupted, None);
}

#[test]
fn local_list_targets_of_a_missing_directory_is_empty() {
    let h = LocalHarness::new();
    assert!(list_targets(&h.work_dir().join("nowhere"), STACK).is_empty());
}

#[test]
fn write_atomic_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
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

// --- Failures only the memory backend can inject, and its lease.

#[test]
fn failed_append_is_cut_away_before_the_next() {
    let h = MemoryHarness::new();
    let mut store = open(&h);
    store.put(native("a", "1")).unwrap();
    h.location.fail_next_write();
    assert!(matches!(
        store.put(native("b", "1")),
        Err(StateError::Io { .. })
    ));
    assert_eq!(
        keys(&store),
        ["web.a"],
        "a failed change is not in the view"
    );
    store.put(native("c", "1")).unwrap();
    drop(store);
    let text = raw(&h, "journal").unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(keys(&open(&h)), ["web.a", "web.c"]);
}

#[test]
fn failed_append_after_a_record_without_newline_keeps_records_apart() {
    let h = MemoryHarness::new();
    let mut store = open(&h);
    store.put(native("a", "1")).unwrap();
    drop(store);
    let text = raw(&h, "journal").unwrap();
    h.write_raw(STACK, TARGET, "journal", text.trim_end().as_bytes());

    let mut store = open(&h);
    h.location.fail_next_write();
    assert!(store.put(native("b", "1")).is_err());
    store.put(native("c", "1")).unwrap();
    drop(store);
    // The newline the failed append began with is written again by the next one.
    assert_eq!(keys(&open(&h)), ["web.a", "web.c"]);
}

#[test]
fn failed_compaction_keeps_serial_and_journal() {
    let h = MemoryHarness::new();
    let mut store = open(&h);
    store.put(native("a", "1")).unwrap();
    h.location.fail_next_write();
    assert!(store.compact().is_err());
    assert_eq!((store.serial(), store.lineage()), (0, ""));
    assert!(store.is_dirty());
    assert_eq!(raw(&h, "json"), None);
    assert_eq!(raw(&h, "journal").unwrap().lines().count(), 1);
    store.compact().unwrap();
    assert_eq!(store.serial(), 1);
    drop(store);
    assert_eq!(keys(&read_only(&h)), ["web.a"]);
}

#[test]
fn lost_lease_refuses_every_write() {
    let h = MemoryHarness::new();
    let mut stale = open(&h);
    stale.put(native("a", "1")).unwrap();
    // The holder stalls past its lease; another process takes the state over.
    h.location.advance(LEASE_SECS + 1);
    let (mut next, interrupted) =
        StateStore::open_at(h.location(), STACK, TARGET, "apply").unwrap();
    assert_eq!(interrupted.as_ref(), stale.lock_info());
    next.put(native("b", "1")).unwrap();

    match stale.put(native("c", "1")) {
        Err(e @ StateError::LockLost { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("memory://shop.prod.lock"), "{msg}");
            assert!(msg.contains("took it over"), "{msg}");
        }
        other => panic!("expected LockLost, got {other:?}"),
    }
    assert!(matches!(stale.compact(), Err(StateError::LockLost { .. })));
    drop(stale);
    // The stale holder's release left the successor's lease alone.
    assert_eq!(lock_holder(&h).as_ref(), next.lock_info());
    next.compact().unwrap();
    drop(next);
    assert_eq!(keys(&read_only(&h)), ["web.a", "web.b"]);
}

#[test]
fn writes_renew_the_lease() {
    let h = MemoryHarness::new();
    let mut store = open(&h);
    for i in 0..5 {
        h.location.advance(LEASE_SECS - 1);
        store.put(native("a", &i.to_string())).unwrap();
    }
    assert!(matches!(
        StateStore::open_at(h.location(), STACK, TARGET, "apply"),
        Err(StateError::Locked { .. })
    ));
}
