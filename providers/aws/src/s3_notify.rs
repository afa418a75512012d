//! `aws_s3_bucket_notification` (a function's `storage` trigger): one Lambda entry in the
//! bucket's notification configuration, plus the permission that lets S3 invoke the
//! function. A bucket has a single notification document shared by every function it
//! triggers (and by anything configured outside overcast), so each native edits only its
//! own entry, found by its configuration id, under the bucket's lock. The native id is
//! `<bucket>/<configuration id>`; the configuration id carries the stack's name, which is
//! what marks an entry as ours when an interrupted create is adopted.

use aws_sdk_s3::types::{Event, LambdaFunctionConfiguration, NotificationConfiguration};
use aws_smithy_runtime_api::client::result::SdkError;
use overcast_core::native::Observed;
use overcast_core::{Attrs, ErrorClass, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::errors;
use crate::util::s;

/// The event every storage trigger subscribes to: any object written.
pub const OBJECT_CREATED: &str = "s3:ObjectCreated:*";

/// A bucket's notification configuration. A bucket with none is answered by moto as an
/// empty `<GetBucketNotificationResponse/>` element, which the SDK refuses to decode (AWS
/// answers an empty `<NotificationConfiguration/>`); a 200 answer of exactly that shape is
/// read as the empty configuration it is.
async fn get(c: &Clients, bucket: &str) -> Result<NotificationConfiguration, ProviderError> {
    match c
        .s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => Ok(NotificationConfiguration::builder()
            .set_topic_configurations(Some(out.topic_configurations().to_vec()))
            .set_queue_configurations(Some(out.queue_configurations().to_vec()))
            .set_lambda_function_configurations(Some(out.lambda_function_configurations().to_vec()))
            .set_event_bridge_configuration(out.event_bridge_configuration().cloned())
            .build()),
        Err(SdkError::ServiceError(e))
            if e.raw().status().as_u16() == 200
                && is_empty_legacy_answer(e.raw().body().bytes()) =>
        {
            Ok(NotificationConfiguration::builder().build())
        }
        Err(e) => Err(errors::sdk("GetBucketNotificationConfiguration", bucket, e)),
    }
}

/// `<?xml ...?><GetBucketNotificationResponse .../>`: an empty root of the legacy name.
fn is_empty_legacy_answer(body: Option<&[u8]>) -> bool {
    let Some(text) = body.and_then(|b| std::str::from_utf8(b).ok()) else {
        return false;
    };
    let text = text.trim();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).trim(),
        None => text,
    };
    text.starts_with("<GetBucketNotificationResponse") && text.ends_with("/>") && {
        // One self-closing element: no other tag inside.
        text.matches('<').count() == 1
    }
}

async fn put(
    c: &Clients,
    bucket: &str,
    config: NotificationConfiguration,
) -> Result<(), ProviderError> {
    c.s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| errors::sdk("PutBucketNotificationConfiguration", bucket, e))
}

/// The configuration with entry `id` replaced by `entry` (or removed, for `None`); every
/// other entry is kept as it was.
fn with_entry(
    config: NotificationConfiguration,
    id: &str,
    entry: Option<LambdaFunctionConfiguration>,
) -> NotificationConfiguration {
    let mut lambdas: Vec<LambdaFunctionConfiguration> = config
        .lambda_function_configurations()
        .iter()
        .filter(|l| l.id() != Some(id))
        .cloned()
        .collect();
    lambdas.extend(entry);
    NotificationConfiguration::builder()
        .set_topic_configurations(Some(config.topic_configurations().to_vec()))
        .set_queue_configurations(Some(config.queue_configurations().to_vec()))
        .set_lambda_function_configurations(Some(lambdas))
        .set_event_bridge_configuration(config.event_bridge_configuration().cloned())
        .build()
}

fn entry(inputs: &Attrs) -> Result<LambdaFunctionConfiguration, ProviderError> {
    LambdaFunctionConfiguration::builder()
        .id(s(inputs, "id")?)
        .lambda_function_arn(s(inputs, "function_arn")?)
        .events(Event::from(OBJECT_CREATED))
        .build()
        .map_err(|e| errors::build("notification", e))
}

/// Let S3 invoke the function for this bucket. Granted already (an earlier attempt) is fine.
async fn grant(c: &Clients, inputs: &Attrs) -> Result<(), ProviderError> {
    let (id, function, bucket) = (
        s(inputs, "id")?,
        s(inputs, "function_arn")?,
        s(inputs, "bucket")?,
    );
    let granted = c
        .lambda
        .add_permission()
        .function_name(function)
        .statement_id(id)
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn(format!("arn:aws:s3:::{bucket}"))
        .send()
        .await;
    match granted {
        Err(e) => match errors::sdk("AddPermission", function, e) {
            err if err.class == ErrorClass::Conflict => Ok(()),
            err => Err(err),
        },
        Ok(_) => Ok(()),
    }
}

