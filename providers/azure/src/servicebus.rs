//! Queues: the target's Service Bus namespace and one queue per queue resource
//! (Microsoft.ServiceBus 2021-11-01).
//!
//! Service Bus gives every queue a dead-letter subqueue (`<queue>/$deadletterqueue`): a
//! message goes there after `maxDeliveryCount` deliveries, and, with
//! `deadLetteringOnMessageExpiration`, when its time to live ends. `ordered` is sessions
//! plus duplicate detection (10 minutes), both fixed when the queue is created.

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, bool_of, read_state, str_of, tags};

/// The pinned api-version of Microsoft.ServiceBus.
pub const API: &str = "2021-11-01";
/// The ARM type of a namespace.
pub const NAMESPACE_TYPE: &str = "Microsoft.ServiceBus/namespaces";
/// How long duplicate detection remembers a message id on an ordered queue.
pub const DUPLICATE_WINDOW: &str = "PT10M";

// --- the namespace ------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct Sku {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
}

#[derive(Debug, Serialize)]
struct NamespaceBody<'a> {
    location: &'a str,
    sku: Sku,
    tags: &'a BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceLive {
    id: String,
    name: String,
    location: String,
    sku: Sku,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: NamespaceProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NamespaceProps {
    #[serde(default)]
    service_bus_endpoint: Option<String>,
}

/// The `azure_servicebus_namespace` handler.
pub struct Namespace;

