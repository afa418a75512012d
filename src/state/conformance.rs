//! What every [`StateBackend`] must do, checked on the trait alone: the guarantees listed
//! on the trait, each as a test that runs against every backend (`local::*`, `memory::*`).
//! A new backend adds a harness (see `testing.rs`) and passes these before the store
//! tests mean anything for it.

use std::io::{self, Read};

use super::backend::{StateBackend, StateLocation};
use super::error::StateError;
use super::lock::LockInfo;
use super::testing::{Harness, for_each_backend};

const STACK: &str = "shop";
const TARGET: &str = "prod";

fn backend(h: &dyn Harness) -> Box<dyn StateBackend> {
    h.location().backend(STACK, TARGET).expect("backend")
}

fn holder(operation: &str) -> LockInfo {
    LockInfo::current(operation)
}

/// A backend of `shop`/`prod` that holds the lock, as the store uses one for writing.
fn locked(h: &dyn Harness) -> Box<dyn StateBackend> {
    let mut b = backend(h);
    assert_eq!(b.acquire_lock(&holder("apply")).expect("lock"), None);
    b
}

fn read(reader: Option<Box<dyn Read + '_>>) -> Option<String> {
    reader.map(|mut r| {
        let mut text = String::new();
        r.read_to_string(&mut text).expect("read");
        text
    })
}

fn write(b: &mut dyn StateBackend, text: &str) -> Result<(), StateError> {
    b.write_snapshot(&mut |w| w.write_all(text.as_bytes()))
}

for_each_backend!(
    objects_have_distinct_names,
    a_new_state_has_nothing,
    snapshot_replacement_keeps_the_previous_as_backup,
    failed_snapshot_write_leaves_the_previous_whole,
    journal_appends_in_order_and_truncates,
    truncating_a_missing_journal_creates_nothing,
    lock_is_exclusive_and_names_its_holder,
    released_lock_can_be_taken_again,
    dead_holder_is_taken_over_and_reported,
    force_unlock_needs_the_holders_id,
    dropping_a_backend_releases_its_lock,
    list_targets_lists_states_not_locks,
    other_processes_see_completed_writes,
);

fn objects_have_distinct_names(h: &dyn Harness) {
    let b = backend(h);
    let n = b.names();
    let all = [&n.snapshot, &n.backup, &n.journal, &n.lock];
    for (i, x) in all.iter().enumerate() {
        for y in &all[i + 1..] {
            assert_ne!(x, y);
        }
        assert!(x.to_string_lossy().contains("shop.prod"), "{}", x.display());
    }
    let other = h.location().backend(STACK, "dev").unwrap();
    assert_ne!(other.names().snapshot, n.snapshot);
}

fn a_new_state_has_nothing(h: &dyn Harness) {
    let b = backend(h);
    assert!(read(b.read_snapshot().unwrap()).is_none());
    assert!(read(b.read_backup().unwrap()).is_none());
    assert!(b.read_journal().unwrap().is_empty());
    assert_eq!(b.lock_holder().unwrap(), None);
    drop(b);
    assert!(h.is_empty(), "opening a backend stores nothing");
}

fn snapshot_replacement_keeps_the_previous_as_backup(h: &dyn Harness) {
    let mut b = locked(h);
    write(&mut *b, "one").unwrap();
    b.sync_snapshot().unwrap();
    assert_eq!(read(b.read_snapshot().unwrap()).as_deref(), Some("one"));
    assert_eq!(read(b.read_backup().unwrap()), None);
    write(&mut *b, "two").unwrap();
    b.sync_snapshot().unwrap();
    assert_eq!(read(b.read_snapshot().unwrap()).as_deref(), Some("two"));
    assert_eq!(read(b.read_backup().unwrap()).as_deref(), Some("one"));
    write(&mut *b, "three").unwrap();
    assert_eq!(read(b.read_backup().unwrap()).as_deref(), Some("two"));
}

fn failed_snapshot_write_leaves_the_previous_whole(h: &dyn Harness) {
    let mut b = locked(h);
    write(&mut *b, "one").unwrap();
    let failed = b.write_snapshot(&mut |w| {
        w.write_all(b"half of t")?;
        Err(io::Error::other("serializer failed"))
    });
    match failed {
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("serializer failed"), "{msg}");
        }
        Ok(()) => panic!("a failed writer must fail the replacement"),
    }
    assert_eq!(read(b.read_snapshot().unwrap()).as_deref(), Some("one"));
    assert_eq!(read(b.read_backup().unwrap()), None, "nothing was replaced");
}

fn journal_appends_in_order_and_truncates(h: &dyn Harness) {
    let mut b = locked(h);
    b.append_journal(b"a\n", true).unwrap();
    b.append_journal(b"b\n", false).unwrap();
    b.sync_journal().unwrap();
    b.append_journal(b"c\n", false).unwrap();
    assert_eq!(b.read_journal().unwrap(), b"a\nb\nc\n");
    // Dropping a torn tail: back to the end of a complete record.
    b.truncate_journal(4, false).unwrap();
    assert_eq!(b.read_journal().unwrap(), b"a\nb\n");
    b.append_journal(b"d\n", true).unwrap();
    assert_eq!(b.read_journal().unwrap(), b"a\nb\nd\n");
    b.truncate_journal(0, true).unwrap();
    assert!(b.read_journal().unwrap().is_empty());
    b.append_journal(b"e\n", true).unwrap();
    assert_eq!(b.read_journal().unwrap(), b"e\n");
}

