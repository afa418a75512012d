//! `expand`: abstract resources to `aws_*` natives. Pure: no I/O. Names are derived here
//! (see [`crate::names`]) so they are inputs the plan shows and `adopt` can search for.
//! Links between natives are `${resource.local.attr}` references the engine resolves
//! before create/update (e.g. the function's `role_arn: ${api.role.arn}`).

use std::collections::BTreeMap;

use overcast_core::catalog::{Cloud, Size, catalog as tables};
use overcast_core::kinds::{
    CdnProps, ComputeProps, DatabaseProps, FunctionProps, Properties, QueueProps, StorageProps,
    TriggerType,
};
use overcast_core::{AbstractResource, Attrs, Kind, NativeSpec, ProviderError};
use serde_json::{Value, json};

use crate::{catalog, names};

/// Native type names.
pub mod types {
    /// S3 bucket (storage).
    pub const BUCKET: &str = "aws_s3_bucket";
    /// SQS queue (queue, and its dead-letter queue).
    pub const QUEUE: &str = "aws_sqs_queue";
    /// IAM role (a function's execution role).
    pub const ROLE: &str = "aws_iam_role";
    /// Lambda function.
    pub const FUNCTION: &str = "aws_lambda_function";
    /// Lambda event source mapping (queue trigger).
    pub const EVENT_SOURCE: &str = "aws_lambda_event_source_mapping";
    /// Lambda function URL (http trigger).
    pub const FUNCTION_URL: &str = "aws_lambda_function_url";
    /// EC2 security group (compute ports).
    pub const SECURITY_GROUP: &str = "aws_security_group";
    /// EC2 instance (compute).
    pub const INSTANCE: &str = "aws_ec2_instance";
    /// RDS DB instance (database).
    pub const DB_INSTANCE: &str = "aws_db_instance";
    /// RDS read replica.
    pub const DB_REPLICA: &str = "aws_db_read_replica";
    /// EventBridge rule with a schedule, targeting a function (schedule trigger).
    pub const SCHEDULE: &str = "aws_eventbridge_schedule";
    /// CloudFront origin access control (cdn in front of a bucket).
    pub const OAC: &str = "aws_cloudfront_origin_access_control";
    /// CloudFront distribution (cdn).
    pub const DISTRIBUTION: &str = "aws_cloudfront_distribution";
    /// The bucket policy statement that lets one distribution read a bucket.
    pub const BUCKET_CDN_ACCESS: &str = "aws_s3_bucket_cdn_access";
    /// One function's entry in a bucket's notification configuration (storage trigger).
    pub const BUCKET_NOTIFICATION: &str = "aws_s3_bucket_notification";

    /// Every native type this provider creates.
    pub const ALL: &[&str] = &[
        BUCKET,
        QUEUE,
        ROLE,
        FUNCTION,
        EVENT_SOURCE,
        FUNCTION_URL,
        SCHEDULE,
        SECURITY_GROUP,
        INSTANCE,
        DB_INSTANCE,
        DB_REPLICA,
        OAC,
        DISTRIBUTION,
        BUCKET_CDN_ACCESS,
        BUCKET_NOTIFICATION,
    ];
}

/// Managed policy every function role gets (CloudWatch Logs).
pub const LAMBDA_BASIC_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
/// Managed policy for functions triggered by an SQS queue.
pub const LAMBDA_SQS_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole";

/// SQS keeps messages at most 14 days; dead-letter queues keep them that long.
const DLQ_RETENTION: u64 = 14 * 86_400;

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    // Plain data (enums, structs of numbers and strings) always serializes.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn attrs(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

/// If `s` is exactly `${name}` for a referenced resource, its name and kind.
fn whole_ref<'a>(s: &str, kinds: &'a BTreeMap<String, Kind>) -> Option<(&'a String, Kind)> {
    let name = overcast_core::refs::whole_resource_ref(s)?;
    kinds.get_key_value(name).map(|(n, k)| (n, *k))
}

