//! The snapshot: the whole state at one serial, replaced atomically by compaction. This
//! module owns its format (pretty JSON) and its checks; where the bytes live is the
//! backend's.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;

use overcast_core::{NativeAddr, NativeState};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::backend::StateBackend;
use super::error::StateError;
use super::intent::Intent;

/// The newest snapshot format this build reads, and the one it writes.
pub const FORMAT_VERSION: u64 = 1;

/// The content of a snapshot file, and the in-memory view of a store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    /// Format version, [`FORMAT_VERSION`].
    pub version: u64,
    /// Incremented by every compaction that changes something.
    pub serial: u64,
    /// Fixed when the state is first written; tells two unrelated states with the same
    /// serial apart.
    pub lineage: String,
    /// Stack name.
    pub stack: String,
    /// Target name.
    pub target: String,
    /// Resources overcast owns, by address.
    #[serde(default, deserialize_with = "sorted_map")]
    pub resources: BTreeMap<NativeAddr, NativeState>,
    /// Creates started but not yet recorded, by address.
    #[serde(default)]
    pub intents: BTreeMap<NativeAddr, Intent>,
    /// The stack's outputs as of the last apply.
    #[serde(default)]
    pub outputs: Map<String, Value>,
}

impl Snapshot {
    /// A state that was never written: serial 0, lineage empty until the first compaction.
    pub fn empty(stack: &str, target: &str) -> Self {
        Snapshot {
            version: FORMAT_VERSION,
            serial: 0,
            lineage: String::new(),
            stack: stack.to_string(),
            target: target.to_string(),
            resources: BTreeMap::new(),
            intents: BTreeMap::new(),
            outputs: Map::new(),
        }
    }
}

/// A JSON object read into a map in one sorted build: a snapshot lists its resources in
/// order, and inserting 100,000 string-keyed entries one by one searched the map for each
/// and, keys coming in order, left every node half full (measured: 20 MiB more for a
/// 100,000-resource state, and a slower walk in diff). A repeated key keeps its last
/// value, as inserts would.
fn sorted_map<'de, D, K, V>(d: D) -> Result<BTreeMap<K, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    struct Entries<K, V>(std::marker::PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de> + Ord, V: Deserialize<'de>> serde::de::Visitor<'de>
        for Entries<K, V>
    {
        type Value = BTreeMap<K, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 16));
            while let Some(entry) = map.next_entry()? {
                entries.push(entry);
            }
            Ok(entries.into_iter().collect())
        }
    }
    d.deserialize_map(Entries(std::marker::PhantomData))
}

/// Read the snapshot of `backend`, `None` if there is none. It must belong to `stack`
/// and `target`.
pub(crate) fn read(
    backend: &dyn StateBackend,
    stack: &str,
    target: &str,
) -> Result<Option<Snapshot>, StateError> {
    let path = &backend.names().snapshot;
    let Some(reader) = backend.read_snapshot()? else {
        return Ok(None);
    };
    // Parsed as it is read rather than from the whole file in memory: a large state's
    // file would otherwise be held, tens of megabytes, next to the state built from it.
    let reader = io::BufReader::with_capacity(1 << 16, reader);
    let snap: Snapshot = match serde_json::from_reader(reader) {
        Ok(s) => s,
        Err(e) if e.is_io() => return Err(StateError::io("read", path, e.into())),
        Err(e) => {
            // Only to tell a newer format from a damaged file: read it whole again.
            let bytes = read_all(backend, path)?;
            // A newer format may not even parse as ours: say "upgrade", not "corrupt".
            check_version(path, probe_version(&bytes))?;
            return Err(StateError::Corrupt {
                path: path.to_path_buf(),
                line: Some(e.line()).filter(|l| *l > 0),
                message: e.to_string(),
            });
        }
    };
    check(path, &snap, stack, target)?;
    Ok(Some(snap))
}

/// The snapshot's bytes, empty if it vanished meanwhile.
fn read_all(backend: &dyn StateBackend, path: &Path) -> Result<Vec<u8>, StateError> {
    let mut bytes = Vec::new();
    if let Some(mut reader) = backend.read_snapshot()? {
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| StateError::io("read", path, e))?;
    }
    Ok(bytes)
}

/// What parsing cannot check: a known version, the right stack and target, and keys that
/// match the addresses they hold.
fn check(path: &Path, snap: &Snapshot, stack: &str, target: &str) -> Result<(), StateError> {
    check_version(path, Some(snap.version))?;
    let corrupt = |message: String| StateError::Corrupt {
        path: path.to_path_buf(),
        line: None,
        message,
    };
    if snap.version == 0 {
        return Err(corrupt("format version 0 does not exist".to_string()));
    }
    if snap.stack != stack || snap.target != target {
        return Err(corrupt(format!(
            "it belongs to stack `{}` target `{}`, not stack `{stack}` target `{target}` \
             (was it copied or renamed?)",
            snap.stack, snap.target
        )));
    }
    if let Some((k, r)) = snap.resources.iter().find(|(k, r)| **k != r.addr) {
        return Err(corrupt(format!(
            "resource under key `{k}` has address `{}`",
            r.addr
        )));
    }
    if let Some((k, i)) = snap.intents.iter().find(|(k, i)| *k != i.addr()) {
        return Err(corrupt(format!(
            "intent under key `{k}` has address `{}`",
            i.addr()
        )));
    }
    Ok(())
}

fn probe_version(bytes: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Probe {
        version: u64,
    }
    serde_json::from_slice::<Probe>(bytes)
        .ok()
        .map(|p| p.version)
}

fn check_version(path: &Path, found: Option<u64>) -> Result<(), StateError> {
    match found {
        Some(found) if found > FORMAT_VERSION => Err(StateError::VersionTooNew {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }),
        _ => Ok(()),
    }
}

/// Replace the snapshot of `backend` with `snap`, atomically, keeping the previous one as
/// the backup. An error means the previous snapshot is still in place; `Ok` that the new
/// one is, durable only after [`StateBackend::sync_snapshot`].
pub(crate) fn write(backend: &mut dyn StateBackend, snap: &Snapshot) -> Result<(), StateError> {
    backend.write_snapshot(&mut |w| encode(w, snap))
}

/// `snap` as the bytes of a snapshot file.
fn encode(w: &mut dyn Write, snap: &Snapshot) -> io::Result<()> {
    // Indented so that a state file can be read and diffed by people; serde_json's pretty
    // printer costs little over the compact one.
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *w,
        serde_json::ser::PrettyFormatter::with_indent(b" "),
    );
    snap.serialize(&mut ser).map_err(io::Error::from)?;
    w.write_all(b"\n")
}
