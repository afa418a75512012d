//! Where the local backend keeps a (stack, target) state:
//! `<work_dir>/state/<stack>.<target>.{json,json.backup,json.tmp,journal,lock}`.

use std::path::{Path, PathBuf};

use crate::state::backend::StateNames;
use crate::state::error::StateError;
use crate::state::name;

/// The files of one (stack, target) state.
#[derive(Debug, Clone)]
pub(super) struct StatePaths {
    /// `<work_dir>/state`.
    pub dir: PathBuf,
    /// The snapshot being written, `<stack>.<target>.json.tmp`.
    pub tmp: PathBuf,
    /// The snapshot (`.json`), its backup (`.json.backup`), the journal (`.journal`) and
    /// the lock (`.lock`).
    pub names: StateNames,
}

impl StatePaths {
    /// The paths for `stack` and `target` under `work_dir` (the stack's `.overcast/`).
    pub fn new(work_dir: &Path, stack: &str, target: &str) -> Result<Self, StateError> {
        name::check("stack", stack)?;
        name::check("target", target)?;
        let dir = state_dir(work_dir);
        let base = format!("{stack}.{target}");
        Ok(StatePaths {
            tmp: dir.join(format!("{base}.json.tmp")),
            names: StateNames {
                snapshot: dir.join(format!("{base}.json")),
                backup: dir.join(format!("{base}.json.backup")),
                journal: dir.join(format!("{base}.journal")),
                lock: dir.join(format!("{base}.lock")),
            },
            dir,
        })
    }
}

/// `<work_dir>/state`.
pub(super) fn state_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("state")
}
