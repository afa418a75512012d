//! `aws_s3_bucket` (storage) and `aws_s3_bucket_cdn_access` (the policy statement that
//! lets one CloudFront distribution read a bucket).
//!
//! The storage class is a bucket-wide lifecycle rule (`overcast-class`) since S3 has no
//! default class; the spec's lifecycle rules are `overcast-rule-<i>`. `public` is the
//! absence of the public access block plus a public-read policy statement.

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, Tag, Tagging, Transition,
    TransitionStorageClass, VersioningConfiguration,
};
use overcast_core::kinds::StorageClass;
use overcast_core::native::Observed;
use overcast_core::{Attrs, OwnerTags, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::util::{b, s};
use crate::{catalog, errors};

const CLASS_RULE: &str = "overcast-class";
const RULE_PREFIX: &str = "overcast-rule-";
const PUBLIC_SID: &str = "overcast-public-read";

/// The transition that puts objects in an abstract class: the S3 class and the earliest
/// day S3 allows (30 for STANDARD_IA), from the catalog. `None` for the class S3 creates
/// objects in, which needs no rule.
fn class_rule(class: &str) -> Result<Option<(i32, TransitionStorageClass)>, ProviderError> {
    let abstract_class = serde_json::from_value::<StorageClass>(json!(class))
        .map_err(|_| ProviderError::invalid(format!("unknown storage class `{class}`")))?;
    let native = catalog::storage_class(abstract_class);
    if native.native == CREATED_IN {
        return Ok(None);
    }
    let days = i32::try_from(native.transition_min_days).unwrap_or(i32::MAX);
    Ok(Some((
        days,
        TransitionStorageClass::from(native.native.as_str()),
    )))
}

/// S3 creates every object in STANDARD.
const CREATED_IN: &str = "STANDARD";

/// The abstract class of a transition's S3 class (unknown classes read as `standard`).
fn class_name(c: &TransitionStorageClass) -> &'static str {
    catalog::abstract_storage_class(c.as_str())
}

fn rule(
    id: &str,
    prefix: &str,
    transition: Option<(i32, TransitionStorageClass)>,
    expire: Option<i32>,
) -> Result<LifecycleRule, ProviderError> {
    let mut r = LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build());
    if let Some((days, class)) = transition {
        r = r.transitions(
            Transition::builder()
                .days(days)
                .storage_class(class)
                .build(),
        );
    }
    if let Some(days) = expire {
        r = r.expiration(LifecycleExpiration::builder().days(days).build());
    }
    r.build().map_err(|e| errors::build("lifecycle rule", e))
}

fn lifecycle_rules(inputs: &Attrs) -> Result<Vec<LifecycleRule>, ProviderError> {
    let mut rules = Vec::new();
    if let Some(t) = class_rule(s(inputs, "class")?)? {
        rules.push(rule(CLASS_RULE, "", Some(t), None)?);
    }
    let list = inputs
        .get("lifecycle")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, r) in list.iter().enumerate() {
        let days = |k: &str| {
            r.get(k)
                .and_then(Value::as_u64)
                .map(|d| d.min(i32::MAX as u64) as i32)
        };
        let transition = match (
            days("transition_after_days"),
            r.get("to_class").and_then(Value::as_str),
        ) {
            (Some(d), Some(c)) => match class_rule(c)? {
                Some((_, class)) => Some((d, class)),
                None => {
                    return Err(ProviderError::invalid(
                        "a lifecycle rule cannot move objects to `standard` on S3",
                    ));
                }
            },
            _ => None,
        };
        let prefix = r.get("prefix").and_then(Value::as_str).unwrap_or("");
        rules.push(rule(
            &format!("{RULE_PREFIX}{i}"),
            prefix,
            transition,
            days("expire_after_days"),
        )?);
    }
    Ok(rules)
}

fn region_config(region: &str) -> Option<CreateBucketConfiguration> {
    // us-east-1 is the default location and refuses an explicit constraint.
    (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    })
}

