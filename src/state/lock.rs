//! The state lock: one writer per (stack, target).
//!
//! Liveness comes from an OS advisory lock on the open lock file, which the kernel drops
//! when its holder dies, so a killed apply never leaves a lock that needs manual cleanup.
//! The file's content only says who holds it, for error messages and for reporting an
//! interrupted previous operation.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::clock::now_rfc3339;
use super::error::StateError;
use super::paths::StatePaths;

/// Who holds (or held) a state lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random id of this holding, given to `overcast state unlock <id>`.
    pub id: String,
    /// Process id of the holder.
    pub pid: u32,
    /// Host name of the holder.
    pub host: String,
    /// User running the holder.
    pub user: String,
    /// The command holding the lock (`apply`, `destroy`, ...).
    pub operation: String,
    /// When the lock was taken (RFC 3339).
    pub created: String,
}

impl LockInfo {
    /// Details for the current process performing `operation`, with a fresh id.
    fn current(operation: &str) -> Self {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: host_name(),
            user: user_name(),
            operation: operation.to_string(),
            created: now_rfc3339(),
        }
    }
}

/// A held state lock; released (file deleted, then OS lock dropped) on drop.
#[derive(Debug)]
pub(crate) struct StateLock {
    path: PathBuf,
    /// Holding the open handle is what holds the OS lock.
    file: File,
    info: LockInfo,
}

/// How often to retry when the lock file is replaced under us (see `acquire`).
const ACQUIRE_ATTEMPTS: usize = 5;

impl StateLock {
    /// Take the lock for `operation`. Returns the details of a previous holder that died
    /// without releasing it, so that the caller can warn that its operation was
    /// interrupted.
    pub fn acquire(
        paths: &StatePaths,
        operation: &str,
    ) -> Result<(StateLock, Option<LockInfo>), StateError> {
        let path = &paths.lock;
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
            // A releasing holder deletes the file before unlocking: if that happened
            // between our open and our lock, we locked a file nobody else will ever see
            // and must start over on the current one.
            if !still_at_path(&file, path)? {
                continue;
            }
            // Content under a lock we could take is what a dead holder left behind.
            let previous = read_info(&mut file);
            let info = LockInfo::current(operation);
            write_info(&mut file, &info).map_err(|e| StateError::io("write", path, e))?;
            return Ok((
                StateLock {
                    path: path.clone(),
                    file,
                    info,
                },
                previous,
            ));
        }
        Err(StateError::io(
            "lock",
            path,
            io::Error::other(
                "the lock file keeps being replaced by other overcast processes; try again",
            ),
        ))
    }

    /// This holding's details.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Delete first, unlock second: a process that opens the file in between finds it
        // gone from the path after locking (see `still_at_path`) and retries.
        if let Err(e) = fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the state lock file");
        }
        // Closing the handle would unlock too; being explicit documents the order.
        let _ = self.file.unlock();
    }
}

/// Remove the lock of `stack`/`target` if it is held under `id` (the user's escape hatch
/// for a holder the OS lock cannot see, e.g. on a network file system without locks).
/// A holder that is in fact still running would go on unaware: only for dead holders.
pub fn force_unlock(
    work_dir: &Path,
    stack: &str,
    target: &str,
    id: &str,
) -> Result<(), StateError> {
    let paths = StatePaths::new(work_dir, stack, target)?;
    let path = &paths.lock;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(StateError::NotLocked { path: path.clone() });
        }
        Err(e) => return Err(StateError::io("open", path, e)),
    };
    let actual = read_info(&mut file).map(|i| i.id);
    if actual.as_deref() != Some(id) {
        return Err(StateError::LockIdMismatch {
            path: path.clone(),
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

fn user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(unix)]
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for writes of its full length; gethostname writes at
    // most that many bytes and we only read up to the first NUL within the buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".to_string();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown".to_string())
}
