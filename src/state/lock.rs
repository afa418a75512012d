//! The state lock's holder details: who holds (or held) the lock of a state, recorded
//! with the lock by every backend for error messages and for reporting an interrupted
//! previous operation. How the lock itself works is the backend's (see
//! [`super::StateBackend`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::backend::StateLocation;
use super::clock::now_rfc3339;
use super::error::StateError;
use super::local::LocalDir;
use super::name;

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
    pub(crate) fn current(operation: &str) -> Self {
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

/// Remove the lock of `stack`/`target` under `work_dir` if it is held under `id` (the
/// user's escape hatch for a holder the OS lock cannot see, e.g. on a network file system
/// without locks). A holder that is in fact still running would go on unaware: only for
/// dead holders.
pub fn force_unlock(
    work_dir: &Path,
    stack: &str,
    target: &str,
    id: &str,
) -> Result<(), StateError> {
    force_unlock_at(&LocalDir::new(work_dir), stack, target, id)
}

/// [`force_unlock`] for a state kept at any [`StateLocation`].
pub fn force_unlock_at(
    location: &dyn StateLocation,
    stack: &str,
    target: &str,
    id: &str,
) -> Result<(), StateError> {
    name::check("stack", stack)?;
    name::check("target", target)?;
    location.backend(stack, target)?.force_unlock(id)
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