/// What `expand` needs to know about the target.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// Stack name.
    pub stack: &'a str,
    /// Target name.
    pub target: &'a str,
}

impl Ctx<'_> {
    fn name(&self, resource: &str, local: &str, max: usize) -> String {
        names::name(self.stack, self.target, resource, local, max)
    }
}

/// Expand one abstract resource into its natives.
pub fn expand(ctx: &Ctx<'_>, res: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
    match &res.properties {
        Properties::Storage(p) => storage(ctx, &res.name, p),
        Properties::Queue(p) => Ok(queue(ctx, &res.name, p)),
        Properties::Function(p) => function(ctx, &res.name, p, &res.referenced_kinds),
        Properties::Compute(p) => compute(ctx, &res.name, p),
        Properties::Database(p) => Ok(database(ctx, &res.name, p)),
        Properties::Cdn(p) => cdn(ctx, &res.name, p, &res.referenced_kinds),
    }
}

fn storage(ctx: &Ctx<'_>, name: &str, p: &StorageProps) -> Result<Vec<NativeSpec>, ProviderError> {
    for r in &p.lifecycle {
        if r.transition_after_days.is_some() != r.to_class.is_some() {
            return Err(ProviderError::invalid(format!(
                "storage `{name}`: a lifecycle rule needs both `transition_after_days` and `to_class`, or neither"
            )));
        }
    }
    Ok(vec![
        NativeSpec::new(
            "bucket",
            types::BUCKET,
            attrs(json!({
                "name": ctx.name(name, "", 63),
                "versioning": p.versioning,
                "class": to_value(&p.class),
                "public": p.public,
                "lifecycle": to_value(&p.lifecycle),
                // The directory uploaded as objects, and the desired flag `read` reports
                // false when an object differs from its file (drift, or files changed).
                "content": p.content,
                "content_in_sync": p.content.as_ref().map(|_| true),
            })),
        )
        // Bucket names are immutable.
        .force_new(&["name"]),
    ])
}

fn queue(ctx: &Ctx<'_>, name: &str, p: &QueueProps) -> Vec<NativeSpec> {
    // FIFO queues must be named `*.fifo` (80 characters in all).
    let qname = |local: &str| {
        let n = ctx.name(name, local, if p.ordered { 75 } else { 80 });
        if p.ordered { format!("{n}.fifo") } else { n }
    };
    let mut out = Vec::new();
    let redrive = match p.dead_letter {
        Some(d) => {
            out.push(
                NativeSpec::new(
                    "dlq",
                    types::QUEUE,
                    attrs(json!({
                        "name": qname("dlq"),
                        "fifo": p.ordered,
                        "visibility_timeout": p.visibility_timeout.0,
                        "retention": DLQ_RETENTION,
                        "redrive": Value::Null,
                    })),
                )
                .force_new(&["name", "fifo"]),
            );
            json!({"dead_letter_arn": format!("${{{name}.dlq.arn}}"), "max_receives": d.max_receives})
        }
        None => Value::Null,
    };
    let mut q = NativeSpec::new(
        "queue",
        types::QUEUE,
        attrs(json!({
            "name": qname(""),
            "fifo": p.ordered,
            "visibility_timeout": p.visibility_timeout.0,
            "retention": p.retention.0,
            "redrive": redrive,
        })),
    )
    // SQS cannot rename a queue or turn a standard queue into a FIFO one.
    .force_new(&["name", "fifo"]);
    if p.dead_letter.is_some() {
        q = q.after("dlq");
    }
    out.push(q);
    out
}

