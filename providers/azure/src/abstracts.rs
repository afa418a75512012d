//! `to_abstract`: a native this provider builds, seen as the abstract resource it most
//! likely belongs to (for `migrate` and `discover -o`).

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Map, Value, json};

use crate::expand::types;
use crate::servicebus::duration_seconds;

/// The abstract view of `state`, or `None` for a part of a resource another native
/// represents (a container of an account, a queue's namespace, the resource group).
pub fn to_abstract(state: &NativeState) -> Option<AbstractView> {
    match state.type_name.as_str() {
        // A function's own account is a part of the function.
        types::STORAGE_ACCOUNT if state.kind == Kind::Function => None,
        types::STORAGE_ACCOUNT => Some(account(state)),
        types::FUNCTION_APP => Some(crate::function::abstracts::to_abstract(state)),
        types::SERVICEBUS_QUEUE => Some(queue(state)),
        types::DB_SERVER => crate::database::to_abstract(state),
        types::VM => crate::compute::to_abstract(state),
        types::CDN_PROFILE => crate::cdn::to_abstract(state),
        _ => None,
    }
}

fn account(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = Map::new();
    let mut approximations = Vec::new();
    for key in ["versioning", "public"] {
        if i.get(key) == Some(&json!(true)) {
            props.insert(key.into(), json!(true));
        }
    }
    let rules = i.get("lifecycle").and_then(Value::as_array);
    // Archive is Cool plus a rule that archives every blob at once (see expand).
    let archived = rules.is_some_and(|r| {
        r.iter().any(|rule| {
            rule.get("to_tier") == Some(&json!("Archive"))
                && rule.get("transition_after_days") == Some(&json!(0))
                && rule.get("prefix").is_none_or(Value::is_null)
        })
    });
    if archived {
        props.insert("class".into(), json!("archive"));
    } else if let Some(tier) = i.get("access_tier").and_then(Value::as_str) {
        match catalog().storage_class_of_native(Cloud::Azure, tier) {
            Some(class) => {
                let v = serde_json::to_value(class.value).unwrap_or(Value::Null);
                if v != json!("standard") {
                    props.insert("class".into(), v);
                }
            }
            None => approximations.push((
                "class".to_string(),
                format!("access tier `{tier}` has no abstract class: standard used"),
            )),
        }
    }
    if rules.is_some_and(|r| r.len() > usize::from(archived)) {
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

fn queue(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = Map::new();
    if i.get("sessions") == Some(&json!(true)) {
        props.insert("ordered".into(), json!(true));
    }
    let seconds = |k: &str| i.get(k).and_then(Value::as_str).and_then(duration_seconds);
    if let Some(s) = seconds("lock_duration") {
        props.insert("visibility_timeout".into(), json!(s));
    }
    if let Some(s) = seconds("message_ttl") {
        props.insert("retention".into(), json!(s));
    }
    let max_receives = catalog().queue(Cloud::Azure).max_receives_max;
    if let Some(n) = i.get("max_delivery_count").and_then(Value::as_u64)
        && n < u64::from(max_receives)
    {
        props.insert("dead_letter".into(), json!({"max_receives": n}));
    }
    AbstractView {
        kind: Kind::Queue,
        properties: props,
        approximations: Vec::new(),
    }
}