fn truncating_a_missing_journal_creates_nothing(h: &dyn Harness) {
    let mut b = locked(h);
    b.truncate_journal(0, true).unwrap();
    b.sync_journal().unwrap();
    assert!(b.read_journal().unwrap().is_empty());
    assert!(h.read_raw(STACK, TARGET, "journal").is_none());
}

fn lock_is_exclusive_and_names_its_holder(h: &dyn Harness) {
    let first = holder("apply");
    let mut a = backend(h);
    assert_eq!(a.acquire_lock(&first).unwrap(), None);
    let mut b = backend(h);
    match b.acquire_lock(&holder("destroy")) {
        Err(StateError::Locked { path, holder }) => {
            assert_eq!(path, b.names().lock);
            assert_eq!(holder.as_deref(), Some(&first));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // Also within one backend: a second holding would not be exclusive.
    assert!(matches!(
        a.acquire_lock(&holder("plan")),
        Err(StateError::Locked { .. })
    ));
    assert_eq!(b.lock_holder().unwrap(), Some(first));
}

fn released_lock_can_be_taken_again(h: &dyn Harness) {
    let mut a = locked(h);
    a.release_lock().unwrap();
    a.release_lock().unwrap(); // idempotent
    assert_eq!(a.lock_holder().unwrap(), None);
    let mut b = backend(h);
    assert_eq!(b.acquire_lock(&holder("destroy")).unwrap(), None);
}

fn dead_holder_is_taken_over_and_reported(h: &dyn Harness) {
    let dead = LockInfo {
        pid: 4_000_000,
        host: "elsewhere".into(),
        ..holder("destroy")
    };
    h.plant_dead_lock(STACK, TARGET, &dead);
    let mut b = backend(h);
    assert_eq!(b.lock_holder().unwrap().as_ref(), Some(&dead));
    let next = holder("apply");
    assert_eq!(b.acquire_lock(&next).unwrap(), Some(dead));
    assert_eq!(b.lock_holder().unwrap(), Some(next));
}

fn force_unlock_needs_the_holders_id(h: &dyn Harness) {
    let mut other = backend(h);
    assert!(matches!(
        other.force_unlock("any"),
        Err(StateError::NotLocked { path }) if path == other.names().lock
    ));
    let held = holder("apply");
    let mut a = backend(h);
    a.acquire_lock(&held).unwrap();
    match other.force_unlock("wrong") {
        Err(StateError::LockIdMismatch { given, actual, .. }) => {
            assert_eq!(given, "wrong");
            assert_eq!(actual.as_deref(), Some(held.id.as_str()));
        }
        other => panic!("expected LockIdMismatch, got {other:?}"),
    }
    other.force_unlock(&held.id).unwrap();
    assert_eq!(other.lock_holder().unwrap(), None);
    assert_eq!(other.acquire_lock(&holder("destroy")).unwrap(), None);
}

fn dropping_a_backend_releases_its_lock(h: &dyn Harness) {
    drop(locked(h));
    let mut b = backend(h);
    assert_eq!(b.lock_holder().unwrap(), None);
    assert_eq!(b.acquire_lock(&holder("apply")).unwrap(), None);
}

fn list_targets_lists_states_not_locks(h: &dyn Harness) {
    let location: &dyn StateLocation = h.location();
    assert!(location.list_targets(STACK).unwrap().is_empty());
    let mut prod = location.backend(STACK, "prod").unwrap();
    prod.acquire_lock(&holder("apply")).unwrap();
    write(&mut *prod, "{}").unwrap();
    let mut dev = location.backend(STACK, "dev").unwrap();
    dev.acquire_lock(&holder("apply")).unwrap();
    dev.append_journal(b"x\n", true).unwrap();
    let mut locked_only = location.backend(STACK, "qa").unwrap();
    locked_only.acquire_lock(&holder("plan")).unwrap();
    let mut other = location.backend("other", "prod").unwrap();
    other.acquire_lock(&holder("apply")).unwrap();
    other.append_journal(b"x\n", true).unwrap();
    assert_eq!(location.list_targets(STACK).unwrap(), ["dev", "prod"]);
    assert_eq!(location.list_targets("other").unwrap(), ["prod"]);
}

fn other_processes_see_completed_writes(h: &dyn Harness) {
    let mut writer = locked(h);
    let reader = backend(h);
    writer.append_journal(b"r1\n", false).unwrap();
    assert_eq!(reader.read_journal().unwrap(), b"r1\n");
    write(&mut *writer, "snap").unwrap();
    assert_eq!(
        read(reader.read_snapshot().unwrap()).as_deref(),
        Some("snap")
    );
    writer.truncate_journal(0, true).unwrap();
    assert!(reader.read_journal().unwrap().is_empty());
}