fn function(
    ctx: &Ctx<'_>,
    name: &str,
    p: &FunctionProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let mut policies = vec![LAMBDA_BASIC_POLICY];
    let mut extra = Vec::new();
    let fn_name_ref = format!("${{{name}.function.name}}");
    if let Some(t) = &p.trigger {
        match t.kind {
            TriggerType::Queue => {
                let arn = match t.source.as_deref().and_then(|s| whole_ref(s, kinds)) {
                    Some((q, Kind::Queue)) => format!("${{{q}.queue.arn}}"),
                    _ => {
                        return Err(ProviderError::invalid(format!(
                            "function `{name}`: a queue trigger needs `source: ${{<queue resource>}}`"
                        )));
                    }
                };
                policies.push(LAMBDA_SQS_POLICY);
                extra.push(
                    NativeSpec::new(
                        "trigger",
                        types::EVENT_SOURCE,
                        attrs(json!({
                            "function_name": fn_name_ref,
                            "event_source_arn": arn,
                            "batch_size": 10,
                        })),
                    )
                    .after("function")
                    // A mapping's source cannot change; its function can, but the mapping
                    // belongs to this function only.
                    .force_new(&["event_source_arn", "function_name"]),
                );
            }
            TriggerType::Http => extra.push(
                NativeSpec::new(
                    "url",
                    types::FUNCTION_URL,
                    attrs(json!({"function_name": fn_name_ref, "auth_type": "NONE"})),
                )
                .after("function")
                .force_new(&["function_name"]),
            ),
            TriggerType::Schedule => {
                let written = t.schedule.as_deref().ok_or_else(|| {
                    ProviderError::invalid(format!(
                        "function `{name}`: a schedule trigger needs `schedule`, e.g. `every 5m`"
                    ))
                })?;
                // Neutral syntax becomes EventBridge's; EventBridge syntax stays as written.
                let expr = catalog::schedule_expression(written).map_err(|mut e| {
                    e.message = format!("function `{name}`: {}", e.message);
                    e
                })?;
                extra.push(
                    NativeSpec::new(
                        "schedule",
                        types::SCHEDULE,
                        attrs(json!({
                            "name": ctx.name(name, "schedule", 64),
                            "schedule": expr,
                            "function_arn": format!("${{{name}.function.arn}}"),
                        })),
                    )
                    .after("function")
                    .force_new(&["name"]),
                );
            }
            TriggerType::Storage => {
                let bucket = match t.source.as_deref().and_then(|s| whole_ref(s, kinds)) {
                    Some((b, Kind::Storage)) => format!("${{{b}.bucket.name}}"),
                    _ => {
                        return Err(ProviderError::invalid(format!(
                            "function `{name}`: a storage trigger needs `source: ${{<storage resource>}}`"
                        )));
                    }
                };
                extra.push(
                    NativeSpec::new(
                        "trigger",
                        types::BUCKET_NOTIFICATION,
                        attrs(json!({
                            "bucket": bucket,
                            // The entry's id in the bucket's configuration, and the
                            // permission's statement id: unique per stack and function.
                            "id": ctx.name(name, "s3", 64),
                            "function_arn": format!("${{{name}.function.arn}}"),
                        })),
                    )
                    .after("function")
                    .force_new(&["bucket", "id"]),
                );
            }
        }
    }
    let mut out = vec![
        NativeSpec::new(
            "role",
            types::ROLE,
            attrs(json!({
                "name": ctx.name(name, "role", 64),
                "service": "lambda.amazonaws.com",
                "policies": policies,
            })),
        )
        .force_new(&["name", "service"]),
        NativeSpec::new(
            "function",
            types::FUNCTION,
            attrs(json!({
                "name": ctx.name(name, "", 64),
                "role_arn": format!("${{{name}.role.arn}}"),
                "runtime": catalog::lambda_runtime(&p.runtime)?,
                "handler": p.handler,
                // Relative to the spec's directory, as written.
                "source": p.source,
                "memory": p.memory,
                "timeout": p.timeout.0,
                "env": p.env,
                // Desired flag: `read` reports whether the deployed code is the source's zip.
                "code_in_sync": true,
            })),
        )
        .after("role")
        .force_new(&["name"]),
    ];
    out.extend(extra);
    Ok(out)
}

