//! Storage: a storage account (Microsoft.Storage 2023-05-01) with its blob service
//! (versioning) and lifecycle management policy, and a blob container with its content.
//!
//! The account holds what Azure keeps per account: the default access tier, whether any
//! container may be public, versioning (the blob service's), and lifecycle rules (the
//! account's one management policy, whose rules name blobs by `<container>/<prefix>`).
//! The container is made through ARM, so no data-plane permission is needed for it; its
//! content goes through the data plane (see [`crate::content`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, bool_of, read_state, str_of, tags};

/// The pinned api-version of Microsoft.Storage.
pub const API: &str = "2023-05-01";
/// The ARM type of an account.
pub const ACCOUNT_TYPE: &str = "Microsoft.Storage/storageAccounts";

// --- typed bodies ------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody<'a> {
    location: &'a str,
    kind: &'static str,
    sku: Sku,
    tags: &'a BTreeMap<String, String>,
    properties: AccountProps<'a>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Sku {
    name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountProps<'a> {
    access_tier: &'a str,
    allow_blob_public_access: bool,
    minimum_tls_version: &'static str,
    supports_https_traffic_only: bool,
}

/// An update: only what overcast changes in place.
#[derive(Debug, Serialize)]
struct AccountPatch<'a> {
    properties: AccountPatchProps<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountPatchProps<'a> {
    access_tier: &'a str,
    allow_blob_public_access: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: AccountLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountLiveProps {
    #[serde(default)]
    access_tier: Option<String>,
    #[serde(default)]
    allow_blob_public_access: Option<bool>,
    #[serde(default)]
    primary_endpoints: Endpoints,
}

