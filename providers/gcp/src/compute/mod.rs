//! Compute Engine: the target's VPC network, a compute resource's instances and firewall
//! rule, and a cdn's HTTP load balancer (backend bucket, URL map, target HTTP proxy,
//! global forwarding rule), through `google-cloud-compute-v1`.
//!
//! Every mutating call carries a `requestId` derived from the operation context (see
//! [`request_id`]), and every operation it starts is waited for through
//! `overcast_core::poll::poll_until` ([`ops::wait`]). Resources without labels in the
//! Compute API (networks, firewalls, backend buckets, URL maps, proxies) carry their
//! owner in their `description` ([`owner_description`]), so discovery decodes every one.

pub mod client;
pub mod expand;
pub mod global;
pub(crate) mod handlers;
pub mod instance;
pub mod ops;
pub mod outputs;

use std::collections::{BTreeMap, HashMap};

use overcast_core::native::OwnerTags;
use overcast_core::op::OpContext;
use overcast_core::{ErrorClass, ProviderError};
use serde::Serialize;
use serde_json::Value;

pub use client::Compute;

/// The prefix of a description that carries an owner.
const OWNER_PREFIX: &str = "Managed by overcast; owner: ";

/// A description that carries `owner`'s labels (`key=value` pairs, comma separated: label
/// values are escaped to `[a-z0-9_-]`, so neither separator occurs in them).
pub fn owner_description(owner: &OwnerTags) -> String {
    let mut pairs: Vec<(String, String)> = crate::labels::owner_labels(owner).into_iter().collect();
    pairs.sort();
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{OWNER_PREFIX}{}", body.join(","))
}

/// The labels an [`owner_description`] carries (empty for any other description).
pub fn labels_of_description(description: &str) -> BTreeMap<String, String> {
    description
        .find(OWNER_PREFIX)
        .map(|at| &description[at + OWNER_PREFIX.len()..])
        .map(|rest| {
            rest.split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The labels of a live resource: its `labels` map, else those its description carries.
pub fn labels_of(live: &Value) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = live
        .get("labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    if out.is_empty() {
        out = labels_of_description(str_of(live, "description"));
    }
    out
}

/// The owner labels as Compute's `labels` map.
pub fn label_map(owner: &OwnerTags) -> HashMap<String, String> {
    crate::labels::owner_labels(owner)
}

/// The `requestId` of one mutating call: the operation context's UUID
/// ([`OpContext::request_uuid`]) made specific to the call. One provider operation makes
/// several mutating calls (an update stops, resizes and starts an instance) and Compute
/// answers a repeated `requestId` with the first call's operation, so each call needs its
/// own; a retry of the same call (same verb, resource and body) gets the same one, so a
/// retried insert is not duplicated.
pub fn request_id(ctx: &OpContext, verb: &str, resource: &str, body: &impl Serialize) -> String {
    let body = canonical(&serde_json::to_value(body).unwrap_or_default());
    let digest = crate::names::short_hash(&[verb, resource, &body]);
    OpContext::detached(format!(
        "{}/{verb}/{resource}/{digest}",
        ctx.idempotency_key
    ))
    .request_uuid()
}

/// The read after an insert answered 409: a name that is taken but not found belongs to
/// an insert still in progress (one an interrupted apply started, under another request
/// id). Compute finishes it on its own, so the create is retried until the resource shows
/// up (then adopted if owned, or refused as a conflict).
pub(crate) fn in_flight(e: ProviderError, noun: &str, name: &str) -> ProviderError {
    if e.class != ErrorClass::NotFound {
        return e;
    }
    ProviderError::retryable(format!(
        "{noun} `{name}` is taken by an insert still in progress (an interrupted apply's?); \
         waiting for Compute Engine to finish it"
    ))
}

/// JSON text with object keys in order, so a map (labels) gives the same text each time.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// A string field of a JSON resource ("" when absent).
pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The last segment of a Compute URL or partial URL (`.../global/networks/n` -> `n`):
/// links are opaque, only the name they end with is compared.
pub fn last_segment(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owner_round_trips_through_a_description() {
        let owner = OwnerTags {
            stack: "Shop".into(),
            target: "gcp".into(),
            resource: "@gcp.network".into(),
        };
        let d = owner_description(&owner);
        let labels = labels_of_description(&d);
        assert!(
            crate::labels::owned_by(&labels, &owner),
            "{d} -> {labels:?}"
        );
        assert!(labels_of_description("a network").is_empty());
    }

    #[test]
    fn request_ids_differ_per_call_and_repeat_per_retry() {
        let ctx = OpContext::detached("k");
        let a = request_id(&ctx, "stop", "zones/z/instances/i", &());
        assert_eq!(a, request_id(&ctx, "stop", "zones/z/instances/i", &()));
        assert_ne!(a, request_id(&ctx, "start", "zones/z/instances/i", &()));
        assert_eq!(a.len(), 36);
        let labels = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let many: Vec<(String, String)> = (0..20).map(|i| (format!("k{i}"), "v".into())).collect();
        let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let one = request_id(&ctx, "insert", "n", &labels(&refs));
        let mut reversed = refs.clone();
        reversed.reverse();
        assert_eq!(one, request_id(&ctx, "insert", "n", &labels(&reversed)));
    }
}
