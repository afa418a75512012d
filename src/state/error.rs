//! Errors of the state module. Every message names the file involved and says what to do.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::lock::LockInfo;

/// Everything that can go wrong reading, writing or locking a state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another live process holds the state lock.
    #[error("{}", locked_message(.path, .holder.as_deref()))]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, when its lock file could be read (a holder that has just taken the
        /// lock may not have written it yet).
        holder: Option<Box<LockInfo>>,
    },

    /// A lock that can lapse (a lease on object storage) lapsed while this process held
    /// it, so another may have taken over: the backend refused the write rather than risk
    /// two writers.
    #[error(
        "{}: the state lock was lost while held (its lease expired{}); nothing more was \
         written. Run the command again: it resumes from what was recorded",
        .path.display(),
        .holder.as_deref().map(|h| format!(" and `{}` (pid {}, {}@{}) took it over", h.operation, h.pid, h.user, h.host)).unwrap_or_default()
    )]
    LockLost {
        /// The lock object.
        path: PathBuf,
        /// Who holds it now, when known.
        holder: Option<Box<LockInfo>>,
    },

    /// `force_unlock` was given an id that is not the current holder's.
    #[error(
        "{path}: the lock is held under id {}, not `{given}`; nothing was unlocked. \
         Check the id in the lock error message and run `overcast state unlock <id>` again",
        .actual.as_deref().map(|a| format!("`{a}`")).unwrap_or_else(|| "that cannot be read (unreadable lock file; delete it by hand if you are sure no overcast process is running)".to_string()),
        path = .path.display()
    )]
    LockIdMismatch {
        /// The lock file.
        path: PathBuf,
        /// The id the user gave.
        given: String,
        /// The id the lock file holds, if it could be read.
        actual: Option<String>,
    },

    /// `force_unlock` found no lock file.
    #[error("{}: the state is not locked; there is nothing to unlock", .path.display())]
    NotLocked {
        /// The lock file that does not exist.
        path: PathBuf,
    },

    /// A state or journal file cannot be parsed. Nothing is dropped silently: the user
    /// decides what to do with the damaged file.
    #[error(
        "{}{}: corrupt state: {message}. Nothing was changed; repair or move the file aside \
         (the previous snapshot is kept next to it as `.json.backup`)",
        .path.display(),
        .line.map(|l| format!(":{l}")).unwrap_or_default()
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },

    /// A file operation failed.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done ("read", "write", "rename", ...).
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The snapshot was written by a newer overcast with a format this one cannot read.
    #[error(
        "{}: state format version {found} is newer than the {supported} this overcast supports; \
         upgrade overcast to use this state",
        .path.display()
    )]
    VersionTooNew {
        /// The snapshot.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The newest version this build reads.
        supported: u64,
    },

    /// A mutation was attempted on a store opened with [`super::StateStore::open_read_only`].
    #[error(
        "{}: the state was opened read-only (without the lock) and cannot be changed; \
         this is a bug in the calling command",
        .path.display()
    )]
    ReadOnly {
        /// The snapshot path of the store.
        path: PathBuf,
    },

    /// A stack or target name that cannot be part of a state file name.
    #[error(
        "{what} name `{name}` cannot name a state file: it must be non-empty and contain no \
         `.`, `/`, `\\` or control characters"
    )]
    InvalidName {
        /// "stack" or "target".
        what: &'static str,
        /// The offending name.
        name: String,
    },
}

impl StateError {
    /// An [`StateError::Io`] for `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StateError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

fn locked_message(path: &std::path::Path, holder: Option<&LockInfo>) -> String {
    struct Holder<'a>(Option<&'a LockInfo>);
    impl fmt::Display for Holder<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(h) => write!(
                    f,
                    "by `{}` (pid {}, {}@{}) since {}",
                    h.operation, h.pid, h.user, h.host, h.created
                ),
                None => f.write_str("by another process that has not yet written its details"),
            }
        }
    }
    let id = holder.map(|h| h.id.as_str()).unwrap_or("<id>");
    format!(
        "the state is locked {} (lock file {}). Wait for it to finish, or if you are sure it is \
         gone, run `overcast state unlock {id}`",
        Holder(holder),
        path.display()
    )
}
