//! The target's resource group (`@<target>.group`), Microsoft.Resources 2022-09-01.
//! Deleting it deletes whatever is still in it: the engine deletes it last, after every
//! resource of the target, so by then it holds only what overcast does not own, and a
//! group that still holds something is refused rather than emptied (see [`Group::delete`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::handlers::{Handler, Read, str_of, tags};
use crate::ids;

/// The pinned api-version.
pub const API: &str = "2022-09-01";

#[derive(Debug, Serialize)]
struct Body<'a> {
    location: &'a str,
    tags: &'a BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Live {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Listed {
    id: String,
}

fn observe(g: Live) -> Read {
    let inputs = crate::expand::attrs(json!({"name": g.name, "location": g.location}));
    let outputs = crate::expand::attrs(json!({"name": g.name}));
    (Observed::new(g.id, inputs, outputs), Some(g.tags))
}

/// The `azure_resource_group` handler.
pub struct Group;

#[async_trait]
impl Handler for Group {
    fn api(&self) -> &'static str {
        "resources"
    }
    fn kind(&self) -> Kind {
        Kind::Target
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &["Microsoft.Resources/resourceGroups"]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(ids::group(&c.subscription, str_of(inputs, "name")?))
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        Ok(observe(c.arm.get(&st.id, API).await?))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let body = Body {
            location: str_of(&req.inputs, "location")?,
            tags: &tags(&req.owner),
        };
        let live: Live = c.arm.put(ctx, &id, API, &body).await?;
        Ok(observe(live).0)
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // Name and location force a replacement: nothing else to change.
        Ok(self.read(c, prior).await?.0)
    }
    /// Refuses to delete a group that still holds resources: the engine has deleted every
    /// resource of the stack by now (a destroy), or every resource of the group that nuke
    /// was to delete (every resource uses its group), so what is left is someone else's or
    /// excluded (`keep=true`), and deleting the group would delete it too. The conflict
    /// names what is left; nuke re-queues it and reports it left when nothing moves.
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        let left: Vec<Listed> = c
            .arm
            .list(c.arm.url(&format!("{}/resources", prior.id), API)?)
            .await?
            .into_iter()
            .filter_map(|v: Value| serde_json::from_value(v).ok())
            .collect();
        if !left.is_empty() {
            let names: Vec<&str> = left.iter().take(5).map(|l| l.id.as_str()).collect();
            return Err(ProviderError::new(
                overcast_core::ErrorClass::Conflict,
                format!(
                    "resource group `{}` still holds {} resource(s), which deleting it would delete too: {}",
                    prior.id,
                    left.len(),
                    names.join(", ")
                ),
            )
            .with_hint("delete or move them first (a destroy leaves what it does not own; `overcast nuke` what its filters exclude)"));
        }
        c.arm.delete(ctx, &prior.id, API).await
    }
}
