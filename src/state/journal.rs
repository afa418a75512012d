//! The journal: one JSON line per mutation since the last compaction, appended and
//! fsynced before the mutation counts as done, so that state survives a kill at any
//! instant without rewriting the whole snapshot per operation.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use overcast_core::{NativeAddr, NativeState};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::StateError;
use super::intent::Intent;
use super::snapshot::sync_dir;

/// One mutation of a state, for [`super::StateStore::apply_changes`] (the single-change
/// methods such as [`super::StateStore::put`] are shorthands).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Record a resource (and drop any intent for its address).
    Put(NativeState),
    /// Forget a resource.
    Remove(NativeAddr),
    /// Record an intent to create.
    Intent(Intent),
    /// Drop an intent.
    ClearIntent(NativeAddr),
    /// Replace the stack outputs.
    Outputs(Map<String, Value>),
}

/// A journal record as read back: the serial of the snapshot it applies on top of, and the
/// mutation.
#[derive(Debug)]
pub(crate) struct Record {
    /// 1-based line in the journal, for error messages.
    pub line: usize,
    /// Snapshot serial the mutation was made on top of.
    pub base: u64,
    /// The mutation.
    pub op: Change,
}

/// The wire shape of a record; optional fields so one struct reads every op without the
/// buffering that `#[serde(flatten)]` would cost.
#[derive(Deserialize)]
struct RawRecord {
    base: u64,
    op: String,
    state: Option<NativeState>,
    addr: Option<NativeAddr>,
    intent: Option<Intent>,
    outputs: Option<Map<String, Value>>,
}

impl RawRecord {
    fn into_op(self) -> Result<Change, String> {
        let missing = |field: &str| format!("`{}` record without `{field}`", self.op);
        Ok(match self.op.as_str() {
            "put" => Change::Put(self.state.ok_or_else(|| missing("state"))?),
            "remove" => Change::Remove(self.addr.ok_or_else(|| missing("addr"))?),
            "intent" => Change::Intent(self.intent.ok_or_else(|| missing("intent"))?),
            "clear_intent" => Change::ClearIntent(self.addr.ok_or_else(|| missing("addr"))?),
            "outputs" => Change::Outputs(self.outputs.ok_or_else(|| missing("outputs"))?),
            other => return Err(format!("unknown op `{other}`")),
        })
    }
}

/// Larger record buffers are freed after use rather than kept for the next append.
const MAX_KEPT_BUFFER: usize = 1 << 20;

/// What the next append must fix first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// Nothing.
    None,
    /// Cut the file back to `len`: a torn last line, or a failed append.
    Truncate,
    /// The last record is complete but lacks its newline.
    Newline,
}

/// The journal of one state, with its single open handle when writable.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    dir: PathBuf,
    writable: bool,
    /// Opened lazily by the first append when the journal does not exist yet, so that
    /// opening a state never leaves files behind for a target that was never applied.
    file: Option<File>,
    /// Bytes of complete records.
    len: u64,
    repair: Repair,
    /// Reused for every record so that appends do not allocate once warm.
    buf: Vec<u8>,
}

