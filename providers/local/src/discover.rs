//! Discovery on the local cloud: every native materialized under the target's directory
//! (`<kind>/<resource>/<native>/` with its `owner.json` and `resource.json`), or every
//! entry of the `noop` ledger, whatever the state says. A directory without a record (a
//! build interrupted before its atomic rename) is not a native yet and is skipped.

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

/// The natives materialized under `root` that pass `filter`.
pub(crate) fn materialized(
    root: &Path,
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
                    out.push(DiscoveredResource::new(id.clone(), rec.type_name, id, tags));
                }
            }
        }
    }
    Ok(out)
}

/// The `noop` ledger's natives that pass `filter`.
pub(crate) fn ledger(
    store: &noop::NoopStore,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut out: Vec<DiscoveredResource> = noop::list(store)?
        .into_iter()
        .filter_map(|(key, owner, type_name)| {
            let tags = tags(&owner);
            (filter.wants(&type_name) && filter.matches(&tags))
                .then(|| DiscoveredResource::new(key.clone(), type_name, key, tags))
        })
        .collect();
    out.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(out)
}
