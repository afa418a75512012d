//! The local file backend: every state of a stack in `<work_dir>/state/` (the stack's
//! `.overcast/state/`), as overcast has always kept it:
//!
//! - `<stack>.<target>.json`: the snapshot, replaced atomically (written to `.json.tmp`,
//!   fsynced, renamed over, directory fsynced);
//! - `<stack>.<target>.json.backup`: the snapshot before the last replacement (a hard
//!   link, so keeping it costs nothing);
//! - `<stack>.<target>.journal`: the journal, appended through one open handle;
//! - `<stack>.<target>.lock`: an OS advisory lock on the open file, which the kernel drops
//!   when its holder dies, and the holder's details as JSON.

mod journal_file;
mod lock_file;
mod paths;
mod snapshot_file;

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use journal_file::JournalFile;
use lock_file::LockFile;
use paths::StatePaths;

use super::atomic::sync_dir;
use super::backend::{SnapshotWriter, StateBackend, StateLocation, StateNames};
use super::error::StateError;
use super::lock::LockInfo;
use super::name;

/// The states of one working directory (a stack's `.overcast/`), kept as files.
#[derive(Debug, Clone)]
pub struct LocalDir {
    work_dir: PathBuf,
}

impl LocalDir {
    /// The states under `work_dir` (the stack's `.overcast/`).
    pub fn new(work_dir: impl Into<PathBuf>) -> Self {
        LocalDir {
            work_dir: work_dir.into(),
        }
    }

    /// The names of the files in the state directory (none when it does not exist).
    fn state_file_names(&self) -> Result<Vec<String>, StateError> {
        let dir = paths::state_dir(&self.work_dir);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::io("list", dir, e)),
        };
        Ok(entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect())
    }

    /// Whether anything of overcast's state lives here.
    pub fn holds_state(&self) -> bool {
        paths::state_dir(&self.work_dir).is_dir()
    }

    /// Every (stack, target) with a state here (a snapshot or a journal), sorted.
    pub fn list_states(&self) -> Result<Vec<(String, String)>, StateError> {
        let names = self.state_file_names()?;
        Ok(name::states_among(names.iter().map(String::as_str)))
    }
}

impl StateLocation for LocalDir {
    fn backend(&self, stack: &str, target: &str) -> Result<Box<dyn StateBackend>, StateError> {
        Ok(Box::new(LocalFileBackend::new(
            &self.work_dir,
            stack,
            target,
        )?))
    }

    fn list_targets(&self, stack: &str) -> Result<Vec<String>, StateError> {
        let names = self.state_file_names()?;
        Ok(name::targets_among(stack, names.iter().map(String::as_str)))
    }
}

/// One (stack, target) state kept as files under `<work_dir>/state/`.
#[derive(Debug)]
pub struct LocalFileBackend {
    paths: StatePaths,
    journal: JournalFile,
    /// The held lock, `None` when not locked by this backend.
    lock: Option<LockFile>,
}

impl LocalFileBackend {
    /// The state of `stack`/`target` under `work_dir` (the stack's `.overcast/`). Nothing
    /// is opened or created until used.
    pub fn new(work_dir: &Path, stack: &str, target: &str) -> Result<Self, StateError> {
        let paths = StatePaths::new(work_dir, stack, target)?;
        let journal = JournalFile::new(paths.names.journal.clone(), paths.dir.clone());
        Ok(LocalFileBackend {
            paths,
            journal,
            lock: None,
        })
    }
}

impl StateBackend for LocalFileBackend {
    fn names(&self) -> &StateNames {
        &self.paths.names
    }

    fn read_snapshot(&self) -> Result<Option<Box<dyn Read + '_>>, StateError> {
        Ok(snapshot_file::open(&self.paths.names.snapshot)?.map(|f| Box::new(f) as _))
    }

    fn read_backup(&self) -> Result<Option<Box<dyn Read + '_>>, StateError> {
        Ok(snapshot_file::open(&self.paths.names.backup)?.map(|f| Box::new(f) as _))
    }

    fn write_snapshot(&mut self, write: SnapshotWriter<'_>) -> Result<(), StateError> {
        snapshot_file::replace(&self.paths, write)
    }

    fn sync_snapshot(&mut self) -> Result<(), StateError> {
        sync_dir(&self.paths.dir)
    }

    fn read_journal(&self) -> Result<Vec<u8>, StateError> {
        self.journal.read()
    }

    fn append_journal(&mut self, bytes: &[u8], durable: bool) -> Result<(), StateError> {
        self.journal.append(bytes, durable)
    }

    fn sync_journal(&mut self) -> Result<(), StateError> {
        self.journal.sync()
    }

    fn truncate_journal(&mut self, len: u64, durable: bool) -> Result<(), StateError> {
        self.journal.truncate(len, durable)
    }

    fn acquire_lock(&mut self, holder: &LockInfo) -> Result<Option<LockInfo>, StateError> {
        if self.lock.is_some() {
            // Already held here: a second holding in one process would not be exclusive.
            return Err(StateError::Locked {
                path: self.paths.names.lock.clone(),
                holder: self.lock_holder()?.map(Box::new),
            });
        }
        let (lock, previous) = lock_file::acquire(&self.paths, holder)?;
        self.lock = Some(lock);
        Ok(previous)
    }

    fn lock_holder(&self) -> Result<Option<LockInfo>, StateError> {
        lock_file::holder(&self.paths.names.lock)
    }

    fn release_lock(&mut self) -> Result<(), StateError> {
        match self.lock.take() {
            Some(lock) => lock.release(&self.paths.names.lock),
            None => Ok(()),
        }
    }

    fn force_unlock(&mut self, id: &str) -> Result<(), StateError> {
        lock_file::force_unlock(&self.paths.names.lock, id)
    }
}

impl Drop for LocalFileBackend {
    fn drop(&mut self) {
        if let Err(e) = self.release_lock() {
            tracing::warn!(error = %e, "cannot release the state lock");
        }
    }
}