impl Journal {
    /// Open the journal at `path` (in directory `dir`) and read its records, in order.
    /// A torn last line is left out (and cut away by the next append); any other
    /// unparseable line is [`StateError::Corrupt`].
    pub fn load(
        path: &Path,
        dir: &Path,
        writable: bool,
    ) -> Result<(Journal, Vec<Record>), StateError> {
        let mut journal = Journal {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            writable,
            file: None,
            len: 0,
            repair: Repair::None,
            buf: Vec::new(),
        };
        let opened = if writable {
            OpenOptions::new().read(true).append(true).open(path)
        } else {
            File::open(path)
        };
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((journal, Vec::new())),
            Err(e) => return Err(StateError::io("open", path, e)),
        };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| StateError::io("read", path, e))?;
        let records = journal.parse(&bytes)?;
        if writable {
            journal.file = Some(file);
        }
        Ok((journal, records))
    }

    fn parse(&mut self, bytes: &[u8]) -> Result<Vec<Record>, StateError> {
        // (line number, start offset, content, ends with newline), blank lines skipped.
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, chunk) in bytes.split(|b| *b == b'\n').enumerate() {
            let end = start + chunk.len();
            let has_newline = end < bytes.len();
            if !chunk.trim_ascii().is_empty() {
                lines.push((i + 1, start, chunk, has_newline));
            }
            start = end + 1;
        }
        self.len = bytes.len() as u64;
        let mut records = Vec::with_capacity(lines.len());
        let last = lines.len().saturating_sub(1);
        for (idx, (line, start, chunk, has_newline)) in lines.into_iter().enumerate() {
            match parse_line(chunk) {
                Ok((base, op)) => {
                    records.push(Record { line, base, op });
                    if !has_newline {
                        self.repair = Repair::Newline;
                    }
                }
                // A process killed mid-append leaves a partial last line: that mutation
                // never completed, so it is dropped (and cut away by the next append).
                Err(_) if idx == last => {
                    self.len = start as u64;
                    self.repair = Repair::Truncate;
                }
                Err(message) => {
                    return Err(StateError::Corrupt {
                        path: self.path.clone(),
                        line: Some(line),
                        message,
                    });
                }
            }
        }
        Ok(records)
    }

    /// Whether the journal holds anything, torn tail included.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.repair != Repair::Truncate
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `changes` made on top of snapshot serial `base`, one line each, in one write,
    /// followed by an fsync when `sync` (otherwise the record survives a killed process,
    /// since the kernel holds it, but not a power loss until [`Journal::sync`]).
    pub fn append<'a>(
        &mut self,
        base: u64,
        changes: impl IntoIterator<Item = &'a Change>,
        sync: bool,
    ) -> Result<(), StateError> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if self.repair == Repair::Newline {
            buf.push(b'\n');
        }
        let result = changes
            .into_iter()
            .try_for_each(|c| encode(&mut buf, base, c))
            .map_err(|e| StateError::io("encode a record for", &self.path, e))
            .and_then(|()| self.write_record(&buf, sync));
        if buf.capacity() > MAX_KEPT_BUFFER {
            // A large batch should not pin its buffer for the life of the store.
            buf = Vec::new();
        }
        self.buf = buf;
        result
    }

    /// Make every record appended so far durable.
    pub fn sync(&mut self) -> Result<(), StateError> {
        match &mut self.file {
            Some(f) => f
                .sync_data()
                .map_err(|e| StateError::io("sync", &self.path, e)),
            None => Ok(()),
        }
    }

    fn write_record(&mut self, buf: &[u8], sync: bool) -> Result<(), StateError> {
        debug_assert!(self.writable, "appending to a read-only journal");
        let path = &self.path;
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let f = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .open(path)
                    .map_err(|e| StateError::io("create", path, e))?;
                // The new directory entry must be durable too, or the record could vanish
                // with the file after a power loss.
                sync_dir(&self.dir)?;
                self.file.insert(f)
            }
        };
        if self.repair == Repair::Truncate {
            file.set_len(self.len)
                .map_err(|e| StateError::io("truncate", path, e))?;
            self.repair = Repair::None;
        }
        let written = file
            .write_all(buf)
            .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            // Part of the record may be in the file: cut it away before the next append
            // so it can never become a corrupt line in the middle.
            self.repair = Repair::Truncate;
            return Err(StateError::io("append to", path, e));
        }
        self.len += buf.len() as u64;
        self.repair = Repair::None;
        Ok(())
    }

    /// Empty the journal after its records went into a durable snapshot.
    pub fn truncate(&mut self) -> Result<(), StateError> {
        // Without a handle there is no journal file: nothing to empty.
        if let Some(f) = &self.file {
            f.set_len(0)
                .and_then(|()| f.sync_data())
                .map_err(|e| StateError::io("truncate", &self.path, e))?;
        }
        self.len = 0;
        self.repair = Repair::None;
        Ok(())
    }
}

fn parse_line(line: &[u8]) -> Result<(u64, Change), String> {
    let raw: RawRecord = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let base = raw.base;
    Ok((base, raw.into_op()?))
}

/// `{"base":N,"op":"...",...}\n`, written by hand around serde_json so the key order is
/// fixed and no intermediate `Value` is built.
fn encode(buf: &mut Vec<u8>, base: u64, op: &Change) -> io::Result<()> {
    write!(buf, "{{\"base\":{base},\"op\":")?;
    match op {
        Change::Put(state) => {
            buf.extend_from_slice(b"\"put\",\"state\":");
            serde_json::to_writer(&mut *buf, state)?;
        }
        Change::Remove(addr) => {
            buf.extend_from_slice(b"\"remove\",\"addr\":");
            serde_json::to_writer(&mut *buf, addr)?;
        }
        Change::Intent(intent) => {
            buf.extend_from_slice(b"\"intent\",\"intent\":");
            serde_json::to_writer(&mut *buf, intent)?;
        }
        Change::ClearIntent(addr) => {
            buf.extend_from_slice(b"\"clear_intent\",\"addr\":");
            serde_json::to_writer(&mut *buf, addr)?;
        }
        Change::Outputs(outputs) => {
            buf.extend_from_slice(b"\"outputs\",\"outputs\":");
            serde_json::to_writer(&mut *buf, outputs)?;
        }
    }
    buf.extend_from_slice(b"}\n");
    Ok(())
}
