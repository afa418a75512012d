//! Where a (stack, target) state lives: `<work_dir>/state/<stack>.<target>.{json,journal,...}`.

use std::path::{Path, PathBuf};

use super::error::StateError;

/// The files of one (stack, target) state.
#[derive(Debug, Clone)]
pub(crate) struct StatePaths {
    /// `<work_dir>/state`.
    pub dir: PathBuf,
    /// The snapshot, `<stack>.<target>.json`.
    pub snapshot: PathBuf,
    /// The previous snapshot, `<stack>.<target>.json.backup`.
    pub backup: PathBuf,
    /// The snapshot being written, `<stack>.<target>.json.tmp`.
    pub tmp: PathBuf,
    /// The append-only journal, `<stack>.<target>.journal`.
    pub journal: PathBuf,
    /// The lock, `<stack>.<target>.lock`.
    pub lock: PathBuf,
}

impl StatePaths {
    /// The paths for `stack` and `target` under `work_dir` (the stack's `.overcast/`).
    pub fn new(work_dir: &Path, stack: &str, target: &str) -> Result<Self, StateError> {
        check_name("stack", stack)?;
        check_name("target", target)?;
        let dir = state_dir(work_dir);
        let base = format!("{stack}.{target}");
        Ok(StatePaths {
            snapshot: dir.join(format!("{base}.json")),
            backup: dir.join(format!("{base}.json.backup")),
            tmp: dir.join(format!("{base}.json.tmp")),
            journal: dir.join(format!("{base}.journal")),
            lock: dir.join(format!("{base}.lock")),
            dir,
        })
    }
}

/// `<work_dir>/state`.
pub(crate) fn state_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("state")
}

/// Names become part of file names: a `.` would make `<stack>.<target>` ambiguous (stack
/// `a.b` target `c` versus stack `a` target `b.c`), separators would escape the directory.
pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '/' | '\\') || c.is_control())
}

fn check_name(what: &'static str, name: &str) -> Result<(), StateError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(StateError::InvalidName {
            what,
            name: name.to_string(),
        })
    }
}
