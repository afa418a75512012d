//! An `azure_function_app` seen as a `function` resource (for `migrate` and
//! `discover -o`): the runtime back through the catalog, the handler, env, timeout and
//! trigger as recorded.

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Map, Value, json};

/// The abstract view of a function app native.
pub fn to_abstract(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = Map::new();
    let mut approximations = Vec::new();
    let fx = i.get("runtime").and_then(Value::as_str).unwrap_or_default();
    // The catalog writes `python|3.12`, Azure `Python|3.12`.
    match catalog().runtime_of_native(Cloud::Azure, &fx.to_ascii_lowercase()) {
        Some(r) => {
            props.insert("runtime".into(), json!(r));
        }
        None => approximations.push((
            "runtime".to_string(),
            format!("Azure Functions stack `{fx}` has no abstract runtime: write one"),
        )),
    }
    for key in ["handler", "source"] {
        match i.get(key).and_then(Value::as_str) {
            Some(v) => {
                props.insert(key.into(), json!(v));
            }
            None => {
                let (written, why) = if key == "handler" {
                    (
                        "main.handler",
                        "the handler is in the package, not in the app's settings",
                    )
                } else {
                    ("src", "the source directory is not known from the cloud")
                };
                props.insert(key.into(), json!(written));
                approximations.push((key.to_string(), format!("{why}: `{written}` written")));
            }
        }
    }
    if let Some(t) = i.get("timeout").and_then(Value::as_u64) {
        props.insert("timeout".into(), json!(t));
    }
    if let Some(m) = i.get("memory").and_then(Value::as_u64) {
        props.insert("memory".into(), json!(m));
        approximations.push((
            "memory".to_string(),
            "the Consumption plan gives every instance 1.5 GB: the recorded size is the catalog's"
                .to_string(),
        ));
    }
    if let Some(env) = i
        .get("env")
        .and_then(Value::as_object)
        .filter(|e| !e.is_empty())
    {
        props.insert("env".into(), Value::Object(env.clone()));
    }
    let trigger = i.get("trigger").cloned().unwrap_or(json!({"type": "http"}));
    match trigger.get("type").and_then(Value::as_str) {
        Some("http") | None => {
            props.insert("trigger".into(), json!({"type": "http"}));
        }
        Some("schedule") => {
            // NCRONTAB's seconds field dropped: five-field cron, which every cloud takes.
            let cron = trigger
                .get("schedule")
                .and_then(Value::as_str)
                .and_then(|s| s.split_once(' '))
                .map(|(_, rest)| rest.to_string());
            props.insert(
                "trigger".into(),
                json!({"type": "schedule", "schedule": cron}),
            );
            approximations.push((
                "trigger".to_string(),
                "the schedule comes back as five-field cron (`every 5m` reads `*/5 * * * *`)"
                    .to_string(),
            ));
        }
        Some(t @ ("queue" | "storage")) => {
            let what = if t == "queue" {
                trigger.get("queue").cloned()
            } else {
                trigger.get("container").cloned()
            }
            .unwrap_or(Value::Null);
            props.insert("trigger".into(), json!({"type": t}));
            approximations.push((
                "trigger.source".to_string(),
                format!("the {t} trigger's source is {what}: add `source: ${{<its resource>}}`"),
            ));
        }
        Some(other) => approximations.push((
            "trigger".to_string(),
            format!("trigger `{other}` has no abstract trigger: not carried over"),
        )),
    }
    AbstractView {
        kind: Kind::Function,
        properties: props,
        approximations,
    }
}
