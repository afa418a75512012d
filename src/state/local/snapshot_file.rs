//! The local backend's snapshot: `<stack>.<target>.json`, replaced atomically through
//! `.json.tmp`, with the replaced one kept as `.json.backup`.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;

use super::paths::StatePaths;
use crate::state::backend::SnapshotWriter;
use crate::state::error::StateError;

/// The file at `path` open for reading, `None` if there is none.
pub(super) fn open(path: &Path) -> Result<Option<File>, StateError> {
    match File::open(path) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io("read", path, e)),
    }
}

/// Replace the snapshot with what `write` produces, atomically, keeping the previous one
/// as the backup. The caller then makes the rename durable with
/// [`sync_dir`](crate::state::atomic::sync_dir); an error here means the old snapshot is
/// still in place.
///
/// Order matters for crash safety: the new content is durable in `.tmp` before anything is
/// touched; the backup is a hard link to the old snapshot (so the rename cannot lose it);
/// the rename is the commit point.
pub(super) fn replace(paths: &StatePaths, write: SnapshotWriter<'_>) -> Result<(), StateError> {
    write_tmp(&paths.tmp, write)?;
    keep_backup(paths)?;
    fs::rename(&paths.tmp, &paths.names.snapshot)
        .map_err(|e| StateError::io("rename", &paths.tmp, e))
}

fn write_tmp(tmp: &Path, write: SnapshotWriter<'_>) -> Result<(), StateError> {
    let io_err = |e| StateError::io("write", tmp, e);
    let file = File::create(tmp).map_err(io_err)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w).map_err(io_err)?;
    let file = w.into_inner().map_err(|e| io_err(e.into_error()))?;
    file.sync_all().map_err(io_err)
}

fn keep_backup(paths: &StatePaths) -> Result<(), StateError> {
    let StatePaths { names, .. } = paths;
    if !names.snapshot.exists() {
        return Ok(());
    }
    match fs::remove_file(&names.backup) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(StateError::io("remove", &names.backup, e)),
    }
    // A hard link costs nothing for a large state; some file systems have none, copy there.
    if fs::hard_link(&names.snapshot, &names.backup).is_err() {
        fs::copy(&names.snapshot, &names.backup)
            .map_err(|e| StateError::io("back up", &names.snapshot, e))?;
    }
    Ok(())
}
