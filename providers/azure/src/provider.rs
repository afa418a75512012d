//! [`AzureProvider`]: the `overcast_core::Provider` of Azure. It derives names and natives
//! in `expand` (pure) and dispatches each native operation to the handler of its type.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use overcast_core::discovery::{AccountIdentity, DiscoveredResource, DiscoveryFilter};
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{
    AbstractResource, Attrs, ErrorClass, Kind, NativeSpec, NativeState, Provider, ProviderContext,
    ProviderError,
};

use crate::config::{self, Clients, Settings};
use crate::expand;
use crate::handlers::{Handler, handler, handler_of_arm_type, owned_by};
use crate::{discover, names, outputs};

/// The Azure provider for one target of one stack.
#[derive(Debug, Clone)]
pub struct AzureProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stack: String,
    target: String,
    settings: Settings,
    /// The subscription, when known (part of globally unique names); preflight reports
    /// its absence.
    subscription: String,
    /// The resource group of every resource of the target.
    group: String,
    spec_dir: std::path::PathBuf,
    clients: tokio::sync::OnceCell<Clients>,
    /// Whether a compute resource was expanded (the target then needs its network).
    has_compute: AtomicBool,
}

impl AzureProvider {
    /// Build the provider from the target's settings. No network access.
    pub fn new(ctx: ProviderContext) -> Result<AzureProvider, ProviderError> {
        let settings = Settings::from_map(&ctx.settings)?;
        let group = settings
            .resource_group
            .clone()
            .unwrap_or_else(|| names::group(&ctx.stack, &ctx.target));
        Ok(AzureProvider {
            inner: Arc::new(Inner {
                subscription: settings.effective_subscription().unwrap_or_default(),
                stack: ctx.stack,
                target: ctx.target,
                settings,
                group,
                spec_dir: ctx.spec_dir,
                clients: tokio::sync::OnceCell::new(),
                has_compute: AtomicBool::new(false),
            }),
        })
    }

    /// The target's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The resource group every resource of the target lives in.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// The clients (built once).
    pub async fn clients(&self) -> Result<&Clients, ProviderError> {
        self.inner
            .clients
            .get_or_try_init(|| async {
                config::load(
                    &self.inner.settings,
                    &self.inner.group,
                    &self.inner.spec_dir,
                )
            })
            .await
    }

    fn ctx(&self) -> expand::Ctx<'_> {
        expand::Ctx {
            subscription: &self.inner.subscription,
            stack: &self.inner.stack,
            target: &self.inner.target,
            location: self.inner.settings.effective_location(),
        }
    }
}

/// The api-version of Subscriptions_Get (Microsoft.Resources' subscriptions document).
const SUBSCRIPTIONS_API: &str = "2022-12-01";

/// What `account` reads of a subscription.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    #[serde(default)]
    subscription_id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// The handler of a native type, or an error naming the type.
fn handler_of(type_name: &str) -> Result<&'static dyn Handler, ProviderError> {
    handler(type_name).ok_or_else(|| {
        ProviderError::invalid(format!(
            "the azure provider has no native type `{type_name}`"
        ))
    })
}

#[async_trait]
impl Provider for AzureProvider {
    fn name(&self) -> &str {
        "azure"
    }

