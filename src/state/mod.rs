//! State: the only module that writes state.
//!
//! Each (stack, target) has its own state, kept by a [`StateBackend`]. The local file
//! backend ([`LocalFileBackend`], the only one today) keeps it under
//! `<work_dir>/state/` (the stack's `.overcast/` directory):
//!
//! - `<stack>.<target>.json`: the snapshot, the whole state at one serial, replaced
//!   atomically by [`StateStore::compact`];
//! - `<stack>.<target>.json.backup`: the snapshot before the last compaction;
//! - `<stack>.<target>.journal`: one JSON line per mutation since the snapshot, each
//!   fsynced before the mutation returns, so an apply killed at any instant loses nothing
//!   and nothing is rewritten per operation;
//! - `<stack>.<target>.lock`: who holds the write lock (see [`LockInfo`]).
//!
//! The formats and the rules (replay, compaction, intents) are the store's; a backend
//! only keeps bytes and enforces the lock, under the guarantees listed on
//! [`StateBackend`].
//!
//! Before every create the engine records an [`Intent`]; an interrupted apply leaves it in
//! state so the next one adopts the resource instead of creating it twice.

mod atomic;
mod backend;
mod clock;
mod error;
mod intent;
mod journal;
mod local;
mod lock;
mod name;
mod snapshot;
mod store;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod memory;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use atomic::write_atomic;
pub use backend::{SnapshotWriter, StateBackend, StateLocation, StateNames};
pub use clock::now_rfc3339;
pub use error::StateError;
pub use intent::Intent;
pub use journal::Change;
pub use local::{LocalDir, LocalFileBackend};
pub use lock::{LockInfo, force_unlock, force_unlock_at};
pub use snapshot::FORMAT_VERSION;
pub use store::StateStore;

/// Targets of `stack` that have state files under `work_dir` (a snapshot or a journal),
/// sorted. A missing or unreadable state directory has none.
pub fn list_targets(work_dir: &Path, stack: &str) -> Vec<String> {
    LocalDir::new(work_dir)
        .list_targets(stack)
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot list the targets with state");
            Vec::new()
        })
}
