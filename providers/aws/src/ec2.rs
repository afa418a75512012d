//! `aws_security_group` and `aws_ec2_instance` (compute). Instances go into the region's
//! default VPC, behind a security group that opens the declared TCP ports to the world.
//! Instance type and user data change in place the way AWS allows it: stop, modify, start.

use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{
    AttributeValue, BlobAttributeValue, Filter, InstanceAttributeName, InstanceStateName,
    InstanceType, IpPermission, IpRange, ResourceType, Tag, TagSpecification,
};
use base64::Engine;
use overcast_core::native::Observed;
use overcast_core::{Attrs, OwnerTags, ProviderError};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::util::{s, wait_for};
use crate::{catalog, errors};
use overcast_core::native::LiveStatus;
use overcast_core::op::OpContext;

fn tags(owner: &OwnerTags, name: &str) -> Vec<Tag> {
    let mut t: Vec<Tag> = owner
        .pairs()
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect();
    t.push(Tag::builder().key("Name").value(name).build());
    t
}

fn ports(inputs: &Attrs) -> Vec<i32> {
    let mut p: Vec<i32> = inputs
        .get("ports")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_i64)
                .filter_map(|v| i32::try_from(v).ok())
                .collect()
        })
        .unwrap_or_default();
    p.sort_unstable();
    p.dedup();
    p
}

fn permission(port: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

async fn default_vpc(c: &Clients) -> Result<String, ProviderError> {
    let out = c
        .ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .map_err(|e| errors::sdk("DescribeVpcs", "default", e))?;
    out.vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_string)
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "region {} has no default VPC for compute resources",
                c.region
            ))
            .with_hint("create one with `aws ec2 create-default-vpc`")
        })
}

/// Create the security group and open its ports.
pub async fn create_sg(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    if let Some(found) = adopt_sg(c, inputs, owner).await? {
        return update_sg(c, &found.id, &found.inputs, inputs).await;
    }
    let name = s(inputs, "name")?;
    let vpc = default_vpc(c).await?;
    let out = c
        .ec2
        .create_security_group()
        .group_name(name)
        .description(s(inputs, "description")?)
        .vpc_id(vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(tags(owner, name)))
                .build(),
        )
        .send()
        .await
        .map_err(|e| errors::sdk("CreateSecurityGroup", name, e))?;
    let id = out
        .group_id()
        .ok_or_else(|| ProviderError::fatal("CreateSecurityGroup returned no id"))?
        .to_string();
    update_sg(c, &id, &Attrs::new(), inputs).await
}

/// Open and close ports to match.
pub async fn update_sg(
    c: &Clients,
    id: &str,
    prior: &Attrs,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let (before, after) = (ports(prior), ports(inputs));
    let add: Vec<IpPermission> = after
        .iter()
        .filter(|p| !before.contains(p))
        .map(|p| permission(*p))
        .collect();
    let remove: Vec<IpPermission> = before
        .iter()
        .filter(|p| !after.contains(p))
        .map(|p| permission(*p))
        .collect();
    if !add.is_empty() {
        let r = c
            .ec2
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(add))
            .send()
            .await;
        if let Err(e) = r
            && errors::code(&e) != Some("InvalidPermission.Duplicate")
        {
            return Err(errors::sdk("AuthorizeSecurityGroupIngress", id, e));
        }
    }
    if !remove.is_empty() {
        let r = c
            .ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(remove))
            .send()
            .await;
        if let Err(e) = r
            && errors::code(&e) != Some("InvalidPermission.NotFound")
        {
            return Err(errors::sdk("RevokeSecurityGroupIngress", id, e));
        }
    }
    read_sg(c, id)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("security group `{id}` not visible yet")))
}

