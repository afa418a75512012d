//! Discovery: every resource of the supported types in the target's region, all of them
//! or those matching tags, paginated to the end, each with its name, location and creation
//! time where the API gives them.
//!
//! Every type is listed through its own service (ListBuckets, ListQueues,
//! DescribeInstances, DescribeSecurityGroups, DescribeDBInstances, ListFunctions,
//! ListDistributions, ListRules, ListRoles, ListOriginAccessControls,
//! ListEventSourceMappings): the Resource Groups Tagging API returns only resources that
//! carry (or once carried) tags, and `nuke` must find the untagged ones too. Tags come
//! with the listing where it has them (EC2, RDS); for S3, SQS, Lambda, CloudFront and
//! EventBridge one paginated `GetResources` call gives the tags of every tagged resource
//! at once (a rule it leaves out is asked with EventBridge's ListTagsForResource); IAM roles take one `ListRoleTags` each (IAM is not in the Tagging API), SQS
//! queues one `GetQueueAttributes` each (their ARN and creation time). Origin access
//! controls and event source mappings carry no tags: a tag filter never matches them.
//! CloudFront and IAM are global services (location `global`): call discovery on a
//! `us-east-1` target to see them on AWS.
//!
//! Not listed, because they cannot be deleted on their own: each VPC's `default`
//! security group, terminated instances, EventBridge rules managed by another service,
//! service-linked and AWS-reserved roles.

use std::collections::{BTreeMap, HashMap};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use overcast_core::ProviderError;
pub use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};

use crate::config::Clients;
use crate::errors;

/// Where global services' resources live.
pub const GLOBAL: &str = "global";

/// Types whose tags come from the Tagging API (their own listing has none), as the
/// Tagging API names them.
pub const TAGGING_TYPES: &[&str] = &[
    "s3:bucket",
    "sqs:queue",
    "lambda:function",
    "cloudfront:distribution",
    "events:rule",
];

/// Every type discovery lists.
pub const TYPES: &[&str] = &[
    "s3:bucket",
    "sqs:queue",
    "ec2:instance",
    "ec2:security-group",
    "rds:db",
    "lambda:function",
    "cloudfront:distribution",
    "events:rule",
    "iam:role",
    "cloudfront:origin-access-control",
    "lambda:event-source-mapping",
];

/// Every type discovery lists.
pub fn discoverable_types() -> impl Iterator<Item = &'static str> {
    TYPES.iter().copied()
}

/// `service:type` and id of an ARN (`arn:aws:ec2:r:a:instance/i-1` -> `ec2:instance`, `i-1`).
pub fn parse_arn(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let service = parts.get(2).copied().unwrap_or_default();
    let rest = parts.get(5).copied().unwrap_or_default();
    let (ty, id) = match service {
        "s3" => ("bucket", rest),
        "sqs" => ("queue", rest),
        _ => match rest.split_once(['/', ':']) {
            Some((ty, id)) => (ty, id),
            None => (rest, rest),
        },
    };
    (format!("{service}:{ty}"), id.to_string())
}

/// An SDK timestamp as RFC 3339 (UTC).
pub fn rfc3339(t: &DateTime) -> Option<String> {
    t.fmt(Format::DateTime).ok()
}

/// SQS's `CreatedTimestamp` (epoch seconds; an emulator may add a fraction) as RFC 3339
/// (UTC), to the second.
pub fn rfc3339_of_epoch(secs: &str) -> Option<String> {
    let secs = secs.trim();
    let whole = secs.split_once('.').map_or(secs, |(w, _)| w);
    whole
        .parse::<i64>()
        .ok()
        .and_then(|s| rfc3339(&DateTime::from_secs(s)))
}

/// The value of the `Name` tag.
fn name_tag(tags: &BTreeMap<String, String>) -> Option<String> {
    tags.get("Name").filter(|n| !n.is_empty()).cloned()
}

/// What one listing found, before the tag filter: the resource and whether its tags are
/// still to come from the Tagging API.
struct Found {
    res: DiscoveredResource,
    tags_from_tagging: bool,
}