/// Create the bucket, tag it and apply its settings.
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    let name = s(inputs, "name")?;
    let r =
        c.s3.create_bucket()
            .bucket(name)
            .set_create_bucket_configuration(region_config(&c.region))
            .send()
            .await;
    if let Err(e) = r {
        // A retried create after a throttled follow-up call: the bucket is already ours.
        if errors::code(&e) != Some("BucketAlreadyOwnedByYou") {
            return Err(errors::sdk("CreateBucket", name, e));
        }
    }
    let tags = owner
        .pairs()
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .map_err(|e| errors::build("tag", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    c.s3.put_bucket_tagging()
        .bucket(name)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(tags))
                .build()
                .map_err(|e| errors::build("tagging", e))?,
        )
        .send()
        .await
        .map_err(|e| errors::sdk("PutBucketTagging", name, e))?;
    apply(c, name, inputs, None).await?;
    read_named(c, name, inputs)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("bucket `{name}` not visible yet")))
}

/// Change versioning, lifecycle and public access in place.
pub async fn update(c: &Clients, prior: &Attrs, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let name = s(inputs, "name")?;
    apply(c, name, inputs, Some(prior)).await?;
    read_named(c, name, inputs)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("bucket `{name}` is gone")))
}

async fn apply(
    c: &Clients,
    name: &str,
    inputs: &Attrs,
    prior: Option<&Attrs>,
) -> Result<(), ProviderError> {
    let changed = |k: &str| prior.is_none_or(|p| p.get(k) != inputs.get(k));
    if changed("versioning") {
        let status = if b(inputs, "versioning") {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        // A new bucket is unversioned already; only "suspend" one that was versioned.
        if prior.is_some() || b(inputs, "versioning") {
            c.s3.put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(|e| errors::sdk("PutBucketVersioning", name, e))?;
        }
    }
    if changed("class") || changed("lifecycle") {
        let rules = lifecycle_rules(inputs)?;
        if rules.is_empty() {
            if prior.is_some() {
                c.s3.delete_bucket_lifecycle()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(|e| errors::sdk("DeleteBucketLifecycle", name, e))?;
            }
        } else {
            c.s3.put_bucket_lifecycle_configuration()
                .bucket(name)
                .lifecycle_configuration(
                    BucketLifecycleConfiguration::builder()
                        .set_rules(Some(rules))
                        .build()
                        .map_err(|e| errors::build("lifecycle", e))?,
                )
                .send()
                .await
                .map_err(|e| errors::sdk("PutBucketLifecycleConfiguration", name, e))?;
        }
    }
    if let Some(dir) = inputs.get("content").and_then(Value::as_str) {
        // Every create and update re-syncs: unchanged objects cost one HEAD each.
        crate::content::sync(c, name, &c.spec_dir.join(dir)).await?;
    }
    if changed("public") {
        if b(inputs, "public") {
            c.s3.delete_public_access_block()
                .bucket(name)
                .send()
                .await
                .map_err(|e| errors::sdk("DeletePublicAccessBlock", name, e))?;
            let stmt = json!({
                "Sid": PUBLIC_SID, "Effect": "Allow", "Principal": "*",
                "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{name}/*"),
            });
            set_statement(c, name, PUBLIC_SID, Some(stmt)).await?;
        } else {
            set_statement(c, name, PUBLIC_SID, None).await?;
            let all = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            c.s3.put_public_access_block()
                .bucket(name)
                .public_access_block_configuration(all)
                .send()
                .await
                .map_err(|e| errors::sdk("PutPublicAccessBlock", name, e))?;
        }
    }
    Ok(())
}

/// Whether versioning is enabled.
async fn read_versioning(c: &Clients, name: &str) -> Result<bool, ProviderError> {
    let versioning = match c.s3.get_bucket_versioning().bucket(name).send().await {
        Ok(out) => out
            .status()
            .is_some_and(|s| *s == BucketVersioningStatus::Enabled),
        // A success whose body the SDK cannot parse: moto (5.2) names the root element
        // `GetBucketVersioningResponse` instead of `VersioningConfiguration`. The status
        // element inside is the same, so read it from the raw body.
        Err(e) if errors::status(&e) == Some(200) => e
            .raw_response()
            .and_then(|r| r.body().bytes())
            .is_some_and(|b| String::from_utf8_lossy(b).contains("<Status>Enabled</Status>")),
        Err(e) => return Err(errors::sdk("GetBucketVersioning", name, e)),
    };
    Ok(versioning)
}