#[async_trait]
impl Handler for Namespace {
    fn api(&self) -> &'static str {
        "servicebus"
    }
    fn kind(&self) -> Kind {
        Kind::Queue
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[NAMESPACE_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(NAMESPACE_TYPE, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: NamespaceLive = c.arm.get(&st.id, API).await?;
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "sku": live.sku.name,
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "endpoint": live.properties.service_bus_endpoint,
        }));
        Ok((Observed::new(live.id, inputs, outputs), Some(live.tags)))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let sku = str_of(&req.inputs, "sku")?.to_string();
        let body = NamespaceBody {
            location: str_of(&req.inputs, "location")?,
            sku: Sku {
                name: sku.clone(),
                tier: Some(sku),
            },
            tags: &tags(&req.owner),
        };
        let _: Value = c.arm.put(ctx, &id, API, &body).await?;
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let sku = str_of(inputs, "sku")?.to_string();
        let patch = json!({"sku": {"name": sku, "tier": sku}});
        let _: Value = c.arm.patch(ctx, &prior.id, API, &patch).await?;
        Ok(self.read(c, prior).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

// --- the queue ----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct QueueBody {
    properties: QueueProps,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueProps {
    #[serde(default)]
    requires_session: Option<bool>,
    #[serde(default)]
    requires_duplicate_detection: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duplicate_detection_history_time_window: Option<String>,
    #[serde(default)]
    lock_duration: Option<String>,
    #[serde(default)]
    default_message_time_to_live: Option<String>,
    #[serde(default)]
    max_delivery_count: Option<u64>,
    #[serde(default)]
    dead_lettering_on_message_expiration: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct QueueLive {
    id: String,
    name: String,
    properties: QueueProps,
}

fn queue_body(inputs: &Attrs) -> Result<QueueBody, ProviderError> {
    let dup = bool_of(inputs, "duplicate_detection");
    Ok(QueueBody {
        properties: QueueProps {
            requires_session: Some(bool_of(inputs, "sessions")),
            requires_duplicate_detection: Some(dup),
            duplicate_detection_history_time_window: dup.then(|| DUPLICATE_WINDOW.to_string()),
            lock_duration: Some(str_of(inputs, "lock_duration")?.to_string()),
            default_message_time_to_live: Some(str_of(inputs, "message_ttl")?.to_string()),
            max_delivery_count: inputs.get("max_delivery_count").and_then(Value::as_u64),
            dead_lettering_on_message_expiration: Some(bool_of(
                inputs,
                "dead_letter_on_expiration",
            )),
        },
    })
}

fn queue_id(c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
    Ok(format!(
        "{}/queues/{}",
        c.id(NAMESPACE_TYPE, str_of(inputs, "namespace")?),
        str_of(inputs, "name")?
    ))
}

/// The namespace name in a queue's id.
fn namespace_of(queue_id: &str) -> Option<String> {
    let segs: Vec<&str> = queue_id.split('/').collect();
    segs.iter()
        .position(|s| s.eq_ignore_ascii_case("namespaces"))
        .and_then(|i| segs.get(i + 1))
        .map(|s| s.to_string())
}

/// The `azure_servicebus_queue` handler.
pub struct Queue;

#[async_trait]
impl Handler for Queue {
    fn api(&self) -> &'static str {
        "servicebus"
    }
    fn kind(&self) -> Kind {
        Kind::Queue
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        queue_id(c, inputs)
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: QueueLive = c.arm.get(&st.id, API).await?;
        let p = &live.properties;
        let namespace = namespace_of(&live.id).unwrap_or_default();
        // Service Bus answers durations in its own form (`PT5M`, `P4D`): compared in the
        // form the inputs use.
        let canonical = |d: &Option<String>| d.as_deref().map(canonical_duration);
        let inputs = attrs(json!({
            "name": live.name,
            "namespace": namespace,
            "sessions": p.requires_session.unwrap_or(false),
            "duplicate_detection": p.requires_duplicate_detection.unwrap_or(false),
            "lock_duration": canonical(&p.lock_duration),
            "message_ttl": canonical(&p.default_message_time_to_live),
            "max_delivery_count": p.max_delivery_count,
            "dead_letter_on_expiration": p.dead_lettering_on_message_expiration.unwrap_or(false),
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "url": format!("https://{namespace}.servicebus.windows.net/{}", live.name),
        }));
        Ok((Observed::new(live.id, inputs, outputs), None))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = queue_id(c, &req.inputs)?;
        let _: Value = c.arm.put(ctx, &id, API, &queue_body(&req.inputs)?).await?;
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let _: Value = c.arm.put(ctx, &prior.id, API, &queue_body(inputs)?).await?;
        Ok(self.read(c, prior).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

/// An ISO 8601 duration (`P1DT2H`, `PT5M`, `PT30.5S`) in whole seconds; `None` when it is
/// not one (or has years or months, which have no fixed length).
pub fn duration_seconds(s: &str) -> Option<u64> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut total = 0f64;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut num = String::new();
        for ch in part.chars() {
            if ch.is_ascii_digit() || ch == '.' {
                num.push(ch);
                continue;
            }
            let (_, mult) = units.iter().find(|(u, _)| *u == ch)?;
            total += num.parse::<f64>().ok()? * mult;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    take(date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    take(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    Some(total.round() as u64)
}

/// A duration in the inputs' form (`PT<seconds>S`); what does not parse stays as it is.
pub fn canonical_duration(s: &str) -> String {
    duration_seconds(s).map_or_else(|| s.to_string(), |n| format!("PT{n}S"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_bus_durations_compare_in_seconds() {
        assert_eq!(duration_seconds("PT5M"), Some(300));
        assert_eq!(duration_seconds("P4D"), Some(345_600));
        assert_eq!(duration_seconds("P1DT2H3M4S"), Some(93_784));
        assert_eq!(duration_seconds("PT30.4S"), Some(30));
        assert_eq!(duration_seconds("P1Y"), None);
        assert_eq!(duration_seconds("5m"), None);
        assert_eq!(canonical_duration("PT1M"), "PT60S");
        assert_eq!(canonical_duration("junk"), "junk");
    }

    #[test]
    fn the_namespace_is_read_from_a_queue_id() {
        assert_eq!(
            namespace_of(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.ServiceBus/namespaces/ns1/queues/q"
            ),
            Some("ns1".into())
        );
    }
}