fn sg_observed(g: &aws_sdk_ec2::types::SecurityGroup) -> Observed {
    let mut open: Vec<i32> = g
        .ip_permissions()
        .iter()
        .filter(|p| p.ip_protocol() == Some("tcp") && p.from_port() == p.to_port())
        .filter(|p| {
            p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
        })
        .filter_map(|p| p.from_port())
        .collect();
    open.sort_unstable();
    open.dedup();
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(g.group_name()));
    inputs.insert("description".into(), json!(g.description()));
    inputs.insert("ports".into(), json!(open));
    let mut outputs = Attrs::new();
    outputs.insert("id".into(), json!(g.group_id()));
    outputs.insert("vpc_id".into(), json!(g.vpc_id()));
    Observed::new(
        g.group_id().unwrap_or_default().to_string(),
        inputs,
        outputs,
    )
}

/// Read a security group by id.
pub async fn read_sg(c: &Clients, id: &str) -> Result<Option<Observed>, ProviderError> {
    match c.ec2.describe_security_groups().group_ids(id).send().await {
        Ok(out) => Ok(out.security_groups().first().map(sg_observed)),
        Err(e) => errors::gone_as(errors::sdk("DescribeSecurityGroups", id, e), None),
    }
}

fn owner_filters(owner: &OwnerTags) -> Vec<Filter> {
    owner
        .pairs()
        .iter()
        .map(|(k, v)| {
            Filter::builder()
                .name(format!("tag:{k}"))
                .values(*v)
                .build()
        })
        .collect()
}

/// The group with the owner tags, if any.
pub async fn adopt_sg(
    c: &Clients,
    _inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let out = c
        .ec2
        .describe_security_groups()
        .set_filters(Some(owner_filters(owner)))
        .send()
        .await
        .map_err(|e| errors::sdk("DescribeSecurityGroups", &owner.resource, e))?;
    Ok(out.security_groups().first().map(sg_observed))
}

/// Delete a security group. A group something still uses is a conflict naming the users:
/// network interfaces (instances) that use it are found first, since an emulator may not
/// refuse; another group's rule that references it makes AWS answer DependencyViolation.
/// Its own rules that reference other groups are revoked first, so two groups that
/// reference each other can both go.
pub async fn delete_sg(c: &Clients, id: &str) -> Result<(), ProviderError> {
    let users = match interfaces_using(c, id).await {
        Ok(u) => u,
        Err(e) => return errors::gone_is_ok(e),
    };
    if !users.is_empty() {
        return Err(ProviderError::new(
            overcast_core::ErrorClass::Conflict,
            format!("security group `{id}` is in use by {}", users.join(", ")),
        ));
    }
    if !revoke_group_references(c, id).await? {
        return Ok(());
    }
    match c.ec2.delete_security_group().group_id(id).send().await {
        Ok(_) => Ok(()),
        Err(e) => errors::gone_is_ok(errors::sdk("DeleteSecurityGroup", id, e)),
    }
}

/// The network interfaces that use a group, as `eni-… (instance i-…)`, but those of
/// terminated instances (AWS deletes them with the instance; moto keeps them listed).
async fn interfaces_using(c: &Clients, id: &str) -> Result<Vec<String>, ProviderError> {
    let out = c
        .ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(id).build())
        .send()
        .await
        .map_err(|e| errors::sdk("DescribeNetworkInterfaces", id, e))?;
    let enis = out.network_interfaces();
    let instances: Vec<String> = enis
        .iter()
        .filter_map(|n| n.attachment().and_then(|a| a.instance_id()))
        .map(str::to_string)
        .collect();
    let mut live = std::collections::BTreeSet::new();
    if !instances.is_empty() {
        match c
            .ec2
            .describe_instances()
            .set_instance_ids(Some(instances))
            .send()
            .await
        {
            Ok(out) => live.extend(
                out.reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .filter(|i| {
                        i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated)
                    })
                    .filter_map(|i| i.instance_id().map(str::to_string)),
            ),
            Err(e) => {
                // Some of them are gone already: then none of them blocks.
                errors::gone_is_ok(errors::sdk("DescribeInstances", id, e))?;
            }
        }
    }
    Ok(enis
        .iter()
        .filter_map(|n| {
            let eni = n.network_interface_id().unwrap_or("an interface");
            match n.attachment().and_then(|a| a.instance_id()) {
                Some(i) if live.contains(i) => Some(format!("{eni} (instance {i})")),
                Some(_) => None,
                None => Some(eni.to_string()),
            }
        })
        .collect())
}

