//! Which discovered resource uses which (`Provider::link_discovered`), so that `nuke`
//! deletes users before what they use.
//!
//! From the ids alone: every resource uses its resource group (groups go last, and a
//! group's delete refuses while anything is left in it), a nested resource (a Front Door
//! endpoint) its parent. From one list per resource type found (never one read per
//! resource, except where ARM keeps the link only under the resource): a machine uses its
//! NICs; a NIC its security group, public IPs and network (through its subnets); a network
//! the security groups of its subnets; a function app its plan (`serverFarmId`) and the
//! storage account of its `AzureWebJobsStorage` setting (one `appsettings/list` per app); a
//! read replica its primary (`sourceServerResourceId`); a Front Door profile the storage
//! account, public IP or app its origins fetch from (by host name or address: one list of
//! origin groups per profile and of origins per group).
//!
//! ARM ids compare case-insensitively (Front Door and App Service write them in lower
//! case): edges are matched on lower-cased ids and recorded with the id discovery gave.
//! An edge to something discovery did not return (filtered out, another group) is dropped.

use std::collections::{BTreeMap, BTreeSet};

use overcast_core::ProviderError;
use overcast_core::discovery::DiscoveredResource;
use serde_json::Value;

use crate::config::Clients;
use crate::{cdn, compute, database, function, storage};

/// Edges found so far: user (lower-cased id) -> used (lower-cased ids).
type Edges = BTreeMap<String, BTreeSet<String>>;

/// Fill `uses` of `found`.
pub async fn link(c: &Clients, found: &mut [DiscoveredResource]) -> Result<(), ProviderError> {
    let by_id: BTreeMap<String, String> = found
        .iter()
        .map(|r| (r.arn.to_ascii_lowercase(), r.arn.clone()))
        .collect();
    let has = |ty: &str| {
        found
            .iter()
            .any(|r| r.resource_type.eq_ignore_ascii_case(ty))
    };
    let mut edges = Edges::new();
    for r in found.iter() {
        let user = r.arn.to_ascii_lowercase();
        if let Some(group) = group_of(&r.arn) {
            edges.entry(user.clone()).or_default().insert(group);
        }
        if let Some(parent) = parent_of(&r.arn) {
            edges.entry(user).or_default().insert(parent);
        }
    }
    if has(compute::VM_TYPE) {
        for vm in list(c, compute::VM_TYPE, compute::COMPUTE_API).await? {
            for nic in ids_at(&vm, "/properties/networkProfile/networkInterfaces", "/id") {
                add(&mut edges, &vm, &nic);
            }
        }
    }
    if has(compute::NIC_TYPE) {
        for nic in list(c, compute::NIC_TYPE, compute::NETWORK_API).await? {
            if let Some(nsg) = str_at(&nic, "/properties/networkSecurityGroup/id") {
                add(&mut edges, &nic, nsg);
            }
            let configs = nic
                .pointer("/properties/ipConfigurations")
                .and_then(Value::as_array);
            for ip in configs.into_iter().flatten() {
                if let Some(pip) = str_at(ip, "/properties/publicIPAddress/id") {
                    add(&mut edges, &nic, pip);
                }
                if let Some(subnet) = str_at(ip, "/properties/subnet/id") {
                    add(&mut edges, &nic, network_of_subnet(subnet));
                }
            }
        }
    }
    if has(compute::VNET_TYPE) {
        for vnet in list(c, compute::VNET_TYPE, compute::NETWORK_API).await? {
            for nsg in ids_at(
                &vnet,
                "/properties/subnets",
                "/properties/networkSecurityGroup/id",
            ) {
                add(&mut edges, &vnet, &nsg);
            }
        }
    }
    for (ty, api) in [
        (database::POSTGRES_TYPE, database::POSTGRES_API),
        (database::MYSQL_TYPE, database::MYSQL_API),
    ] {
        if has(ty) {
            for server in list(c, ty, api).await? {
                if let Some(primary) = str_at(&server, "/properties/sourceServerResourceId") {
                    add(&mut edges, &server, primary);
                }
            }
        }
    }
    // Host names of what a Front Door origin or a function app can point at.
    let accounts: BTreeMap<String, String> = found
        .iter()
        .filter(|r| r.resource_type.eq_ignore_ascii_case(storage::ACCOUNT_TYPE))
        .filter_map(|r| {
            Some((
                crate::ids::parse(&r.arn)?.name.to_ascii_lowercase(),
                r.arn.clone(),
            ))
        })
        .collect();
    let mut hosts: BTreeMap<String, String> = BTreeMap::new();
    if has(function::SITE_TYPE) {
        for site in list(c, function::SITE_TYPE, function::API).await? {
            let Some(id) = str_at(&site, "/id") else {
                continue;
            };
            if let Some(plan) = str_at(&site, "/properties/serverFarmId") {
                add(&mut edges, &site, plan);
            }
            if let Some(host) = str_at(&site, "/properties/defaultHostName") {
                hosts.insert(host.to_ascii_lowercase(), id.to_string());
            }
            let account = site_account(c, id).await?;
            if let Some(account_id) = account.and_then(|a| accounts.get(&a.to_ascii_lowercase())) {
                add(&mut edges, &site, account_id);
            }
        }
    }
    if has(cdn::PROFILE_TYPE) {
        if has(compute::PUBLIC_IP_TYPE) {
            for ip in list(c, compute::PUBLIC_IP_TYPE, compute::NETWORK_API).await? {
                if let (Some(id), Some(addr)) =
                    (str_at(&ip, "/id"), str_at(&ip, "/properties/ipAddress"))
                {
                    hosts.insert(addr.to_string(), id.to_string());
                }
            }
        }
        for profile in found
            .iter()
            .filter(|r| r.resource_type.eq_ignore_ascii_case(cdn::PROFILE_TYPE))
        {
            for host in origin_hosts(c, &profile.arn).await? {
                let host = host.to_ascii_lowercase();
                let used = hosts.get(&host).or_else(|| {
                    // `<account>.blob.core.windows.net`, `<account>.z6.web.core.windows.net`...
                    let first = host.split('.').next()?;
                    host.ends_with(".core.windows.net")
                        .then(|| accounts.get(first))
                        .flatten()
                });
                if let Some(used) = used {
                    edges
                        .entry(profile.arn.to_ascii_lowercase())
                        .or_default()
                        .insert(used.to_ascii_lowercase());
                }
            }
        }
    }
    for r in found.iter_mut() {
        for used in edges.get(&r.arn.to_ascii_lowercase()).into_iter().flatten() {
            if let Some(arn) = by_id.get(used) {
                r.add_use(arn.clone());
            }
        }
    }
    Ok(())
}

