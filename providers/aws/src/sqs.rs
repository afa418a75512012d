//! `aws_sqs_queue` (queue and its dead-letter queue). The id is the queue URL. Every
//! setting but the name and FIFO-ness changes in place through SetQueueAttributes.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use overcast_core::native::Observed;
use overcast_core::{Attrs, OwnerTags, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::errors;
use crate::util::{b, s, u};

fn attributes(
    inputs: &Attrs,
    creating: bool,
) -> Result<HashMap<QueueAttributeName, String>, ProviderError> {
    let mut a = HashMap::new();
    a.insert(
        QueueAttributeName::VisibilityTimeout,
        u(inputs, "visibility_timeout")?.to_string(),
    );
    a.insert(
        QueueAttributeName::MessageRetentionPeriod,
        u(inputs, "retention")?.to_string(),
    );
    if creating && b(inputs, "fifo") {
        a.insert(QueueAttributeName::FifoQueue, "true".into());
    }
    match inputs.get("redrive").filter(|v| !v.is_null()) {
        Some(r) => {
            let arn = r
                .get("dead_letter_arn")
                .and_then(Value::as_str)
                .ok_or_else(|| errors::input("queue", "redrive.dead_letter_arn"))?;
            let max = r
                .get("max_receives")
                .and_then(Value::as_u64)
                .ok_or_else(|| errors::input("queue", "redrive.max_receives"))?;
            a.insert(
                QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": arn, "maxReceiveCount": max}).to_string(),
            );
        }
        // An empty policy removes the dead-letter queue (in place).
        None if !creating => {
            a.insert(QueueAttributeName::RedrivePolicy, String::new());
        }
        None => {}
    }
    Ok(a)
}

/// Create the queue with its attributes and owner tags. CreateQueue is idempotent for
/// identical attributes, so a retried create converges.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = s(inputs, "name")?;
    let tags: HashMap<String, String> = owner
        .pairs()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = c
        .sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes(inputs, true)?))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| errors::sdk("CreateQueue", name, e))?;
    let url = out
        .queue_url()
        .ok_or_else(|| ProviderError::retryable(format!("CreateQueue `{name}` returned no URL")))?;
    read_url(c, url)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("queue `{name}` not visible yet")))
}

/// Change visibility timeout, retention and redrive policy in place.
pub async fn update(c: &Clients, url: &str, inputs: &Attrs) -> Result<Observed, ProviderError> {
    c.sqs
        .set_queue_attributes()
        .queue_url(url)
        .set_attributes(Some(attributes(inputs, false)?))
        .send()
        .await
        .map_err(|e| errors::sdk("SetQueueAttributes", url, e))?;
    read_url(c, url)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("queue `{url}` is gone")))
}

/// The URL of a queue by name, `None` when there is none.
pub async fn url_of(c: &Clients, name: &str) -> Result<Option<String>, ProviderError> {
    match c.sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url().map(str::to_string)),
        Err(e) => errors::gone_as(errors::sdk("GetQueueUrl", name, e), None),
    }
}

/// Read a queue's live inputs by URL.
pub async fn read_url(c: &Clients, url: &str) -> Result<Option<Observed>, ProviderError> {
    let out = match c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => return errors::gone_as(errors::sdk("GetQueueAttributes", url, e), None),
    };
    let empty = HashMap::new();
    let a = out.attributes().unwrap_or(&empty);
    let num = |k: &QueueAttributeName| a.get(k).and_then(|v| v.parse::<u64>().ok());
    let arn = a
        .get(&QueueAttributeName::QueueArn)
        .cloned()
        .unwrap_or_default();
    let name = arn.rsplit(':').next().unwrap_or_default().to_string();
    let redrive = match a
        .get(&QueueAttributeName::RedrivePolicy)
        .filter(|p| !p.is_empty())
    {
        Some(p) => {
            let v: Value = serde_json::from_str(p).unwrap_or(Value::Null);
            // SQS returns maxReceiveCount as a number, some emulators as a string.
            let max = v.get("maxReceiveCount").and_then(|m| {
                m.as_u64()
                    .or_else(|| m.as_str().and_then(|s| s.parse().ok()))
            });
            json!({"dead_letter_arn": v.get("deadLetterTargetArn"), "max_receives": max})
        }
        None => Value::Null,
    };
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert(
        "fifo".into(),
        json!(
            a.get(&QueueAttributeName::FifoQueue)
                .is_some_and(|v| v == "true")
        ),
    );
    inputs.insert(
        "visibility_timeout".into(),
        json!(num(&QueueAttributeName::VisibilityTimeout)),
    );
    inputs.insert(
        "retention".into(),
        json!(num(&QueueAttributeName::MessageRetentionPeriod)),
    );
    inputs.insert("redrive".into(), redrive);
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("url".into(), json!(url));
    outputs.insert("arn".into(), json!(arn));
    Ok(Some(Observed::new(url.to_string(), inputs, outputs)))
}

/// Whether the queue carries the owner tags.
pub async fn owned(c: &Clients, url: &str, owner: &OwnerTags) -> Result<bool, ProviderError> {
    let out = c
        .sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .map_err(|e| errors::sdk("ListQueueTags", url, e))?;
    Ok(out.tags().is_some_and(|t| {
        crate::util::owned_by(t.iter().map(|(k, v)| (k.as_str(), v.as_str())), owner)
    }))
}

/// Delete the queue; gone already is fine.
pub async fn delete(c: &Clients, url: &str) -> Result<(), ProviderError> {
    match c.sqs.delete_queue().queue_url(url).send().await {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_is_ok(errors::sdk("DeleteQueue", url, e)),
    }
}