    /// Each resource provider (Microsoft.Storage, Microsoft.ServiceBus, ...) throttles on
    /// its own.
    fn api_of(&self, type_name: &str) -> &'static str {
        handler(type_name).map_or("arm", |h| h.api())
    }

    fn expand(&self, resource: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        if resource.kind() == Kind::Compute {
            self.inner.has_compute.store(true, Ordering::Relaxed);
        }
        expand::expand(&self.ctx(), resource)
    }

    /// The target's resource group, unless the target names an existing one; its virtual
    /// network when it has a compute resource (after the group: the network lives in it).
    fn expand_target(&self) -> Result<Vec<NativeSpec>, ProviderError> {
        let mut out = Vec::new();
        let own_group = self.inner.settings.resource_group.is_none();
        let location = self.inner.settings.effective_location();
        if own_group {
            out.push(expand::group(
                &self.inner.stack,
                &self.inner.target,
                location,
            ));
        }
        if self.inner.has_compute.load(Ordering::Relaxed) {
            out.push(crate::compute::expand::target(
                &self.inner.stack,
                &self.inner.target,
                location,
                own_group,
            ));
        }
        Ok(out)
    }

    fn outputs(&self, kind: Kind, natives: &[&NativeState]) -> Attrs {
        outputs::abstract_outputs(kind, natives)
    }

    /// The subscription must be known and, against Azure, a credential must yield a token
    /// that ARM accepts for it; a given resource group must exist.
    async fn preflight(&self) -> Result<(), ProviderError> {
        let c = self.clients().await?;
        let target = &self.inner.target;
        let refused = |e: ProviderError| {
            if e.class == ErrorClass::Auth {
                ProviderError::new(
                    ErrorClass::Auth,
                    format!(
                        "azure target `{target}`: Resource Manager refused subscription `{}`: {} (credentials from {})",
                        c.subscription,
                        e.message,
                        crate::credential::SOURCES
                    ),
                )
                .with_hint("run `az login`, or check `subscription_id` and the role assignments")
            } else {
                ProviderError::new(
                    e.class,
                    format!(
                        "azure target `{target}`: Resource Manager did not answer: {}",
                        e.message
                    ),
                )
            }
        };
        if !c.arm.emulated() {
            c.arm
                .credential
                .token(&format!("{}/.default", crate::arm::AZURE_ENDPOINT))
                .await?;
        }
        match &self.inner.settings.resource_group {
            Some(g) => {
                let _: serde_json::Value = c
                    .arm
                    .get(&c.group_id(), crate::group::API)
                    .await
                    .map_err(|e| {
                        if e.class == ErrorClass::NotFound {
                            ProviderError::invalid(format!(
                                "azure target `{target}`: resource group `{g}` does not exist in subscription `{}`",
                                c.subscription
                            ))
                            .with_hint("create it, or remove `resource_group` so the target gets a group of its own")
                        } else {
                            refused(e)
                        }
                    })?;
            }
            None => {
                let mut url = c.arm.url(
                    &format!("/subscriptions/{}/resourcegroups", c.subscription),
                    crate::group::API,
                )?;
                url.query_pairs_mut().append_pair("$top", "1");
                c.arm
                    .send(azure_core::http::Method::Get, url, None)
                    .await
                    .and_then(|a| {
                        if a.status >= 400 {
                            Err(crate::errors::arm(
                                "list resource groups",
                                a.status,
                                &a.body,
                                None,
                            ))
                        } else {
                            Ok(())
                        }
                    })
                    .map_err(refused)?;
            }
        }
        Ok(())
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        state: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        let h = handler_of(&state.type_name)?;
        let read = h
            .read(self.clients().await?, state)
            .await
            .map(|r| Some(r.0));
        overcast_core::error::gone_as(read, None)
    }

    fn generate_secrets(&self, type_name: &str) -> Attrs {
        handler(type_name).map_or_else(Attrs::new, |h| h.generate_secrets())
    }

    async fn create(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let h = handler_of(&req.type_name)?;
        h.create(self.clients().await?, ctx, req).await
    }

    async fn update(
        &self,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let h = handler_of(&prior.type_name)?;
        h.update(self.clients().await?, ctx, prior, inputs).await
    }

    async fn delete(&self, ctx: &OpContext, prior: &NativeState) -> Result<(), ProviderError> {
        let h = handler_of(&prior.type_name)?;
        overcast_core::error::gone_as(h.delete(self.clients().await?, ctx, prior).await, ())
    }

    /// ARM names are ids: what an interrupted create made is at the id the request
    /// derives. It is adopted when its tags name the request's owner (a child type, which
    /// carries no tags, when its parent, which does, exists at all).
    async fn adopt(
        &self,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let h = handler_of(&req.type_name)?;
        let c = self.clients().await?;
        let mut st = NativeState::new(
            req.addr.clone(),
            req.kind,
            &req.type_name,
            h.id_of(c, &req.inputs)?,
        );
        st.inputs = req.inputs.clone();
        match overcast_core::error::gone_as(h.read(c, &st).await.map(Some), None)? {
            Some((obs, Some(tags))) if owned_by(&tags, &req.owner) => Ok(Some(obs)),
            Some((obs, None)) => Ok(Some(obs)),
            _ => Ok(None),
        }
    }

    fn discoverable_types(&self) -> Vec<String> {
        discover::TYPES.iter().map(|t| t.to_string()).collect()
    }

    async fn discover(
        &self,
        _ctx: &OpContext,
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        discover::discover(self.clients().await?, filter).await
    }

    /// Which discovered resource uses which ([`crate::link`]).
    async fn link_discovered(
        &self,
        _ctx: &OpContext,
        found: &mut [DiscoveredResource],
    ) -> Result<(), ProviderError> {
        crate::link::link(self.clients().await?, found).await
    }

    /// The subscription and its display name (Subscriptions_Get).
    async fn account(&self, _ctx: &OpContext) -> Result<AccountIdentity, ProviderError> {
        let c = self.clients().await?;
        let sub: Subscription = c
            .arm
            .get(
                &format!("/subscriptions/{}", c.subscription),
                SUBSCRIPTIONS_API,
            )
            .await?;
        let id = if sub.subscription_id.is_empty() {
            c.subscription.clone()
        } else {
            sub.subscription_id
        };
        let who = AccountIdentity::new("subscription", id);
        Ok(match sub.display_name.filter(|n| !n.is_empty()) {
            Some(name) => who.with_name(name),
            None => who,
        })
    }

    /// A discovered resource as a state its handler can read and delete: its ARM id. Every
    /// discoverable type has a handler; a type without one (none today) is skipped.
    async fn discovered_state(
        &self,
        _ctx: &OpContext,
        found: &DiscoveredResource,
    ) -> Result<Option<NativeState>, ProviderError> {
        let Some((type_name, h)) = handler_of_arm_type(&found.resource_type) else {
            return Ok(None);
        };
        Ok(Some(NativeState::new(
            found.address(),
            h.kind(),
            type_name,
            found.id.clone(),
        )))
    }

    fn to_abstract(&self, state: &NativeState) -> Option<overcast_core::provider::AbstractView> {
        crate::abstracts::to_abstract(state)
    }

    /// An http function is called at its URL; against a test server (no runtime) invoking
    /// is refused with an error that says so.
    async fn invoke(
        &self,
        _ctx: &OpContext,
        state: &NativeState,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, ProviderError> {
        if state.type_name != expand::types::FUNCTION_APP {
            return Err(ProviderError::invalid(format!(
                "`{}` is not a function",
                state.addr
            )));
        }
        let emulator = self.inner.settings.arm_endpoint.as_deref();
        crate::function::invoke::invoke(emulator, state, &payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider(settings: serde_json::Value) -> AzureProvider {
        AzureProvider::new(ProviderContext {
            stack: "shop".into(),
            target: "az".into(),
            settings: settings.as_object().cloned().unwrap_or_default(),
            spec_dir: ".".into(),
            work_dir: ".".into(),
        })
        .expect("provider")
    }

    #[test]
    fn a_target_gets_a_group_of_its_own_unless_it_names_one() {
        let p = provider(json!({"subscription_id": "s"}));
        let t = p.expand_target().expect("target");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].type_name, expand::types::GROUP);
        // A given group is used, not created.
        let p = provider(json!({"subscription_id": "s", "resource_group": "rg"}));
        assert!(p.expand_target().expect("target").is_empty());
        assert_eq!(p.group(), "rg");
    }

    #[test]
    fn a_target_with_a_compute_resource_gets_its_network_after_its_group() {
        let compute = AbstractResource {
            name: "web".into(),
            properties: overcast_core::kinds::Properties::from_value(Kind::Compute, json!({}))
                .expect("properties"),
            referenced_kinds: Default::default(),
        };
        let p = provider(json!({"subscription_id": "s"}));
        p.expand(&compute).expect("expand");
        let t = p.expand_target().expect("target");
        let types: Vec<&str> = t.iter().map(|s| s.type_name.as_str()).collect();
        assert_eq!(types, [expand::types::GROUP, expand::types::VNET]);
        assert_eq!(t[1].depends_on, [expand::locals::GROUP]);
        // In a given group, the network is the target's only native.
        let p = provider(json!({"subscription_id": "s", "resource_group": "rg"}));
        p.expand(&compute).expect("expand");
        let t = p.expand_target().expect("target");
        assert_eq!(t.len(), 1);
        assert!(t[0].depends_on.is_empty());
    }
}
