//! Discovery: the resource groups and resources of the subscription (or of the target's
//! given group), through ARM's generic list APIs, paginated to the end.
//!
//! ARM can filter a list by one tag (`tagName eq 'k' and tagValue eq 'v'`), but then
//! answers without the resources' tags, and discovery needs them whole (to decode the
//! owner): so lists are asked for unfiltered and the filter is applied here. Types are ARM's
//! (`Microsoft.Storage/storageAccounts`); untracked child resources (containers, queues)
//! are not listed by ARM and go with their parent, tracked ones (a Front Door endpoint) are.
//! Which resource uses which is [`crate::link`]'s.

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
    name: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    /// Only when the list asked for it (`$expand=createdTime`).
    #[serde(rename = "createdTime", default)]
    created_time: Option<String>,
}

/// ARM's lists give a creation time when asked: `$expand=createdTime` on the generic
/// resource list, and (undocumented in the spec, served all the same) on the resource
/// group list. One list per scope, no read per resource.
fn expanded(c: &Clients, path: &str) -> Result<azure_core::http::Url, ProviderError> {
    let mut url = c.arm.url(path, group::API)?;
    url.query_pairs_mut().append_pair("$expand", "createdTime");
    Ok(url)
}

/// Every resource of a supported type that `filter` wants, with its name, location and
/// creation time. Scoped to the target's `resource_group` when it names one.
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let sub = format!("/subscriptions/{}", c.subscription);
    let mut items: Vec<Item> = Vec::new();
    let decode = |v: serde_json::Value| serde_json::from_value::<Item>(v).ok();
    if filter.wants(TYPES[0]) {
        let mut groups: Vec<Item> = c
            .arm
            .list(expanded(c, &format!("{sub}/resourcegroups"))?)
            .await?
            .into_iter()
            .filter_map(decode)
            .collect();
        if let Some(given) = &c.settings.resource_group {
            // A given group is the only one (it exists or discovery says so): the group
            // list, not a GET, because only the list gives its creation time.
            groups.retain(|g| {
                g.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(given))
            });
            if groups.is_empty() {
                return Err(ProviderError::new(
                    overcast_core::ErrorClass::NotFound,
                    format!(
                        "resource group `{given}` does not exist in subscription `{}`",
                        c.subscription
                    ),
                ));
            }
        }
        items.extend(groups.into_iter().map(|mut i| {
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
            .list(expanded(c, &scope)?)
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
            if !(filter.wants(ty) && filter.matches(&tags)) {
                return None;
            }
            let name = i
                .name
                .filter(|n| !n.is_empty())
                .or_else(|| crate::ids::parse(&i.id).map(|p| p.name))
                .unwrap_or_else(|| i.id.rsplit('/').next().unwrap_or_default().to_string());
            let mut r = DiscoveredResource::new(i.id.clone(), *ty, i.id, tags).with_name(name);
            if let Some(loc) = i.location.filter(|l| !l.is_empty()) {
                r = r.with_location(loc);
            }
            if let Some(t) = i.created_time.as_deref().and_then(rfc3339_utc) {
                r = r.with_created(t);
            }
            Some(r)
        })
        .collect())
}

/// A time as ARM writes it (`2024-05-01T10:00:00.1234567Z`, or with an offset) as RFC 3339
/// in UTC; `None` when it does not parse.
fn rfc3339_utc(t: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(t, &Rfc3339)
        .ok()?
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_times_become_rfc3339_in_utc() {
        assert_eq!(
            rfc3339_utc("2024-05-01T10:00:00.1234567Z").as_deref(),
            Some("2024-05-01T10:00:00.1234567Z")
        );
        assert_eq!(
            rfc3339_utc("2024-05-01T12:00:00+02:00").as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        assert_eq!(rfc3339_utc("yesterday"), None);
    }
}