/// See [`crate::AwsProvider::discover`].
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut found: Vec<Found> = Vec::new();
    let wants = |t: &str| filter.wants(t);
    if wants("s3:bucket") {
        buckets(c, &mut found).await?;
    }
    if wants("sqs:queue") {
        queues(c, &mut found).await?;
    }
    if wants("ec2:instance") {
        instances(c, &mut found).await?;
    }
    if wants("ec2:security-group") {
        security_groups(c, &mut found).await?;
    }
    if wants("rds:db") {
        databases(c, &mut found).await?;
    }
    if wants("lambda:function") {
        functions(c, &mut found).await?;
    }
    if wants("cloudfront:distribution") {
        distributions(c, &mut found).await?;
    }
    if wants("events:rule") {
        rules(c, &mut found).await?;
    }
    if wants("iam:role") {
        roles(c, &mut found).await?;
    }
    // Untagged types: a tag filter never matches them, so do not even list them.
    if filter.tags.is_empty() {
        if wants("cloudfront:origin-access-control") {
            origin_access_controls(c, &mut found).await?;
        }
        if wants("lambda:event-source-mapping") {
            event_source_mappings(c, &mut found).await?;
        }
    }
    let tagging: Vec<String> = TAGGING_TYPES
        .iter()
        .filter(|t| {
            found
                .iter()
                .any(|f| f.tags_from_tagging && f.res.resource_type == **t)
        })
        .map(|t| t.to_string())
        .collect();
    let tags = if tagging.is_empty() {
        HashMap::new()
    } else {
        tags_of(c, tagging).await?
    };
    let mut out = Vec::with_capacity(found.len());
    for mut f in found {
        if f.tags_from_tagging {
            match tags.get(&f.res.arn) {
                Some(t) => f.res.tags = t.clone(),
                // The Tagging API leaves out what never had tags; an emulator may leave out
                // a whole type (moto: EventBridge rules). A rule it did not return is asked
                // directly: rules are few.
                None if f.res.resource_type == "events:rule" => {
                    f.res.tags = rule_tags(c, &f.res.arn).await?;
                }
                None => {}
            }
        }
        if filter.matches(&f.res.tags) {
            out.push(f.res);
        }
    }
    out.sort_by(|a, b| a.arn.cmp(&b.arn));
    out.dedup_by(|a, b| a.arn == b.arn);
    Ok(out)
}

/// The tags of every tagged resource of these types in the region, by ARN: one paginated
/// `GetResources`.
async fn tags_of(
    c: &Clients,
    types: Vec<String>,
) -> Result<HashMap<String, BTreeMap<String, String>>, ProviderError> {
    let mut out = HashMap::new();
    let mut pages = c
        .tagging
        .get_resources()
        .set_resource_type_filters(Some(types))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("GetResources", &c.region, e))?;
        for m in page.resource_tag_mapping_list() {
            let Some(arn) = m.resource_arn() else {
                continue;
            };
            let tags: BTreeMap<String, String> = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            out.insert(arn.to_string(), tags);
        }
    }
    Ok(out)
}

fn push(found: &mut Vec<Found>, res: DiscoveredResource, tags_from_tagging: bool) {
    found.push(Found {
        res,
        tags_from_tagging,
    });
}

/// The region's buckets (ListBuckets filtered to the region; it lists every region's).
async fn buckets(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut pages =
        c.s3.list_buckets()
            .bucket_region(&c.region)
            .into_paginator()
            .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListBuckets", &c.region, e))?;
        for b in page.buckets() {
            let Some(name) = b.name() else { continue };
            // Older servers ignore the region filter but say each bucket's region.
            if b.bucket_region().is_some_and(|r| r != c.region) {
                continue;
            }
            let mut r = DiscoveredResource::new(
                format!("arn:aws:s3:::{name}"),
                "s3:bucket",
                name,
                BTreeMap::new(),
            )
            .with_name(name)
            .with_location(&c.region);
            if let Some(t) = b.creation_date().and_then(rfc3339) {
                r = r.with_created(t);
            }
            push(found, r, true);
        }
    }
    Ok(())
}

/// The account in a queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
fn queue_parts(url: &str) -> Option<(&str, &str)> {
    let mut it = url.trim_end_matches('/').rsplit('/');
    let name = it.next()?;
    let account = it.next()?;
    Some((account, name))
}