/// Grant the permission, then add (or replace) this native's entry.
pub async fn write(c: &Clients, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let (bucket, id) = (s(inputs, "bucket")?, s(inputs, "id")?);
    grant(c, inputs).await?;
    {
        let _held = c.bucket_locks.lock(bucket).await;
        let config = get(c, bucket).await?;
        put(c, bucket, with_entry(config, id, Some(entry(inputs)?))).await?;
    }
    read(c, bucket, id).await?.ok_or_else(|| {
        ProviderError::retryable(format!(
            "notification `{id}` not visible yet on bucket `{bucket}`"
        ))
    })
}

/// Read this native's entry; `None` when the bucket or the entry is gone.
pub async fn read(c: &Clients, bucket: &str, id: &str) -> Result<Option<Observed>, ProviderError> {
    let config = match get(c, bucket).await {
        Ok(config) => config,
        Err(e) => return errors::gone_as(e, None),
    };
    let Some(found) = config
        .lambda_function_configurations()
        .iter()
        .find(|l| l.id() == Some(id))
    else {
        return Ok(None);
    };
    let mut inputs = Attrs::new();
    inputs.insert("bucket".into(), json!(bucket));
    inputs.insert("id".into(), json!(id));
    inputs.insert("function_arn".into(), json!(found.lambda_function_arn()));
    let events: Vec<Value> = found.events().iter().map(|e| json!(e.as_str())).collect();
    let mut outputs = Attrs::new();
    outputs.insert("events".into(), Value::Array(events));
    Ok(Some(Observed::new(
        format!("{bucket}/{id}"),
        inputs,
        outputs,
    )))
}

/// Remove this native's entry (keeping every other one) and the permission.
pub async fn delete(c: &Clients, inputs: &Attrs) -> Result<(), ProviderError> {
    let (bucket, id, function) = (
        s(inputs, "bucket")?,
        s(inputs, "id")?,
        s(inputs, "function_arn")?,
    );
    {
        let _held = c.bucket_locks.lock(bucket).await;
        match get(c, bucket).await {
            Ok(config) => {
                if config
                    .lambda_function_configurations()
                    .iter()
                    .any(|l| l.id() == Some(id))
                {
                    put(c, bucket, with_entry(config, id, None)).await?;
                }
            }
            Err(e) => errors::gone_is_ok(e)?,
        }
    }
    c.lambda
        .remove_permission()
        .function_name(function)
        .statement_id(id)
        .send()
        .await
        .map(|_| ())
        .or_else(|e| errors::gone_is_ok(errors::sdk("RemovePermission", function, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_legacy_root_reads_as_empty() {
        let empty = br#"<?xml version="1.0" encoding="utf-8"?>
<GetBucketNotificationResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#;
        assert!(is_empty_legacy_answer(Some(empty)));
        let full = br#"<GetBucketNotificationResponse><CloudFunctionConfiguration/></GetBucketNotificationResponse>"#;
        assert!(!is_empty_legacy_answer(Some(full)));
        assert!(!is_empty_legacy_answer(Some(b"<Error/>")));
        assert!(!is_empty_legacy_answer(None));
    }

    #[test]
    fn an_entry_is_replaced_and_removed_alone() {
        let other = LambdaFunctionConfiguration::builder()
            .id("someone-else")
            .lambda_function_arn("arn:aws:lambda:us-east-1:1:function:x")
            .events(Event::from(OBJECT_CREATED))
            .build()
            .expect("entry");
        let ours = |arn: &str| {
            let mut i = Attrs::new();
            i.insert("id".into(), json!("oc-demo-thumbs-s3"));
            i.insert("function_arn".into(), json!(arn));
            entry(&i).expect("entry")
        };
        let config = NotificationConfiguration::builder()
            .lambda_function_configurations(other.clone())
            .lambda_function_configurations(ours("arn:old"))
            .build();
        let config = with_entry(config, "oc-demo-thumbs-s3", Some(ours("arn:new")));
        let arns: Vec<&str> = config
            .lambda_function_configurations()
            .iter()
            .map(|l| l.lambda_function_arn())
            .collect();
        assert_eq!(arns, ["arn:aws:lambda:us-east-1:1:function:x", "arn:new"]);
        let config = with_entry(config, "oc-demo-thumbs-s3", None);
        assert_eq!(config.lambda_function_configurations(), [other]);
    }
}
