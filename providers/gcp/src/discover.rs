//! Discovery: every native type of the target's project and region, with their
//! labels, names, locations and creation times, filtered by [`DiscoveryFilter`] (the
//! engine's owner filter is in GCP label keys: see `GcpProvider::owner_filter`).
//! [`crate::link`] then finds what each one uses.

use std::collections::BTreeMap;

use overcast_core::ProviderError;
use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};

use crate::config::Clients;
use crate::{bucket, pubsub, scheduler};

/// The discovery type of Cloud SQL instances.
pub(crate) const SQL_INSTANCE: &str = "sqladmin:instance";

/// The discovery types, as `discover` reports them.
pub const TYPES: &[&str] = &[
    "storage:bucket",
    "pubsub:topic",
    "pubsub:subscription",
    "scheduler:job",
    crate::functions::DISCOVERED_AS,
    "compute:instance",
    "compute:firewall",
    "compute:network",
    "compute:backendBucket",
    "compute:urlMap",
    "compute:targetHttpProxy",
    "compute:forwardingRule",
    SQL_INSTANCE,
];

/// The full resource name (the `arn`) of a bucket.
pub fn bucket_arn(name: &str) -> String {
    format!("//storage.googleapis.com/{name}")
}

/// The full resource name of a Pub/Sub topic or subscription (`projects/p/topics/t`).
pub fn pubsub_arn(path: &str) -> String {
    format!("//pubsub.googleapis.com/{path}")
}

/// The full resource name of a function (`projects/p/locations/l/functions/f`).
pub fn function_arn(path: &str) -> String {
    format!("//cloudfunctions.googleapis.com/{path}")
}

/// The full resource name of a Cloud SQL instance.
pub fn sql_arn(project: &str, name: &str) -> String {
    format!("//sqladmin.googleapis.com/projects/{project}/instances/{name}")
}

/// The full resource name of a Compute resource (`projects/p/global/networks/n`).
pub fn compute_arn(id: &str) -> String {
    format!("//compute.googleapis.com/{id}")
}

/// A timestamp in RFC 3339 UTC (`Z`): Compute answers in Pacific time
/// (`2024-01-01T12:00:00.000-08:00`), the other APIs in UTC already. `None` when empty
/// or unreadable.
pub fn utc(ts: &str) -> Option<String> {
    google_cloud_wkt::Timestamp::try_from(ts)
        .ok()
        .map(String::from)
}

/// The segment after `key` in a resource path (`locations` of
/// `projects/p/locations/l/jobs/j` is `l`).
fn segment_after<'a>(path: &'a str, key: &str) -> Option<&'a str> {
    let mut parts = path.split('/');
    parts.find(|p| *p == key)?;
    parts.next()
}

/// The last segment of a resource path: the name a person knows it by.
fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// One listed resource before the filter.
struct Found<'a> {
    ty: &'a str,
    arn: String,
    id: String,
    tags: BTreeMap<String, String>,
    name: String,
    location: Option<String>,
    created: Option<String>,
}

/// Every resource of the supported types that `filter` wants.
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut out = Vec::new();
    let mut keep = |f: Found<'_>| {
        if filter.wants(f.ty) && filter.matches(&f.tags) {
            let mut r = DiscoveredResource::new(f.arn, f.ty, f.id, f.tags).with_name(f.name);
            if let Some(l) = f.location {
                r = r.with_location(l);
            }
            if let Some(t) = f.created.as_deref().and_then(utc) {
                r = r.with_created(t);
            }
            out.push(r);
        }
    };
    let on = |endpoint: &Option<String>| c.settings.discovers(endpoint);
    let s = &c.settings;
    if filter.wants(TYPES[0]) && on(&s.storage_endpoint) {
        for b in bucket::list(c).await? {
            keep(Found {
                ty: TYPES[0],
                arn: bucket_arn(&b.name),
                id: b.name.clone(),
                tags: b.labels,
                name: b.name,
                location: b.location,
                created: b.created,
            });
        }
    }
    // Topics and subscriptions are global and the API gives no creation time.
    if filter.wants(TYPES[1]) && on(&s.pubsub_endpoint) {
        for t in pubsub::list_topics(c).await? {
            keep(Found {
                ty: TYPES[1],
                arn: pubsub_arn(&t.name),
                tags: pubsub::label_map(&t.labels),
                name: short(&t.name).to_string(),
                id: t.name,
                location: Some("global".into()),
                created: None,
            });
        }
    }
    if filter.wants(TYPES[2]) && on(&s.pubsub_endpoint) {
        for s in pubsub::list_subscriptions(c).await? {
            keep(Found {
                ty: TYPES[2],
                arn: pubsub_arn(&s.name),
                tags: pubsub::label_map(&s.labels),
                name: short(&s.name).to_string(),
                id: s.name,
                location: Some("global".into()),
                created: None,
            });
        }
    }
    if filter.wants(TYPES[3]) && on(&s.scheduler_endpoint) {
        // Jobs have no labels (their owner is decoded from their description) and no
        // creation time (only `userUpdateTime`).
        for j in scheduler::jobs(c, scheduler::PAGE_SIZE).await? {
            keep(Found {
                ty: TYPES[3],
                arn: format!("//cloudscheduler.googleapis.com/{}", j.name),
                tags: scheduler::labels(&j),
                name: short(&j.name).to_string(),
                location: segment_after(&j.name, "locations").map(str::to_string),
                id: j.name,
                created: None,
            });
        }
    }
    if filter.wants(crate::functions::DISCOVERED_AS) && on(&s.functions_endpoint) {
        for f in crate::functions::function::list(c).await? {
            keep(Found {
                ty: crate::functions::DISCOVERED_AS,
                arn: function_arn(&f.name),
                tags: crate::functions::function::labels(&f),
                name: short(&f.name).to_string(),
                location: segment_after(&f.name, "locations").map(str::to_string),
                created: f.create_time.map(String::from),
                id: f.name,
            });
        }
    }
    if filter.wants(SQL_INSTANCE) && on(&s.sql_endpoint) {
        for i in crate::sql::list_instances(c).await? {
            let Some(name) = i.name.clone() else {
                continue;
            };
            keep(Found {
                ty: SQL_INSTANCE,
                arn: sql_arn(&c.project, &name),
                tags: i.labels(),
                id: name.clone(),
                name,
                location: i.region,
                created: i.create_time,
            });
        }
    }
    if on(&s.compute_endpoint) {
        out.extend(crate::compute::outputs::discover(c, filter).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_utc_and_paths_give_names_and_locations() {
        assert_eq!(
            utc("2024-01-01T12:00:00.000-08:00").as_deref(),
            Some("2024-01-01T20:00:00Z")
        );
        assert_eq!(
            utc("2026-11-30T10:00:00.5Z").as_deref(),
            Some("2026-11-30T10:00:00.5Z")
        );
        assert_eq!(utc(""), None);
        let job = "projects/p/locations/europe-west1/jobs/nightly";
        assert_eq!(segment_after(job, "locations"), Some("europe-west1"));
        assert_eq!(short(job), "nightly");
        assert_eq!(segment_after("projects/p", "locations"), None);
    }
}
