//! `expand`: an abstract resource into Azure natives. Pure: names derive from the
//! subscription, stack, target and resource (see [`crate::names`]), tiers from the catalog.
//!
//! | kind | natives |
//! |---|---|
//! | storage | `azure_storage_account` (tier, versioning, lifecycle policy, public access) + `azure_storage_container` (with `content`, the directory's files as its blobs) |
//! | queue | `azure_servicebus_namespace` (Standard tier, tagged) + `azure_servicebus_queue` |
//! | database | `azure_database_server` (PostgreSQL or MySQL flexible server; one more per read replica) + `azure_database` |
//! | compute | `azure_network_security_group` + per instance `azure_public_ip` (with ports), `azure_network_interface`, `azure_virtual_machine` (see [`crate::compute`]) |
//! | cdn | `azure_cdn_profile` (Front Door Standard, with the cache rule) + `azure_cdn_endpoint` + `azure_cdn_origin_group` + `azure_cdn_origin` + `azure_cdn_route` |
//! | function | `azure_storage_account` + `azure_storage_container` (its packages) + `azure_function_plan` (Linux Consumption) + `azure_function_app` (see [`crate::function`]) |
//!
//! Target-wide natives: `@<target>.group` (the resource group, unless the target names
//! one), `@<target>.network` (`azure_virtual_network`, when the target has a compute
//! resource).

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::kinds::{LifecycleRule, Properties, QueueProps, StorageClass, StorageProps};
use overcast_core::{AbstractResource, Attrs, NativeSpec, ProviderError};
use serde_json::{Value, json};

use crate::names;

/// The native types of this provider.
pub mod types {
    /// A resource group (the target's own).
    pub const GROUP: &str = "azure_resource_group";
    /// A storage account.
    pub const STORAGE_ACCOUNT: &str = "azure_storage_account";
    /// A blob container (and its content).
    pub const CONTAINER: &str = "azure_storage_container";
    /// A Service Bus namespace (the target's own).
    pub const SERVICEBUS_NAMESPACE: &str = "azure_servicebus_namespace";
    /// A Service Bus queue.
    pub const SERVICEBUS_QUEUE: &str = "azure_servicebus_queue";
    /// A PostgreSQL or MySQL flexible server (a primary or a read replica).
    pub const DB_SERVER: &str = "azure_database_server";
    /// A database in a flexible server.
    pub const DB_DATABASE: &str = "azure_database";
    /// The target's virtual network (compute).
    pub const VNET: &str = "azure_virtual_network";
    /// A compute resource's network security group.
    pub const NSG: &str = "azure_network_security_group";
    /// An instance's public IP address.
    pub const PUBLIC_IP: &str = "azure_public_ip";
    /// An instance's network interface.
    pub const NIC: &str = "azure_network_interface";
    /// An instance: a virtual machine.
    pub const VM: &str = "azure_virtual_machine";
    /// A Front Door profile (and the rule set and rule of its cache duration).
    pub const CDN_PROFILE: &str = "azure_cdn_profile";
    /// A Front Door endpoint.
    pub const CDN_ENDPOINT: &str = "azure_cdn_endpoint";
    /// A Front Door origin group.
    pub const CDN_ORIGIN_GROUP: &str = "azure_cdn_origin_group";
    /// A Front Door origin.
    pub const CDN_ORIGIN: &str = "azure_cdn_origin";
    /// A Front Door route.
    pub const CDN_ROUTE: &str = "azure_cdn_route";
    /// A function's App Service plan (Linux Consumption).
    pub const FUNCTION_PLAN: &str = "azure_function_plan";
    /// A function app.
    pub const FUNCTION_APP: &str = "azure_function_app";
    /// Every type, in registration order.
    pub const ALL: &[&str] = &[
        GROUP,
        STORAGE_ACCOUNT,
        CONTAINER,
        SERVICEBUS_NAMESPACE,
        SERVICEBUS_QUEUE,
        DB_SERVER,
        DB_DATABASE,
        VNET,
        NSG,
        PUBLIC_IP,
        NIC,
        VM,
        CDN_PROFILE,
        CDN_ENDPOINT,
        CDN_ORIGIN_GROUP,
        CDN_ORIGIN,
        CDN_ROUTE,
        FUNCTION_PLAN,
        FUNCTION_APP,
    ];
}

