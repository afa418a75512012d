//! Discovery: every resource of the supported types in the target's region, all of them
//! or those matching tags, paginated to the end.
//!
//! The Resource Groups Tagging API (`GetResources`) covers S3 buckets, SQS queues, EC2
//! instances and security groups, RDS instances, Lambda functions and CloudFront
//! distributions in one paginated call. It does not return IAM roles, so roles come from
//! IAM's `ListRoles` (+ `ListRoleTags`); origin access controls and event source mappings
//! carry no tags and are listed only when no tag filter is given. CloudFront and IAM are
//! global services: call discovery on a `us-east-1` target to see them on AWS.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use overcast_core::ProviderError;
pub use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};

use crate::config::Clients;
use crate::errors;

/// Resource types asked of the Tagging API (`service:type`).
pub const TAGGING_TYPES: &[&str] = &[
    "s3:bucket",
    "sqs:queue",
    "ec2:instance",
    "ec2:security-group",
    "rds:db",
    "lambda:function",
    "cloudfront:distribution",
    "events:rule",
];

/// Types listed through their own service: IAM roles (which the Tagging API does not
/// return), and the untagged types, listed only when no tag filter is given.
pub const OTHER_TYPES: &[&str] = &[
    "iam:role",
    "cloudfront:origin-access-control",
    "lambda:event-source-mapping",
];

/// Every type discovery lists.
pub fn discoverable_types() -> impl Iterator<Item = &'static str> {
    TAGGING_TYPES.iter().chain(OTHER_TYPES).copied()
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

/// See [`crate::AwsProvider::discover`].
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let mut out = Vec::new();
    let types: Vec<String> = TAGGING_TYPES
        .iter()
        .filter(|t| filter.wants(t))
        .map(|t| t.to_string())
        .collect();
    if !types.is_empty() {
        let tag_filters: Vec<TagFilter> = filter
            .tags
            .iter()
            .map(|(k, v)| {
                TagFilter::builder()
                    .key(k)
                    .set_values(v.clone().map(|v| vec![v]))
                    .build()
            })
            .collect();
        let mut pages = c
            .tagging
            .get_resources()
            .set_resource_type_filters(Some(types))
            .set_tag_filters((!tag_filters.is_empty()).then_some(tag_filters))
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
                let (resource_type, id) = parse_arn(arn);
                out.push(DiscoveredResource::new(arn, resource_type, id, tags));
            }
        }
    }
    if filter.wants("iam:role") {
        let mut pages = c.iam.list_roles().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| errors::sdk("ListRoles", "roles", e))?;
            for r in page.roles() {
                // Service-linked and AWS-reserved roles are not the user's to manage.
                if r.path().starts_with("/aws-service-role/")
                    || r.path().starts_with("/aws-reserved/")
                {
                    continue;
                }
                let tags = c
                    .iam
                    .list_role_tags()
                    .role_name(r.role_name())
                    .send()
                    .await
                    .map_err(|e| errors::sdk("ListRoleTags", r.role_name(), e))?;
                let tags: BTreeMap<String, String> = tags
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                if filter.matches(&tags) {
                    out.push(DiscoveredResource::new(
                        r.arn(),
                        "iam:role",
                        r.role_name(),
                        tags,
                    ));
                }
            }
        }
    }
    if filter.tags.is_empty() {
        if filter.wants("cloudfront:origin-access-control") {
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
                    out.push(DiscoveredResource::new(
                        format!("cloudfront:origin-access-control/{}", o.id()),
                        "cloudfront:origin-access-control",
                        o.id().to_string(),
                        BTreeMap::new(),
                    ));
                }
                match list.next_marker().filter(|_| list.is_truncated()) {
                    Some(m) => marker = Some(m.to_string()),
                    None => break,
                }
            }
        }
        if filter.wants("lambda:event-source-mapping") {
            let mut pages = c
                .lambda
                .list_event_source_mappings()
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| errors::sdk("ListEventSourceMappings", "all", e))?;
                for m in page.event_source_mappings() {
                    let id = m.uuid().unwrap_or_default().to_string();
                    out.push(DiscoveredResource::new(
                        m.event_source_mapping_arn().map_or_else(
                            || format!("lambda:event-source-mapping/{id}"),
                            str::to_string,
                        ),
                        "lambda:event-source-mapping",
                        id,
                        BTreeMap::new(),
                    ));
                }
            }
        }
    }
    out.sort_by(|a, b| a.arn.cmp(&b.arn));
    out.dedup_by(|a, b| a.arn == b.arn);
    Ok(out)
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
}
