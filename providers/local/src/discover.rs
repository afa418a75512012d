//! Discovery on the local cloud: every native materialized under the target's directory
//! (`<kind>/<resource>/<native>/` with its `owner.json` and `resource.json`), or every
//! entry of the `noop` ledger, whatever the state says. A directory without a record (a
//! build interrupted before its atomic rename) is not a native yet and is skipped.
//!
//! Each is listed with its address as name, the target as location and its creation time
//! (kept in its record; for records older than that, the modification time of its
//! `owner.json` or of the ledger). Its id (and arn) is its directory, or its key in the ledger.

use std::collections::BTreeMap;
use std::path::Path;

use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::{Kind, OwnerTags, ProviderError};

use crate::{noop, record};

fn tags(owner: &OwnerTags) -> BTreeMap<String, String> {
    owner
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn subdirs(dir: &Path) -> Result<Vec<std::path::PathBuf>, ProviderError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        // Hidden names are build and removal temporaries, never natives.
        if entry.file_type()?.is_dir() && !entry.file_name().to_string_lossy().starts_with('.') {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Name (the native's address), location (the target) and creation time.
fn describe(
    found: DiscoveredResource,
    owner: &OwnerTags,
    target: &str,
    created: Option<String>,
) -> DiscoveredResource {
    let found = found
        .with_name(owner.resource.clone())
        .with_location(target);
    match created {
        Some(c) => found.with_created(c),
        None => found,
    }
}

/// The natives materialized under `root` that pass `filter`.
pub(crate) fn materialized(
    root: &Path,
    target: &str,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        for resource in subdirs(&root.join(kind.as_str()))? {
            for native in subdirs(&resource)? {
                let (Some(owner), Some(rec)) =
                    (record::read_owner(&native)?, record::read_record(&native)?)
                else {
                    continue;
                };
                let tags = tags(&owner);
                if filter.wants(&rec.type_name) && filter.matches(&tags) {
                    let id = native.display().to_string();
                    let created = record::created(&native, &rec);
                    out.push(describe(
                        DiscoveredResource::new(id.clone(), rec.type_name, id, tags),
                        &owner,
                        target,
                        created,
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// The `noop` ledger's natives that pass `filter`.
pub(crate) fn ledger(
    store: &noop::NoopStore,
    target: &str,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut out: Vec<DiscoveredResource> = noop::list(store)?
        .into_iter()
        .filter_map(|n| {
            let tags = tags(&n.owner);
            (filter.wants(&n.record.type_name) && filter.matches(&tags)).then(|| {
                describe(
                    DiscoveredResource::new(n.key.clone(), n.record.type_name, n.key, tags),
                    &n.owner,
                    target,
                    n.record.created,
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(out)
}
