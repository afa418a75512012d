//! Azure names: deterministic functions of stack, target and resource, within each
//! type's rules, so `adopt` finds what an interrupted apply created.

use overcast_core::names::{name, short_hash};

/// The target's own resource group: `oc-<stack>-<target>-<hash>` (groups take up to 90
/// characters of `[-\w._()]`; the common slug alphabet is a subset).
pub fn group(stack: &str, target: &str) -> String {
    name(stack, target, "", "", 90).replace("--", "-")
}

/// A storage account: 3 to 24 lowercase letters and digits, unique in all of Azure.
/// `oc` + as much of the stack, target and resource as fits + 10 hex digits of a hash of
/// the subscription, stack, target and resource: two stacks, targets or subscriptions
/// never derive the same name, and a stranger holding it is reported, never adopted.
pub fn storage_account(subscription: &str, stack: &str, target: &str, resource: &str) -> String {
    let hash = format!(
        "{}{}",
        short_hash(&[subscription, stack, target, resource]),
        &short_hash(&[resource, target, stack, subscription])[..2]
    );
    let readable: String = format!("{stack}{target}{resource}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(24 - 2 - hash.len())
        .collect();
    format!("oc{readable}{hash}")
}

/// A Service Bus namespace: 6 to 50 letters, digits and hyphens, starting with a letter,
/// ending with a letter or digit, unique in all of Azure (and not ending in `-sb` or
/// `-mgmt`, which the hash suffix guarantees).
pub fn servicebus_namespace(
    subscription: &str,
    stack: &str,
    target: &str,
    resource: &str,
) -> String {
    let base = name(stack, target, resource, "", 43);
    format!(
        "{base}{}",
        &short_hash(&[subscription, stack, target, resource])[..6]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_account_names_are_short_lowercase_and_distinct() {
        let a = storage_account("sub", "Shop", "prod_eu", "Site-Assets");
        assert!(a.len() >= 3 && a.len() <= 24, "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{a}"
        );
        assert_eq!(a, storage_account("sub", "Shop", "prod_eu", "Site-Assets"));
        assert_ne!(
            a,
            storage_account("other", "Shop", "prod_eu", "Site-Assets")
        );
        let long = storage_account("s", &"x".repeat(40), "t", "r");
        assert_eq!(long.len(), 24);
    }

    #[test]
    fn namespace_and_group_names_fit_their_rules() {
        let n = servicebus_namespace("sub", "Shop", "prod", "jobs");
        assert_ne!(n, servicebus_namespace("sub", "Shop", "prod", "mail"));
        assert!((6..=50).contains(&n.len()), "{n}");
        assert!(n.starts_with("oc-"));
        assert!(!n.ends_with("-sb") && !n.ends_with("-mgmt"));
        let g = group("Shop", "prod_eu");
        assert!(g.starts_with("oc-shop-prod-eu-"), "{g}");
    }
}
