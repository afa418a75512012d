//! A `function` resource as GCP natives: the `gcp_cloud_function` (Cloud Functions 2nd
//! gen) and, for a schedule trigger, a `gcp_scheduler_job` that POSTs to its URL. The
//! function's source archive goes to the target's staging bucket (see [`super::staging`]).

use std::collections::BTreeMap;

use overcast_core::catalog::schedule::Schedule;
use overcast_core::catalog::{Cloud, catalog};
use overcast_core::kinds::{FunctionProps, TriggerType};
use overcast_core::{AbstractResource, Attrs, Kind, NativeSpec, ProviderError};
use serde_json::{Value, json};

use super::{adapter, staging};
use crate::expand::{Ctx, types};
use crate::names;

/// Pub/Sub message published: the event type of a queue trigger.
pub const PUBSUB_EVENT: &str = "google.cloud.pubsub.topic.v1.messagePublished";
/// Object finalized (written): the event type of a storage trigger.
pub const STORAGE_EVENT: &str = "google.cloud.storage.object.v1.finalized";

/// The longest Cloud Scheduler job id.
const JOB_ID_MAX: usize = 500;

fn whole_ref<'a>(s: &str, kinds: &'a BTreeMap<String, Kind>) -> Option<(&'a String, Kind)> {
    let name = overcast_core::refs::whole_resource_ref(s)?;
    kinds.get_key_value(name).map(|(n, k)| (n, *k))
}

/// The entry point of a handler and the adapter it needs (see [`adapter`]):
/// `main.handler` on Python is Cloud Functions' own (`handler`, no adapter);
/// `app.handler` is called through a generated `main.py` ([`adapter::ENTRY`]).
fn entry_point(
    name: &str,
    p: &FunctionProps,
    http: bool,
) -> Result<(String, Value), ProviderError> {
    let (module, function) = p
        .handler
        .rsplit_once('.')
        .filter(|(m, f)| !m.is_empty() && !f.is_empty())
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "function `{name}`: handler `{}` is not `module.function`",
                p.handler
            ))
            .with_hint("write e.g. `handler: main.handler`")
        })?;
    let adapter = adapter::needed(&p.runtime, module, function, http);
    let entry = if adapter.is_null() {
        function.to_string()
    } else {
        adapter::ENTRY.to_string()
    };
    Ok((entry, adapter))
}

