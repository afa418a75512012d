//! Pub/Sub topics and pull subscriptions through google-cloud-pubsub's admin clients.
//!
//! Natives hold short ids (`oc-shop-gcp-jobs-1a2b3c4d`) in their inputs and the full
//! resource names (`projects/P/topics/ID`) as their ids, which is what the API takes.

use std::collections::{BTreeMap, HashMap};

use google_cloud_pubsub::model::{DeadLetterPolicy, Subscription, Topic};
use google_cloud_wkt::{Duration, FieldMask};
use overcast_core::native::{Observed, OwnerTags};
use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::errors;
use crate::labels;

/// `projects/P/topics/ID`.
pub fn topic_path(project: &str, id: &str) -> String {
    format!("projects/{project}/topics/{id}")
}

/// `projects/P/subscriptions/ID`.
pub fn subscription_path(project: &str, id: &str) -> String {
    format!("projects/{project}/subscriptions/{id}")
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn str_of<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::invalid(format!("input `{key}` missing or not a string")))
}

fn u64_of(inputs: &Attrs, key: &str) -> Result<u64, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| ProviderError::invalid(format!("input `{key}` missing or not a number")))
}

fn i32_of(inputs: &Attrs, key: &str) -> Result<i32, ProviderError> {
    i32::try_from(u64_of(inputs, key)?)
        .map_err(|_| ProviderError::invalid(format!("input `{key}` is out of range")))
}

// ---- topics ---------------------------------------------------------------------------

fn topic_observed(t: &Topic) -> Observed {
    let id = short(&t.name).to_string();
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(id));
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(id));
    outputs.insert("id".into(), json!(t.name));
    Observed::new(t.name.clone(), inputs, outputs)
}

/// Create a topic labelled with its owner.
pub async fn create_topic(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = topic_path(&c.project, str_of(inputs, "name")?);
    let t = c
        .topics
        .create_topic()
        .set_name(name)
        .set_labels(labels::owner_labels(owner))
        .send()
        .await
        .map_err(|e| errors::gax("CreateTopic", e))?;
    Ok(topic_observed(&t))
}

/// The topic `path` (a not-found error when it is gone), with its labels.
pub async fn get_topic(
    c: &Clients,
    path: &str,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let t = c
        .topics
        .get_topic()
        .set_topic(path)
        .send()
        .await
        .map_err(|e| errors::gax("GetTopic", e))?;
    Ok((topic_observed(&t), t.labels.into_iter().collect()))
}

/// Delete a topic.
pub async fn delete_topic(c: &Clients, path: &str) -> Result<(), ProviderError> {
    c.topics
        .delete_topic()
        .set_topic(path)
        .send()
        .await
        .map_err(|e| errors::gax("DeleteTopic", e))
}

/// Every topic of the project with its labels, page by page.
pub async fn list_topics(c: &Clients) -> Result<Vec<Topic>, ProviderError> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .topics
            .list_topics()
            .set_project(format!("projects/{}", c.project))
            .set_page_token(token.clone())
            .send()
            .await
            .map_err(|e| errors::gax("ListTopics", e))?;
        out.extend(page.topics);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

// ---- subscriptions --------------------------------------------------------------------

/// The subscription as the API takes it, from the native's inputs.
fn subscription_of(c: &Clients, inputs: &Attrs) -> Result<Subscription, ProviderError> {
    let mut s = Subscription::default();
    s.name = subscription_path(&c.project, str_of(inputs, "name")?);
    s.topic = str_of(inputs, "topic")?.to_string();
    s.ack_deadline_seconds = i32_of(inputs, "ack_deadline")?;
    let retention = i64::try_from(u64_of(inputs, "retention")?)
        .map_err(|_| ProviderError::invalid("input `retention` is out of range"))?;
    s.message_retention_duration = Some(Duration::clamp(retention, 0));
    let ordered = inputs
        .get("ordered")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    s.enable_message_ordering = ordered;
    // What the catalog promises for `ordered` on GCP: ordering keys with exactly-once
    // delivery on the subscription.
    s.enable_exactly_once_delivery = ordered;
    s.dead_letter_policy = match inputs.get("dead_letter") {
        Some(Value::Object(d)) => {
            let mut p = DeadLetterPolicy::default();
            p.dead_letter_topic = str_of(d, "topic")?.to_string();
            p.max_delivery_attempts = i32_of(d, "max_receives")?;
            Some(p)
        }
        _ => None,
    };
    Ok(s)
}

