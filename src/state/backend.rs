//! The state backend seam: where the bytes of a state are kept and how its lock works.
//!
//! [`StateStore`](super::StateStore) owns the formats (snapshot JSON, journal NDJSON, lock
//! holder details) and the rules (journal before snapshot, replay by serial, compaction
//! order); a [`StateBackend`] only stores bytes and enforces mutual exclusion. The local
//! file backend ([`LocalFileBackend`](super::LocalFileBackend)) keeps them in
//! `.overcast/state/`; a remote one would keep them in object storage and lock with a
//! lease object written conditionally.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use super::error::StateError;
use super::lock::LockInfo;

/// How the objects of one state are named in messages and errors: file paths for the
/// local backend, object addresses (such as `s3://bucket/prefix/shop.prod.json`) for a
/// remote one. Every [`StateError`] a backend returns names one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateNames {
    /// The snapshot.
    pub snapshot: PathBuf,
    /// The previous snapshot, kept by every replacement.
    pub backup: PathBuf,
    /// The journal.
    pub journal: PathBuf,
    /// The lock.
    pub lock: PathBuf,
}

/// A writer of snapshot bytes, given to [`StateBackend::write_snapshot`] so that a large
/// state is streamed to its destination rather than built in memory first.
pub type SnapshotWriter<'a> = &'a mut dyn FnMut(&mut dyn Write) -> io::Result<()>;

/// Where one (stack, target) state is kept: a snapshot with a backup of the previous one,
/// a journal of the mutations made since the snapshot, and a lock.
///
/// The store calls a backend from one thread at a time and holds the lock for every
/// write; it never writes through a backend it has not locked. What a backend must
/// guarantee, because the store's crash safety rests on it:
///
/// - **Snapshot replacement is atomic.** After [`write_snapshot`](Self::write_snapshot)
///   returns `Ok`, every [`read_snapshot`](Self::read_snapshot), from this process or
///   another, returns the new bytes in full; after it returns `Err`, the previous
///   snapshot is still the current one, whole. No reader ever sees a mix or a partial
///   write. A backend that cannot tell which happened (a request that timed out) must
///   find out before it returns. The replaced snapshot becomes the backup
///   ([`read_backup`](Self::read_backup)); the backup is never written otherwise.
/// - **Durability after sync.** Bytes are durable (they survive a power loss, a lost
///   machine) once [`sync_snapshot`](Self::sync_snapshot) or
///   [`sync_journal`](Self::sync_journal) returns, or once a write made with
///   `durable: true` returns. A write made with `durable: false` must still survive the
///   death of the writing process: the store uses it for records that recovery can
///   re-derive, and syncs them in groups. A backend whose every write is durable (object
///   storage) makes the syncs no-ops.
/// - **The journal is append-only with a tolerated torn tail.** Bytes appended are read
///   back in order by [`read_journal`](Self::read_journal) and are never changed except
///   by [`truncate_journal`](Self::truncate_journal). An append interrupted by a crash
///   may leave a prefix of its bytes at the end (a file does; an object store whose
///   writes are all-or-nothing never does), but never damage anything before it: the
///   store drops an unparseable last line as a mutation that never completed, and cuts it
///   away with `truncate_journal` before its next append. Damage anywhere else is
///   reported as corruption, never repaired silently.
/// - **Reads see the latest completed writes** (read-after-write consistency), from any
///   process. The store reads the journal before the snapshot so that a compaction
///   racing a reader only makes the snapshot newer than the journal, which replay
///   handles.
/// - **Mutual exclusion.** [`acquire_lock`](Self::acquire_lock) succeeds for at most one
///   holder of a state at a time, across every process and machine that shares the
///   backend's location. A holder that dies loses the lock without manual cleanup: the
///   local backend holds an OS file lock that the kernel drops with the process; a
///   remote backend writes a lease object conditionally (create-if-absent, replace only
///   the version it read) with an expiry, renews it while held (in the background if
///   needed: the store may not call the backend for as long as a provider call takes),
///   and treats an expired lease as a dead holder's. Because a lease can lapse under a
///   live holder (a paused process, a partition), a lease backend must fence its writes:
///   once it cannot prove it still holds a live lease it refuses every write with
///   [`StateError::LockLost`] instead of risking two writers.
/// - **Dead holders are reported.** When `acquire_lock` takes over a lock whose holder
///   died without releasing it, it returns that holder's details, so the command can say
///   that its operation was interrupted.
///
/// Every error names the object involved ([`StateNames`]) and, for damaged content, the
/// line; the store adds the line for the formats it parses.
pub trait StateBackend: fmt::Debug + Send + Sync {
    /// The names of this state's objects, for messages.
    fn names(&self) -> &StateNames;

