//! The journal: one JSON line per mutation since the last compaction, appended and
//! fsynced before the mutation counts as done, so that state survives a kill at any
//! instant without rewriting the whole snapshot per operation. This module owns the
//! format and the repair of a torn tail; where the bytes live is the backend's.

use std::io::{self, Write};
use std::path::Path;

use overcast_core::{NativeAddr, NativeState};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::backend::StateBackend;
use super::error::StateError;
use super::intent::Intent;

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

/// The format state of one state's journal: where its complete records end and what the
/// next append must repair first.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// Bytes of complete records.
    len: u64,
    /// Bytes beyond `len` (a torn last line, or a failed append) must be cut away.
    cut_tail: bool,
    /// The last complete record lacks its newline.
    needs_newline: bool,
    /// Reused for every record so that appends do not allocate once warm.
    buf: Vec<u8>,
}

impl Journal {
    /// Read the journal of `backend` and its records, in order. A torn last line is left
    /// out (and cut away by the next append); any other unparseable line is
    /// [`StateError::Corrupt`].
    pub fn load(backend: &dyn StateBackend) -> Result<(Journal, Vec<Record>), StateError> {
        let bytes = backend.read_journal()?;
        let mut journal = Journal::default();
        let records = journal.parse(&bytes, &backend.names().journal)?;
        Ok((journal, records))
    }

    fn parse(&mut self, bytes: &[u8], path: &Path) -> Result<Vec<Record>, StateError> {
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
                    self.needs_newline = !has_newline;
                }
                // A process killed mid-append leaves a partial last line: that mutation
                // never completed, so it is dropped (and cut away by the next append).
                Err(_) if idx == last => {
                    self.len = start as u64;
                    self.cut_tail = true;
                    self.needs_newline = false;
                }
                Err(message) => {
                    return Err(StateError::Corrupt {
                        path: path.to_path_buf(),
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
        self.len == 0 && !self.cut_tail
    }

    /// Append `changes` made on top of snapshot serial `base`, one line each, in one write,
    /// durable before returning when `sync` (otherwise the record survives a killed
    /// process but not a power loss until [`StateBackend::sync_journal`]).
    pub fn append<'a>(
        &mut self,
        backend: &mut dyn StateBackend,
        base: u64,
        changes: impl IntoIterator<Item = &'a Change>,
        sync: bool,
    ) -> Result<(), StateError> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        if self.needs_newline {
            buf.push(b'\n');
        }
        let result = changes
            .into_iter()
            .try_for_each(|c| encode(&mut buf, base, c))
            .map_err(|e| StateError::io("encode a record for", &backend.names().journal, e))
            .and_then(|()| self.write(backend, &buf, sync));
        if buf.capacity() > MAX_KEPT_BUFFER {
            // A large batch should not pin its buffer for the life of the store.
            buf = Vec::new();
        }
        self.buf = buf;
        result
    }

    fn write(
        &mut self,
        backend: &mut dyn StateBackend,
        buf: &[u8],
        sync: bool,
    ) -> Result<(), StateError> {
        if self.cut_tail {
            backend.truncate_journal(self.len, false)?;
            self.cut_tail = false;
        }
        if let Err(e) = backend.append_journal(buf, sync) {
            // Part of the record may have been written: cut it away before the next
            // append so it can never become a corrupt line in the middle. The newline the
            // record began with, if any, is cut with it and still needed.
            self.cut_tail = true;
            return Err(e);
        }
        self.len += buf.len() as u64;
        self.needs_newline = false;
        Ok(())
    }

    /// Empty the journal after its records went into a durable snapshot.
    pub fn truncate(&mut self, backend: &mut dyn StateBackend) -> Result<(), StateError> {
        backend.truncate_journal(0, true)?;
        self.len = 0;
        self.cut_tail = false;
        self.needs_newline = false;
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
