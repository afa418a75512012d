//! `to_abstract`: a native this provider builds, seen as the abstract resource it most
//! likely belongs to (for `migrate` and `discover -o`).

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Value, json};

use crate::expand::types;

/// The abstract view of `state`, or `None` for a part of a resource another native
/// represents (a queue's topic and its dead-letter natives).
pub fn to_abstract(state: &NativeState) -> Option<AbstractView> {
    match state.type_name.as_str() {
        types::BUCKET => Some(bucket(state)),
        types::FUNCTION => Some(crate::functions::abstracts::to_abstract(state)),
        types::SQL_INSTANCE if crate::sql::abstracts::is_primary(state) => {
            Some(crate::sql::abstracts::database(state))
        }
        types::SUBSCRIPTION if state.addr.local != "dlq_subscription" => Some(subscription(state)),
        _ => crate::compute::outputs::to_abstract(state),
    }
}

fn bucket(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = serde_json::Map::new();
    let mut approximations = Vec::new();
    if i.get("versioning") == Some(&json!(true)) {
        props.insert("versioning".into(), json!(true));
    }
    if i.get("public") == Some(&json!(true)) {
        props.insert("public".into(), json!(true));
    }
    // The directory, relative to the spec, as the spec wrote it.
    if let Some(dir) = crate::bucket::content_of(i) {
        props.insert("content".into(), json!(dir));
    }
    if let Some(native) = i.get("class").and_then(Value::as_str) {
        match catalog().storage_class_of_native(Cloud::Gcp, native) {
            Some(class) => {
                let v = serde_json::to_value(class.value).unwrap_or(Value::Null);
                if v != json!("standard") {
                    props.insert("class".into(), v);
                }
            }
            None => approximations.push((
                "class".to_string(),
                format!("GCS class `{native}` has no abstract class: standard used"),
            )),
        }
    }
    if i.get("lifecycle")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty())
    {
        approximations.push((
            "lifecycle".to_string(),
            "lifecycle rules are not carried over: write them again".to_string(),
        ));
    }
    AbstractView {
        kind: Kind::Storage,
        properties: props,
        approximations,
    }
}

fn subscription(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = serde_json::Map::new();
    if i.get("ordered") == Some(&json!(true)) {
        props.insert("ordered".into(), json!(true));
    }
    if let Some(a) = i.get("ack_deadline").and_then(Value::as_u64) {
        props.insert("visibility_timeout".into(), json!(a));
    }
    if let Some(r) = i.get("retention").and_then(Value::as_u64) {
        props.insert("retention".into(), json!(r));
    }
    if let Some(n) = i
        .get("dead_letter")
        .and_then(|d| d.get("max_receives"))
        .and_then(Value::as_u64)
    {
        props.insert("dead_letter".into(), json!({"max_receives": n}));
    }
    AbstractView {
        kind: Kind::Queue,
        properties: props,
        approximations: Vec::new(),
    }
}
