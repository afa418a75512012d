//! Atomic replacement of a small file (saved plans): readers see the old content or the
//! new, never a mix, even if overcast is killed mid-write. And [`sync_dir`], which makes
//! such a replacement durable.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::StateError;

/// Replace `path` with `bytes` atomically and durably: write a sibling `<name>.tmp`,
/// fsync it, rename it over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StateError::io("write", tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| StateError::io("rename", &tmp, e))?;
    sync_dir(&parent_dir(path))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Make renames and file creations in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StateError::io("sync directory", dir, e))?;
    }
    // Elsewhere directories cannot be opened as files; rename is as durable as it gets.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