#[derive(Debug, Default, Deserialize)]
struct Endpoints {
    #[serde(default)]
    blob: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct BlobService {
    properties: BlobServiceProps,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlobServiceProps {
    #[serde(default)]
    is_versioning_enabled: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Policy {
    properties: PolicyProps,
}

#[derive(Debug, Serialize, Deserialize)]
struct PolicyProps {
    policy: PolicyRules,
}

#[derive(Debug, Serialize, Deserialize)]
struct PolicyRules {
    rules: Vec<Rule>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Rule {
    name: String,
    enabled: bool,
    #[serde(rename = "type")]
    kind: String,
    definition: RuleDefinition,
}

#[derive(Debug, Serialize, Deserialize)]
struct RuleDefinition {
    filters: Filters,
    actions: Actions,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filters {
    blob_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    prefix_match: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Actions {
    base_blob: BaseBlob,
}

/// One action per tier (Azure's names) plus delete.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BaseBlob {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier_to_cool: Option<After>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier_to_cold: Option<After>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier_to_archive: Option<After>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier_to_hot: Option<After>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delete: Option<After>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct After {
    days_after_modification_greater_than: u32,
}

// --- the rules, between the native's inputs and the policy -------------------------------

/// A rule as the account native's `lifecycle` holds it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct NativeRule {
    prefix: Option<String>,
    transition_after_days: Option<u32>,
    to_tier: Option<String>,
    expire_after_days: Option<u32>,
}

fn to_policy(container: &str, rules: &[NativeRule]) -> Result<Vec<Rule>, ProviderError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut base = BaseBlob::default();
            if let (Some(days), Some(tier)) = (r.transition_after_days, &r.to_tier) {
                let after = Some(After {
                    days_after_modification_greater_than: days,
                });
                match tier.as_str() {
                    "Cool" => base.tier_to_cool = after,
                    "Cold" => base.tier_to_cold = after,
                    "Archive" => base.tier_to_archive = after,
                    "Hot" => base.tier_to_hot = after,
                    other => {
                        return Err(ProviderError::invalid(format!(
                            "lifecycle rule {i}: `{other}` is not an Azure access tier"
                        )));
                    }
                }
            }
            base.delete = r.expire_after_days.map(|d| After {
                days_after_modification_greater_than: d,
            });
            Ok(Rule {
                name: format!("overcast{i}"),
                enabled: true,
                kind: "Lifecycle".into(),
                definition: RuleDefinition {
                    filters: Filters {
                        blob_types: vec!["blockBlob".into()],
                        prefix_match: vec![format!(
                            "{container}/{}",
                            r.prefix.as_deref().unwrap_or("")
                        )],
                    },
                    actions: Actions { base_blob: base },
                },
            })
        })
        .collect()
}

fn from_policy(container: &str, rules: &[Rule]) -> Vec<NativeRule> {
    let mut rules: Vec<&Rule> = rules.iter().collect();
    rules.sort_by_key(|r| {
        r.name
            .strip_prefix("overcast")
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    });
    rules
        .into_iter()
        .map(|r| {
            let b = &r.definition.actions.base_blob;
            let transition = [
                ("Cool", b.tier_to_cool),
                ("Cold", b.tier_to_cold),
                ("Archive", b.tier_to_archive),
                ("Hot", b.tier_to_hot),
            ]
            .into_iter()
            .find_map(|(t, a)| a.map(|a| (t, a.days_after_modification_greater_than)));
            let prefix = r
                .definition
                .filters
                .prefix_match
                .first()
                .map(|p| {
                    p.strip_prefix(&format!("{container}/"))
                        .unwrap_or(p)
                        .to_string()
                })
                .filter(|p| !p.is_empty());
            NativeRule {
                prefix,
                transition_after_days: transition.map(|t| t.1),
                to_tier: transition.map(|t| t.0.to_string()),
                expire_after_days: b.delete.map(|d| d.days_after_modification_greater_than),
            }
        })
        .collect()
}

fn rules_of(inputs: &Attrs) -> Result<Vec<NativeRule>, ProviderError> {
    serde_json::from_value(inputs.get("lifecycle").cloned().unwrap_or(json!([])))
        .map_err(|e| ProviderError::invalid(format!("input `lifecycle`: {e}")))
}

// --- the account --------------------------------------------------------------------------

/// The `azure_storage_account` handler.
pub struct Account;

impl Account {
    /// Put the blob service's versioning and the management policy to `inputs`. Rule names
    /// are `overcast<n>`: Azure takes letters and digits only.
    async fn settle_children(
        &self,
        c: &Clients,
        ctx: &OpContext,
        id: &str,
        inputs: &Attrs,
    ) -> Result<(), ProviderError> {
        let blob = BlobService {
            properties: BlobServiceProps {
                is_versioning_enabled: Some(bool_of(inputs, "versioning")),
            },
        };
        let _: Value = c
            .arm
            .put(ctx, &format!("{id}/blobServices/default"), API, &blob)
            .await?;
        let rules = to_policy(str_of(inputs, "container")?, &rules_of(inputs)?)?;
        let policy_id = format!("{id}/managementPolicies/default");
        if rules.is_empty() {
            // A policy needs at least one rule: no rules is no policy.
            c.arm.delete(ctx, &policy_id, API).await
        } else {
            let policy = Policy {
                properties: PolicyProps {
                    policy: PolicyRules { rules },
                },
            };
            let _: Value = c.arm.put(ctx, &policy_id, API, &policy).await?;
            Ok(())
        }
    }
}

#[async_trait]
impl Handler for Account {
    fn api(&self) -> &'static str {
        "storage"
    }
    fn kind(&self) -> Kind {
        Kind::Storage
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[ACCOUNT_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(ACCOUNT_TYPE, str_of(inputs, "name")?))
    }

    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: AccountLive = c.arm.get(&st.id, API).await?;
        let blob: BlobService = c
            .arm
            .get(&format!("{}/blobServices/default", st.id), API)
            .await?;
        let container = st
            .inputs
            .get("container")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let rules = match c
            .arm
            .get::<Policy>(&format!("{}/managementPolicies/default", st.id), API)
            .await
        {
            Ok(p) => from_policy(&container, &p.properties.policy.rules),
            Err(e) if e.class == ErrorClass::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let p = &live.properties;
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "access_tier": p.access_tier,
            "public": p.allow_blob_public_access.unwrap_or(false),
            "versioning": blob.properties.is_versioning_enabled.unwrap_or(false),
            "container": container,
            "lifecycle": rules,
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "blob_endpoint": p.primary_endpoints.blob,
        }));
        Ok((Observed::new(live.id, inputs, outputs), Some(live.tags)))
    }

    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let i = &req.inputs;
        let id = self.id_of(c, i)?;
        let body = AccountBody {
            location: str_of(i, "location")?,
            kind: "StorageV2",
            sku: Sku {
                name: "Standard_LRS".into(),
            },
            tags: &tags(&req.owner),
            properties: AccountProps {
                access_tier: str_of(i, "access_tier")?,
                allow_blob_public_access: bool_of(i, "public"),
                minimum_tls_version: "TLS1_2",
                supports_https_traffic_only: true,
            },
        };
        let _: Value = c.arm.put(ctx, &id, API, &body).await?;
        self.settle_children(c, ctx, &id, i).await?;
        let st = read_state(&id, i);
        Ok(self.read(c, &st).await?.0)
    }

    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let patch = AccountPatch {
            properties: AccountPatchProps {
                access_tier: str_of(inputs, "access_tier")?,
                allow_blob_public_access: bool_of(inputs, "public"),
            },
        };
        let _: Value = c.arm.patch(ctx, &prior.id, API, &patch).await?;
        self.settle_children(c, ctx, &prior.id, inputs).await?;
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
    }

    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