fn size_of(name: &str, p: &ComputeProps) -> Result<Size, ProviderError> {
    if let Some(s) = p.size {
        return Ok(s);
    }
    let cpu = p.cpu.unwrap_or(1);
    let mem = p.memory_gb.map_or(0, |g| (g * 1024.0).ceil() as u32);
    tables().size_at_least(cpu, mem).ok_or_else(|| {
        let largest = tables().size(Size::Xlarge);
        ProviderError::invalid(format!(
            "compute `{name}`: no instance type in the catalog has {cpu} vCPU and {mem} MiB"
        ))
        .with_hint(format!(
            "the largest size is xlarge ({} vCPU, {} GiB)",
            largest.vcpu,
            largest.memory_mib / 1024
        ))
    })
}

fn compute(ctx: &Ctx<'_>, name: &str, p: &ComputeProps) -> Result<Vec<NativeSpec>, ProviderError> {
    // A reference is checked once resolved, when the AMI is looked up.
    let literal = !p.image.contains("${");
    if literal && catalog::ami_query(&p.image).is_none() && !p.image.starts_with("ami-") {
        let why = match tables()
            .image(&p.image)
            .and_then(|i| i.unavailable_on(Cloud::Aws))
        {
            Some(why) => format!("is not published on AWS: {why}"),
            None => "is neither a catalog image nor an AMI id".to_string(),
        };
        return Err(
            ProviderError::invalid(format!("compute `{name}`: image `{}` {why}", p.image))
                .with_hint(format!(
                    "use one of {} or an `ami-...` id",
                    catalog::image_names().join(", ")
                )),
        );
    }
    let instance_type = catalog::instance_type(size_of(name, p)?);
    // Security groups hold a set of ports: sorted, as `read` reports them.
    let mut ports = p.ports.clone();
    ports.sort_unstable();
    ports.dedup();
    let mut out = vec![
        NativeSpec::new(
            "sg",
            types::SECURITY_GROUP,
            attrs(json!({
                "name": ctx.name(name, "sg", 255),
                "description": format!("overcast {}/{}: {name}", ctx.stack, ctx.target),
                "ports": ports,
            })),
        )
        // Group names and descriptions are immutable.
        .force_new(&["name", "description"]),
    ];
    for i in 0..p.count {
        let local = format!("instance[{i}]");
        out.push(
            NativeSpec::new(
                local.clone(),
                types::INSTANCE,
                attrs(json!({
                    "index": i,
                    "name": ctx.name(name, &local, 255),
                    "image": p.image,
                    "instance_type": instance_type,
                    "user_data": p.startup.clone().unwrap_or_default(),
                    "ports": ports,
                    "security_group_id": format!("${{{name}.sg.id}}"),
                })),
            )
            .after("sg")
            // A different image is a different machine. Type and user data change in place
            // (stop, modify, start).
            .force_new(&["image"]),
        );
    }
    Ok(out)
}

fn database(ctx: &Ctx<'_>, name: &str, p: &DatabaseProps) -> Vec<NativeSpec> {
    let class = catalog::db_instance_class(p.size);
    let identifier = ctx.name(name, "", 63);
    let mut out = vec![
        NativeSpec::new(
            "db",
            types::DB_INSTANCE,
            attrs(json!({
                "identifier": identifier,
                "engine": to_value(&p.engine),
                // No version: RDS picks its default, as it always has.
                "version": p.version.as_deref().map(|v| catalog::engine_version(p.engine, v)),
                "instance_class": class,
                "storage_gb": p.storage_gb,
                "backup_retention_days": p.backup_retention_days,
                "database_name": p.database_name,
                "username": p.username,
            })),
        )
        // RDS cannot rename the initial database, change the master user or the engine.
        .force_new(&["identifier", "engine", "database_name", "username"])
        .sensitive(&["password", "connection_string"]),
    ];
    for i in 0..p.read_replicas {
        let local = format!("replica[{i}]");
        out.push(
            NativeSpec::new(
                local.clone(),
                types::DB_REPLICA,
                attrs(json!({
                    "index": i,
                    "identifier": ctx.name(name, &format!("replica{i}"), 63),
                    "source": format!("${{{name}.db.identifier}}"),
                    "instance_class": class,
                })),
            )
            .after("db")
            .force_new(&["identifier", "source"]),
        );
    }
    out
}

