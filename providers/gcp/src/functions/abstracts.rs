//! A `gcp_cloud_function` seen as a `function` resource (for `migrate` and
//! `discover -o`): the runtime back through the catalog, memory, timeout, env, trigger.

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Value, json};

/// The abstract view of a function native.
pub fn to_abstract(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = serde_json::Map::new();
    let mut approximations = Vec::new();
    let native = i.get("runtime").and_then(Value::as_str).unwrap_or_default();
    match catalog().runtime_of_native(Cloud::Gcp, native) {
        Some(r) => {
            props.insert("runtime".into(), json!(r));
        }
        None => approximations.push((
            "runtime".to_string(),
            format!("Cloud Functions runtime `{native}` has no abstract runtime: write one"),
        )),
    }
    let entry = i
        .get("entry_point")
        .and_then(Value::as_str)
        .unwrap_or("handler");
    let module = if native.starts_with("nodejs") {
        "index"
    } else {
        "main"
    };
    props.insert("handler".into(), json!(format!("{module}.{entry}")));
    approximations.push((
        "handler".to_string(),
        format!("Cloud Functions keeps only the entry point `{entry}`: the module is assumed to be `{module}`"),
    ));
    match i.get("source").and_then(Value::as_str) {
        Some(s) => {
            props.insert("source".into(), json!(s));
        }
        None => {
            props.insert("source".into(), json!("src"));
            approximations.push((
                "source".to_string(),
                "the source directory is not known from the cloud: `src` written, point it at the code".to_string(),
            ));
        }
    }
    if let Some(m) = i.get("memory").and_then(Value::as_u64) {
        props.insert("memory".into(), json!(m));
    }
    if let Some(t) = i.get("timeout").and_then(Value::as_u64) {
        props.insert("timeout".into(), json!(t));
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
        Some(t @ ("queue" | "storage")) => {
            let what = trigger
                .get(if t == "queue" { "topic" } else { "bucket" })
                .cloned()
                .unwrap_or(Value::Null);
            props.insert("trigger".into(), json!({"type": t}));
            approximations.push((
                "trigger.source".to_string(),
                format!("the {t} trigger's source is {what}: add `source: ${{<its resource>}}`"),
            ));
        }
        Some(other) => approximations.push((
            "trigger".to_string(),
            format!("event trigger `{other}` has no abstract trigger: not carried over"),
        )),
    }
    AbstractView {
        kind: Kind::Function,
        properties: props,
        approximations,
    }
}