/// Record that `user` (an ARM resource as listed) uses the resource at `used`.
fn add(edges: &mut Edges, user: &Value, used: &str) {
    if let Some(id) = str_at(user, "/id") {
        edges
            .entry(id.to_ascii_lowercase())
            .or_default()
            .insert(used.to_ascii_lowercase());
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The strings at `field` of each element of the array at `array`.
fn ids_at(v: &Value, array: &str, field: &str) -> Vec<String> {
    v.pointer(array)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| str_at(e, field).map(str::to_string))
        .collect()
}

/// The lower-cased id of the resource group a resource lives in (`None` for a group).
fn group_of(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.trim_matches('/').split('/').collect();
    (segs.len() > 4 && segs[2].eq_ignore_ascii_case("resourceGroups"))
        .then(|| format!("/{}", segs[..4].join("/")).to_ascii_lowercase())
}

/// The lower-cased id of a nested resource's parent (`None` for a top-level resource).
fn parent_of(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.trim_matches('/').split('/').collect();
    (segs.len() >= 10 && segs.len().is_multiple_of(2))
        .then(|| format!("/{}", segs[..segs.len() - 2].join("/")).to_ascii_lowercase())
}

/// The network a subnet id names (`.../virtualNetworks/v/subnets/s` -> `.../virtualNetworks/v`).
fn network_of_subnet(subnet: &str) -> &str {
    match subnet.to_ascii_lowercase().rfind("/subnets/") {
        Some(i) => &subnet[..i],
        None => subnet,
    }
}

/// Every resource of an ARM type in the discovery's scope (the target's group, else the
/// subscription), one paged list.
async fn list(c: &Clients, arm_type: &str, api: &str) -> Result<Vec<Value>, ProviderError> {
    let scope = match &c.settings.resource_group {
        Some(_) => c.group_id(),
        None => format!("/subscriptions/{}", c.subscription),
    };
    c.arm
        .list(c.arm.url(&format!("{scope}/providers/{arm_type}"), api)?)
        .await
}

/// The storage account a function app's `AzureWebJobsStorage` names (gone: none).
async fn site_account(c: &Clients, site: &str) -> Result<Option<String>, ProviderError> {
    let listed: Result<Value, ProviderError> = c
        .arm
        .post(
            &format!("{site}/config/appsettings/list"),
            function::API,
            None,
        )
        .await;
    let settings = overcast_core::error::gone_as(listed.map(Some), None)?;
    Ok(settings
        .as_ref()
        .and_then(|s| str_at(s, "/properties/AzureWebJobsStorage"))
        .and_then(|conn| function::app::connection_field(conn, "AccountName"))
        .map(str::to_string))
}

/// The host names the origins of a Front Door profile fetch from (gone: none).
async fn origin_hosts(c: &Clients, profile: &str) -> Result<Vec<String>, ProviderError> {
    let groups = c
        .arm
        .list(c.arm.url(&format!("{profile}/originGroups"), cdn::API)?)
        .await;
    let Some(groups) = overcast_core::error::gone_as(groups.map(Some), None)? else {
        return Ok(Vec::new());
    };
    let mut hosts = Vec::new();
    for g in groups {
        let Some(id) = str_at(&g, "/id") else {
            continue;
        };
        let origins = c
            .arm
            .list(c.arm.url(&format!("{id}/origins"), cdn::API)?)
            .await;
        for o in overcast_core::error::gone_as(origins, Vec::new())? {
            if let Some(h) = str_at(&o, "/properties/hostName") {
                hosts.push(h.to_string());
            }
        }
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_group_parent_and_network() {
        let ep =
            "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Cdn/profiles/p/afdEndpoints/e";
        assert_eq!(
            group_of(ep).as_deref(),
            Some("/subscriptions/s/resourcegroups/rg")
        );
        assert_eq!(
            parent_of(ep).as_deref(),
            Some("/subscriptions/s/resourcegroups/rg/providers/microsoft.cdn/profiles/p")
        );
        let profile = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Cdn/profiles/p";
        assert_eq!(parent_of(profile), None);
        assert_eq!(group_of("/subscriptions/s/resourceGroups/RG"), None);
        assert_eq!(
            network_of_subnet("/x/virtualNetworks/v/subnets/default"),
            "/x/virtualNetworks/v"
        );
    }
}
