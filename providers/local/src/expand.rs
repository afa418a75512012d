//! `expand`: abstract resources to `local_*` natives. Pure: no I/O. Every property a
//! native needs goes into its inputs; references to other resources are rewritten to the
//! attribute this provider needs (`${site}` -> `${site.url}`) and resolved by the engine.
//!
//! Besides the properties, some natives carry a desired-state flag that `read` reports
//! live, so the engine's ordinary diff shows drift that no property can express:
//! `running: true` (compute, cdn), `content_in_sync: true` (storage with `content`),
//! `code_in_sync: true` (function).

use std::collections::BTreeMap;

use overcast_core::catalog::schedule::Schedule;
use overcast_core::catalog::{Cloud, catalog};
use overcast_core::kinds::{
    CdnProps, ComputeProps, DatabaseProps, DbEngine, FunctionProps, Properties, QueueProps,
    StorageProps,
};
use overcast_core::{AbstractResource, Attrs, Kind, NativeSpec, ProviderError};
use serde_json::{Value, json};

/// Native type names.
pub(crate) mod types {
    pub(crate) const BUCKET: &str = "local_bucket";
    pub(crate) const QUEUE: &str = "local_queue";
    pub(crate) const SQLITE: &str = "local_sqlite";
    pub(crate) const POSTGRES: &str = "local_postgres";
    pub(crate) const FUNCTION: &str = "local_function";
    pub(crate) const PROCESS: &str = "local_process";
    pub(crate) const CDN: &str = "local_cdn";

    /// Every native type of the local cloud.
    pub(crate) const ALL: &[&str] = &[BUCKET, QUEUE, SQLITE, POSTGRES, FUNCTION, PROCESS, CDN];

    /// The abstract kind whose expansion makes a native type.
    pub(crate) fn kind_of(type_name: &str) -> Option<overcast_core::Kind> {
        use overcast_core::Kind;
        Some(match type_name {
            BUCKET => Kind::Storage,
            QUEUE => Kind::Queue,
            SQLITE | POSTGRES => Kind::Database,
            FUNCTION => Kind::Function,
            PROCESS => Kind::Compute,
            CDN => Kind::Cdn,
            _ => return None,
        })
    }
}

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

/// Expand one abstract resource. `postgres`: whether `engine: postgres` databases become
/// real PostgreSQL clusters (decided once, when the provider is built).
pub(crate) fn expand(
    res: &AbstractResource,
    postgres: bool,
) -> Result<Vec<NativeSpec>, ProviderError> {
    Ok(match &res.properties {
        Properties::Storage(p) => vec![storage(p)],
        Properties::Queue(p) => vec![queue(p)],
        Properties::Database(p) => vec![database(p, postgres)],
        Properties::Function(p) => vec![function(&res.name, p, &res.referenced_kinds)?],
        Properties::Compute(p) => compute(p),
        Properties::Cdn(p) => vec![cdn(&res.name, p, &res.referenced_kinds)?],
    })
}

fn storage(p: &StorageProps) -> NativeSpec {
    NativeSpec::new(
        "bucket",
        types::BUCKET,
        attrs(json!({
            "versioning": p.versioning,
            "class": to_value(&p.class),
            "public": p.public,
            "lifecycle": to_value(&p.lifecycle),
            "content": p.content,
            "content_in_sync": true,
        })),
    )
}

fn queue(p: &QueueProps) -> NativeSpec {
    // Every rule lives in the queue file and changes in place, `ordered` included.
    NativeSpec::new(
        "queue",
        types::QUEUE,
        attrs(json!({
            "ordered": p.ordered,
            "visibility_timeout": p.visibility_timeout.0,
            "retention": p.retention.0,
            "max_receives": p.dead_letter.map_or(0, |d| d.max_receives),
        })),
    )
}