/// The storage class rule's class and the other lifecycle rules.
async fn read_lifecycle(
    c: &Clients,
    name: &str,
) -> Result<(&'static str, Vec<Value>), ProviderError> {
    let mut class = "standard";
    let mut lifecycle = Vec::new();
    match c
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(name)
        .send()
        .await
    {
        Ok(out) => {
            for r in out.rules() {
                let t = r.transitions().first();
                let to_class = t.and_then(|t| t.storage_class()).map(class_name);
                if r.id() == Some(CLASS_RULE) {
                    class = to_class.unwrap_or("standard");
                    continue;
                }
                let prefix = r
                    .filter()
                    .and_then(|f| f.prefix())
                    .filter(|p| !p.is_empty());
                let mut rule = serde_json::Map::new();
                if let Some(p) = prefix {
                    rule.insert("prefix".into(), json!(p));
                }
                if let Some(d) = t.and_then(|t| t.days()) {
                    rule.insert("transition_after_days".into(), json!(d));
                }
                if let Some(c) = to_class {
                    rule.insert("to_class".into(), json!(c));
                }
                if let Some(d) = r.expiration().and_then(|e| e.days()) {
                    rule.insert("expire_after_days".into(), json!(d));
                }
                lifecycle.push(Value::Object(rule));
            }
        }
        Err(e) if errors::code(&e) == Some("NoSuchLifecycleConfiguration") => {}
        Err(e) => return Err(errors::sdk("GetBucketLifecycleConfiguration", name, e)),
    }
    Ok((class, lifecycle))
}

/// Whether the bucket may be public (no full public access block).
async fn read_public(c: &Clients, name: &str) -> Result<bool, ProviderError> {
    let public = match c.s3.get_public_access_block().bucket(name).send().await {
        Ok(out) => !out.public_access_block_configuration().is_some_and(|p| {
            p.block_public_acls() == Some(true)
                && p.ignore_public_acls() == Some(true)
                && p.block_public_policy() == Some(true)
                && p.restrict_public_buckets() == Some(true)
        }),
        Err(e) if errors::code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => true,
        Err(e) => return Err(errors::sdk("GetPublicAccessBlock", name, e)),
    };
    Ok(public)
}

/// Read a bucket's live inputs; `prior` (the last applied inputs) names the content
/// directory, which only this machine knows.
pub async fn read_named(
    c: &Clients,
    name: &str,
    prior: &Attrs,
) -> Result<Option<Observed>, ProviderError> {
    match c.s3.head_bucket().bucket(name).send().await {
        Ok(_) => {}
        Err(e) => {
            let err = errors::sdk("HeadBucket", name, e);
            return if err.class == overcast_core::ErrorClass::NotFound {
                Ok(None)
            } else {
                Err(err)
            };
        }
    }
    // Three independent reads: one round trip instead of three.
    let (versioning, (class, lifecycle), public) = tokio::try_join!(
        read_versioning(c, name),
        read_lifecycle(c, name),
        read_public(c, name)
    )?;
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert("versioning".into(), json!(versioning));
    inputs.insert("class".into(), json!(class));
    inputs.insert("public".into(), json!(public));
    inputs.insert("lifecycle".into(), Value::Array(lifecycle));
    match prior.get("content").and_then(Value::as_str) {
        Some(dir) => {
            inputs.insert("content".into(), json!(dir));
            let sync = crate::content::in_sync(c, name, &c.spec_dir.join(dir)).await?;
            inputs.insert("content_in_sync".into(), json!(sync));
        }
        None => {
            inputs.insert("content".into(), Value::Null);
            inputs.insert("content_in_sync".into(), Value::Null);
        }
    }
    let regional = format!("{name}.s3.{}.amazonaws.com", c.region);
    let url = match &c.endpoint {
        Some(ep) => format!("{}/{name}", ep.trim_end_matches('/')),
        None => format!("https://{regional}"),
    };
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("arn".into(), json!(format!("arn:aws:s3:::{name}")));
    outputs.insert("regional_domain".into(), json!(regional));
    outputs.insert("url".into(), json!(url));
    Ok(Some(Observed::new(name.to_string(), inputs, outputs)))
}