fn cdn(
    ctx: &Ctx<'_>,
    name: &str,
    p: &CdnProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let comment = format!("overcast {}/{}: {name}", ctx.stack, ctx.target);
    let dist = |origin_domain: String, kind: &str, oac: Value| {
        NativeSpec::new(
            "distribution",
            types::DISTRIBUTION,
            attrs(json!({
                "comment": comment,
                "origin_domain": origin_domain,
                "origin_kind": kind,
                "oac_id": oac,
                "cache_ttl": p.cache_ttl.0,
                "default_object": p.default_object,
            })),
        )
    };
    match whole_ref(&p.origin, kinds) {
        Some((origin, Kind::Storage)) => Ok(vec![
            NativeSpec::new(
                "oac",
                types::OAC,
                attrs(json!({"name": ctx.name(name, "oac", 64)})),
            )
            .force_new(&["name"]),
            dist(
                format!("${{{origin}.bucket.regional_domain}}"),
                "s3",
                json!(format!("${{{name}.oac.id}}")),
            )
            .after("oac"),
            NativeSpec::new(
                "origin_access",
                types::BUCKET_CDN_ACCESS,
                attrs(json!({
                    "bucket": format!("${{{origin}.bucket.name}}"),
                    "distribution_arn": format!("${{{name}.distribution.arn}}"),
                    "sid": ctx.name(name, "read", 64),
                })),
            )
            .after("distribution")
            .force_new(&["bucket", "sid"]),
        ]),
        Some((origin, Kind::Compute)) => Ok(vec![dist(
            format!("${{{origin}.instance[0].public_dns}}"),
            "custom",
            Value::Null,
        )]),
        Some((origin, kind)) => Err(ProviderError::invalid(format!(
            "cdn `{name}`: origin `{origin}` is a {kind}; CloudFront serves a storage or compute origin"
        ))),
        // A literal host or URL: a custom origin.
        None => {
            let host = p
                .origin
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string();
            Ok(vec![dist(host, "custom", Value::Null)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(name: &str, kind: Kind, props: Value, refs: &[(&str, Kind)]) -> AbstractResource {
        AbstractResource {
            name: name.into(),
            properties: Properties::from_value(kind, props).expect("valid properties"),
            referenced_kinds: refs.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        }
    }

    fn run(r: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        let ctx = Ctx {
            stack: "shop",
            target: "prod",
        };
        expand(&ctx, r)
    }

    #[test]
    fn queue_with_dead_letter_links_by_arn_and_fifo_names_end_in_fifo() {
        let n = run(&res(
            "jobs",
            Kind::Queue,
            json!({"ordered": true, "dead_letter": {"max_receives": 3}}),
            &[],
        ))
        .expect("expand");
        assert_eq!(n[0].local, "dlq");
        assert!(
            n[1].inputs["name"]
                .as_str()
                .expect("name")
                .ends_with(".fifo")
        );
        assert_eq!(n[1].inputs["redrive"]["dead_letter_arn"], "${jobs.dlq.arn}");
        assert_eq!(n[1].depends_on, ["dlq"]);
    }

    #[test]
    fn function_gets_a_role_and_its_trigger() {
        let n = run(&res(
            "worker",
            Kind::Function,
            json!({"runtime": "nodejs20", "handler": "index.handler", "source": "src",
                   "trigger": {"type": "queue", "source": "${jobs}"}}),
            &[("jobs", Kind::Queue)],
        ))
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["role", "function", "trigger"]);
        assert_eq!(n[1].inputs["role_arn"], "${worker.role.arn}");
        assert_eq!(n[1].inputs["runtime"], "nodejs20.x");
        assert_eq!(n[1].inputs["source"], "src");
        assert_eq!(n[2].inputs["event_source_arn"], "${jobs.queue.arn}");
        let sched = run(&res(
            "cron",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "m.h", "source": "s",
                   "trigger": {"type": "schedule", "schedule": "rate(5 minutes)"}}),
            &[],
        ))
        .expect("expand");
        assert_eq!(sched[2].type_name, types::SCHEDULE);
        assert_eq!(sched[2].inputs["schedule"], "rate(5 minutes)");
        assert_eq!(sched[2].inputs["function_arn"], "${cron.function.arn}");
        let stor = run(&res(
            "thumbs",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "m.h", "source": "s",
                   "trigger": {"type": "storage", "source": "${site}"}}),
            &[("site", Kind::Storage)],
        ))
        .expect("expand");
        assert_eq!(stor[2].type_name, types::BUCKET_NOTIFICATION);
        assert_eq!(stor[2].inputs["bucket"], "${site.bucket.name}");
        assert_eq!(stor[2].inputs["function_arn"], "${thumbs.function.arn}");
        let wrong = run(&res(
            "thumbs",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "m.h", "source": "s",
                   "trigger": {"type": "storage", "source": "${jobs}"}}),
            &[("jobs", Kind::Queue)],
        ));
        assert!(wrong.is_err());
    }

    #[test]
    fn compute_and_cdn_expand() {
        let n = run(&res(
            "web",
            Kind::Compute,
            json!({"size": "small", "count": 2, "ports": [80]}),
            &[],
        ))
        .expect("expand");
        assert_eq!(n.len(), 3);
        assert_eq!(n[2].inputs["instance_type"], "t3.small");
        assert_eq!(n[2].inputs["security_group_id"], "${web.sg.id}");
        let bad = run(&res(
            "web",
            Kind::Compute,
            json!({"size": "small", "image": "windows"}),
            &[],
        ));
        assert!(bad.is_err());
        let c = run(&res(
            "edge",
            Kind::Cdn,
            json!({"origin": "${site}"}),
            &[("site", Kind::Storage)],
        ))
        .expect("expand");
        assert_eq!(
            c[1].inputs["origin_domain"],
            "${site.bucket.regional_domain}"
        );
        assert_eq!(c[2].inputs["distribution_arn"], "${edge.distribution.arn}");
    }

    #[test]
    fn neutral_schedules_become_eventbridge_and_databases_take_catalog_classes() {
        let f = |schedule: &str| {
            run(&res(
                "cron",
                Kind::Function,
                json!({"runtime": "python3.12", "handler": "m.h", "source": "s",
                       "trigger": {"type": "schedule", "schedule": schedule}}),
                &[],
            ))
        };
        let n = f("0 12 * * MON-FRI").expect("expand");
        assert_eq!(n[2].inputs["schedule"], "cron(0 12 ? * MON-FRI *)");
        let n = f("every 1d").expect("expand");
        assert_eq!(n[2].inputs["schedule"], "rate(1 day)");
        let n = f("cron(0 0 L * ? *)").expect("EventBridge syntax passes through");
        assert_eq!(n[2].inputs["schedule"], "cron(0 0 L * ? *)");
        let e = f("every 7m").expect_err("not portable");
        assert!(
            e.message
                .starts_with("function `cron`: schedule `every 7m`"),
            "{e}"
        );
        assert!(e.hint.is_some());

        let db = run(&res(
            "db",
            Kind::Database,
            json!({"size": "nano", "version": "16"}),
            &[],
        ))
        .expect("expand");
        assert_eq!(db[0].inputs["instance_class"], "db.t3.micro");
        assert_eq!(db[0].inputs["version"], "16");
        let db = run(&res("db", Kind::Database, json!({"engine": "mysql"}), &[])).expect("expand");
        assert_eq!(db[0].inputs["version"], Value::Null);
    }
}
