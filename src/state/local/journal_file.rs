//! The local backend's journal: `<stack>.<target>.journal`, appended through one open
//! handle, `fdatasync` when durability is asked for.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::state::atomic::sync_dir;
use crate::state::error::StateError;

/// The journal file of one state, with its handle once something wrote to it.
#[derive(Debug)]
pub(super) struct JournalFile {
    path: PathBuf,
    /// The state directory, synced when the journal file is created.
    dir: PathBuf,
    /// Opened by the first write, so that opening a state never leaves files behind for a
    /// target that was never applied.
    file: Option<File>,
}

impl JournalFile {
    /// The journal at `path`, in directory `dir`; nothing is opened yet.
    pub fn new(path: PathBuf, dir: PathBuf) -> Self {
        JournalFile {
            path,
            dir,
            file: None,
        }
    }

    /// The whole file, empty when there is none.
    pub fn read(&self) -> Result<Vec<u8>, StateError> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::io("open", &self.path, e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| StateError::io("read", &self.path, e))?;
        Ok(bytes)
    }

    /// Append `bytes` in one write, then `fdatasync` when `durable`.
    pub fn append(&mut self, bytes: &[u8], durable: bool) -> Result<(), StateError> {
        let file = self.open_or_create()?;
        file.write_all(bytes)
            .and_then(|()| if durable { file.sync_data() } else { Ok(()) })
            .map_err(|e| StateError::io("append to", &self.path, e))
    }

    /// Make every append durable, those of a previous process that was killed included.
    pub fn sync(&mut self) -> Result<(), StateError> {
        match self.open_existing()? {
            Some(f) => f
                .sync_data()
                .map_err(|e| StateError::io("sync", &self.path, e)),
            None => Ok(()),
        }
    }

    /// Cut the file to `len` bytes (and `fdatasync` when `durable`); no file, nothing to
    /// cut.
    pub fn truncate(&mut self, len: u64, durable: bool) -> Result<(), StateError> {
        if let Some(f) = self.open_existing()? {
            f.set_len(len)
                .and_then(|()| if durable { f.sync_data() } else { Ok(()) })
                .map_err(|e| StateError::io("truncate", &self.path, e))?;
        }
        Ok(())
    }

    /// The open handle, opening the file if it exists.
    fn open_existing(&mut self) -> Result<Option<&mut File>, StateError> {
        if self.file.is_none() {
            match OpenOptions::new().read(true).append(true).open(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(StateError::io("open", &self.path, e)),
            }
        }
        Ok(self.file.as_mut())
    }

    /// The open handle, creating the file if it does not exist.
    fn open_or_create(&mut self) -> Result<&mut File, StateError> {
        let file = match self.file.take() {
            Some(f) => f,
            None => match OpenOptions::new().read(true).append(true).open(&self.path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    let f = OpenOptions::new()
                        .read(true)
                        .append(true)
                        .create(true)
                        .open(&self.path)
                        .map_err(|e| StateError::io("create", &self.path, e))?;
                    // The new directory entry must be durable too, or the records could
                    // vanish with the file after a power loss.
                    sync_dir(&self.dir)?;
                    f
                }
                Err(e) => return Err(StateError::io("open", &self.path, e)),
            },
        };
        Ok(self.file.insert(file))
    }
}
