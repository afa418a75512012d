//! `expand`: an abstract resource into GCP natives. Pure: names are derived from the
//! stack, target and resource (see [`crate::names`]), classes from the catalog.
//!
//! | kind | natives |
//! |---|---|
//! | storage | `gcp_storage_bucket` |
//! | database | `gcp_sql_instance` (+ one per read replica, `masterInstanceName`) + `gcp_sql_database` + `gcp_sql_user` (generated password) |
//! | queue | `gcp_pubsub_topic` + `gcp_pubsub_subscription` (pull); with `dead_letter`, a second topic and a subscription on it that keeps what dead-letters |
//! | function | `gcp_cloud_function` (+ `gcp_scheduler_job` for a schedule trigger); its source in the target's staging bucket `@<target>.staging` |
//! | compute, cdn | Compute Engine natives: see [`crate::compute::expand`] |

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::kinds::{LifecycleRule, Properties, QueueProps, StorageProps};
use overcast_core::{AbstractResource, Attrs, NativeSpec, ProviderError};
use serde_json::{Value, json};

use crate::names;

/// The native types of this provider.
pub mod types {
    /// A Cloud Storage bucket.
    pub const BUCKET: &str = "gcp_storage_bucket";
    /// A Pub/Sub topic.
    pub const TOPIC: &str = "gcp_pubsub_topic";
    /// A Pub/Sub pull subscription.
    pub const SUBSCRIPTION: &str = "gcp_pubsub_subscription";
    /// A Cloud Functions (2nd gen) function.
    pub const FUNCTION: &str = "gcp_cloud_function";
    /// A Cloud Scheduler job.
    pub const SCHEDULER_JOB: &str = "gcp_scheduler_job";
    /// The target's VPC network (`@<target>.network`).
    pub const NETWORK: &str = "gcp_compute_network";
    /// A Compute Engine VM of a compute resource.
    pub const INSTANCE: &str = "gcp_compute_instance";
    /// The firewall rule opening a compute resource's ports.
    pub const FIREWALL: &str = "gcp_compute_firewall";
    /// A cdn's backend bucket (Cloud CDN on the origin bucket).
    pub const BACKEND_BUCKET: &str = "gcp_compute_backend_bucket";
    /// A cdn's URL map.
    pub const URL_MAP: &str = "gcp_compute_url_map";
    /// A cdn's target HTTP proxy.
    pub const HTTP_PROXY: &str = "gcp_compute_target_http_proxy";
    /// A cdn's global forwarding rule (its public address).
    pub const FORWARDING_RULE: &str = "gcp_compute_global_forwarding_rule";
    /// A Cloud SQL instance: a primary or a read replica.
    pub const SQL_INSTANCE: &str = "gcp_sql_instance";
    /// A database in a Cloud SQL instance.
    pub const SQL_DATABASE: &str = "gcp_sql_database";
    /// A user of a Cloud SQL instance, with a generated password.
    pub const SQL_USER: &str = "gcp_sql_user";
    /// Every type, in registration order.
    pub const ALL: &[&str] = &[
        BUCKET,
        TOPIC,
        SUBSCRIPTION,
        SCHEDULER_JOB,
        FUNCTION,
        NETWORK,
        INSTANCE,
        FIREWALL,
        BACKEND_BUCKET,
        URL_MAP,
        HTTP_PROXY,
        FORWARDING_RULE,
        SQL_INSTANCE,
        SQL_DATABASE,
        SQL_USER,
    ];
}

/// How long the dead-letter subscription keeps messages: Pub/Sub's longest retention, so
/// a dead letter waits for someone to look at it.
pub const DLQ_RETENTION: u64 = 7 * 86_400;

/// What `expand` needs to know about the target.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// Stack name.
    pub stack: &'a str,
    /// Target name.
    pub target: &'a str,
    /// Region: a bucket's location.
    pub region: &'a str,
    /// Zone of instances (`None`: the region's `-a` zone).
    pub zone: Option<&'a str>,
}

