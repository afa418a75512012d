//! [`StateStore`]: one (stack, target) state, its snapshot plus journal, open for writing
//! under the lock or read-only, over any [`StateBackend`].

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use overcast_core::{NativeAddr, NativeState};
use serde_json::{Map, Value};

use super::backend::{StateBackend, StateLocation};
use super::error::StateError;
use super::intent::Intent;
use super::journal::{Change, Journal, Record};
use super::local::LocalDir;
use super::lock::LockInfo;
use super::name;
use super::snapshot::{self, Snapshot};

/// One (stack, target) state.
///
/// The view ([`resources`](Self::resources), [`intents`](Self::intents),
/// [`outputs`](Self::outputs)) is the snapshot with the journal replayed on top. Every
/// mutation is appended to the journal and fsynced before it returns, so it survives a
/// kill at any instant; [`compact`](Self::compact) folds the journal into a new snapshot.
///
/// The bytes live in a [`StateBackend`]: files under the stack's `.overcast/state/` for
/// [`open`](Self::open) and [`open_read_only`](Self::open_read_only), anywhere else through
/// [`open_at`](Self::open_at) and [`open_read_only_at`](Self::open_read_only_at).
#[derive(Debug)]
pub struct StateStore {
    /// Dropping it releases the lock, if held.
    backend: Box<dyn StateBackend>,
    /// The current view; its `serial` and `lineage` are those of the stored snapshot.
    view: Snapshot,
    journal: Journal,
    /// The holder details of the lock this store holds; `None` for a read-only store.
    lock: Option<LockInfo>,
    /// The view differs from the stored snapshot.
    dirty: bool,
}

/// How often a read-only open retries when it races a compaction (see `open_read_only`).
const READ_ONLY_ATTEMPTS: usize = 3;

impl StateStore {
    /// Open the state of `stack`/`target` under `work_dir` (the stack's `.overcast/`) for
    /// writing, taking its lock for `operation`.
    ///
    /// Returns the store and, when the previous holder of the lock died without releasing
    /// it, that holder's details: its operation was interrupted and the caller should say
    /// so (the journal already holds everything it recorded).
    pub fn open(
        work_dir: &Path,
        stack: &str,
        target: &str,
        operation: &str,
    ) -> Result<(StateStore, Option<LockInfo>), StateError> {
        Self::open_at(&LocalDir::new(work_dir), stack, target, operation)
    }

    /// Open the state without the lock, for commands that only read it. Such a store
    /// refuses every mutation with [`StateError::ReadOnly`].
    pub fn open_read_only(
        work_dir: &Path,
        stack: &str,
        target: &str,
    ) -> Result<StateStore, StateError> {
        Self::open_read_only_at(&LocalDir::new(work_dir), stack, target)
    }

    /// [`open`](Self::open) for a state kept at any [`StateLocation`].
    pub fn open_at(
        location: &dyn StateLocation,
        stack: &str,
        target: &str,
        operation: &str,
    ) -> Result<(StateStore, Option<LockInfo>), StateError> {
        let mut backend = open_backend(location, stack, target)?;
        let holder = LockInfo::current(operation);
        let interrupted = backend.acquire_lock(&holder)?;
        // On an error below the backend is dropped, which releases the lock.
        let mut store = StateStore::unloaded(backend, stack, target, Some(holder));
        store.load()?;
        Ok((store, interrupted))
    }

    /// [`open_read_only`](Self::open_read_only) for a state kept at any [`StateLocation`].
    pub fn open_read_only_at(
        location: &dyn StateLocation,
        stack: &str,
        target: &str,
    ) -> Result<StateStore, StateError> {
        let backend = open_backend(location, stack, target)?;
        let mut store = StateStore::unloaded(backend, stack, target, None);
        // Without the lock a writer may compact (truncate the journal) while we read it,
        // which can look like corruption: read again before believing it.
        let mut attempt = 1;
        loop {
            match store.load() {
                Err(StateError::Corrupt { .. }) if attempt < READ_ONLY_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
                Ok(()) => return Ok(store),
            }
        }
    }

    /// A store over `backend` with an empty view, to be [`load`](Self::load)ed.
    fn unloaded(
        backend: Box<dyn StateBackend>,
        stack: &str,
        target: &str,
        lock: Option<LockInfo>,
    ) -> StateStore {
        StateStore {
            backend,
            view: Snapshot::empty(stack, target),
            journal: Journal::default(),
            lock,
            dirty: false,
        }
    }

    /// Read the view from the backend: the snapshot with the journal replayed on top.
    fn load(&mut self) -> Result<(), StateError> {
        let (stack, target) = (self.view.stack.clone(), self.view.target.clone());
        // Journal before snapshot: a compaction in between then only makes the snapshot
        // newer than the records read, which are skipped as already compacted in. The
        // other order could pair an old snapshot with an emptied journal.
        let (journal, records) = Journal::load(&*self.backend)?;
        self.view = snapshot::read(&*self.backend, &stack, &target)?
            .unwrap_or_else(|| Snapshot::empty(&stack, &target));
        self.journal = journal;
        self.dirty = false;
        self.replay(records)
    }

