//! State: the only module that writes state files.
//!
//! Each (stack, target) has its own state under `<work_dir>/state/` (the stack's
//! `.overcast/` directory):
//!
//! - `<stack>.<target>.json`: the snapshot, the whole state at one serial, replaced
//!   atomically by [`StateStore::compact`];
//! - `<stack>.<target>.json.backup`: the snapshot before the last compaction;
//! - `<stack>.<target>.journal`: one JSON line per mutation since the snapshot, each
//!   fsynced before the mutation returns, so an apply killed at any instant loses nothing
//!   and nothing is rewritten per operation;
//! - `<stack>.<target>.lock`: who holds the write lock (see [`LockInfo`]).
//!
//! Before every create the engine records an [`Intent`]; an interrupted apply leaves it in
//! state so the next one adopts the resource instead of creating it twice.

mod atomic;
mod clock;
mod error;
mod intent;
mod journal;
mod lock;
mod paths;
mod snapshot;
mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

pub use atomic::write_atomic;
pub use clock::now_rfc3339;
pub use error::StateError;
pub use intent::Intent;
pub use journal::Change;
pub use lock::{LockInfo, force_unlock};
pub use snapshot::FORMAT_VERSION;
pub use store::StateStore;

/// Targets of `stack` that have state files under `work_dir` (a snapshot or a journal),
/// sorted. A missing or unreadable state directory has none.
pub fn list_targets(work_dir: &Path, stack: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(paths::state_dir(work_dir)) else {
        return Vec::new();
    };
    let prefix = format!("{stack}.");
    let mut targets = BTreeSet::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let target = rest
            .strip_suffix(".json")
            .or_else(|| rest.strip_suffix(".journal"));
        if let Some(target) = target.filter(|t| paths::is_valid_name(t)) {
            targets.insert(target.to_string());
        }
    }
    targets.into_iter().collect()
}
