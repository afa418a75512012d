//! Discovery: the resource groups and resources of the subscription (or of the target's
//! given group), through ARM's generic list APIs, paginated to the end.
//!
//! ARM filters a list by one tag (`tagName eq 'k' and tagValue eq 'v'`): the first tag of
//! the filter is asked of ARM, the rest are checked here. Types are ARM's
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
    crate::cdn::PROFILE_TYPE,
];

#[derive(Debug, Deserialize)]
struct Item {
    id: String,
    #[serde(rename = "type", default)]
    resource_type: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

/// ARM's `$filter` for the first tag of `filter` that has a value.
fn tag_filter(filter: &DiscoveryFilter) -> Option<String> {
    filter.tags.iter().find_map(|(k, v)| {
        let v = v.as_ref()?;
        Some(format!(
            "tagName eq '{}' and tagValue eq '{}'",
            k.replace('\'', "''"),
            v.replace('\'', "''")
        ))
    })
}

/// Every resource of a supported type that `filter` wants.
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let sub = format!("/subscriptions/{}", c.subscription);
    let server_filter = tag_filter(filter);
    let with_filter = |path: &str| -> Result<_, ProviderError> {
        let mut url = c.arm.url(path, group::API)?;
        if let Some(f) = &server_filter {
            url.query_pairs_mut().append_pair("$filter", f);
        }
        Ok(url)
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_tag_with_a_value_is_asked_of_arm_quoted() {
        let f = DiscoveryFilter::stack("o'neil", Some("t"));
        assert_eq!(
            tag_filter(&f).as_deref(),
            Some("tagName eq 'overcast:stack' and tagValue eq 'o''neil'")
        );
        assert_eq!(tag_filter(&DiscoveryFilter::default()), None);
    }
}
