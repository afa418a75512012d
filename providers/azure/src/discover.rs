//! Discovery: the resource groups and resources of the subscription (or of the target's
//! given group), through ARM's generic list APIs, paginated to the end.
//!
//! ARM can filter a list by one tag (`tagName eq 'k' and tagValue eq 'v'`), but then
//! answers without the resources' tags, and discovery needs them whole (to decode the
//! owner): so lists are asked for unfiltered and the filter is applied here. Types are ARM's
//! (`Microsoft.Storage/storageAccounts`); child resources (containers, queues) are not
//! listed by ARM and go with their parent.

use std::collections::BTreeMap;

use overcast_core::ProviderError;
use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use serde::Deserialize;

use crate::config::Clients;
use crate::group;

/// The discovery types, as `discover` reports them.
pub const TYPES: &[&str] = &[
    "Microsoft.Resources/resourceGroups",
    crate::storage::ACCOUNT_TYPE,
    crate::servicebus::NAMESPACE_TYPE,
    crate::database::POSTGRES_TYPE,
    crate::database::MYSQL_TYPE,
    crate::compute::VM_TYPE,
    crate::compute::NIC_TYPE,
    crate::compute::PUBLIC_IP_TYPE,
    crate::compute::NSG_TYPE,
    crate::compute::VNET_TYPE,
    crate::cdn::PROFILE_TYPE,
    crate::cdn::ENDPOINT_TYPE,
    crate::function::SITE_TYPE,
    crate::function::PLAN_TYPE,
];

#[derive(Debug, Deserialize)]
struct Item {
    id: String,
    #[serde(rename = "type", default)]
    resource_type: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

/// Every resource of a supported type that `filter` wants.
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let sub = format!("/subscriptions/{}", c.subscription);
    let with_filter = |path: &str| c.arm.url(path, group::API);
    let mut items: Vec<Item> = Vec::new();
    let decode = |v: serde_json::Value| serde_json::from_value::<Item>(v).ok();
    if filter.wants(TYPES[0]) {
        let groups = match &c.settings.resource_group {
            // A given group is listed alone (it exists or discovery says so).
            Some(_) => vec![c.arm.get(&c.group_id(), group::API).await?],
            None => {
                c.arm
                    .list(with_filter(&format!("{sub}/resourcegroups"))?)
                    .await?
            }
        };
        items.extend(groups.into_iter().filter_map(decode).map(|mut i| {
            i.resource_type = TYPES[0].to_string();
            i
        }));
    }
    let scope = match &c.settings.resource_group {
        Some(_) => format!("{}/resources", c.group_id()),
        None => format!("{sub}/resources"),
    };
    items.extend(
        c.arm
            .list(with_filter(&scope)?)
            .await?
            .into_iter()
            .filter_map(decode),
    );
    Ok(items
        .into_iter()
        .filter_map(|i| {
            let ty = TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(&i.resource_type))?;
            let tags = i.tags.unwrap_or_default();
            (filter.wants(ty) && filter.matches(&tags))
                .then(|| DiscoveredResource::new(i.id.clone(), *ty, i.id, tags))
        })
        .collect())
}
