//! `noop` mode: every native is one small JSON file (owner tags, inputs, outputs) and
//! nothing runs. For the engine's benchmarks with thousands of resources; outputs are
//! shaped like the real ones but point at nothing that serves.

use std::path::Path;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, Kind, OwnerTags, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::fsutil;
use crate::record::{Record, already_exists};

#[derive(Debug, Serialize, Deserialize)]
struct NoopFile {
    owner: OwnerTags,
    #[serde(flatten)]
    record: Record,
}

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
        Kind::Compute => json!({"name": name, "address": "127.0.0.1", "port": "", "url": ""}),
        Kind::Cdn => json!({"domain": "127.0.0.1:0", "url": "http://127.0.0.1:0/"}),
    };
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn create(
    kind: Kind,
    file: &Path,
    req: &CreateRequest,
) -> Result<Observed, ProviderError> {
    if let Some(existing) = read_file(file)? {
        return Err(already_exists(file, Some(&existing.owner)));
    }
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let record = Record {
        type_name: req.type_name.clone(),
        inputs: req.inputs.clone(),
        outputs: outputs(kind, file, req),
    };
    let bytes = serde_json::to_vec(&NoopFile {
        owner: req.owner.clone(),
        record: record.clone(),
    })
    .map_err(|e| ProviderError::fatal(format!("encoding {}: {e}", file.display())))?;
    fsutil::write_atomic_unsynced(file, &bytes)?;
    Ok(record.observed(file))
}

fn read_file(file: &Path) -> Result<Option<NoopFile>, ProviderError> {
    if !file.exists() {
        return Ok(None);
    }
    Ok(Some(fsutil::read_json(file)?))
}

pub(crate) fn read(file: &Path) -> Result<Option<Observed>, ProviderError> {
    Ok(read_file(file)?.map(|f| f.record.observed(file)))
}

pub(crate) fn adopt(file: &Path, owner: &OwnerTags) -> Result<Option<Observed>, ProviderError> {
    Ok(read_file(file)?
        .filter(|f| &f.owner == owner)
        .map(|f| f.record.observed(file)))
}

pub(crate) fn update(file: &Path, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let mut f = read_file(file)?
        .ok_or_else(|| ProviderError::not_found(format!("{} is gone", file.display())))?;
    f.record.inputs = inputs.clone();
    let bytes = serde_json::to_vec(&f)
        .map_err(|e| ProviderError::fatal(format!("encoding {}: {e}", file.display())))?;
    fsutil::write_atomic_unsynced(file, &bytes)?;
    Ok(f.record.observed(file))
}

pub(crate) fn delete(file: &Path) -> Result<(), ProviderError> {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