impl Ctx<'_> {
    pub(crate) fn name(&self, resource: &str, local: &str, max: usize) -> String {
        names::name(self.stack, self.target, resource, local, max)
    }
}

/// Expand one abstract resource into its natives.
pub fn expand(ctx: &Ctx<'_>, res: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
    match &res.properties {
        Properties::Storage(p) => storage(ctx, &res.name, p),
        Properties::Queue(p) => Ok(queue(ctx, &res.name, p)),
        Properties::Function(p) => crate::functions::expand::function(ctx, res, p),
        Properties::Compute(p) => crate::compute::expand::compute(ctx, &res.name, p),
        Properties::Cdn(p) => crate::compute::expand::cdn(ctx, &res.name, p, &res.referenced_kinds),
        Properties::Database(p) => crate::sql::expand(ctx, &res.name, p),
    }
}

/// The lifecycle rules as the bucket native holds them: one action per rule (a rule with
/// both a transition and an expiry becomes two, as GCS stores them), classes in GCS's
/// names (`NEARLINE`), so what `read` reports compares equal.
fn native_rules(rules: &[LifecycleRule]) -> Vec<Value> {
    let mut out = Vec::new();
    for r in rules {
        if let (Some(days), Some(class)) = (r.transition_after_days, r.to_class) {
            out.push(json!({
                "prefix": r.prefix,
                "transition_after_days": days,
                "to_class": catalog().storage_class(Cloud::Gcp, class).native,
            }));
        }
        if let Some(days) = r.expire_after_days {
            out.push(json!({"prefix": r.prefix, "expire_after_days": days}));
        }
    }
    out
}

fn storage(ctx: &Ctx<'_>, name: &str, p: &StorageProps) -> Result<Vec<NativeSpec>, ProviderError> {
    for r in &p.lifecycle {
        if r.transition_after_days.is_some() != r.to_class.is_some() {
            return Err(ProviderError::invalid(format!(
                "storage `{name}`: a lifecycle rule needs both `transition_after_days` and `to_class`, or neither"
            )));
        }
    }
    let class = &catalog().storage_class(Cloud::Gcp, p.class).native;
    Ok(vec![
        NativeSpec::new(
            "bucket",
            types::BUCKET,
            attrs(json!({
                "name": ctx.name(name, "", 63),
                "location": ctx.region.to_ascii_uppercase(),
                "versioning": p.versioning,
                "class": class,
                "public": p.public,
                "lifecycle": native_rules(&p.lifecycle),
                // The directory uploaded as objects, and the desired flag `read` reports
                // false when an object differs from its file (drift, or files changed).
                "content": p.content,
                "content_in_sync": p.content.as_ref().map(|_| true),
            })),
        )
        // A bucket cannot be renamed or moved.
        .force_new(&["name", "location"]),
    ])
}

/// Pub/Sub's bounds (catalog `queue.toml` says the same): the ack deadline is 10 s to
/// 600 s, retention 10 minutes to 7 days, delivery attempts 5 to 100.
fn clamp(v: u64, min: u64, max: u64) -> u64 {
    v.clamp(min, max)
}

