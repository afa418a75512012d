//! The local backend's lock: an OS advisory lock on `<stack>.<target>.lock`.
//!
//! Liveness comes from the OS lock on the open file, which the kernel drops when its
//! holder dies, so a killed apply never leaves a lock that needs manual cleanup. The
//! file's content only says who holds it (a [`LockInfo`] as JSON).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::paths::StatePaths;
use crate::state::error::StateError;
use crate::state::lock::LockInfo;

/// A held lock: holding the open handle is what holds the OS lock.
#[derive(Debug)]
pub(super) struct LockFile {
    file: File,
}

/// How often to retry when the lock file is replaced under us (see `acquire`).
const ACQUIRE_ATTEMPTS: usize = 5;

/// Take the lock for `holder`. Returns the details of a previous holder that died without
/// releasing it.
pub(super) fn acquire(
    paths: &StatePaths,
    holder: &LockInfo,
) -> Result<(LockFile, Option<LockInfo>), StateError> {
    let path = &paths.names.lock;
    fs::create_dir_all(&paths.dir)
        .map_err(|e| StateError::io("create directory", &paths.dir, e))?;
    for _ in 0..ACQUIRE_ATTEMPTS {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StateError::io("open", path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked {
                    path: path.clone(),
                    holder: read_info(&mut file).map(Box::new),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(StateError::io("lock", path, e)),
        }
        // A releasing holder deletes the file before unlocking: if that happened between
        // our open and our lock, we locked a file nobody else will ever see and must
        // start over on the current one.
        if !still_at_path(&file, path)? {
            continue;
        }
        // Content under a lock we could take is what a dead holder left behind.
        let previous = read_info(&mut file);
        write_info(&mut file, holder).map_err(|e| StateError::io("write", path, e))?;
        return Ok((LockFile { file }, previous));
    }
    Err(StateError::io(
        "lock",
        path,
        io::Error::other(
            "the lock file keeps being replaced by other overcast processes; try again",
        ),
    ))
}

impl LockFile {
    /// Release the lock at `path`: delete the file first, unlock second, so that a process
    /// that opens the file in between finds it gone from the path after locking (see
    /// `still_at_path`) and retries. Unlocks even when the delete fails.
    pub fn release(self, path: &Path) -> Result<(), StateError> {
        let removed = fs::remove_file(path).map_err(|e| StateError::io("remove", path, e));
        // Closing the handle would unlock too; being explicit documents the order.
        let _ = self.file.unlock();
        removed
    }
}

/// The holder recorded in the lock file at `path`, `None` without one.
pub(super) fn holder(path: &Path) -> Result<Option<LockInfo>, StateError> {
    match File::open(path) {
        Ok(mut f) => Ok(read_info(&mut f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io("open", path, e)),
    }
}

/// Remove the lock file at `path` if it is recorded under `id`.
pub(super) fn force_unlock(path: &Path, id: &str) -> Result<(), StateError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StateError::NotLocked {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(StateError::io("open", path, e)),
    };
    let actual = read_info(&mut file).map(|i| i.id);
    if actual.as_deref() != Some(id) {
        return Err(StateError::LockIdMismatch {
            path: path.to_path_buf(),
            given: id.to_string(),
            actual,
        });
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        // Released meanwhile: the outcome the user wanted.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StateError::io("remove", path, e)),
    }
}

/// The holder details in a lock file, `None` when empty or unreadable (a holder that
/// died, or has not yet written them).
fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_info(file: &mut File, info: &LockInfo) -> io::Result<()> {
    let text = serde_json::to_string_pretty(info)?;
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_data()
}

#[cfg(unix)]
fn still_at_path(file: &File, path: &Path) -> Result<bool, StateError> {
    use std::os::unix::fs::MetadataExt;
    let ours = file
        .metadata()
        .map_err(|e| StateError::io("inspect", path, e))?;
    match fs::metadata(path) {
        Ok(current) => Ok(ours.dev() == current.dev() && ours.ino() == current.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StateError::io("inspect", path, e)),
    }
}

/// Elsewhere an open file cannot be deleted, so it is always still at its path.
#[cfg(not(unix))]
fn still_at_path(_file: &File, _path: &Path) -> Result<bool, StateError> {
    Ok(true)
}
