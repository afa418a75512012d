//! The `azure_cdn_profile` native: a Front Door profile with the rule set and rule that
//! carry the cdn's cache duration (see the module documentation for why a rule).

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API, PROFILE_TYPE, cache_duration, duration_seconds, names};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, read_state, str_of, tags};

/// Front Door profiles, like their endpoints, are global.
pub(super) const LOCATION: &str = "global";
/// The action that overrides a route's caching for the requests a rule matches.
const OVERRIDE: &str = "RouteConfigurationOverride";
const OVERRIDE_PARAMS: &str = "DeliveryRuleRouteConfigurationOverrideActionParameters";

#[derive(Debug, Serialize, Deserialize)]
struct Sku {
    name: String,
}

#[derive(Debug, Serialize)]
struct ProfileBody<'a> {
    location: &'static str,
    sku: Sku,
    tags: &'a BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ProfileLive {
    id: String,
    name: String,
    sku: Sku,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// A rule of the rules engine: here always one unconditional action.
#[derive(Debug, Serialize, Deserialize)]
struct RuleBody {
    properties: RuleProps,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleProps {
    order: u32,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    match_processing_behavior: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Action {
    name: String,
    #[serde(default)]
    parameters: ActionParams,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionParams {
    #[serde(default)]
    type_name: String,
    /// Absent: Front Door does not cache what the rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_configuration: Option<CacheConfiguration>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query_string_caching_behavior: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_behavior: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cache_duration: Option<String>,
}

/// The rule that holds a cache duration of `ttl` seconds (0: no caching).
fn cache_rule(ttl: u64) -> RuleBody {
    let cache = (ttl > 0).then(|| CacheConfiguration {
        query_string_caching_behavior: Some("IgnoreQueryString".into()),
        cache_behavior: Some("OverrideAlways".into()),
        cache_duration: Some(cache_duration(ttl)),
    });
    RuleBody {
        properties: RuleProps {
            order: 1,
            actions: vec![Action {
                name: OVERRIDE.into(),
                parameters: ActionParams {
                    type_name: OVERRIDE_PARAMS.into(),
                    cache_configuration: cache,
                },
            }],
            match_processing_behavior: Some("Continue".into()),
        },
    }
}

/// The cache duration a rule holds: its override's, 0 when it turns caching off, `None`
/// when it is not the rule overcast writes (someone changed it: drift).
fn ttl_of(rule: &RuleBody) -> Option<u64> {
    let [action] = rule.properties.actions.as_slice() else {
        return None;
    };
    if action.name != OVERRIDE {
        return None;
    }
    match &action.parameters.cache_configuration {
        None => Some(0),
        Some(c) if c.cache_behavior.as_deref() == Some("OverrideAlways") => {
            c.cache_duration.as_deref().and_then(duration_seconds)
        }
        Some(_) => None,
    }
}

fn rule_set_id(profile_id: &str) -> String {
    format!("{profile_id}/ruleSets/{}", names::RULE_SET)
}

fn rule_id(profile_id: &str) -> String {
    format!("{}/rules/{}", rule_set_id(profile_id), names::RULE)
}

fn ttl_input(inputs: &Attrs) -> Result<u64, ProviderError> {
    inputs
        .get("cache_ttl")
        .and_then(Value::as_u64)
        .ok_or_else(|| ProviderError::invalid("input `cache_ttl` missing or not a number"))
}

/// The `azure_cdn_profile` handler.
pub struct Profile;

impl Profile {
    /// Bring the rule set and the cache rule to `ttl` (both PUTs are idempotent).
    async fn put_rule(
        &self,
        c: &Clients,
        ctx: &OpContext,
        profile_id: &str,
        ttl: u64,
    ) -> Result<(), ProviderError> {
        // A rule set has no properties of its own: its body is empty.
        let _: Value = c
            .arm
            .put(ctx, &rule_set_id(profile_id), API, &json!({}))
            .await?;
        let _: Value = c
            .arm
            .put(ctx, &rule_id(profile_id), API, &cache_rule(ttl))
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Handler for Profile {
    fn api(&self) -> &'static str {
        "cdn"
    }
    fn kind(&self) -> Kind {
        Kind::Cdn
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[PROFILE_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(PROFILE_TYPE, str_of(inputs, "name")?))
    }

    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: ProfileLive = c.arm.get(&st.id, API).await?;
        // No rule (deleted by hand): no cache duration, which an update puts back.
        let ttl = match c.arm.get::<RuleBody>(&rule_id(&live.id), API).await {
            Ok(rule) => ttl_of(&rule),
            Err(e) if e.class == ErrorClass::NotFound => None,
            Err(e) => return Err(e),
        };
        let inputs = attrs(json!({
            "name": live.name,
            "sku": live.sku.name,
            "cache_ttl": ttl,
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "id": live.id,
            "rule_set_id": rule_set_id(&live.id),
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
        let body = ProfileBody {
            location: LOCATION,
            sku: Sku {
                name: str_of(i, "sku")?.to_string(),
            },
            tags: &tags(&req.owner),
        };
        let _: Value = c.arm.put(ctx, &id, API, &body).await?;
        self.put_rule(c, ctx, &id, ttl_input(i)?).await?;
        Ok(self.read(c, &read_state(&id, i)).await?.0)
    }

    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // Name and SKU force a replacement: the cache duration is what changes in place.
        self.put_rule(c, ctx, &prior.id, ttl_input(inputs)?).await?;
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
    }

    /// Deleting a profile deletes everything in it.
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_rule_overrides_the_duration_or_turns_caching_off() {
        let wire = serde_json::to_value(cache_rule(90_061)).expect("json");
        assert_eq!(
            wire,
            json!({"properties": {
                "order": 1,
                "actions": [{"name": "RouteConfigurationOverride", "parameters": {
                    "typeName": "DeliveryRuleRouteConfigurationOverrideActionParameters",
                    "cacheConfiguration": {
                        "queryStringCachingBehavior": "IgnoreQueryString",
                        "cacheBehavior": "OverrideAlways",
                        "cacheDuration": "1.01:01:01"
                    }
                }}],
                "matchProcessingBehavior": "Continue"
            }})
        );
        assert_eq!(ttl_of(&cache_rule(90_061)), Some(90_061));
        let off = serde_json::to_value(cache_rule(0)).expect("json");
        assert!(
            off.pointer("/properties/actions/0/parameters/cacheConfiguration")
                .is_none(),
            "{off}"
        );
        assert_eq!(ttl_of(&cache_rule(0)), Some(0));
        // A rule changed by hand to honour the origin is drift, not a duration.
        let mut honour = cache_rule(60);
        if let Some(c) = honour.properties.actions[0]
            .parameters
            .cache_configuration
            .as_mut()
        {
            c.cache_behavior = Some("HonorOrigin".into());
        }
        assert_eq!(ttl_of(&honour), None);
        assert_eq!(
            rule_id("/p"),
            "/p/ruleSets/overcast/rules/cachettl".to_string()
        );
    }
}