fn queue(ctx: &Ctx<'_>, name: &str, p: &QueueProps) -> Vec<NativeSpec> {
    let q = catalog().queue(Cloud::Gcp);
    let ack = clamp(
        p.visibility_timeout.0,
        q.visibility_min_s,
        q.visibility_max_s.unwrap_or(600),
    );
    let retention = clamp(
        p.retention.0,
        q.retention_min_s,
        q.retention_max_s.unwrap_or(DLQ_RETENTION),
    );
    let mut out = Vec::new();
    let dead_letter = match p.dead_letter {
        Some(d) => {
            out.push(
                NativeSpec::new(
                    "dlq",
                    types::TOPIC,
                    attrs(json!({"name": ctx.name(name, "dlq", 255)})),
                )
                .force_new(&["name"]),
            );
            // Pub/Sub drops what reaches a topic with no subscription: this one keeps
            // the dead letters for someone to read.
            out.push(
                NativeSpec::new(
                    "dlq_subscription",
                    types::SUBSCRIPTION,
                    attrs(json!({
                        "name": ctx.name(name, "dlq", 255),
                        "topic": format!("${{{name}.dlq.id}}"),
                        "ordered": false,
                        "ack_deadline": ack,
                        "retention": DLQ_RETENTION.min(q.retention_max_s.unwrap_or(DLQ_RETENTION)),
                        "dead_letter": Value::Null,
                    })),
                )
                .after("dlq")
                .force_new(&["name", "topic", "ordered"]),
            );
            let attempts = u64::from(d.max_receives.clamp(q.max_receives_min, q.max_receives_max));
            json!({"topic": format!("${{{name}.dlq.id}}"), "max_receives": attempts})
        }
        None => Value::Null,
    };
    out.push(
        NativeSpec::new(
            "topic",
            types::TOPIC,
            attrs(json!({"name": ctx.name(name, "", 255)})),
        )
        .force_new(&["name"]),
    );
    let mut sub = NativeSpec::new(
        "subscription",
        types::SUBSCRIPTION,
        attrs(json!({
            "name": ctx.name(name, "", 255),
            "topic": format!("${{{name}.topic.id}}"),
            "ordered": p.ordered,
            "ack_deadline": ack,
            "retention": retention,
            "dead_letter": dead_letter,
        })),
    )
    .after("topic")
    // Pub/Sub cannot move a subscription to another topic or change its ordering.
    .force_new(&["name", "topic", "ordered"]);
    if p.dead_letter.is_some() {
        sub = sub.after("dlq");
    }
    out.push(sub);
    out
}

pub(crate) fn attrs(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::{Kind, Properties};
    use std::collections::BTreeMap;

    fn res(name: &str, kind: Kind, props: Value) -> AbstractResource {
        AbstractResource {
            name: name.into(),
            properties: Properties::from_value(kind, props).expect("valid properties"),
            referenced_kinds: BTreeMap::new(),
        }
    }

    fn run(r: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        expand(
            &Ctx {
                stack: "shop",
                target: "gcp",
                region: "europe-west1",
                zone: None,
            },
            r,
        )
    }

    #[test]
    fn storage_takes_its_class_from_the_catalog_and_its_content_directory() {
        let n = run(&res(
            "site",
            Kind::Storage,
            json!({"class": "infrequent", "versioning": true}),
        ))
        .expect("expand");
        assert_eq!(n[0].type_name, types::BUCKET);
        assert_eq!(n[0].inputs["class"], "NEARLINE");
        assert_eq!(n[0].inputs["location"], "EUROPE-WEST1");
        assert_eq!(n[0].inputs["versioning"], true);
        assert_eq!(n[0].inputs["content"], Value::Null);
        assert_eq!(n[0].inputs["content_in_sync"], Value::Null);
        let n = run(&res("site", Kind::Storage, json!({"content": "public"}))).expect("expand");
        assert_eq!(n[0].inputs["content"], "public");
        assert_eq!(n[0].inputs["content_in_sync"], true);
    }

    #[test]
    fn queue_is_a_topic_and_a_subscription_with_a_dead_letter_topic() {
        let n = run(&res(
            "jobs",
            Kind::Queue,
            json!({"ordered": true, "visibility_timeout": 5, "dead_letter": {"max_receives": 3}}),
        ))
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["dlq", "dlq_subscription", "topic", "subscription"]);
        let sub = &n[3];
        assert_eq!(sub.inputs["topic"], "${jobs.topic.id}");
        assert_eq!(sub.inputs["ordered"], true);
        // Clamped to Pub/Sub's bounds: 10 s ack deadline, 5 delivery attempts.
        assert_eq!(sub.inputs["ack_deadline"], 10);
        assert_eq!(sub.inputs["dead_letter"]["max_receives"], 5);
        assert_eq!(sub.inputs["dead_letter"]["topic"], "${jobs.dlq.id}");
        assert_eq!(sub.depends_on, ["topic", "dlq"]);
    }
}