    fn replay(&mut self, records: Vec<Record>) -> Result<(), StateError> {
        let serial = self.view.serial;
        for Record { line, base, op } in records {
            if base < serial {
                // Already in the snapshot: the previous compaction was interrupted between
                // its snapshot replacement and the journal truncation.
                continue;
            }
            if base > serial {
                let names = self.backend.names();
                return Err(StateError::Corrupt {
                    path: names.journal.clone(),
                    line: Some(line),
                    message: format!(
                        "the record applies on top of state serial {base} but {} is at serial {serial}: \
                         the snapshot is older than its journal (restored from a backup?). Restore the \
                         matching snapshot, or move the journal aside to discard its changes",
                        names.snapshot.display()
                    ),
                });
            }
            self.dirty |= self.apply(op);
        }
        Ok(())
    }

    /// Apply `op` to the view; whether it changed anything.
    fn apply(&mut self, op: Change) -> bool {
        let view = &mut self.view;
        match op {
            Change::Put(state) => {
                let cleared = view.intents.remove(&state.addr).is_some();
                let same = view.resources.get(&state.addr) == Some(&state);
                if !same {
                    view.resources.insert(state.addr.clone(), state);
                }
                cleared || !same
            }
            Change::Remove(addr) => view.resources.remove(&addr).is_some(),
            Change::Intent(intent) => {
                let changed = view.intents.get(intent.addr()) != Some(&intent);
                view.intents.insert(intent.addr().clone(), intent);
                changed
            }
            Change::ClearIntent(addr) => view.intents.remove(&addr).is_some(),
            Change::Outputs(outputs) => {
                let changed = view.outputs != outputs;
                view.outputs = outputs;
                changed
            }
        }
    }

    /// Whether `change` would change the view.
    fn changes(&self, change: &Change) -> bool {
        let view = &self.view;
        match change {
            Change::Put(state) => {
                view.intents.contains_key(&state.addr)
                    || view.resources.get(&state.addr) != Some(state)
            }
            Change::Remove(addr) => view.resources.contains_key(addr),
            Change::Intent(intent) => view.intents.get(intent.addr()) != Some(intent),
            Change::ClearIntent(addr) => view.intents.contains_key(addr),
            Change::Outputs(outputs) => view.outputs != *outputs,
        }
    }

    fn check_writable(&self) -> Result<(), StateError> {
        match self.lock {
            Some(_) => Ok(()),
            None => Err(StateError::ReadOnly {
                path: self.backend.names().snapshot.clone(),
            }),
        }
    }

    /// Journal `change` (fsynced), then apply it. A change that would change nothing is
    /// skipped entirely: a refresh that finds nothing new costs no fsync and no serial.
    fn mutate(&mut self, change: Change) -> Result<(), StateError> {
        self.check_writable()?;
        if !self.changes(&change) {
            return Ok(());
        }
        self.journal
            .append(&mut *self.backend, self.view.serial, [&change], true)?;
        self.dirty |= self.apply(change);
        Ok(())
    }

