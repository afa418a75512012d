//! The `azure_cdn_endpoint` and `azure_cdn_route` natives: the host name that serves the
//! content, and what it serves from where.

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::profile::LOCATION;
use super::{API, ENDPOINT_TYPE, PROFILE_TYPE, name_after, recorded_id};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, read_state, str_of, tags};

// --- the endpoint --------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct EndpointBody<'a> {
    location: &'static str,
    tags: &'a BTreeMap<String, String>,
    properties: EndpointProps,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct EndpointProps {
    enabled_state: &'static str,
    /// The default domain's hash is the tenant's for this name: a stack's endpoint names
    /// are its own (they hold the stack, target and resource), so no other endpoint of the
    /// tenant gets the same domain.
    auto_generated_domain_name_label_scope: &'static str,
}

#[derive(Debug, Deserialize)]
struct EndpointLive {
    id: String,
    name: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: EndpointLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointLiveProps {
    #[serde(default)]
    host_name: Option<String>,
}

fn endpoint_id(c: &Clients, profile: &str, endpoint: &str) -> String {
    format!("{}/afdEndpoints/{endpoint}", c.id(PROFILE_TYPE, profile))
}

/// The `azure_cdn_endpoint` handler.
pub struct Endpoint;

#[async_trait]
impl Handler for Endpoint {
    fn api(&self) -> &'static str {
        "cdn"
    }
    fn kind(&self) -> Kind {
        Kind::Cdn
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[ENDPOINT_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(endpoint_id(
            c,
            str_of(inputs, "profile")?,
            str_of(inputs, "name")?,
        ))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: EndpointLive = c.arm.get(&st.id, API).await?;
        let inputs = attrs(json!({
            "name": live.name,
            "profile": name_after(&live.id, "profiles"),
        }));
        let host = live.properties.host_name;
        // The abstract `domain` and `url` (the cdn kind's outputs) are the endpoint's.
        let outputs = attrs(json!({
            "name": live.name,
            "host_name": host,
            "domain": host,
            "url": host.as_ref().map(|h| format!("https://{h}/")),
        }));
        Ok((Observed::new(live.id, inputs, outputs), Some(live.tags)))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let body = EndpointBody {
            location: LOCATION,
            tags: &tags(&req.owner),
            properties: EndpointProps {
                enabled_state: "Enabled",
                auto_generated_domain_name_label_scope: "TenantReuse",
            },
        };
        let _: Value = c.arm.put(ctx, &id, API, &body).await?;
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // Name and profile force a replacement: nothing else to change.
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
    }
    /// Deleting an endpoint deletes its routes.
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

/// The route's forwarding to a compute origin: plain HTTP (a machine has no certificate for
/// its IP); every other origin is fetched over HTTPS.
pub const HTTP_ONLY: &str = "HttpOnly";
/// The route's forwarding to a storage or literal origin.
const HTTPS_ONLY: &str = "HttpsOnly";

// --- the route -----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct RouteBody<'a> {
    properties: RouteProps<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteProps<'a> {
    origin_group: Reference<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin_path: Option<&'a str>,
    rule_sets: Vec<Reference<'a>>,
    supported_protocols: [&'static str; 2],
    patterns_to_match: [&'static str; 1],
    forwarding_protocol: &'static str,
    link_to_default_domain: &'static str,
    https_redirect: &'static str,
    enabled_state: &'static str,
    /// Present: the route caches (the rule set's rule says for how long).
    cache_configuration: RouteCache,
}

#[derive(Debug, Serialize)]
struct Reference<'a> {
    id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteCache {
    query_string_caching_behavior: &'static str,
}

#[derive(Debug, Deserialize)]
struct RouteLive {
    id: String,
    name: String,
    #[serde(default)]
    properties: RouteLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteLiveProps {
    #[serde(default)]
    origin_group: Option<IdOnly>,
    #[serde(default)]
    origin_path: Option<String>,
    #[serde(default)]
    rule_sets: Vec<IdOnly>,
    #[serde(default)]
    forwarding_protocol: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<String>,
}

fn route_body(inputs: &Attrs) -> Result<RouteBody<'_>, ProviderError> {
    let forwarding_protocol = match inputs.get("forwarding").and_then(Value::as_str) {
        Some(HTTP_ONLY) => HTTP_ONLY,
        _ => HTTPS_ONLY,
    };
    Ok(RouteBody {
        properties: RouteProps {
            origin_group: Reference {
                id: str_of(inputs, "origin_group_id")?,
            },
            origin_path: inputs
                .get("origin_path")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty()),
            rule_sets: vec![Reference {
                id: str_of(inputs, "rule_set_id")?,
            }],
            supported_protocols: ["Http", "Https"],
            patterns_to_match: ["/*"],
            // Blob storage (and the origin's certificate) speak HTTPS, a machine plain HTTP;
            // plain HTTP visitors are redirected, never served.
            forwarding_protocol,
            link_to_default_domain: "Enabled",
            https_redirect: "Enabled",
            enabled_state: "Enabled",
            cache_configuration: RouteCache {
                query_string_caching_behavior: "IgnoreQueryString",
            },
        },
    })
}

/// The `azure_cdn_route` handler.
pub struct Route;

#[async_trait]
impl Handler for Route {
    fn api(&self) -> &'static str {
        "cdn"
    }
    fn kind(&self) -> Kind {
        Kind::Cdn
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(format!(
            "{}/routes/{}",
            endpoint_id(c, str_of(inputs, "profile")?, str_of(inputs, "endpoint")?),
            str_of(inputs, "name")?
        ))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: RouteLive = c.arm.get(&st.id, API).await?;
        let p = live.properties;
        let rule_set = match p.rule_sets.as_slice() {
            [one] => one.id.clone(),
            [] => None,
            // More than one: not the route overcast writes, which reads as drift.
            _ => Some(String::new()),
        };
        let forwarding = p.forwarding_protocol.clone();
        let mut inputs = attrs(json!({
            "name": live.name,
            "profile": name_after(&live.id, "profiles"),
            "endpoint": name_after(&live.id, "afdEndpoints"),
            "origin_group_id": recorded_id(st.inputs.get("origin_group_id"), p.origin_group.and_then(|g| g.id)),
            "rule_set_id": recorded_id(st.inputs.get("rule_set_id"), rule_set),
            "origin_path": p.origin_path.filter(|o| !o.is_empty()),
        }));
        // Only a compute origin's route records its forwarding; HTTPS is the others' (and
        // anything else on theirs reads as drift).
        if st.inputs.contains_key("forwarding") || forwarding.as_deref() != Some(HTTPS_ONLY) {
            inputs.insert("forwarding".into(), json!(forwarding));
        }
        let outputs = attrs(json!({"name": live.name}));
        Ok((Observed::new(live.id, inputs, outputs), None))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let _: Value = c.arm.put(ctx, &id, API, &route_body(&req.inputs)?).await?;
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
    }
    /// A new origin path (the origin is another container) in place.
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let _: Value = c.arm.put(ctx, &prior.id, API, &route_body(inputs)?).await?;
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_sends_everything_over_https_to_the_group_with_the_rule_set() {
        let i = attrs(json!({
            "origin_group_id": "/p/originGroups/origins",
            "rule_set_id": "/p/ruleSets/overcast",
            "origin_path": "/site",
        }));
        let wire = serde_json::to_value(route_body(&i).expect("body")).expect("json");
        let p = &wire["properties"];
        assert_eq!(p["originGroup"]["id"], "/p/originGroups/origins");
        assert_eq!(p["ruleSets"][0]["id"], "/p/ruleSets/overcast");
        assert_eq!(p["originPath"], "/site");
        assert_eq!(p["patternsToMatch"], json!(["/*"]));
        assert_eq!(p["forwardingProtocol"], "HttpsOnly");
        assert_eq!(p["httpsRedirect"], "Enabled");
        assert_eq!(p["linkToDefaultDomain"], "Enabled");
        assert_eq!(
            p["cacheConfiguration"]["queryStringCachingBehavior"],
            "IgnoreQueryString"
        );
        // No path: none sent (Front Door then fetches from the origin's root).
        let mut root = i.clone();
        root.insert("origin_path".into(), Value::Null);
        let wire = serde_json::to_value(route_body(&root).expect("body")).expect("json");
        assert!(wire["properties"].get("originPath").is_none(), "{wire}");
        assert!(route_body(&attrs(json!({}))).is_err());
        let mut vm = root.clone();
        vm.insert("forwarding".into(), json!(HTTP_ONLY));
        let wire = serde_json::to_value(route_body(&vm).expect("body")).expect("json");
        assert_eq!(wire["properties"]["forwardingProtocol"], "HttpOnly");
    }

    #[test]
    fn a_live_id_in_another_case_reads_as_the_recorded_one() {
        let recorded =
            json!("/subscriptions/s/resourceGroups/G/providers/Microsoft.Cdn/profiles/p");
        assert_eq!(
            recorded_id(
                Some(&recorded),
                Some("/subscriptions/s/resourcegroups/g/providers/Microsoft.Cdn/profiles/p".into())
            ),
            recorded
        );
        assert_eq!(
            recorded_id(Some(&recorded), Some("/other".into())),
            json!("/other")
        );
        assert_eq!(recorded_id(None, None), Value::Null);
    }
}