fn database(p: &DatabaseProps, postgres: bool) -> NativeSpec {
    let inputs = attrs(json!({
        "engine": to_value(&p.engine),
        "version": p.version,
        "size": p.size.as_str(),
        "storage_gb": p.storage_gb,
        "read_replicas": p.read_replicas,
        "backup_retention_days": p.backup_retention_days,
        "database_name": p.database_name,
        "username": p.username,
    }));
    if postgres && p.engine == DbEngine::Postgres {
        // A cluster's major version, superuser and database are fixed at initdb.
        let mut inputs = inputs;
        inputs.insert("running".into(), json!(true));
        NativeSpec::new("db", types::POSTGRES, inputs)
            .force_new(&["engine", "version", "database_name", "username"])
            .sensitive(&["password", "connection_string"])
    } else {
        // The file is named after the database; the engine is what was asked for.
        NativeSpec::new("db", types::SQLITE, inputs)
            .force_new(&["engine", "database_name"])
            .sensitive(&["password", "connection_string"])
    }
}

fn function(
    name: &str,
    p: &FunctionProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<NativeSpec, ProviderError> {
    let trigger = match &p.trigger {
        None => None,
        Some(t) => {
            // A queue or storage source is consumed through its url (the queue file, the
            // bucket directory).
            let source_url = t.source.as_ref().map(|s| match whole_ref(s, kinds) {
                Some((name, _)) => format!("${{{name}.url}}"),
                None => s.clone(),
            });
            let schedule = t
                .schedule
                .as_deref()
                .map(|s| local_schedule(name, s))
                .transpose()?;
            Some(json!({"type": to_value(&t.kind), "source_url": source_url, "schedule": schedule}))
        }
    };
    Ok(NativeSpec::new(
        "function",
        types::FUNCTION,
        attrs(json!({
            "runtime": p.runtime,
            "handler": p.handler,
            "source": p.source,
            "memory": p.memory,
            "timeout": p.timeout.0,
            "env": p.env,
            "trigger": trigger,
            "code_in_sync": true,
        })),
    ))
}

/// The local cloud runs no schedules; it records one in the neutral syntax (`every 1d`,
/// `0 12 * * 1-5`), so that the same schedule written two ways is the same input. An
/// EventBridge expression without a neutral equivalent is recorded as written.
fn local_schedule(function: &str, schedule: &str) -> Result<String, ProviderError> {
    Schedule::parse(schedule)
        .and_then(|s| s.for_cloud(Cloud::Local))
        .map_err(|e| {
            ProviderError::invalid(format!(
                "function `{function}`: schedule `{schedule}`: {}",
                e.message
            ))
            .with_hint(format!("write {}", e.expected))
        })
}

fn compute(p: &ComputeProps) -> Vec<NativeSpec> {
    let size = p.size.map(|s| s.as_str());
    let (cpu, memory_mib) = match (p.size, p.cpu, p.memory_gb) {
        // The local machine type of a size: its vCPUs and memory, recorded as limits.
        (Some(s), _, _) => {
            let m = catalog().compute(Cloud::Local, s);
            (Some(m.vcpu), Some(f64::from(m.memory_mib)))
        }
        (None, cpu, mem) => (cpu, mem.map(|g| g * 1024.0)),
    };
    (0..p.count)
        .map(|i| {
            NativeSpec::new(
                format!("instance[{i}]"),
                types::PROCESS,
                attrs(json!({
                    "index": i,
                    "image": p.image,
                    "size": size,
                    "cpu": cpu,
                    "memory_mib": memory_mib,
                    "startup": p.startup.clone().unwrap_or_default(),
                    "ports": p.ports,
                    "running": true,
                })),
            )
            // A different image is a different machine.
            .force_new(&["image"])
        })
        .collect()
}

fn cdn(
    name: &str,
    p: &CdnProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<NativeSpec, ProviderError> {
    let origin_url = match whole_ref(&p.origin, kinds) {
        Some((origin, Kind::Storage | Kind::Compute)) => format!("${{{origin}.url}}"),
        Some((origin, kind)) => {
            return Err(ProviderError::invalid(format!(
                "cdn `{name}`: origin `{origin}` is a {kind}; the local cloud serves storage or compute origins"
            )));
        }
        // An attribute reference or a literal URL: checked when the server starts.
        None => p.origin.clone(),
    };
    Ok(NativeSpec::new(
        "distribution",
        types::CDN,
        attrs(json!({
            "origin_url": origin_url,
            "cache_ttl": p.cache_ttl.0,
            "default_object": p.default_object,
            "running": true,
        })),
    ))
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

    #[test]
    fn compute_expands_per_instance_and_cdn_rewrites_its_origin() {
        let n = expand(
            &res(
                "web",
                Kind::Compute,
                json!({"count": 3, "ports": [80]}),
                &[],
            ),
            false,
        )
        .expect("expand");
        assert_eq!(
            n.iter().map(|s| s.local.as_str()).collect::<Vec<_>>(),
            ["instance[0]", "instance[1]", "instance[2]"]
        );
        assert_eq!(n[2].inputs["index"], 2);
        assert_eq!(n[0].force_new, ["image"]);
        let c = expand(
            &res(
                "edge",
                Kind::Cdn,
                json!({"origin": "${site}"}),
                &[("site", Kind::Storage)],
            ),
            false,
        )
        .expect("expand");
        assert_eq!(c[0].inputs["origin_url"], "${site.url}");
        let bad = expand(
            &res(
                "edge",
                Kind::Cdn,
                json!({"origin": "${q}"}),
                &[("q", Kind::Queue)],
            ),
            false,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn database_type_follows_the_postgres_choice() {
        let r = res("db", Kind::Database, json!({"engine": "postgres"}), &[]);
        assert_eq!(
            expand(&r, false).expect("expand")[0].type_name,
            types::SQLITE
        );
        let pg = &expand(&r, true).expect("expand")[0];
        assert_eq!(pg.type_name, types::POSTGRES);
        assert!(pg.sensitive.contains(&"password".to_string()));
        let my = res("db", Kind::Database, json!({"engine": "mysql"}), &[]);
        assert_eq!(
            expand(&my, true).expect("expand")[0].type_name,
            types::SQLITE
        );
    }

    #[test]
    fn function_queue_trigger_points_at_the_queue_url() {
        let r = res(
            "worker",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "src",
                   "env": {"DB": "${db.connection_string}"}, "trigger": {"type": "queue", "source": "${jobs}"}}),
            &[("jobs", Kind::Queue), ("db", Kind::Database)],
        );
        let f = &expand(&r, false).expect("expand")[0];
        assert_eq!(f.inputs["trigger"]["source_url"], "${jobs.url}");
        assert_eq!(f.inputs["env"]["DB"], "${db.connection_string}");
    }

    #[test]
    fn sizes_record_the_catalog_limits_and_schedules_the_neutral_form() {
        let n = expand(
            &res("web", Kind::Compute, json!({"size": "medium"}), &[]),
            false,
        )
        .expect("expand");
        assert_eq!(n[0].inputs["cpu"], 2);
        assert_eq!(n[0].inputs["memory_mib"], 4096.0);
        let f = |schedule: &str| {
            expand(
                &res(
                    "nightly",
                    Kind::Function,
                    json!({"runtime": "python3.12", "handler": "m.h", "source": "s",
                           "trigger": {"type": "schedule", "schedule": schedule}}),
                    &[],
                ),
                false,
            )
        };
        let sched =
            |schedule: &str| f(schedule).expect("expand")[0].inputs["trigger"]["schedule"].clone();
        assert_eq!(sched("rate(1 day)"), "every 1d");
        assert_eq!(sched("0 12 * * MON-FRI"), "0 12 * * 1-5");
        assert_eq!(sched("cron(0 0 L * ? *)"), "cron(0 0 L * ? *)");
        assert!(f("every 7m").is_err());
    }
}