/// The local names of the target-wide natives.
pub mod locals {
    /// `@<target>.group`.
    pub const GROUP: &str = "group";
}

/// What `expand` needs to know about the target.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// Subscription (part of globally unique names); empty when not known yet.
    pub subscription: &'a str,
    /// Stack name.
    pub stack: &'a str,
    /// Target name.
    pub target: &'a str,
    /// Location of every resource.
    pub location: &'a str,
}

impl Ctx<'_> {
    /// A name of `[a-z0-9-]`, at most `max` long (containers, queues).
    pub(crate) fn name(&self, resource: &str, local: &str, max: usize) -> String {
        overcast_core::names::name(self.stack, self.target, resource, local, max)
    }

    /// The Service Bus namespace of a queue resource.
    pub fn namespace(&self, resource: &str) -> String {
        names::servicebus_namespace(self.subscription, self.stack, self.target, resource)
    }
}

/// Expand one abstract resource into its natives.
pub fn expand(ctx: &Ctx<'_>, res: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
    match &res.properties {
        Properties::Storage(p) => storage(ctx, &res.name, p),
        Properties::Queue(p) => Ok(queue(ctx, &res.name, p)),
        Properties::Database(p) => crate::database::expand(ctx, &res.name, p),
        Properties::Compute(p) => crate::compute::expand::expand(ctx, &res.name, p),
        Properties::Cdn(p) => crate::cdn::expand(ctx, &res.name, p, &res.referenced_kinds),
        Properties::Function(p) => crate::function::expand::expand(ctx, res, p),
    }
}

/// The target's resource group native.
pub fn group(stack: &str, target: &str, location: &str) -> NativeSpec {
    NativeSpec::new(
        locals::GROUP,
        types::GROUP,
        attrs(json!({"name": names::group(stack, target), "location": location})),
    )
    .force_new(&["name", "location"])
}

/// A lifecycle rule as the account native holds it (and as `read` reports it): tiers in
/// Azure's names.
fn native_rules(p: &StorageProps) -> Vec<Value> {
    let mut out: Vec<Value> = p
        .lifecycle
        .iter()
        .map(|r: &LifecycleRule| {
            json!({
                "prefix": r.prefix,
                "transition_after_days": r.transition_after_days,
                "to_tier": r.to_class.map(|c| catalog().storage_class(Cloud::Azure, c).native.clone()),
                "expire_after_days": r.expire_after_days,
            })
        })
        .collect();
    // An account's default tier is Hot or Cool: archive means Cool plus a rule that moves
    // every blob to Archive as soon as it is written.
    if p.class == StorageClass::Archive {
        out.push(json!({
            "prefix": null,
            "transition_after_days": 0,
            "to_tier": "Archive",
            "expire_after_days": null,
        }));
    }
    out
}

fn storage(ctx: &Ctx<'_>, name: &str, p: &StorageProps) -> Result<Vec<NativeSpec>, ProviderError> {
    for r in &p.lifecycle {
        if r.transition_after_days.is_some() != r.to_class.is_some() {
            return Err(ProviderError::invalid(format!(
                "storage `{name}`: a lifecycle rule needs both `transition_after_days` and `to_class`, or neither"
            )));
        }
    }
    let account = names::storage_account(ctx.subscription, ctx.stack, ctx.target, name);
    let container = ctx.name(name, "", 63);
    let tier = match p.class {
        StorageClass::Archive => "Cool".to_string(),
        c => catalog().storage_class(Cloud::Azure, c).native.clone(),
    };
    Ok(vec![
        NativeSpec::new(
            "account",
            types::STORAGE_ACCOUNT,
            attrs(json!({
                "name": account,
                "location": ctx.location,
                "access_tier": tier,
                "public": p.public,
                "versioning": p.versioning,
                // Rules name blobs by `<container>/<prefix>`.
                "container": container,
                "lifecycle": native_rules(p),
            })),
        )
        // An account cannot be renamed or moved.
        .force_new(&["name", "location"]),
        NativeSpec::new(
            "container",
            types::CONTAINER,
            attrs(json!({
                "name": container,
                "account": account,
                "public": p.public,
                "content": p.content,
                "content_in_sync": p.content.as_ref().map(|_| true),
            })),
        )
        .after("account")
        .force_new(&["name", "account"]),
    ])
}