/// The region's queues, with their ARN and creation time (one GetQueueAttributes each:
/// ListQueues gives URLs only).
async fn queues(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut pages = c.sqs.list_queues().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListQueues", &c.region, e))?;
        for url in page.queue_urls() {
            let Some((account, name)) = queue_parts(url) else {
                continue;
            };
            let attrs = match c
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::QueueArn)
                .attribute_names(QueueAttributeName::CreatedTimestamp)
                .send()
                .await
            {
                Ok(a) => a.attributes,
                Err(e) => {
                    // Deleted between the listing and this read.
                    errors::gone_as(errors::sdk("GetQueueAttributes", url, e), ())?;
                    continue;
                }
            };
            let attrs = attrs.unwrap_or_default();
            let arn = attrs
                .get(&QueueAttributeName::QueueArn)
                .cloned()
                .unwrap_or_else(|| format!("arn:aws:sqs:{}:{account}:{name}", c.region));
            let mut r = DiscoveredResource::new(arn, "sqs:queue", name, BTreeMap::new())
                .with_name(name)
                .with_location(&c.region);
            if let Some(t) = attrs
                .get(&QueueAttributeName::CreatedTimestamp)
                .and_then(|t| rfc3339_of_epoch(t))
            {
                r = r.with_created(t);
            }
            push(found, r, true);
        }
    }
    Ok(())
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// The region's instances that are not terminated.
async fn instances(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    use aws_sdk_ec2::types::InstanceStateName;
    let mut pages = c.ec2.describe_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("DescribeInstances", &c.region, e))?;
        for res in page.reservations() {
            let owner = res.owner_id().unwrap_or_default();
            for i in res.instances() {
                let Some(id) = i.instance_id() else { continue };
                if i.state().and_then(|s| s.name()) == Some(&InstanceStateName::Terminated) {
                    continue;
                }
                let tags = ec2_tags(i.tags());
                let name = name_tag(&tags);
                let mut r = DiscoveredResource::new(
                    format!("arn:aws:ec2:{}:{owner}:instance/{id}", c.region),
                    "ec2:instance",
                    id,
                    tags,
                )
                .with_location(&c.region);
                if let Some(n) = name {
                    r = r.with_name(n);
                }
                if let Some(t) = i.launch_time().and_then(rfc3339) {
                    r = r.with_created(t);
                }
                push(found, r, false);
            }
        }
    }
    Ok(())
}

/// The region's security groups but each VPC's `default` one (it goes with its VPC).
/// The API gives no creation time.
async fn security_groups(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut pages = c.ec2.describe_security_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("DescribeSecurityGroups", &c.region, e))?;
        for g in page.security_groups() {
            let Some(id) = g.group_id() else { continue };
            if g.group_name() == Some("default") {
                continue;
            }
            let tags = ec2_tags(g.tags());
            let name = name_tag(&tags).or_else(|| g.group_name().map(str::to_string));
            let owner = g.owner_id().unwrap_or_default();
            let mut r = DiscoveredResource::new(
                format!("arn:aws:ec2:{}:{owner}:security-group/{id}", c.region),
                "ec2:security-group",
                id,
                tags,
            )
            .with_location(&c.region);
            if let Some(n) = name {
                r = r.with_name(n);
            }
            push(found, r, false);
        }
    }
    Ok(())
}

/// The region's DB instances (primaries and replicas).
async fn databases(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut pages = c.rds.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("DescribeDBInstances", &c.region, e))?;
        for d in page.db_instances() {
            let (Some(id), Some(arn)) = (d.db_instance_identifier(), d.db_instance_arn()) else {
                continue;
            };
            let tags: BTreeMap<String, String> = d
                .tag_list()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            let mut r = DiscoveredResource::new(arn, "rds:db", id, tags)
                .with_name(id)
                .with_location(&c.region);
            if let Some(t) = d.instance_create_time().and_then(rfc3339) {
                r = r.with_created(t);
            }
            push(found, r, false);
        }
    }
    Ok(())
}

/// The region's functions. The API gives no creation time (only the last change).
async fn functions(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut pages = c.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListFunctions", &c.region, e))?;
        for f in page.functions() {
            let (Some(name), Some(arn)) = (f.function_name(), f.function_arn()) else {
                continue;
            };
            let r = DiscoveredResource::new(arn, "lambda:function", name, BTreeMap::new())
                .with_name(name)
                .with_location(&c.region);
            push(found, r, true);
        }
    }
    Ok(())
}

/// The account's distributions (global). The API gives no creation time.
async fn distributions(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut marker = None;
    loop {
        let page = c
            .cloudfront
            .list_distributions()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| errors::sdk("ListDistributions", "all", e))?;
        let Some(list) = page.distribution_list() else {
            break;
        };
        for d in list.items() {
            let r = DiscoveredResource::new(
                d.arn(),
                "cloudfront:distribution",
                d.id(),
                BTreeMap::new(),
            )
            .with_name(d.domain_name())
            .with_location(GLOBAL);
            push(found, r, true);
        }
        match list.next_marker().filter(|_| list.is_truncated()) {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    Ok(())
}

/// A rule's tags, from EventBridge itself.
async fn rule_tags(c: &Clients, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    match c
        .events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) => errors::gone_as(errors::sdk("ListTagsForResource", arn, e), BTreeMap::new()),
    }
}