/// Revoke a group's ingress and egress rules that reference other groups. `Ok(false)`:
/// the group is gone. A rule whose referenced group is gone already is left to go with
/// the group.
async fn revoke_group_references(c: &Clients, id: &str) -> Result<bool, ProviderError> {
    let out = match c.ec2.describe_security_groups().group_ids(id).send().await {
        Ok(out) => out,
        Err(e) => return errors::gone_as(errors::sdk("DescribeSecurityGroups", id, e), false),
    };
    let Some(g) = out.security_groups().first() else {
        return Ok(false);
    };
    let referencing = |perms: &[IpPermission]| -> Vec<IpPermission> {
        perms
            .iter()
            .filter(|p| !p.user_id_group_pairs().is_empty())
            .map(|p| {
                IpPermission::builder()
                    .set_ip_protocol(p.ip_protocol().map(str::to_string))
                    .set_from_port(p.from_port())
                    .set_to_port(p.to_port())
                    .set_user_id_group_pairs(Some(p.user_id_group_pairs().to_vec()))
                    .build()
            })
            .collect()
    };
    let ingress = referencing(g.ip_permissions());
    if !ingress.is_empty() {
        c.ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(ingress))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("RevokeSecurityGroupIngress", id, e))
            .or_else(errors::gone_is_ok)?;
    }
    let egress = referencing(g.ip_permissions_egress());
    if !egress.is_empty() {
        c.ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(egress))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| errors::sdk("RevokeSecurityGroupEgress", id, e))
            .or_else(errors::gone_is_ok)?;
    }
    Ok(true)
}

/// The AMI for an image: an explicit id, or the newest image matching the catalog query.
async fn resolve_ami(c: &Clients, image: &str) -> Result<String, ProviderError> {
    if image.starts_with("ami-") {
        return Ok(image.to_string());
    }
    let q = catalog::ami_query(image)
        .ok_or_else(|| ProviderError::invalid(format!("image `{image}` is not in the catalog")))?;
    let out = c
        .ec2
        .describe_images()
        .owners(q.owner)
        .filters(Filter::builder().name("name").values(q.name).build())
        .filters(Filter::builder().name("state").values("available").build())
        .send()
        .await
        .map_err(|e| errors::sdk("DescribeImages", image, e))?;
    let newest = out
        .images()
        .iter()
        .filter(|i| i.image_id().is_some())
        .max_by(|a, b| a.creation_date().cmp(&b.creation_date()));
    newest
        .and_then(|i| i.image_id())
        .map(str::to_string)
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "no AMI named `{}` owned by {} in {}",
                q.name, q.owner, c.region
            ))
        })
}

/// Launch one instance (or take over the one a retried create launched).
pub async fn create_instance(
    ctx: &OpContext,
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    if let Some(found) = adopt_instance(c, inputs, owner).await? {
        return Ok(found);
    }
    let name = s(inputs, "name")?;
    let ami = resolve_ami(c, s(inputs, "image")?).await?;
    let user_data = base64::engine::general_purpose::STANDARD.encode(s(inputs, "user_data")?);
    let out = c
        .ec2
        .run_instances()
        .image_id(&ami)
        .instance_type(InstanceType::from(s(inputs, "instance_type")?))
        .min_count(1)
        .max_count(1)
        // EC2 deduplicates launches with the same token: a retried RunInstances whose
        // first answer was lost returns the first instance instead of a second one.
        .client_token(ctx.key_of_len(64))
        .security_group_ids(s(inputs, "security_group_id")?)
        .user_data(user_data)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(tags(owner, name)))
                .build(),
        )
        .send()
        .await
        .map_err(|e| errors::sdk("RunInstances", name, e))?;
    let id = out
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .ok_or_else(|| ProviderError::fatal("RunInstances returned no instance"))?
        .to_string();
    let mut prior = Attrs::new();
    prior.insert("ami_id".into(), json!(ami));
    read_instance(c, &id, inputs, &prior)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("instance `{id}` not visible yet")))
}