// --- the container ------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerBody {
    properties: ContainerProps,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerProps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_access: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContainerLive {
    id: String,
    name: String,
    #[serde(default)]
    properties: Option<ContainerProps>,
}

/// The `azure_storage_container` handler.
pub struct Container;

fn container_id(c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
    Ok(format!(
        "{}/blobServices/default/containers/{}",
        c.id(ACCOUNT_TYPE, str_of(inputs, "account")?),
        str_of(inputs, "name")?
    ))
}

fn public_access(public: bool) -> String {
    if public { "Blob" } else { "None" }.to_string()
}

impl Container {
    async fn put(
        &self,
        c: &Clients,
        ctx: &OpContext,
        id: &str,
        inputs: &Attrs,
    ) -> Result<(), ProviderError> {
        let body = ContainerBody {
            properties: ContainerProps {
                public_access: Some(public_access(bool_of(inputs, "public"))),
            },
        };
        let _: Value = c.arm.put(ctx, id, API, &body).await?;
        crate::content::sync(c, inputs).await
    }
}

#[async_trait]
impl Handler for Container {
    fn api(&self) -> &'static str {
        "storage"
    }
    fn kind(&self) -> Kind {
        Kind::Storage
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        container_id(c, inputs)
    }

    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: ContainerLive = c.arm.get(&st.id, API).await?;
        let account = st
            .inputs
            .get("account")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| account_of(&live.id))
            .unwrap_or_default();
        let public = live
            .properties
            .and_then(|p| p.public_access)
            .is_some_and(|a| !a.eq_ignore_ascii_case("None"));
        let content = st.inputs.get("content").cloned().unwrap_or(Value::Null);
        let in_sync = match content.as_str() {
            Some(dir) => Value::Bool(crate::content::in_sync(c, &account, &live.name, dir).await?),
            None => Value::Null,
        };
        let url = crate::content::container_url(c, &account, &live.name)?;
        let inputs = attrs(json!({
            "name": live.name,
            "account": account,
            "public": public,
            "content": content,
            "content_in_sync": in_sync,
        }));
        let outputs = attrs(json!({"name": live.name, "url": url}));
        Ok((Observed::new(live.id, inputs, outputs), None))
    }

    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = container_id(c, &req.inputs)?;
        self.put(c, ctx, &id, &req.inputs).await?;
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
    }

    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        self.put(c, ctx, &prior.id, inputs).await?;
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
    }

    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

/// The account name in a container's id.
fn account_of(container_id: &str) -> Option<String> {
    let segs: Vec<&str> = container_id.split('/').collect();
    segs.iter()
        .position(|s| s.eq_ignore_ascii_case("storageAccounts"))
        .and_then(|i| segs.get(i + 1))
        .map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_rules_round_trip_through_the_policy() {
        let rules = vec![
            NativeRule {
                prefix: Some("logs/".into()),
                transition_after_days: Some(30),
                to_tier: Some("Cool".into()),
                expire_after_days: Some(365),
            },
            NativeRule {
                prefix: None,
                transition_after_days: Some(0),
                to_tier: Some("Archive".into()),
                expire_after_days: None,
            },
        ];
        let policy = to_policy("c1", &rules).expect("policy");
        assert_eq!(policy[0].definition.filters.prefix_match, ["c1/logs/"]);
        let wire = serde_json::to_value(&policy).expect("json");
        assert_eq!(
            wire[0]["definition"]["actions"]["baseBlob"]["tierToCool"]["daysAfterModificationGreaterThan"],
            30
        );
        assert_eq!(from_policy("c1", &policy), rules);
        assert!(
            to_policy(
                "c1",
                &[NativeRule {
                    to_tier: Some("Glacier".into()),
                    transition_after_days: Some(1),
                    ..NativeRule::default()
                }]
            )
            .is_err()
        );
    }

    #[test]
    fn the_account_is_read_from_a_container_id() {
        assert_eq!(
            account_of(
                "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/c"
            ),
            Some("acct".into())
        );
    }
}