/// The rules of the region's default event bus, but those another service manages. The
/// API gives no creation time.
async fn rules(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut token = None;
    loop {
        let page = c
            .events
            .list_rules()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| errors::sdk("ListRules", &c.region, e))?;
        for rule in page.rules() {
            let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else {
                continue;
            };
            if rule.managed_by().is_some_and(|m| !m.is_empty()) {
                continue;
            }
            let r = DiscoveredResource::new(arn, "events:rule", name, BTreeMap::new())
                .with_name(name)
                .with_location(&c.region);
            push(found, r, true);
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(())
}

/// The account's roles (global), but service-linked and AWS-reserved ones, with their tags
/// (one ListRoleTags each: IAM is not in the Tagging API and ListRoles omits tags).
async fn roles(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut pages = c.iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListRoles", "roles", e))?;
        for role in page.roles() {
            // Service-linked and AWS-reserved roles are not the user's to manage.
            if role.path().starts_with("/aws-service-role/")
                || role.path().starts_with("/aws-reserved/")
            {
                continue;
            }
            let name = role.role_name();
            let tags = match c.iam.list_role_tags().role_name(name).send().await {
                Ok(t) => t
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                Err(e) => {
                    errors::gone_as(errors::sdk("ListRoleTags", name, e), ())?;
                    continue;
                }
            };
            let mut r = DiscoveredResource::new(role.arn(), "iam:role", name, tags)
                .with_name(name)
                .with_location(GLOBAL);
            if let Some(t) = rfc3339(role.create_date()) {
                r = r.with_created(t);
            }
            push(found, r, false);
        }
    }
    Ok(())
}

/// The account's origin access controls (global; no ARN, no tags, no creation time).
async fn origin_access_controls(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut marker = None;
    loop {
        let page = c
            .cloudfront
            .list_origin_access_controls()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| errors::sdk("ListOriginAccessControls", "all", e))?;
        let Some(list) = page.origin_access_control_list() else {
            break;
        };
        for o in list.items() {
            let r = DiscoveredResource::new(
                oac_arn(o.id()),
                "cloudfront:origin-access-control",
                o.id(),
                BTreeMap::new(),
            )
            .with_name(o.name())
            .with_location(GLOBAL);
            push(found, r, false);
        }
        match list.next_marker().filter(|_| list.is_truncated()) {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    Ok(())
}

/// The synthetic ARN of an origin access control (it has none).
pub fn oac_arn(id: &str) -> String {
    format!("cloudfront:origin-access-control/{id}")
}

/// The region's event source mappings (no tags listed, no creation time).
async fn event_source_mappings(c: &Clients, found: &mut Vec<Found>) -> Result<(), ProviderError> {
    let mut pages = c
        .lambda
        .list_event_source_mappings()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListEventSourceMappings", "all", e))?;
        for m in page.event_source_mappings() {
            let Some(id) = m.uuid() else { continue };
            let r = DiscoveredResource::new(
                m.event_source_mapping_arn().map_or_else(
                    || format!("lambda:event-source-mapping/{id}"),
                    str::to_string,
                ),
                "lambda:event-source-mapping",
                id,
                BTreeMap::new(),
            )
            .with_location(&c.region);
            push(found, r, false);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse_into_types_and_ids() {
        assert_eq!(
            parse_arn("arn:aws:s3:::my-bucket"),
            ("s3:bucket".into(), "my-bucket".into())
        );
        assert_eq!(
            parse_arn("arn:aws:sqs:us-east-1:123:q1"),
            ("sqs:queue".into(), "q1".into())
        );
        assert_eq!(
            parse_arn("arn:aws:ec2:us-east-1:123:instance/i-1"),
            ("ec2:instance".into(), "i-1".into())
        );
        assert_eq!(
            parse_arn("arn:aws:lambda:us-east-1:123:function:f"),
            ("lambda:function".into(), "f".into())
        );
        assert_eq!(
            parse_arn("arn:aws:rds:us-east-1:123:db:d1"),
            ("rds:db".into(), "d1".into())
        );
    }

    #[test]
    fn times_and_queue_urls_are_read() {
        assert_eq!(
            rfc3339_of_epoch("1700000000").as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(
            rfc3339_of_epoch("1700000000.25").as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(rfc3339_of_epoch("soon"), None);
        assert_eq!(
            queue_parts("https://sqs.us-east-1.amazonaws.com/123456789012/jobs"),
            Some(("123456789012", "jobs"))
        );
        assert_eq!(
            queue_parts("http://127.0.0.1:5000/123456789012/jobs"),
            Some(("123456789012", "jobs"))
        );
    }
}
