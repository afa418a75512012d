//! `local_bucket`: a directory of objects (`<native dir>/objects/`, url
//! `file://<abs path>`). Object keys are relative paths under it.
//!
//! `versioning`, `class`, `public` and `lifecycle` are recorded in `bucket.json` but not
//! enforced: the local cloud keeps one version per key, has one storage class, no access
//! control beyond file permissions, and runs no lifecycle jobs.
//!
//! `content`: the files of that directory (relative to the spec file) are copied in as
//! objects at create, and again on update. Overwrites keep objects written by others
//! (like `aws s3 sync` without `--delete`). Because `expand` may do no I/O, the content's
//! hash cannot be an input: it is computed at create/update and exposed as the output
//! `content_hash`, and `read` reports the live input `content_in_sync: false` (desired:
//! `true`) when the directory no longer hashes to it, so the plan shows an update.

use std::fs;
use std::path::{Path, PathBuf};

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use serde_json::json;

use crate::fsutil;
use crate::record::{self, Record, get};

/// Directory of the objects inside the native's directory.
pub(crate) const OBJECTS_DIR: &str = "objects";
const META_FILE: &str = "bucket.json";

fn content_dir(spec_dir: &Path, inputs: &Attrs) -> Option<PathBuf> {
    get::opt_str(inputs, "content").map(|c| spec_dir.join(c))
}

fn write_meta(dir: &Path, inputs: &Attrs) -> Result<(), ProviderError> {
    let meta = json!({
        "versioning": inputs.get("versioning"),
        "class": inputs.get("class"),
        "public": inputs.get("public"),
        "lifecycle": inputs.get("lifecycle"),
        "note": "recorded only: the local cloud does not enforce versioning, storage classes, public access or lifecycle rules",
    });
    Ok(fsutil::write_json(&dir.join(META_FILE), &meta)?)
}

/// Copy the content directory into `objects`, returning its hash.
fn sync_content(src: &Path, objects: &Path) -> Result<String, ProviderError> {
    if !src.is_dir() {
        return Err(ProviderError::invalid(format!(
            "storage content `{}` is not a directory",
            src.display()
        ))
        .with_hint("`content` is a directory relative to the spec file"));
    }
    fsutil::copy_dir(src, objects)?;
    Ok(fsutil::hash_dir(src)?)
}

fn outputs(fin: &Path, name: &str, hash: Option<String>) -> Attrs {
    let objects = fin.join(OBJECTS_DIR);
    let mut o = Attrs::new();
    o.insert("name".into(), json!(name));
    o.insert("url".into(), json!(format!("file://{}", objects.display())));
    o.insert("path".into(), json!(objects.display().to_string()));
    if let Some(h) = hash {
        o.insert("content_hash".into(), json!(h));
    }
    o
}

pub(crate) fn create(
    spec_dir: &Path,
    dir: &Path,
    req: &CreateRequest,
) -> Result<Record, ProviderError> {
    let name = req.addr.resource.clone();
    record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |tmp, fin| {
        let objects = tmp.join(OBJECTS_DIR);
        fs::create_dir(&objects)?;
        write_meta(tmp, &req.inputs)?;
        let hash = match content_dir(spec_dir, &req.inputs) {
            Some(src) => Some(sync_content(&src, &objects)?),
            None => None,
        };
        Ok(outputs(fin, &name, hash))
    })
}

pub(crate) fn read(
    spec_dir: &Path,
    dir: &Path,
    rec: Record,
) -> Result<Option<Observed>, ProviderError> {
    if !dir.join(OBJECTS_DIR).is_dir() {
        return Ok(None);
    }
    let mut obs = rec.observed(dir);
    let in_sync = match content_dir(spec_dir, &rec.inputs) {
        None => true,
        Some(src) => {
            let live = fsutil::hash_dir(&src).ok();
            live.is_some()
                && live.as_deref() == rec.outputs.get("content_hash").and_then(|v| v.as_str())
        }
    };
    obs.inputs.insert("content_in_sync".into(), json!(in_sync));
    Ok(Some(obs))
}

pub(crate) fn update(
    spec_dir: &Path,
    dir: &Path,
    rec: Record,
    inputs: &Attrs,
) -> Result<Record, ProviderError> {
    let objects = dir.join(OBJECTS_DIR);
    fs::create_dir_all(&objects)?;
    write_meta(dir, inputs)?;
    let hash = match content_dir(spec_dir, inputs) {
        Some(src) => Some(sync_content(&src, &objects)?),
        None => None,
    };
    let name = get::opt_str(&rec.outputs, "name")
        .unwrap_or_default()
        .to_string();
    Ok(Record {
        type_name: rec.type_name,
        created: rec.created,
        inputs: inputs.clone(),
        outputs: outputs(dir, &name, hash),
    })
}
