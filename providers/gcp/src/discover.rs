//! Discovery: every native type of the target's project and region, with their
//! labels, filtered by [`DiscoveryFilter`] (the engine's owner filter is in GCP label
//! keys: see `GcpProvider::owner_filter`).

use overcast_core::ProviderError;
use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};

use crate::config::Clients;
use crate::{bucket, pubsub, scheduler};

/// The discovery type of Cloud SQL instances.
const SQL_INSTANCE: &str = "sqladmin:instance";

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

/// Every resource of the supported types that `filter` wants.
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut out = Vec::new();
    let mut keep = |ty: &str, full: String, id: String, tags| {
        if filter.wants(ty) && filter.matches(&tags) {
            out.push(DiscoveredResource::new(full, ty, id, tags));
        }
    };
    let on = |endpoint: &Option<String>| c.settings.discovers(endpoint);
    let s = &c.settings;
    if filter.wants(TYPES[0]) && on(&s.storage_endpoint) {
        for (name, tags) in bucket::list(c).await? {
            keep(
                TYPES[0],
                format!("//storage.googleapis.com/{name}"),
                name,
                tags,
            );
        }
    }
    if filter.wants(TYPES[1]) && on(&s.pubsub_endpoint) {
        for t in pubsub::list_topics(c).await? {
            let tags = pubsub::label_map(&t.labels);
            keep(
                TYPES[1],
                format!("//pubsub.googleapis.com/{}", t.name),
                t.name,
                tags,
            );
        }
    }
    if filter.wants(TYPES[2]) && on(&s.pubsub_endpoint) {
        for s in pubsub::list_subscriptions(c).await? {
            let tags = pubsub::label_map(&s.labels);
            keep(
                TYPES[2],
                format!("//pubsub.googleapis.com/{}", s.name),
                s.name,
                tags,
            );
        }
    }
    if filter.wants(TYPES[3]) && on(&s.scheduler_endpoint) {
        // Jobs have no labels: their owner is decoded from their description.
        for (name, tags) in scheduler::list(c).await? {
            keep(
                TYPES[3],
                format!("//cloudscheduler.googleapis.com/{name}"),
                name,
                tags,
            );
        }
    }
    if filter.wants(crate::functions::DISCOVERED_AS) && on(&s.functions_endpoint) {
        for f in crate::functions::function::list(c).await? {
            let tags = crate::functions::function::labels(&f);
            keep(
                crate::functions::DISCOVERED_AS,
                format!("//cloudfunctions.googleapis.com/{}", f.name),
                f.name,
                tags,
            );
        }
    }
    if filter.wants(SQL_INSTANCE) && on(&s.sql_endpoint) {
        for (name, tags) in crate::sql::list_instances(c).await? {
            keep(
                SQL_INSTANCE,
                format!(
                    "//sqladmin.googleapis.com/projects/{}/instances/{name}",
                    c.project
                ),
                name,
                tags,
            );
        }
    }
    if on(&s.compute_endpoint) {
        out.extend(crate::compute::outputs::discover(c, filter).await?);
    }
    Ok(out)
}
