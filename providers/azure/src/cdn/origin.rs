//! The `azure_cdn_origin_group` and `azure_cdn_origin` natives: where Front Door fetches
//! what it does not hold.

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API, PROFILE_TYPE, name_after};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, read_state, str_of};

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
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
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
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
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
    #[serde(default)]
    http_port: Option<u64>,
}

/// The HTTP port of an origin: the first of its `ports` (a compute origin's, resolved from
/// its security group), else 80.
fn http_port(inputs: &Attrs) -> Result<u16, ProviderError> {
    let Some(ports) = inputs.get("ports") else {
        return Ok(80);
    };
    ports
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "cdn origin: the compute origin opens no port (its ports are {ports}): Front \
                 Door needs a port the machine serves HTTP on"
            ))
            .with_hint("give the compute resource `ports`, the first one its HTTP server's")
        })
}

/// The recorded `ports` when the live port is their first (the origin keeps one port, the
/// resource lists all of them), else the live port alone.
fn ports_seen(recorded: &Value, live: Option<u64>) -> Value {
    let first = recorded
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_u64);
    match live {
        Some(l) if first == Some(l) => recorded.clone(),
        l => json!([l]),
    }
}

fn origin_body(inputs: &Attrs) -> Result<OriginBody<'_>, ProviderError> {
    let host_name = str_of(inputs, "host_name")?;
    if host_name.is_empty() {
        return Err(ProviderError::invalid(
            "cdn origin: the origin's host is empty (a compute origin's public IP has no \
             address yet, or the machine has none)",
        ));
    }
    Ok(OriginBody {
        properties: OriginProps {
            host_name,
            origin_host_header: str_of(inputs, "host_header")?,
            http_port: http_port(inputs)?,
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
        let mut inputs = attrs(json!({
            "name": live.name,
            "profile": name_after(&live.id, "profiles"),
            "origin_group": name_after(&live.id, "originGroups"),
            "host_name": live.properties.host_name,
            "host_header": live.properties.origin_host_header,
        }));
        match st.inputs.get("ports") {
            Some(recorded) => {
                inputs.insert(
                    "ports".into(),
                    ports_seen(recorded, live.properties.http_port),
                );
            }
            // An origin without ports is on 80: another port reads as drift.
            None if live.properties.http_port.is_some_and(|p| p != 80) => {
                inputs.insert("ports".into(), json!([live.properties.http_port]));
            }
            None => {}
        }
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
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
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
        assert_eq!(wire["properties"]["httpPort"], 80);
        assert!(origin_body(&attrs(json!({}))).is_err());
        // A compute origin: its IP on the first of its ports; none is refused by name.
        let vm = attrs(
            json!({"host_name": "20.1.2.3", "host_header": "20.1.2.3", "ports": [8080, 9000]}),
        );
        let wire = serde_json::to_value(origin_body(&vm).expect("body")).expect("json");
        assert_eq!(wire["properties"]["hostName"], "20.1.2.3");
        assert_eq!(wire["properties"]["httpPort"], 8080);
        let none = attrs(json!({"host_name": "20.1.2.3", "host_header": "20.1.2.3", "ports": []}));
        let e = origin_body(&none).unwrap_err();
        assert!(e.message.contains("opens no port"), "{}", e.message);
        let empty = attrs(json!({"host_name": "", "host_header": "", "ports": [80]}));
        assert!(
            origin_body(&empty)
                .unwrap_err()
                .message
                .contains("host is empty")
        );
        assert_eq!(
            ports_seen(&json!([8080, 9000]), Some(8080)),
            json!([8080, 9000])
        );
        assert_eq!(ports_seen(&json!([8080, 9000]), Some(81)), json!([81]));
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