/// The trigger as the function native holds it, and whether it is http.
fn trigger(
    name: &str,
    p: &FunctionProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<(Value, bool), ProviderError> {
    let Some(t) = &p.trigger else {
        return Ok((json!({"type": "http"}), true));
    };
    Ok(match t.kind {
        TriggerType::Http | TriggerType::Schedule => (json!({"type": "http"}), true),
        TriggerType::Queue => match t.source.as_deref().and_then(|s| whole_ref(s, kinds)) {
            Some((q, Kind::Queue)) => (
                json!({"type": "queue", "topic": format!("${{{q}.topic.id}}")}),
                false,
            ),
            _ => {
                return Err(ProviderError::invalid(format!(
                    "function `{name}`: a queue trigger needs `source: ${{<queue resource>}}`"
                )));
            }
        },
        TriggerType::Storage => match t.source.as_deref().and_then(|s| whole_ref(s, kinds)) {
            Some((b, Kind::Storage)) => (
                json!({"type": "storage", "bucket": format!("${{{b}.bucket.name}}")}),
                false,
            ),
            _ => {
                return Err(ProviderError::invalid(format!(
                    "function `{name}`: a storage trigger needs `source: ${{<storage resource>}}`"
                )));
            }
        },
    })
}

/// The Cloud Scheduler job of a schedule trigger.
fn schedule_job(ctx: &Ctx<'_>, name: &str, written: &str) -> Result<NativeSpec, ProviderError> {
    let cron = Schedule::parse(written)
        .and_then(|s| s.for_cloud(Cloud::Gcp))
        .map_err(|e| {
            ProviderError::invalid(format!(
                "function `{name}`: schedule `{written}`: {}",
                e.message
            ))
            .with_hint(format!("write {}", e.expected))
        })?;
    Ok(NativeSpec::new(
        "schedule",
        types::SCHEDULER_JOB,
        attrs(json!({
            "name": names::name(ctx.stack, ctx.target, name, "schedule", JOB_ID_MAX),
            "region": ctx.region,
            "schedule": cron,
            "time_zone": "Etc/UTC",
            "uri": format!("${{{name}.function.url}}"),
            "http_method": "POST",
        })),
    )
    .after("function")
    .force_new(&["name", "region"]))
}

/// Expand a function resource.
pub fn function(
    ctx: &Ctx<'_>,
    res: &AbstractResource,
    p: &FunctionProps,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let name = res.name.as_str();
    let runtime = catalog().runtime(Cloud::Gcp, &p.runtime).ok_or_else(|| {
        ProviderError::invalid(format!(
            "function `{name}`: runtime `{}` has no Cloud Functions equivalent",
            p.runtime
        ))
    })?;
    let (trigger, http) = trigger(name, p, &res.referenced_kinds)?;
    let (entry, adapter) = entry_point(name, p, http)?;
    let limits = catalog().function_limits(Cloud::Gcp);
    let max_timeout = if http {
        limits.http_timeout_max_s
    } else {
        limits.event_timeout_max_s
    };
    // Within Cloud Functions' bounds (the catalog's fidelity says what differs).
    let timeout = max_timeout
        .map_or(p.timeout.0, |m| p.timeout.0.min(m))
        .max(1);
    let mut out = vec![
        NativeSpec::new(
            "function",
            types::FUNCTION,
            attrs(json!({
                "name": names::name(ctx.stack, ctx.target, name, "", 63),
                "region": ctx.region,
                "runtime": runtime.id,
                "entry_point": entry,
                // The generated main.py/index.js calling the handler, or null.
                "adapter": adapter,
                // Relative to the spec's directory, as written.
                "source": p.source,
                "bucket": staging::bucket_name(ctx.stack, ctx.target),
                "memory": limits.memory_for(p.memory),
                "timeout": timeout,
                "env": p.env,
                "trigger": trigger,
                // Desired flag: `read` reports whether the deployed archive is the
                // source's (the SHA-256 in its object name), so a new source is an update.
                "code_in_sync": true,
            })),
        )
        // A function cannot be renamed or moved, and Cloud Functions does not change the
        // trigger of an existing function.
        .force_new(&["name", "region", "trigger"]),
    ];
    if let Some(t) = &p.trigger
        && t.kind == TriggerType::Schedule
    {
        let written = t.schedule.as_deref().ok_or_else(|| {
            ProviderError::invalid(format!(
                "function `{name}`: a schedule trigger needs `schedule`, e.g. `every 5m`"
            ))
        })?;
        out.push(schedule_job(ctx, name, written)?);
    }
    Ok(out)
}

fn attrs(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::Properties;

    fn run(props: Value, kinds: &[(&str, Kind)]) -> Result<Vec<NativeSpec>, ProviderError> {
        let res = AbstractResource {
            name: "worker".into(),
            properties: Properties::from_value(Kind::Function, props).expect("properties"),
            referenced_kinds: kinds.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        };
        let ctx = Ctx {
            stack: "shop",
            target: "gcp",
            region: "europe-west1",
            zone: None,
        };
        let Properties::Function(p) = &res.properties else {
            unreachable!("a function")
        };
        function(&ctx, &res, p)
    }

    #[test]
    fn a_function_maps_runtime_memory_and_entry_point() {
        let n = run(
            json!({"runtime": "python3.12", "handler": "main.handle", "source": "src",
                   "memory": 200, "timeout": 9000, "env": {"A": "1"}}),
            &[],
        )
        .expect("expand");
        assert_eq!(n.len(), 1);
        let f = &n[0];
        assert_eq!(f.type_name, types::FUNCTION);
        assert_eq!(f.inputs["runtime"], "python312");
        assert_eq!(f.inputs["entry_point"], "handle");
        assert_eq!(f.inputs["memory"], 200);
        // An http function runs at most an hour.
        assert_eq!(f.inputs["timeout"], 3600);
        assert_eq!(f.inputs["trigger"], json!({"type": "http"}));
        assert_eq!(f.inputs["bucket"], staging::bucket_name("shop", "gcp"));
        let name = f.inputs["name"].as_str().expect("name");
        assert!(
            name.len() <= 63 && name.starts_with("oc-shop-gcp-worker-"),
            "{name}"
        );
        assert_eq!(f.inputs["adapter"], Value::Null);
        // A handler elsewhere than main.py is called through the generated adapter.
        let n = run(
            json!({"runtime": "python3.12", "handler": "app.handle", "source": "src"}),
            &[],
        )
        .expect("expand");
        assert_eq!(n[0].inputs["entry_point"], adapter::ENTRY);
        assert_eq!(n[0].inputs["adapter"]["module"], "app");
        assert_eq!(n[0].inputs["adapter"]["signature"], "http");
        let e = run(
            json!({"runtime": "python3.12", "handler": "handle", "source": "src"}),
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("module.function"), "{}", e.message);
    }

    #[test]
    fn triggers_reference_their_sources() {
        let q = run(
            json!({"runtime": "nodejs22", "handler": "index.run", "source": "s",
                   "trigger": {"type": "queue", "source": "${jobs}"}}),
            &[("jobs", Kind::Queue)],
        )
        .expect("expand");
        assert_eq!(q[0].inputs["trigger"]["topic"], "${jobs.topic.id}");
        // An event function runs at most 9 minutes.
        let s = run(
            json!({"runtime": "nodejs22", "handler": "index.run", "source": "s", "timeout": 3600,
                   "trigger": {"type": "storage", "source": "${site}"}}),
            &[("site", Kind::Storage)],
        )
        .expect("expand");
        assert_eq!(s[0].inputs["trigger"]["bucket"], "${site.bucket.name}");
        assert_eq!(s[0].inputs["timeout"], 540);
        assert!(
            run(
                json!({"runtime": "nodejs22", "handler": "index.run", "source": "s",
                       "trigger": {"type": "storage", "source": "${jobs}"}}),
                &[("jobs", Kind::Queue)],
            )
            .is_err()
        );
    }

    #[test]
    fn a_schedule_is_a_scheduler_job_posting_to_the_function() {
        let n = run(
            json!({"runtime": "python3.12", "handler": "main.tick", "source": "s",
                   "trigger": {"type": "schedule", "schedule": "every 5m"}}),
            &[],
        )
        .expect("expand");
        assert_eq!(n.len(), 2);
        let job = &n[1];
        assert_eq!(job.local, "schedule");
        assert_eq!(job.type_name, types::SCHEDULER_JOB);
        assert_eq!(job.inputs["uri"], "${worker.function.url}");
        assert_eq!(job.inputs["schedule"], "*/5 * * * *");
        assert_eq!(job.inputs["time_zone"], "Etc/UTC");
        assert_eq!(job.inputs["http_method"], "POST");
        assert_eq!(job.inputs["region"], "europe-west1");
        assert_eq!(job.depends_on, ["function"]);
        let id = job.inputs["name"].as_str().expect("id");
        assert!(
            id.len() <= 500
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(n[0].inputs["trigger"], json!({"type": "http"}));
    }
}
