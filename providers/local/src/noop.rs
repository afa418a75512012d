//! `noop` mode: nothing runs and nothing is materialized but one line per change in an
//! append-only ledger (`local/<target>/noop.ledger`, NDJSON, replayed once per process).
//! For the engine's benchmarks with thousands of resources, where a file or directory per
//! resource would make the filesystem's inode allocation, not the engine, the thing being
//! measured. Outputs are shaped like the real ones but point at nothing that serves.
//! A torn last line (a process killed mid-write) is ignored, like the state journal's.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, Kind, OwnerTags, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::fsutil;
use crate::record::{Record, already_exists};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NoopFile {
    owner: OwnerTags,
    #[serde(flatten)]
    record: Record,
}

/// One ledger line: the entry of a native, or its removal (`entry` absent).
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entry: Option<NoopFile>,
}

/// The ledger of one target, loaded on first use.
pub(crate) struct NoopStore {
    path: PathBuf,
    root: PathBuf,
    state: Mutex<Option<Ledger>>,
}

struct Ledger {
    entries: HashMap<String, NoopFile>,
    file: Option<File>,
}

impl std::fmt::Debug for NoopStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoopStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl NoopStore {
    /// The ledger at `root/noop.ledger` (nothing is read until first use).
    pub(crate) fn new(root: &Path) -> NoopStore {
        NoopStore {
            path: root.join("noop.ledger"),
            root: root.to_path_buf(),
            state: Mutex::new(None),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Ledger, &Path) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| ProviderError::fatal("noop ledger lock poisoned"))?;
        if guard.is_none() {
            *guard = Some(Ledger::load(&self.path)?);
        }
        match guard.as_mut() {
            Some(ledger) => f(ledger, &self.path),
            None => Err(ProviderError::fatal("noop ledger not loaded")),
        }
    }
}

impl Ledger {
    fn load(path: &Path) -> Result<Ledger, ProviderError> {
        let mut entries = HashMap::new();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        for (n, raw) in complete.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(raw).map_err(|e| {
                ProviderError::fatal(format!("{} line {}: {e}", path.display(), n + 1)).with_hint(
                    "the noop ledger is corrupt; delete it and the stack's state to start over",
                )
            })?;
            match line.entry {
                Some(entry) => entries.insert(line.key, entry),
                None => entries.remove(&line.key),
            };
        }
        if complete.len() != text.len() {
            // Cut away a torn last line so the next append starts on a line of its own.
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(complete.len() as u64)?;
        }
        Ok(Ledger {
            entries,
            file: None,
        })
    }

    fn append(&mut self, path: &Path, line: &Line) -> Result<(), ProviderError> {
        let mut bytes = serde_json::to_vec(line)
            .map_err(|e| ProviderError::fatal(format!("encoding {}: {e}", path.display())))?;
        bytes.push(b'\n');
        if self.file.is_none() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            self.file = Some(OpenOptions::new().create(true).append(true).open(path)?);
        }
        match self.file.as_mut() {
            // One write per line: an O_APPEND write of a small buffer is never interleaved.
            Some(f) => f.write_all(&bytes).map_err(Into::into),
            None => Err(ProviderError::fatal("noop ledger not open")),
        }
    }
}

/// Outputs shaped like the real ones. Every url that another native may take as an input
/// (an origin, a trigger source, a connection string) holds the native's key, as the real
/// ones hold its directory: `link_discovered` finds who uses whom by that key.
fn outputs(kind: Kind, file: &Path, req: &CreateRequest) -> Attrs {
    let path = file.display().to_string();
    let name = req.addr.resource.clone();
    let v = match kind {
        Kind::Storage => json!({"name": name, "url": format!("file://{path}"), "path": path}),
        Kind::Queue => json!({"name": name, "url": path, "path": path}),
        Kind::Database => json!({
            "name": req.inputs.get("database_name").cloned().unwrap_or(json!(name)),
            "endpoint": path, "port": "", "engine": "noop",
            "username": req.inputs.get("username").cloned().unwrap_or(json!("overcast")),
            "password": "noop", "connection_string": format!("noop://{path}"),
        }),
        Kind::Function => json!({"name": name, "url": "", "code_hash": ""}),
        Kind::Compute => json!({"name": name, "address": "127.0.0.1", "port": "",
            "url": format!("http://127.0.0.1:0{path}")}),
        Kind::Cdn => json!({"domain": "127.0.0.1:0", "url": format!("http://127.0.0.1:0{path}/")}),
        Kind::Target => json!({"path": path}),
    };
    v.as_object().cloned().unwrap_or_default()
}