async fn describe(
    c: &Clients,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::Instance>, ProviderError> {
    match c.ec2.describe_instances().instance_ids(id).send().await {
        Ok(out) => Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .cloned()),
        Err(e) => errors::gone_as(errors::sdk("DescribeInstances", id, e), None),
    }
}

fn gone(i: &aws_sdk_ec2::types::Instance) -> bool {
    matches!(
        i.state().and_then(|s| s.name()),
        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
    )
}

/// Read an instance. `prior` inputs give what AWS does not keep (the catalog image name,
/// the index); `prior_out` the AMI the image resolved to.
pub async fn read_instance(
    c: &Clients,
    id: &str,
    prior: &Attrs,
    prior_out: &Attrs,
) -> Result<Option<Observed>, ProviderError> {
    let Some(i) = describe(c, id).await?.filter(|i| !gone(i)) else {
        return Ok(None);
    };
    let user_data = match c
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
    {
        Ok(out) => out
            .user_data()
            .and_then(|u| u.value())
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
        Err(e) => return Err(errors::sdk("DescribeInstanceAttribute", id, e)),
    };
    let ami = i.image_id().unwrap_or_default();
    // The spec names a catalog image; AWS knows only the AMI. Same AMI as launched: the
    // image is what was asked for.
    let image = match prior_out.get("ami_id").and_then(Value::as_str) {
        Some(a) if a == ami => prior.get("image").cloned().unwrap_or(json!(ami)),
        _ => json!(ami),
    };
    let name = i
        .tags()
        .iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value());
    let address = i
        .public_ip_address()
        .or(i.private_ip_address())
        .unwrap_or_default();
    let dns = i
        .public_dns_name()
        .filter(|d| !d.is_empty())
        .or(i.private_dns_name())
        .unwrap_or_default();
    let mut inputs = Attrs::new();
    inputs.insert(
        "index".into(),
        prior.get("index").cloned().unwrap_or(Value::Null),
    );
    inputs.insert("name".into(), json!(name));
    inputs.insert("image".into(), image);
    inputs.insert(
        "instance_type".into(),
        json!(i.instance_type().map(|t| t.as_str())),
    );
    inputs.insert("user_data".into(), json!(user_data));
    inputs.insert(
        "ports".into(),
        prior.get("ports").cloned().unwrap_or(json!([])),
    );
    inputs.insert(
        "security_group_id".into(),
        json!(i.security_groups().first().and_then(|g| g.group_id())),
    );
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("ami_id".into(), json!(ami));
    outputs.insert("address".into(), json!(address));
    outputs.insert("private_ip".into(), json!(i.private_ip_address()));
    outputs.insert("public_dns".into(), json!(dns));
    outputs.insert(
        "state".into(),
        json!(i.state().and_then(|s| s.name()).map(|n| n.as_str())),
    );
    if let Some(port) = ports(prior).first() {
        outputs.insert("url".into(), json!(format!("http://{address}:{port}")));
    }
    let status = match i.state().and_then(|s| s.name()) {
        Some(InstanceStateName::Pending) => LiveStatus::Provisioning("pending".into()),
        Some(InstanceStateName::ShuttingDown) => LiveStatus::Deleting,
        _ => LiveStatus::Ready,
    };
    Ok(Some(
        Observed::new(id.to_string(), inputs, outputs).with_status(status),
    ))
}