    /// The current snapshot's bytes, `None` when the state has never been compacted.
    fn read_snapshot(&self) -> Result<Option<Box<dyn Read + '_>>, StateError>;

    /// The snapshot that the last replacement replaced, `None` if there is none.
    fn read_backup(&self) -> Result<Option<Box<dyn Read + '_>>, StateError>;

    /// Replace the snapshot with the bytes `write` produces, atomically, keeping the
    /// current one (if any) as the backup. `write` may fail, and then nothing changes.
    fn write_snapshot(&mut self, write: SnapshotWriter<'_>) -> Result<(), StateError>;

    /// Make the last snapshot replacement durable.
    fn sync_snapshot(&mut self) -> Result<(), StateError>;

    /// The whole journal, empty when there is none.
    fn read_journal(&self) -> Result<Vec<u8>, StateError>;

    /// Append `bytes` (whole records) to the journal, creating it if needed; durable
    /// before returning when `durable`.
    fn append_journal(&mut self, bytes: &[u8], durable: bool) -> Result<(), StateError>;

    /// Make every append so far durable.
    fn sync_journal(&mut self) -> Result<(), StateError>;

    /// Cut the journal back to its first `len` bytes: 0 after a compaction, or the end
    /// of the last complete record to drop a torn tail. A missing journal stays missing.
    /// Durable before returning when `durable`.
    fn truncate_journal(&mut self, len: u64, durable: bool) -> Result<(), StateError>;

    /// Take the lock for `holder`, whose details are recorded with it for
    /// [`lock_holder`](Self::lock_holder) and for the [`StateError::Locked`] error that
    /// others get meanwhile. Returns the details of a previous holder that died without
    /// releasing the lock (its operation was interrupted).
    fn acquire_lock(&mut self, holder: &LockInfo) -> Result<Option<LockInfo>, StateError>;

    /// Who is recorded as holding the lock, `None` when nobody is (or the details cannot
    /// be read). The recorded holder may be dead: only `acquire_lock` can tell.
    fn lock_holder(&self) -> Result<Option<LockInfo>, StateError>;

    /// Release the lock taken by [`acquire_lock`](Self::acquire_lock). Does nothing when
    /// not held. Dropping a backend that holds the lock releases it too, so that an
    /// error between acquiring and using the lock does not leave it held.
    fn release_lock(&mut self) -> Result<(), StateError>;

    /// Remove the lock recorded under `id`, whoever holds it: the user's escape hatch
    /// (`overcast state unlock <id>`) for a holder that the backend cannot see is dead.
    /// [`StateError::NotLocked`] when there is no lock, [`StateError::LockIdMismatch`]
    /// when it is recorded under another id.
    fn force_unlock(&mut self, id: &str) -> Result<(), StateError>;
}

/// A place where states are kept (a working directory, a bucket and prefix): it opens the
/// backend of one state and lists the targets of a stack.
pub trait StateLocation: fmt::Debug + Send + Sync {
    /// The backend of the state of `stack`/`target`. Opening touches nothing: a state
    /// that is only read never leaves objects behind.
    fn backend(&self, stack: &str, target: &str) -> Result<Box<dyn StateBackend>, StateError>;

    /// Targets of `stack` that have a state here (a snapshot or a journal), sorted. A
    /// lock alone is not a state.
    fn list_targets(&self, stack: &str) -> Result<Vec<String>, StateError>;
}
