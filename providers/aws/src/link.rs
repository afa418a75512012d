//! What discovered resources use, for `nuke` to delete users before what they use, and
//! the account the target acts in.
//!
//! One read per type present (not one per resource): DescribeInstances (an instance uses
//! its security groups), DescribeSecurityGroups (a group whose rules reference another
//! group uses it), DescribeDBInstances (a read replica uses its primary),
//! ListDistributions (a distribution uses its S3 origin buckets and its origin access
//! control), ListFunctions (a function uses its role), ListEventSourceMappings (a mapping
//! uses its function and its queue).

use std::collections::{BTreeSet, HashMap};

use overcast_core::ProviderError;
use overcast_core::discovery::AccountIdentity;
use overcast_core::discovery::DiscoveredResource;

use crate::config::Clients;
use crate::discover::oac_arn;
use crate::errors;

/// The ARN of every found resource, by type and id, and by ARN.
struct Index {
    by_id: HashMap<(String, String), String>,
    arns: BTreeSet<String>,
}

impl Index {
    fn new(found: &[DiscoveredResource]) -> Index {
        Index {
            by_id: found
                .iter()
                .map(|r| ((r.resource_type.clone(), r.id.clone()), r.arn.clone()))
                .collect(),
            arns: found.iter().map(|r| r.arn.clone()).collect(),
        }
    }

    fn arn(&self, ty: &str, id: &str) -> Option<String> {
        self.by_id.get(&(ty.to_string(), id.to_string())).cloned()
    }

    /// The found resource of type `ty` named by `id_or_arn` (an id or an ARN).
    fn find(&self, ty: &str, id_or_arn: &str) -> Option<String> {
        if self.arns.contains(id_or_arn) {
            return Some(id_or_arn.to_string());
        }
        self.arn(ty, id_or_arn)
    }

    fn has(&self, ty: &str, found: &[DiscoveredResource]) -> bool {
        found.iter().any(|r| r.resource_type == ty)
    }
}

/// Edges found, as (user type, user id, used ARN).
type Edges = Vec<(String, String, String)>;

/// See [`crate::AwsProvider::link_discovered`].
pub async fn link(c: &Clients, found: &mut [DiscoveredResource]) -> Result<(), ProviderError> {
    let ix = Index::new(found);
    let mut edges: Edges = Vec::new();
    if ix.has("ec2:instance", found) {
        instance_edges(c, &ix, &mut edges).await?;
    }
    if ix.has("ec2:security-group", found) {
        group_edges(c, &ix, &mut edges).await?;
    }
    if ix.has("rds:db", found) {
        replica_edges(c, &ix, &mut edges).await?;
    }
    if ix.has("cloudfront:distribution", found) {
        distribution_edges(c, &ix, &mut edges).await?;
    }
    if ix.has("lambda:function", found) {
        function_edges(c, &ix, &mut edges).await?;
    }
    if ix.has("lambda:event-source-mapping", found) {
        mapping_edges(c, &ix, &mut edges).await?;
    }
    let pos: HashMap<(String, String), usize> = found
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.resource_type.clone(), r.id.clone()), i))
        .collect();
    for (ty, id, used) in edges {
        if let Some(&i) = pos.get(&(ty, id)) {
            found[i].add_use(used);
        }
    }
    break_mutual_uses(found);
    Ok(())
}

/// Two security groups whose rules reference each other would make a cycle no order can
/// delete: drop both edges. Deleting a group revokes its rules that reference other
/// groups first (`ec2::delete_sg`), so whichever goes first frees the other.
fn break_mutual_uses(found: &mut [DiscoveredResource]) {
    let uses: HashMap<String, Vec<String>> = found
        .iter()
        .map(|r| (r.arn.clone(), r.uses.clone()))
        .collect();
    for r in found.iter_mut() {
        let me = r.arn.clone();
        r.uses
            .retain(|u| !uses.get(u).is_some_and(|theirs| theirs.contains(&me)));
    }
}

async fn instance_edges(c: &Clients, ix: &Index, edges: &mut Edges) -> Result<(), ProviderError> {
    let mut pages = c.ec2.describe_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("DescribeInstances", &c.region, e))?;
        for i in page.reservations().iter().flat_map(|r| r.instances()) {
            let Some(id) = i.instance_id() else { continue };
            for g in i.security_groups() {
                if let Some(arn) = g.group_id().and_then(|g| ix.arn("ec2:security-group", g)) {
                    edges.push(("ec2:instance".into(), id.into(), arn));
                }
            }
        }
    }
    Ok(())
}

async fn group_edges(c: &Clients, ix: &Index, edges: &mut Edges) -> Result<(), ProviderError> {
    let mut pages = c.ec2.describe_security_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("DescribeSecurityGroups", &c.region, e))?;
        for g in page.security_groups() {
            let Some(id) = g.group_id() else { continue };
            let referenced = g
                .ip_permissions()
                .iter()
                .chain(g.ip_permissions_egress())
                .flat_map(|p| p.user_id_group_pairs())
                .filter_map(|pair| pair.group_id());
            for other in referenced {
                if let Some(arn) = ix.arn("ec2:security-group", other) {
                    edges.push(("ec2:security-group".into(), id.into(), arn));
                }
            }
        }
    }
    Ok(())
}

async fn replica_edges(c: &Clients, ix: &Index, edges: &mut Edges) -> Result<(), ProviderError> {
    let mut pages = c.rds.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("DescribeDBInstances", &c.region, e))?;
        for d in page.db_instances() {
            let (Some(id), Some(source)) = (
                d.db_instance_identifier(),
                d.read_replica_source_db_instance_identifier(),
            ) else {
                continue;
            };
            // The source is an identifier in the same region, an ARN across regions.
            if let Some(arn) = ix.find("rds:db", source) {
                edges.push(("rds:db".into(), id.into(), arn));
            }
        }
    }
    Ok(())
}