async fn wait_state(
    ctx: &OpContext,
    c: &Clients,
    id: &str,
    want: InstanceStateName,
) -> Result<(), ProviderError> {
    wait_for(
        ctx,
        &format!("instance `{id}` to be {}", want.as_str()),
        &format!("waiting until {}", want.as_str()),
        || async {
            let i = describe(c, id).await?;
            Ok(
                i.filter(|i| i.state().and_then(|s| s.name()) == Some(&want))
                    .map(|_| ()),
            )
        },
    )
    .await
}

/// Apply type, user data, security group and name in place.
pub async fn update_instance(
    ctx: &OpContext,
    c: &Clients,
    id: &str,
    prior: &Attrs,
    inputs: &Attrs,
    prior_out: &Attrs,
) -> Result<Observed, ProviderError> {
    let changed = |k: &str| prior.get(k) != inputs.get(k);
    if changed("instance_type") || changed("user_data") {
        // Both can only change on a stopped instance.
        c.ec2
            .stop_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| errors::sdk("StopInstances", id, e))?;
        wait_state(ctx, c, id, InstanceStateName::Stopped).await?;
        if changed("instance_type") {
            c.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .instance_type(
                    AttributeValue::builder()
                        .value(s(inputs, "instance_type")?)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| errors::sdk("ModifyInstanceAttribute", id, e))?;
        }
        if changed("user_data") {
            c.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .user_data(
                    BlobAttributeValue::builder()
                        .value(Blob::new(s(inputs, "user_data")?.as_bytes()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| errors::sdk("ModifyInstanceAttribute", id, e))?;
        }
        c.ec2
            .start_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| errors::sdk("StartInstances", id, e))?;
        wait_state(ctx, c, id, InstanceStateName::Running).await?;
    }
    if changed("security_group_id") {
        c.ec2
            .modify_instance_attribute()
            .instance_id(id)
            .groups(s(inputs, "security_group_id")?)
            .send()
            .await
            .map_err(|e| errors::sdk("ModifyInstanceAttribute", id, e))?;
    }
    if changed("name") {
        c.ec2
            .create_tags()
            .resources(id)
            .tags(Tag::builder().key("Name").value(s(inputs, "name")?).build())
            .send()
            .await
            .map_err(|e| errors::sdk("CreateTags", id, e))?;
    }
    read_instance(c, id, inputs, prior_out)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("instance `{id}` is gone")))
}

/// The live instance with the owner tags, if any.
pub async fn adopt_instance(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Option<Observed>, ProviderError> {
    let mut filters = owner_filters(owner);
    filters.push(
        Filter::builder()
            .name("instance-state-name")
            .values("pending")
            .values("running")
            .values("stopping")
            .values("stopped")
            .build(),
    );
    let out = c
        .ec2
        .describe_instances()
        .set_filters(Some(filters))
        .send()
        .await
        .map_err(|e| errors::sdk("DescribeInstances", &owner.resource, e))?;
    let Some(i) = out.reservations().iter().flat_map(|r| r.instances()).next() else {
        return Ok(None);
    };
    let id = i.instance_id().unwrap_or_default().to_string();
    let mut prior_out = Attrs::new();
    // Adopted right after launch: the AMI it runs is the one the image resolved to.
    prior_out.insert("ami_id".into(), json!(i.image_id()));
    read_instance(c, &id, inputs, &prior_out).await
}

/// Terminate and wait until terminated, so the security group can go next.
pub async fn delete_instance(ctx: &OpContext, c: &Clients, id: &str) -> Result<(), ProviderError> {
    if let Err(e) = c.ec2.terminate_instances().instance_ids(id).send().await {
        return errors::gone_is_ok(errors::sdk("TerminateInstances", id, e));
    }
    wait_for(
        ctx,
        &format!("instance `{id}` to terminate"),
        "shutting-down",
        || async {
            Ok(describe(c, id)
                .await?
                .filter(|i| {
                    i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated)
                })
                .is_none()
                .then_some(()))
        },
    )
    .await
}
