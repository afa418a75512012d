//! The `azure_function_plan` native: an App Service plan (`Microsoft.Web/serverfarms`) on
//! Linux Consumption: SKU `Y1` in the `Dynamic` tier, `reserved` (Linux), tagged with its
//! owner. Nothing of it changes in place: name, region and SKU are fixed at creation.

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API, PLAN_TYPE};
use crate::config::Clients;
use crate::expand::attrs;
use crate::handlers::{Handler, Read, str_of, tags};

/// The tier of each SKU a plan of overcast's may have.
fn tier_of(sku: &str) -> Result<&'static str, ProviderError> {
    match sku {
        "Y1" => Ok("Dynamic"),
        other => Err(ProviderError::invalid(format!(
            "input `sku`: `{other}` is not a Consumption plan SKU (Y1)"
        ))),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Sku {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
}

#[derive(Debug, Serialize)]
struct PlanBody<'a> {
    location: &'a str,
    kind: &'static str,
    sku: Sku,
    tags: &'a BTreeMap<String, String>,
    properties: PlanProps,
}

#[derive(Debug, Serialize)]
struct PlanProps {
    /// Linux.
    reserved: bool,
}

#[derive(Debug, Deserialize)]
struct PlanLive {
    id: String,
    name: String,
    location: String,
    sku: Sku,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// Azure answers regions of Microsoft.Web in their display form (`West Europe`).
pub fn normalize_location(location: &str) -> String {
    location.replace(' ', "").to_ascii_lowercase()
}

/// The `azure_function_plan` handler.
pub struct Plan;

#[async_trait]
impl Handler for Plan {
    fn api(&self) -> &'static str {
        "web"
    }
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[PLAN_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(PLAN_TYPE, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: PlanLive = c.arm.get(&st.id, API).await?;
        let inputs = attrs(json!({
            "name": live.name,
            "location": normalize_location(&live.location),
            "sku": live.sku.name,
        }));
        let outputs = attrs(json!({"name": live.name, "id": live.id}));
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
        let sku = str_of(i, "sku")?;
        let body = PlanBody {
            location: str_of(i, "location")?,
            kind: "functionapp",
            sku: Sku {
                name: sku.to_string(),
                tier: Some(tier_of(sku)?.to_string()),
            },
            tags: &tags(&req.owner),
            properties: PlanProps { reserved: true },
        };
        let _: Value = c.arm.put(ctx, &id, API, &body).await?;
        let st = NativeState::new(req.addr.clone(), req.kind, &req.type_name, id);
        Ok(self.read(c, &st).await?.0)
    }
    /// Every input forces a replacement: there is nothing to change in place.
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        Ok(self.read(c, prior).await?.0)
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_tagged_linux_consumption_plan() {
        let tags = BTreeMap::from([("overcast:stack".to_string(), "s".to_string())]);
        let body = PlanBody {
            location: "westeurope",
            kind: "functionapp",
            sku: Sku {
                name: "Y1".into(),
                tier: Some(tier_of("Y1").expect("tier").into()),
            },
            tags: &tags,
            properties: PlanProps { reserved: true },
        };
        assert_eq!(
            serde_json::to_value(&body).expect("json"),
            json!({"location": "westeurope", "kind": "functionapp",
                   "sku": {"name": "Y1", "tier": "Dynamic"},
                   "tags": {"overcast:stack": "s"}, "properties": {"reserved": true}})
        );
        assert!(tier_of("S1").is_err());
        assert_eq!(normalize_location("West Europe"), "westeurope");
    }
}
