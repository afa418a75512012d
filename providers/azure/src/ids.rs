//! ARM resource ids: `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}`
//! (child types append `/{type}/{name}` pairs).

/// The id of a resource group.
pub fn group(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// The parts of an id that discovery and deletion need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The resource group (`None` for a subscription-level id).
    pub group: Option<String>,
    /// `Microsoft.Storage/storageAccounts` (child types: `.../blobServices/containers`);
    /// `Microsoft.Resources/resourceGroups` for a group itself.
    pub resource_type: String,
    /// The last name of the id.
    pub name: String,
}

/// Parse an ARM id (segment names compare case-insensitively, as ARM does).
pub fn parse(id: &str) -> Option<Parsed> {
    let segs: Vec<&str> = id.trim_matches('/').split('/').collect();
    if segs.len() < 2 || !segs[0].eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    if segs.len() == 4 && segs[2].eq_ignore_ascii_case("resourceGroups") {
        return Some(Parsed {
            group: Some(segs[3].to_string()),
            resource_type: "Microsoft.Resources/resourceGroups".into(),
            name: segs[3].to_string(),
        });
    }
    if segs.len() < 8
        || !segs[2].eq_ignore_ascii_case("resourceGroups")
        || !segs[4].eq_ignore_ascii_case("providers")
        || !segs.len().is_multiple_of(2)
    {
        return None;
    }
    let mut types = vec![segs[5].to_string()];
    types.extend(segs[6..].iter().step_by(2).map(|s| s.to_string()));
    Some(Parsed {
        group: Some(segs[3].to_string()),
        resource_type: types.join("/"),
        name: segs[segs.len() - 1].to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_groups_resources_and_children_parse() {
        let g = parse("/subscriptions/s/resourceGroups/rg").expect("group");
        assert_eq!(g.resource_type, "Microsoft.Resources/resourceGroups");
        assert_eq!(g.name, "rg");
        let a = parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        )
        .expect("account");
        assert_eq!(a.resource_type, "Microsoft.Storage/storageAccounts");
        assert_eq!(a.group.as_deref(), Some("rg"));
        let q = parse("/subscriptions/s/resourcegroups/rg/providers/Microsoft.ServiceBus/namespaces/ns/queues/q")
            .expect("queue");
        assert_eq!(q.resource_type, "Microsoft.ServiceBus/namespaces/queues");
        assert_eq!(q.name, "q");
        assert_eq!(
            parse("/subscriptions/s/resourceGroups/rg/providers/X"),
            None
        );
    }
}