/// Whether the bucket carries the owner tags (adopt).
pub async fn owned(c: &Clients, name: &str, owner: &OwnerTags) -> Result<bool, ProviderError> {
    match c.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => Ok(crate::util::owned_by(
            out.tag_set().iter().map(|t| (t.key(), t.value())),
            owner,
        )),
        Err(e) => match errors::code(&e) {
            Some("NoSuchTagSet" | "NoSuchBucket") => Ok(false),
            _ => Err(errors::sdk("GetBucketTagging", name, e)),
        },
    }
}

/// Empty the bucket (every version and delete marker, streamed and in parallel: see
/// [`crate::s3_empty`]) and delete it.
pub async fn delete(c: &Clients, name: &str) -> Result<(), ProviderError> {
    if !crate::s3_empty::empty(c, name).await? {
        return Ok(());
    }
    match c.s3.delete_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if errors::code(&e) == Some("NoSuchBucket") => Ok(()),
        Err(e) => Err(errors::sdk("DeleteBucket", name, e)),
    }
}

/// Add (`Some`) or remove (`None`) the policy statement `sid`, keeping the others.
pub async fn set_statement(
    c: &Clients,
    bucket: &str,
    sid: &str,
    stmt: Option<Value>,
) -> Result<(), ProviderError> {
    let _held = c.bucket_locks.lock(bucket).await;
    let current = match c.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out
            .policy()
            .and_then(|p| serde_json::from_str::<Value>(p).ok()),
        Err(e) if errors::code(&e) == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(errors::sdk("GetBucketPolicy", bucket, e)),
    };
    let mut statements: Vec<Value> = current
        .as_ref()
        .and_then(|p| p.get("Statement"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let before = statements.len();
    statements.retain(|st| st.get("Sid").and_then(Value::as_str) != Some(sid));
    let had = statements.len() != before;
    match stmt {
        Some(st) => statements.push(st),
        None if !had => return Ok(()),
        None => {}
    }
    if statements.is_empty() {
        return match c.s3.delete_bucket_policy().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if errors::code(&e) == Some("NoSuchBucket") => Ok(()),
            Err(e) => Err(errors::sdk("DeleteBucketPolicy", bucket, e)),
        };
    }
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    c.s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| errors::sdk("PutBucketPolicy", bucket, e))?;
    Ok(())
}

/// Whether the bucket policy has statement `sid` granting `distribution_arn` (read of the
/// `aws_s3_bucket_cdn_access` native).
pub async fn statement_for(
    c: &Clients,
    bucket: &str,
    sid: &str,
) -> Result<Option<String>, ProviderError> {
    let policy = match c.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out
            .policy()
            .and_then(|p| serde_json::from_str::<Value>(p).ok()),
        Err(e)
            if matches!(
                errors::code(&e),
                Some("NoSuchBucketPolicy" | "NoSuchBucket")
            ) =>
        {
            None
        }
        Err(e) => return Err(errors::sdk("GetBucketPolicy", bucket, e)),
    };
    let arn = policy
        .as_ref()
        .and_then(|p| p.get("Statement"))
        .and_then(Value::as_array)
        .and_then(|sts| {
            sts.iter()
                .find(|st| st.get("Sid").and_then(Value::as_str) == Some(sid))
        })
        .and_then(|st| st.pointer("/Condition/StringEquals/AWS:SourceArn"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(arn)
}

/// The statement that lets CloudFront (through an origin access control) read the bucket
/// for one distribution only.
pub fn cdn_statement(sid: &str, bucket: &str, distribution_arn: &str) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*"),
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_become_the_transitions_s3_allows_and_read_back() {
        assert_eq!(class_rule("standard").expect("known"), None);
        assert_eq!(
            class_rule("infrequent").expect("known"),
            Some((30, TransitionStorageClass::StandardIa))
        );
        assert_eq!(
            class_rule("archive").expect("known"),
            Some((0, TransitionStorageClass::Glacier))
        );
        assert!(class_rule("cold").is_err());
        assert_eq!(class_name(&TransitionStorageClass::OnezoneIa), "infrequent");
        assert_eq!(class_name(&TransitionStorageClass::DeepArchive), "archive");
        assert_eq!(
            class_name(&TransitionStorageClass::IntelligentTiering),
            "standard"
        );
    }
}