    /// Record several changes durably with one journal write and one fsync (group commit:
    /// an fsync costs milliseconds, so completions that arrive together should be recorded
    /// together). Applied in order, as if made one by one; all or none are recorded.
    pub fn apply_changes(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<(), StateError> {
        self.apply_changes_with(changes, true)
    }

    /// Like [`StateStore::apply_changes`], but without the fsync: the records survive a
    /// killed process (the kernel holds them) and become durable at the next
    /// [`StateStore::sync`], durable append or compaction. For records that recovery can
    /// re-derive (results of operations whose intents are already durable).
    pub fn apply_changes_buffered(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<(), StateError> {
        self.apply_changes_with(changes, false)
    }

    /// Make every buffered record durable.
    pub fn sync(&mut self) -> Result<(), StateError> {
        self.check_writable()?;
        self.backend.sync_journal()
    }

    fn apply_changes_with(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
        sync: bool,
    ) -> Result<(), StateError> {
        self.check_writable()?;
        // A change is skipped when it would change nothing, judged against the view; once
        // an earlier change of the batch touched the same entry the view no longer tells,
        // so such changes are kept (replaying them is harmless).
        let mut resources_touched: HashSet<NativeAddr> = HashSet::new();
        let mut intents_touched: HashSet<NativeAddr> = HashSet::new();
        let mut outputs_touched = false;
        let mut kept = Vec::new();
        for change in changes {
            let seen = match &change {
                // A put also clears the intent of its address.
                Change::Put(s) => {
                    resources_touched.contains(&s.addr) || intents_touched.contains(&s.addr)
                }
                Change::Remove(a) => resources_touched.contains(a),
                Change::Intent(i) => intents_touched.contains(i.addr()),
                Change::ClearIntent(a) => intents_touched.contains(a),
                Change::Outputs(_) => outputs_touched,
            };
            let keep = seen || self.changes(&change);
            match &change {
                Change::Put(s) => {
                    resources_touched.insert(s.addr.clone());
                    intents_touched.insert(s.addr.clone());
                }
                Change::Remove(a) => {
                    resources_touched.insert(a.clone());
                }
                Change::Intent(i) => {
                    intents_touched.insert(i.addr().clone());
                }
                Change::ClearIntent(a) => {
                    intents_touched.insert(a.clone());
                }
                Change::Outputs(_) => outputs_touched = true,
            }
            if keep {
                kept.push(change);
            }
        }
        if kept.is_empty() {
            return Ok(());
        }
        self.journal
            .append(&mut *self.backend, self.view.serial, &kept, sync)?;
        for change in kept {
            self.dirty |= self.apply(change);
        }
        Ok(())
    }

    /// Resources overcast owns, by address (snapshot plus journal).
    pub fn resources(&self) -> &BTreeMap<NativeAddr, NativeState> {
        &self.view.resources
    }

    /// Creates that were started but whose result was never recorded, by address: after
    /// an interrupted apply, the engine asks the provider to adopt these.
    pub fn intents(&self) -> &BTreeMap<NativeAddr, Intent> {
        &self.view.intents
    }

    /// The stack's outputs as of the last apply.
    pub fn outputs(&self) -> &Map<String, Value> {
        &self.view.outputs
    }

    /// Serial of the stored snapshot. Every compaction that writes a change increments it,
    /// so a saved plan can check that the state did not move under it.
    pub fn serial(&self) -> u64 {
        self.view.serial
    }

    /// Lineage of the state: a UUID fixed when the state is first written, empty for a
    /// state that has never been compacted.
    pub fn lineage(&self) -> &str {
        &self.view.lineage
    }

    /// Stack name.
    pub fn stack(&self) -> &str {
        &self.view.stack
    }

    /// Target name.
    pub fn target(&self) -> &str {
        &self.view.target
    }

    /// Name of the snapshot (its path for the local backend), for messages.
    pub fn path(&self) -> &Path {
        &self.backend.names().snapshot
    }

    /// The lock held by this store, `None` when read-only.
    pub fn lock_info(&self) -> Option<&LockInfo> {
        self.lock.as_ref()
    }

    /// Whether the store holds the lock and accepts mutations (not read-only).
    pub fn is_writable(&self) -> bool {
        self.lock.is_some()
    }

    /// Whether the view differs from the stored snapshot (a compaction would write).
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Record that `intent.request` is about to be created. Call before the provider's
    /// create; [`put`](Self::put) of the same address clears it.
    pub fn record_intent(&mut self, intent: Intent) -> Result<(), StateError> {
        self.mutate(Change::Intent(intent))
    }

    /// Record a resource as it now exists, replacing any previous state of its address
    /// and clearing its intent.
    pub fn put(&mut self, state: NativeState) -> Result<(), StateError> {
        self.mutate(Change::Put(state))
    }

    /// Forget a resource (it was deleted). Forgetting an unknown address does nothing.
    pub fn remove(&mut self, addr: &NativeAddr) -> Result<(), StateError> {
        self.mutate(Change::Remove(addr.clone()))
    }

    /// Drop the intent for `addr` (its create failed and created nothing).
    pub fn clear_intent(&mut self, addr: &NativeAddr) -> Result<(), StateError> {
        self.mutate(Change::ClearIntent(addr.clone()))
    }

    /// Replace the stack outputs.
    pub fn set_outputs(&mut self, outputs: Map<String, Value>) -> Result<(), StateError> {
        self.mutate(Change::Outputs(outputs))
    }

    /// Fold the journal into a new snapshot (serial + 1) if anything changed, then empty
    /// the journal. Call at the end of every command, and after opening when the journal
    /// held records. A no-op when there is nothing to fold.
    pub fn compact(&mut self) -> Result<(), StateError> {
        self.check_writable()?;
        if self.dirty {
            // The view is written in place with the next header (no copy of a large state);
            // the header goes back if the snapshot was not replaced.
            let (old_serial, old_lineage) = (self.view.serial, self.view.lineage.clone());
            self.view.serial += 1;
            if self.view.lineage.is_empty() {
                self.view.lineage = uuid::Uuid::new_v4().to_string();
            }
            if let Err(e) = snapshot::write(&mut *self.backend, &self.view) {
                self.view.serial = old_serial;
                self.view.lineage = old_lineage;
                return Err(e);
            }
            // The snapshot was replaced: from here on the view is at the new serial, even if
            // the sync fails (new records must not be based on the old serial, or a reload
            // would skip them as already compacted in).
            self.dirty = false;
            self.backend.sync_snapshot()?;
        }
        // Only after the snapshot holding the records is durable (see `replay`).
        if !self.journal.is_empty() {
            self.journal.truncate(&mut *self.backend)?;
        }
        Ok(())
    }
}

/// The backend of `stack`/`target` at `location`, once both names are known to be usable
/// in object names (whatever the backend).
fn open_backend(
    location: &dyn StateLocation,
    stack: &str,
    target: &str,
) -> Result<Box<dyn StateBackend>, StateError> {
    name::check("stack", stack)?;
    name::check("target", target)?;
    location.backend(stack, target)
}
