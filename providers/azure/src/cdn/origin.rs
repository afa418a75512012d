//! The `azure_cdn_origin_group` and `azure_cdn_origin` natives: where Front Door fetches
//! what it does not hold.

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API, PROFILE_TYPE, name_after, state_of};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, str_of};

// --- the origin group ----------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct GroupBody {
    properties: GroupProps,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupProps {
    load_balancing_settings: LoadBalancing,
    health_probe_settings: HealthProbe,
    session_affinity_state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LoadBalancing {
    sample_size: u32,
    successful_samples_required: u32,
    additional_latency_in_milliseconds: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthProbe {
    probe_path: &'static str,
    probe_request_type: &'static str,
    probe_protocol: &'static str,
    probe_interval_in_seconds: u32,
}

/// Front Door's defaults, and a cheap probe. With one origin in the group Front Door sends
/// it every request whatever its probes say, so the probe only informs the portal.
fn group_body() -> GroupBody {
    GroupBody {
        properties: GroupProps {
            load_balancing_settings: LoadBalancing {
                sample_size: 4,
                successful_samples_required: 3,
                additional_latency_in_milliseconds: 50,
            },
            health_probe_settings: HealthProbe {
                probe_path: "/",
                probe_request_type: "HEAD",
                probe_protocol: "Https",
                probe_interval_in_seconds: 100,
            },
            session_affinity_state: "Disabled",
        },
    }
}

#[derive(Debug, Deserialize)]
struct Live {
    id: String,
    name: String,
}

fn group_id(c: &Clients, profile: &str, group: &str) -> String {
    format!("{}/originGroups/{group}", c.id(PROFILE_TYPE, profile))
}

/// The `azure_cdn_origin_group` handler.
pub struct OriginGroup;

#[async_trait]
impl Handler for OriginGroup {
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
        Ok(group_id(
            c,
            str_of(inputs, "profile")?,
            str_of(inputs, "name")?,
        ))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: Live = c.arm.get(&st.id, API).await?;
        let inputs = attrs(json!({
            "name": live.name,
            "profile": name_after(&live.id, "profiles"),
        }));
        let outputs = attrs(json!({"name": live.name, "id": live.id}));
        Ok((Observed::new(live.id, inputs, outputs), None))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let _: Value = c.arm.put(ctx, &id, API, &group_body()).await?;
        Ok(self.read(c, &state_of(&id, &req.inputs)).await?.0)
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // Its settings are fixed: a PUT puts back any changed by hand.
        let _: Value = c.arm.put(ctx, &prior.id, API, &group_body()).await?;
        Ok(self.read(c, &state_of(&prior.id, inputs)).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

// --- the origin ----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct OriginBody<'a> {
    properties: OriginProps<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OriginProps<'a> {
    host_name: &'a str,
    origin_host_header: &'a str,
    http_port: u16,
    https_port: u16,
    priority: u8,
    weight: u16,
    enabled_state: &'static str,
    enforce_certificate_name_check: bool,
}

#[derive(Debug, Deserialize)]
struct OriginLive {
    id: String,
    name: String,
    #[serde(default)]
    properties: OriginLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OriginLiveProps {
    #[serde(default)]
    host_name: Option<String>,
    #[serde(default)]
    origin_host_header: Option<String>,
}

fn origin_body(inputs: &Attrs) -> Result<OriginBody<'_>, ProviderError> {
    Ok(OriginBody {
        properties: OriginProps {
            host_name: str_of(inputs, "host_name")?,
            origin_host_header: str_of(inputs, "host_header")?,
            http_port: 80,
            https_port: 443,
            priority: 1,
            weight: 1000,
            enabled_state: "Enabled",
            // The route fetches over HTTPS: the origin's certificate must name its host.
            enforce_certificate_name_check: true,
        },
    })
}

/// The `azure_cdn_origin` handler.
pub struct Origin;

#[async_trait]
impl Handler for Origin {
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
            "{}/origins/{}",
            group_id(
                c,
                str_of(inputs, "profile")?,
                str_of(inputs, "origin_group")?
            ),
            str_of(inputs, "name")?
        ))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: OriginLive = c.arm.get(&st.id, API).await?;
        let inputs = attrs(json!({
            "name": live.name,
            "profile": name_after(&live.id, "profiles"),
            "origin_group": name_after(&live.id, "originGroups"),
            "host_name": live.properties.host_name,
            "host_header": live.properties.origin_host_header,
        }));
        let outputs = attrs(json!({
            "name": live.name,
            "host_name": live.properties.host_name,
        }));
        Ok((Observed::new(live.id, inputs, outputs), None))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let _: Value = c.arm.put(ctx, &id, API, &origin_body(&req.inputs)?).await?;
        Ok(self.read(c, &state_of(&id, &req.inputs)).await?.0)
    }
    /// A new host in place: Front Door keeps the last origin of a group a route uses, so
    /// the origin is never deleted to change it.
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let _: Value = c
            .arm
            .put(ctx, &prior.id, API, &origin_body(inputs)?)
            .await?;
        Ok(self.read(c, &state_of(&prior.id, inputs)).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_group_bodies_are_front_doors_wire_shape() {
        let i = attrs(
            json!({"host_name": "a.blob.core.windows.net", "host_header": "a.blob.core.windows.net"}),
        );
        let wire = serde_json::to_value(origin_body(&i).expect("body")).expect("json");
        assert_eq!(wire["properties"]["hostName"], "a.blob.core.windows.net");
        assert_eq!(
            wire["properties"]["originHostHeader"],
            "a.blob.core.windows.net"
        );
        assert_eq!(wire["properties"]["enforceCertificateNameCheck"], true);
        assert!(origin_body(&attrs(json!({}))).is_err());
        let group = serde_json::to_value(group_body()).expect("json");
        assert_eq!(
            group["properties"]["loadBalancingSettings"]["successfulSamplesRequired"],
            3
        );
        assert_eq!(
            group["properties"]["healthProbeSettings"]["probeProtocol"],
            "Https"
        );
    }
}