fn iso_seconds(s: u64) -> String {
    format!("PT{s}S")
}

fn queue(ctx: &Ctx<'_>, name: &str, p: &QueueProps) -> Vec<NativeSpec> {
    let q = catalog().queue(Cloud::Azure);
    let lock = p
        .visibility_timeout
        .0
        .clamp(q.visibility_min_s, q.visibility_max_s.unwrap_or(300));
    let ttl = p.retention.0.max(q.retention_min_s);
    // Without a dead-letter policy a message is never moved by its delivery count
    // (Service Bus's default would dead-letter it after 10).
    let max_delivery = p.dead_letter.map_or(q.max_receives_max, |d| {
        d.max_receives.clamp(q.max_receives_min, q.max_receives_max)
    });
    let namespace = ctx.namespace(name);
    vec![
        // Its own namespace, tagged with its owner (queues take no tags): Standard tier,
        // the lowest with sessions and duplicate detection (what `ordered` needs).
        NativeSpec::new(
            "namespace",
            types::SERVICEBUS_NAMESPACE,
            attrs(json!({"name": namespace, "location": ctx.location, "sku": "Standard"})),
        )
        .force_new(&["name", "location"]),
        NativeSpec::new(
            "queue",
            types::SERVICEBUS_QUEUE,
            attrs(json!({
                "name": ctx.name(name, "", 260),
                "namespace": namespace,
                "sessions": p.ordered,
                "duplicate_detection": p.ordered,
                "lock_duration": iso_seconds(lock),
                "message_ttl": iso_seconds(ttl),
                "max_delivery_count": max_delivery,
                "dead_letter_on_expiration": p.dead_letter.is_some(),
            })),
        )
        .after("namespace")
        // Service Bus fixes sessions and duplicate detection at creation.
        .force_new(&["name", "namespace", "sessions", "duplicate_detection"]),
    ]
}

pub(crate) fn attrs(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::Kind;
    use std::collections::BTreeMap;

    fn res(name: &str, kind: Kind, props: Value) -> AbstractResource {
        AbstractResource {
            name: name.into(),
            properties: Properties::from_value(kind, props).expect("valid properties"),
            referenced_kinds: BTreeMap::new(),
        }
    }

    fn run(r: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        expand(
            &Ctx {
                subscription: "sub",
                stack: "shop",
                target: "azure",
                location: "westeurope",
            },
            r,
        )
    }

    #[test]
    fn storage_is_an_account_and_a_container_with_tiers_from_the_catalog() {
        let n = run(&res(
            "site",
            Kind::Storage,
            json!({"class": "infrequent", "versioning": true, "content": "public"}),
        ))
        .expect("expand");
        assert_eq!(n[0].type_name, types::STORAGE_ACCOUNT);
        assert_eq!(n[0].inputs["access_tier"], "Cool");
        assert_eq!(n[0].inputs["versioning"], true);
        assert_eq!(n[1].type_name, types::CONTAINER);
        assert_eq!(n[1].inputs["account"], n[0].inputs["name"]);
        assert_eq!(n[1].inputs["content_in_sync"], true);
        let n = run(&res("cold", Kind::Storage, json!({"class": "archive"}))).expect("expand");
        assert_eq!(n[0].inputs["access_tier"], "Cool");
        assert_eq!(n[0].inputs["lifecycle"][0]["to_tier"], "Archive");
    }

    #[test]
    fn an_ordered_queue_has_sessions_and_bounds_from_the_catalog() {
        let n = run(&res(
            "jobs",
            Kind::Queue,
            json!({"ordered": true, "visibility_timeout": 900, "dead_letter": {"max_receives": 3}}),
        ))
        .expect("expand");
        assert_eq!(n[0].type_name, types::SERVICEBUS_NAMESPACE);
        let q = &n[1].inputs;
        assert_eq!(q["namespace"], n[0].inputs["name"]);
        assert_eq!(q["sessions"], true);
        assert_eq!(q["lock_duration"], "PT300S");
        assert_eq!(q["max_delivery_count"], 3);
        assert_eq!(q["dead_letter_on_expiration"], true);
    }
}