/// The bucket an S3 origin domain names: `<bucket>.s3.amazonaws.com`,
/// `<bucket>.s3.<region>.amazonaws.com`, `<bucket>.s3-<region>.amazonaws.com`. Website
/// endpoints (`<bucket>.s3-website...`) are custom origins of the same bucket, so they
/// count too.
pub fn origin_bucket(domain: &str) -> Option<&str> {
    let domain = domain.trim_end_matches('.');
    let i = domain.find(".s3.").or_else(|| domain.find(".s3-"))?;
    domain
        .ends_with(".amazonaws.com")
        .then(|| &domain[..i])
        .filter(|b| !b.is_empty())
}

async fn distribution_edges(
    c: &Clients,
    ix: &Index,
    edges: &mut Edges,
) -> Result<(), ProviderError> {
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
            for o in d.origins().map(|o| o.items()).unwrap_or_default() {
                if let Some(arn) =
                    origin_bucket(o.domain_name()).and_then(|b| ix.arn("s3:bucket", b))
                {
                    edges.push(("cloudfront:distribution".into(), d.id().into(), arn));
                }
                if let Some(oac) = o.origin_access_control_id().filter(|i| !i.is_empty())
                    && ix.arns.contains(&oac_arn(oac))
                {
                    edges.push((
                        "cloudfront:distribution".into(),
                        d.id().into(),
                        oac_arn(oac),
                    ));
                }
            }
        }
        match list.next_marker().filter(|_| list.is_truncated()) {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    Ok(())
}

async fn function_edges(c: &Clients, ix: &Index, edges: &mut Edges) -> Result<(), ProviderError> {
    let mut pages = c.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListFunctions", &c.region, e))?;
        for f in page.functions() {
            let (Some(name), Some(role)) = (f.function_name(), f.role()) else {
                continue;
            };
            if let Some(arn) = ix.find("iam:role", role) {
                edges.push(("lambda:function".into(), name.into(), arn));
            }
        }
    }
    Ok(())
}

/// The function name of a function ARN, without a version or alias.
fn function_of_arn(arn: &str) -> &str {
    arn.split(':').nth(6).unwrap_or(arn)
}

/// The queue name of an SQS ARN.
fn queue_of_arn(arn: &str) -> Option<&str> {
    arn.starts_with("arn:aws:sqs:")
        .then(|| arn.rsplit(':').next())
        .flatten()
}

async fn mapping_edges(c: &Clients, ix: &Index, edges: &mut Edges) -> Result<(), ProviderError> {
    let mut pages = c
        .lambda
        .list_event_source_mappings()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| errors::sdk("ListEventSourceMappings", "all", e))?;
        for m in page.event_source_mappings() {
            let Some(id) = m.uuid() else { continue };
            let user = ("lambda:event-source-mapping".to_string(), id.to_string());
            if let Some(arn) = m
                .function_arn()
                .and_then(|f| ix.find("lambda:function", function_of_arn(f)))
            {
                edges.push((user.0.clone(), user.1.clone(), arn));
            }
            if let Some(source) = m.event_source_arn() {
                let queue = queue_of_arn(source).and_then(|q| ix.arn("sqs:queue", q));
                if let Some(arn) = queue.or_else(|| ix.find("sqs:queue", source)) {
                    edges.push((user.0, user.1, arn));
                }
            }
        }
    }
    Ok(())
}

/// The account (STS GetCallerIdentity) and its alias (IAM ListAccountAliases; AWS allows
/// at most one).
pub async fn account(c: &Clients) -> Result<AccountIdentity, ProviderError> {
    let me = c
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| errors::sdk("GetCallerIdentity", &c.region, e))?;
    let id = me
        .account()
        .ok_or_else(|| ProviderError::fatal("GetCallerIdentity returned no account"))?;
    let aliases = c
        .iam
        .list_account_aliases()
        .send()
        .await
        .map_err(|e| errors::sdk("ListAccountAliases", id, e))?;
    let identity = AccountIdentity::new("account", id);
    Ok(match aliases.account_aliases().first() {
        Some(alias) => identity.with_name(alias),
        None => identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn origin_domains_name_their_bucket() {
        assert_eq!(origin_bucket("site.s3.amazonaws.com"), Some("site"));
        assert_eq!(
            origin_bucket("my.site.s3.eu-west-1.amazonaws.com"),
            Some("my.site")
        );
        assert_eq!(
            origin_bucket("site.s3-website-us-east-1.amazonaws.com"),
            Some("site")
        );
        assert_eq!(origin_bucket("example.com"), None);
        assert_eq!(origin_bucket(".s3.amazonaws.com"), None);
    }

    #[test]
    fn arns_name_functions_and_queues() {
        assert_eq!(
            function_of_arn("arn:aws:lambda:us-east-1:1:function:f:3"),
            "f"
        );
        assert_eq!(queue_of_arn("arn:aws:sqs:us-east-1:1:jobs"), Some("jobs"));
        assert_eq!(queue_of_arn("arn:aws:kinesis:us-east-1:1:stream/s"), None);
    }

    #[test]
    fn mutual_uses_are_dropped_and_others_kept() {
        let r =
            |arn: &str| DiscoveredResource::new(arn, "ec2:security-group", arn, BTreeMap::new());
        let mut found = vec![r("a"), r("b"), r("c")];
        found[0].add_use("b");
        found[1].add_use("a");
        found[1].add_use("c");
        break_mutual_uses(&mut found);
        assert!(found[0].uses.is_empty());
        assert_eq!(found[1].uses, vec!["c".to_string()]);
    }
}
