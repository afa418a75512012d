//! Discovery: what a provider finds in the cloud, independently of any state. The nuke and
//! migrate workflows start from it, and `overcast discover` prints it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which resources to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryFilter {
    /// Tags a resource must carry: `(key, Some(value))` for an exact value, `(key, None)`
    /// for any value. Empty: every resource.
    pub tags: Vec<(String, Option<String>)>,
    /// Only these types (`s3:bucket`, `iam:role`, ...). Empty: every supported type.
    pub types: Vec<String>,
}

impl DiscoveryFilter {
    /// Resources overcast created for one stack (optionally one target).
    pub fn stack(stack: &str, target: Option<&str>) -> Self {
        let mut tags = vec![(
            crate::OwnerTags::STACK_KEY.to_string(),
            Some(stack.to_string()),
        )];
        if let Some(t) = target {
            tags.push((
                crate::OwnerTags::TARGET_KEY.to_string(),
                Some(t.to_string()),
            ));
        }
        DiscoveryFilter {
            tags,
            types: Vec::new(),
        }
    }

    /// Whether resources of type `ty` are asked for.
    pub fn wants(&self, ty: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t == ty)
    }

    /// Whether a resource with these tags passes the tag filter.
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags.iter().all(|(k, v)| match (tags.get(k), v) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        })
    }
}

/// One discovered resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiscoveredResource {
    /// Its provider-wide unique name: an ARN on AWS (for untagged types without one, a
    /// synthetic `service:type/id`), an ARM id on Azure, a full resource name on GCP.
    pub arn: String,
    /// The provider's type name, e.g. `s3:bucket`, `ec2:instance`, `iam:role` on AWS.
    pub resource_type: String,
    /// The identifier the service's own API uses (bucket name, instance id, role name...).
    pub id: String,
    /// Its tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The overcast owner its labels carry, decoded by its provider
    /// ([`crate::Provider::decode_owner`]); `None` for a resource overcast did not create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<crate::OwnerTags>,
    /// The name a person knows it by (a `Name` tag, a bucket's or a role's name), when it
    /// differs from nothing; `None` when the API gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it lives: a region, zone or location (`global` for global services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// When it was created, RFC 3339 (UTC), where the API says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The `arn`s of other resources this one uses (an instance its security groups, a
    /// distribution its origin bucket, a replica its primary, a resource its resource
    /// group): a teardown deletes this one before them. Filled by
    /// [`crate::Provider::link_discovered`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<String>,
}

/// The account, subscription or project a target acts in: what `nuke` shows, asks the user
/// to type, and checks against its allow- and block-lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountIdentity {
    /// What it is called on this cloud: `account`, `subscription`, `project`, `directory`.
    pub kind: String,
    /// Its id: the AWS account id, the subscription id, the project id, the local
    /// target's directory.
    pub id: String,
    /// Its alias or display name, when the cloud has one (an AWS account alias, a
    /// subscription's display name, a project's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl AccountIdentity {
    /// An identity with no alias.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> AccountIdentity {
        AccountIdentity {
            kind: kind.into(),
            id: id.into(),
            name: None,
        }
    }

    /// With its alias or display name.
    pub fn with_name(mut self, name: impl Into<String>) -> AccountIdentity {
        self.name = Some(name.into());
        self
    }
}

impl DiscoveredResource {
    /// A resource as a provider lists it; the engine decodes its owner.
    pub fn new(
        arn: impl Into<String>,
        resource_type: impl Into<String>,
        id: impl Into<String>,
        tags: BTreeMap<String, String>,
    ) -> DiscoveredResource {
        DiscoveredResource {
            arn: arn.into(),
            resource_type: resource_type.into(),
            id: id.into(),
            tags,
            owner: None,
            name: None,
            location: None,
            created: None,
            uses: Vec::new(),
        }
    }

    /// With the name a person knows it by.
    pub fn with_name(mut self, name: impl Into<String>) -> DiscoveredResource {
        self.name = Some(name.into());
        self
    }

    /// With where it lives.
    pub fn with_location(mut self, location: impl Into<String>) -> DiscoveredResource {
        self.location = Some(location.into());
        self
    }

    /// With its creation time, RFC 3339 (UTC).
    pub fn with_created(mut self, created: impl Into<String>) -> DiscoveredResource {
        self.created = Some(created.into());
        self
    }

    /// Record that it uses the resource `arn` (deleted after it). No duplicates, never
    /// itself.
    pub fn add_use(&mut self, arn: impl Into<String>) {
        let arn = arn.into();
        if arn != self.arn && !self.uses.contains(&arn) {
            self.uses.push(arn);
        }
    }

    /// The native address it would have in state: its owner's, or `discovered.<id>` (the
    /// last segment of a path-like id, dots replaced) for a resource overcast did not create.
    pub fn address(&self) -> crate::NativeAddr {
        self.owner
            .as_ref()
            .and_then(|o| o.resource.parse().ok())
            .unwrap_or_else(|| {
                let short = self.id.rsplit('/').next().unwrap_or(&self.id);
                crate::NativeAddr::new("discovered", short.replace('.', "-"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_comes_from_the_owner_or_the_id() {
        let mut r = DiscoveredResource::new(
            "arn",
            "s3:bucket",
            "projects/p/buckets/a.b",
            BTreeMap::new(),
        );
        assert_eq!(r.address().to_string(), "discovered.a-b");
        r.owner = Some(crate::OwnerTags {
            stack: "s".into(),
            target: "t".into(),
            resource: "site.bucket".into(),
        });
        assert_eq!(r.address().to_string(), "site.bucket");
    }

    #[test]
    fn tag_filters_match_exact_values_or_any_value() {
        let tags: BTreeMap<String, String> = [("overcast:stack", "web"), ("team", "a")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(DiscoveryFilter::stack("web", None).matches(&tags));
        assert!(!DiscoveryFilter::stack("api", None).matches(&tags));
        assert!(!DiscoveryFilter::stack("web", Some("prod")).matches(&tags));
        let any_team = DiscoveryFilter {
            tags: vec![("team".into(), None)],
            types: vec!["s3:bucket".into()],
        };
        assert!(
            any_team.matches(&tags) && any_team.wants("s3:bucket") && !any_team.wants("sqs:queue")
        );
        assert!(DiscoveryFilter::default().matches(&BTreeMap::new()));
    }
}