fn subscription_observed(s: &Subscription) -> Observed {
    let id = short(&s.name).to_string();
    let dead_letter = match &s.dead_letter_policy {
        Some(p) if !p.dead_letter_topic.is_empty() => json!({
            "topic": p.dead_letter_topic,
            "max_receives": p.max_delivery_attempts,
        }),
        _ => Value::Null,
    };
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(id));
    inputs.insert("topic".into(), json!(s.topic));
    inputs.insert("ordered".into(), json!(s.enable_message_ordering));
    inputs.insert("ack_deadline".into(), json!(s.ack_deadline_seconds));
    if let Some(r) = &s.message_retention_duration {
        inputs.insert("retention".into(), json!(r.seconds()));
    }
    inputs.insert("dead_letter".into(), dead_letter);
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(id));
    outputs.insert("id".into(), json!(s.name));
    outputs.insert("topic".into(), json!(s.topic));
    // What a consumer pulls from.
    outputs.insert("url".into(), json!(s.name));
    Observed::new(s.name.clone(), inputs, outputs)
}

/// Create a pull subscription labelled with its owner.
pub async fn create_subscription(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let mut s = subscription_of(c, inputs)?;
    s.labels = labels::owner_labels(owner);
    let s = c
        .subscriptions
        .create_subscription()
        .with_request(s)
        .send()
        .await
        .map_err(|e| errors::gax("CreateSubscription", e))?;
    Ok(subscription_observed(&s))
}

/// The subscription `path` (a not-found error when it is gone), with its labels.
pub async fn get_subscription(
    c: &Clients,
    path: &str,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let s = c
        .subscriptions
        .get_subscription()
        .set_subscription(path)
        .send()
        .await
        .map_err(|e| errors::gax("GetSubscription", e))?;
    Ok((subscription_observed(&s), s.labels.into_iter().collect()))
}

/// Bring the mutable fields (ack deadline, retention, dead-letter policy) to `inputs`.
pub async fn update_subscription(
    c: &Clients,
    path: &str,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let mut s = subscription_of(c, inputs)?;
    s.name = path.to_string();
    let mask = FieldMask::default().set_paths([
        "ack_deadline_seconds",
        "message_retention_duration",
        "dead_letter_policy",
    ]);
    let s = c
        .subscriptions
        .update_subscription()
        .set_subscription(s)
        .set_update_mask(mask)
        .send()
        .await
        .map_err(|e| errors::gax("UpdateSubscription", e))?;
    Ok(subscription_observed(&s))
}

/// Delete a subscription.
pub async fn delete_subscription(c: &Clients, path: &str) -> Result<(), ProviderError> {
    c.subscriptions
        .delete_subscription()
        .set_subscription(path)
        .send()
        .await
        .map_err(|e| errors::gax("DeleteSubscription", e))
}

/// Every subscription of the project with its labels, page by page.
pub async fn list_subscriptions(c: &Clients) -> Result<Vec<Subscription>, ProviderError> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .subscriptions
            .list_subscriptions()
            .set_project(format!("projects/{}", c.project))
            .set_page_token(token.clone())
            .send()
            .await
            .map_err(|e| errors::gax("ListSubscriptions", e))?;
        out.extend(page.subscriptions);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

/// Labels as the API holds them.
pub fn label_map(labels: &HashMap<String, String>) -> BTreeMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