/// One native of the ledger, as discovery lists it.
pub(crate) struct Listed {
    /// Its key, also its id.
    pub key: String,
    pub owner: OwnerTags,
    pub record: Record,
}

/// Every native in the ledger. Those written before creation times were kept get the
/// ledger file's modification time.
pub(crate) fn list(store: &NoopStore) -> Result<Vec<Listed>, ProviderError> {
    store.with(|ledger, path| {
        let fallback = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .map(overcast_core::clock::rfc3339_of);
        Ok(ledger
            .entries
            .iter()
            .map(|(k, f)| {
                let mut record = f.record.clone();
                record.created = record.created.or_else(|| fallback.clone());
                Listed {
                    key: k.clone(),
                    owner: f.owner.clone(),
                    record,
                }
            })
            .collect())
    })
}

pub(crate) fn create(
    store: &NoopStore,
    kind: Kind,
    file: &Path,
    req: &CreateRequest,
) -> Result<Observed, ProviderError> {
    let key = file.display().to_string();
    store.with(|ledger, path| {
        if let Some(existing) = ledger.entries.get(&key) {
            return Err(already_exists(file, Some(&existing.owner)));
        }
        let record = Record {
            type_name: req.type_name.clone(),
            inputs: req.inputs.clone(),
            outputs: outputs(kind, file, req),
            created: Some(overcast_core::clock::now_rfc3339()),
        };
        let entry = NoopFile {
            owner: req.owner.clone(),
            record: record.clone(),
        };
        ledger.append(
            path,
            &Line {
                key: key.clone(),
                entry: Some(entry.clone()),
            },
        )?;
        ledger.entries.insert(key.clone(), entry);
        Ok(record.observed(file))
    })
}

pub(crate) fn read(store: &NoopStore, file: &Path) -> Result<Option<Observed>, ProviderError> {
    let key = file.display().to_string();
    store.with(|ledger, _| Ok(ledger.entries.get(&key).map(|f| f.record.observed(file))))
}

pub(crate) fn adopt(
    store: &NoopStore,
    file: &Path,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let key = file.display().to_string();
    store.with(|ledger, _| {
        Ok(ledger
            .entries
            .get(&key)
            .filter(|f| &f.owner == owner)
            .map(|f| f.record.observed(file)))
    })
}

pub(crate) fn update(
    store: &NoopStore,
    file: &Path,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let key = file.display().to_string();
    store.with(|ledger, path| {
        let mut entry = ledger
            .entries
            .get(&key)
            .cloned()
            .ok_or_else(|| ProviderError::not_found(format!("{} is gone", file.display())))?;
        entry.record.inputs = inputs.clone();
        ledger.append(
            path,
            &Line {
                key: key.clone(),
                entry: Some(entry.clone()),
            },
        )?;
        let observed = entry.record.observed(file);
        ledger.entries.insert(key.clone(), entry);
        Ok(observed)
    })
}

pub(crate) fn delete(store: &NoopStore, file: &Path) -> Result<(), ProviderError> {
    let key = file.display().to_string();
    store.with(|ledger, path| remove(store, ledger, path, key))
}

/// Delete the native at `file` if `owner` still owns it (what discovery found there):
/// gone is a success, another owner an error ([`crate::record::replaced`]).
pub(crate) fn delete_owned(
    store: &NoopStore,
    file: &Path,
    owner: &OwnerTags,
) -> Result<(), ProviderError> {
    let key = file.display().to_string();
    store.with(|ledger, path| match ledger.entries.get(&key) {
        None => Ok(()),
        Some(entry) if &entry.owner == owner => remove(store, ledger, path, key),
        Some(entry) => Err(crate::record::replaced(file, owner, Some(&entry.owner))),
    })
}

/// The records at `keys` (`None` where the ledger holds nothing).
pub(crate) fn records(
    store: &NoopStore,
    keys: &[String],
) -> Result<Vec<Option<Record>>, ProviderError> {
    store.with(|ledger, _| {
        Ok(keys
            .iter()
            .map(|k| ledger.entries.get(k).map(|f| f.record.clone()))
            .collect())
    })
}

fn remove(
    store: &NoopStore,
    ledger: &mut Ledger,
    path: &Path,
    key: String,
) -> Result<(), ProviderError> {
    if ledger.entries.remove(&key).is_none() {
        return Ok(());
    }
    if ledger.entries.is_empty() {
        // The last native is gone: leave nothing on disk.
        ledger.file = None;
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        fsutil::prune_empty_parents(path, &store.root);
        return Ok(());
    }
    ledger.append(path, &Line { key, entry: None })
}
