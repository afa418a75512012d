//! The files every materialized native carries: `owner.json` (its owner tags, for adopt)
//! and `resource.json` (native type, inputs as last applied, computed outputs), plus the
//! crash-safe build of a native directory.

use std::fs;
use std::path::{Path, PathBuf};

use overcast_core::native::Observed;
use overcast_core::{Attrs, OwnerTags, ProviderError};
use serde::{Deserialize, Serialize};

use crate::fsutil;

/// Name of the owner tags file in a native's directory.
pub(crate) const OWNER_FILE: &str = "owner.json";
/// Name of the record file in a native's directory.
pub(crate) const RECORD_FILE: &str = "resource.json";

/// What a native's directory records about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Native type (`local_bucket`, ...).
    pub type_name: String,
    /// Inputs as last applied.
    pub inputs: Attrs,
    /// Computed outputs (paths, ports, generated password, hashes).
    pub outputs: Attrs,
    /// When the native was created (RFC 3339 UTC), kept across updates. Records written
    /// before it was kept have none: [`created`] falls back to the `owner.json` mtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl Record {
    /// The observation of this record at `dir` (live checks are the caller's business).
    pub(crate) fn observed(&self, dir: &Path) -> Observed {
        Observed::new(
            dir.display().to_string(),
            self.inputs.clone(),
            self.outputs.clone(),
        )
    }
}

/// Read a native's owner tags; `None` when the directory or the file is missing.
pub(crate) fn read_owner(dir: &Path) -> Result<Option<OwnerTags>, ProviderError> {
    let p = dir.join(OWNER_FILE);
    if !p.exists() {
        return Ok(None);
    }
    Ok(Some(fsutil::read_json(&p)?))
}

/// Read a native's record; `None` when the directory or the file is missing.
pub(crate) fn read_record(dir: &Path) -> Result<Option<Record>, ProviderError> {
    let p = dir.join(RECORD_FILE);
    if !p.exists() {
        return Ok(None);
    }
    Ok(Some(fsutil::read_json(&p)?))
}

/// When the native at `dir` was created: what its record says, else (a record from before
/// creation times were kept) the modification time of its `owner.json`, which is written
/// once, when the native is built, and never again (updates rewrite only the record).
pub(crate) fn created(dir: &Path, record: &Record) -> Option<String> {
    record.created.clone().or_else(|| {
        fs::metadata(dir.join(OWNER_FILE))
            .and_then(|m| m.modified())
            .ok()
            .map(overcast_core::clock::rfc3339_of)
    })
}

/// Rewrite a native's record atomically (after an update).
pub(crate) fn write_record(dir: &Path, record: &Record) -> Result<(), ProviderError> {
    Ok(fsutil::write_json(&dir.join(RECORD_FILE), record)?)
}

/// Error for a create that finds its path taken.
pub(crate) fn already_exists(dir: &Path, owner: Option<&OwnerTags>) -> ProviderError {
    let whose = match owner {
        Some(o) => format!(
            "owned by stack `{}`, target `{}`, resource `{}`",
            o.stack, o.target, o.resource
        ),
        None => "with no owner tags".to_string(),
    };
    ProviderError::new(
        overcast_core::ErrorClass::Conflict,
        format!("{} already exists, {whose}", dir.display()),
    )
    .with_hint("if overcast created it in an interrupted apply, it is adopted on the next apply; otherwise remove the directory")
}

/// Error for acting on a discovered native whose place now holds another (or none):
/// discovery found `found` at `dir`, `now` is there.
pub(crate) fn replaced(dir: &Path, found: &OwnerTags, now: Option<&OwnerTags>) -> ProviderError {
    let now = match now {
        Some(o) => format!(
            "now holds resource `{}` of stack `{}`, target `{}`",
            o.resource, o.stack, o.target
        ),
        None => "now holds a native with no owner tags".to_string(),
    };
    ProviderError::invalid(format!(
        "{} is no longer what discovery found there (resource `{}` of stack `{}`): it {now}",
        dir.display(),
        found.resource,
        found.stack
    ))
    .with_hint("discover again and delete what is there now")
}

/// Build a native's directory crash-safely: `build(tmp, final)` fills a temp sibling
/// (paths it records must be the final ones), then the owner tags and the record are
/// written into it and it is renamed into place. A kill at any instant leaves either no
/// directory at `dir` or a complete one, tags included. Returns the record.
pub(crate) fn materialize(
    dir: &Path,
    owner: &OwnerTags,
    type_name: &str,
    inputs: &Attrs,
    build: impl FnOnce(&Path, &Path) -> Result<Attrs, ProviderError>,
) -> Result<Record, ProviderError> {
    if dir.exists() {
        return Err(already_exists(dir, read_owner(dir)?.as_ref()));
    }
    let parent = dir
        .parent()
        .ok_or_else(|| ProviderError::fatal(format!("{} has no parent", dir.display())))?;
    fs::create_dir_all(parent)?;
    fsutil::remove_stale_siblings(dir);
    let tmp: PathBuf = fsutil::temp_sibling(dir, "tmp");
    fs::create_dir(&tmp)?;
    let res = (|| {
        let outputs = build(&tmp, dir)?;
        let record = Record {
            type_name: type_name.to_string(),
            inputs: inputs.clone(),
            outputs,
            created: Some(overcast_core::clock::now_rfc3339()),
        };
        fsutil::write_json(&tmp.join(OWNER_FILE), owner)?;
        fsutil::write_json(&tmp.join(RECORD_FILE), &record)?;
        fs::rename(&tmp, dir)?;
        Ok(record)
    })();
    if res.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    res
}

/// Getters for JSON inputs with errors that name the attribute.
pub(crate) mod get {
    use overcast_core::{Attrs, ProviderError};

    fn missing(key: &str, what: &str) -> ProviderError {
        ProviderError::invalid(format!("input `{key}` must be {what}"))
    }

    pub(crate) fn str<'a>(a: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
        a.get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| missing(key, "a string"))
    }

    pub(crate) fn opt_str<'a>(a: &'a Attrs, key: &str) -> Option<&'a str> {
        a.get(key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    }

    pub(crate) fn u64(a: &Attrs, key: &str) -> Result<u64, ProviderError> {
        a.get(key)
            .and_then(|v| v.as_u64())
            .ok_or_else(|| missing(key, "a whole number"))
    }

    pub(crate) fn bool(a: &Attrs, key: &str) -> bool {
        a.get(key).and_then(|v| v.as_bool()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_time_is_kept_else_the_directory_mtime() {
        let d = tempfile::tempdir().expect("tempdir");
        let dir = d.path().join("bucket");
        let owner = OwnerTags {
            stack: "s".into(),
            target: "t".into(),
            resource: "site.bucket".into(),
        };
        let rec = materialize(&dir, &owner, "local_bucket", &Attrs::new(), |_, _| {
            Ok(Attrs::new())
        })
        .expect("materialize");
        let kept = rec.created.clone().expect("a creation time");
        assert_eq!(created(&dir, &rec), Some(kept.clone()));
        assert_eq!(read_record(&dir).expect("read").expect("record"), rec);
        // A record from before creation times were kept: when its owner tags were written.
        let old = Record {
            created: None,
            ..rec
        };
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        fs::File::options()
            .append(true)
            .open(dir.join(OWNER_FILE))
            .and_then(|f| f.set_modified(at))
            .expect("set the owner file's mtime");
        assert_eq!(created(&dir, &old).as_deref(), Some("2023-11-14T22:13:20Z"));
    }
}
