//! [`GcpProvider`]: the `overcast_core::Provider` of Google Cloud. It derives names and
//! natives in `expand` (pure) and dispatches each native operation to the handler of its
//! type. Clients are built on first use (the constructor is synchronous).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use overcast_core::discovery::{AccountIdentity, DiscoveredResource, DiscoveryFilter};
use overcast_core::labels::{self, LabelRules};
use overcast_core::native::{CreateRequest, Observed, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::provider::AbstractView;
use overcast_core::{
    AbstractResource, Attrs, ErrorClass, Kind, NativeSpec, NativeState, Provider, ProviderContext,
    ProviderError,
};
use tokio::sync::OnceCell;

use crate::config::{self, ADC_SOURCES, Clients, Settings};
use crate::expand;
use crate::handlers::{Handler, handler, handler_of_discovered};
use crate::{discover, outputs};

/// The GCP provider for one target of one stack.
#[derive(Debug, Clone)]
pub struct GcpProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stack: String,
    target: String,
    settings: Settings,
    /// The spec's directory (functions' sources are relative to it).
    spec_dir: std::path::PathBuf,
    clients: OnceCell<Clients>,
    /// A compute resource was expanded on this target: its network is needed (see
    /// `expand_target`, which the engine calls after expanding every resource).
    has_compute: AtomicBool,
    /// Whether `expand` met a function (the target then needs its staging bucket).
    has_function: AtomicBool,
    /// A compute or cdn resource was expanded: preflight checks Compute Engine too.
    uses_compute_api: AtomicBool,
    /// A database resource was expanded: preflight checks Cloud SQL Admin too.
    has_database: AtomicBool,
}

impl GcpProvider {
    /// Build the provider from the target's settings. No network access: credentials and
    /// clients are loaded on the first call.
    pub fn new(ctx: ProviderContext) -> Result<GcpProvider, ProviderError> {
        let settings = Settings::from_map(&ctx.settings)?;
        Ok(GcpProvider {
            inner: Arc::new(Inner {
                stack: ctx.stack,
                target: ctx.target,
                settings,
                spec_dir: ctx.spec_dir,
                clients: OnceCell::new(),
                has_compute: AtomicBool::new(false),
                has_function: AtomicBool::new(false),
                uses_compute_api: AtomicBool::new(false),
                has_database: AtomicBool::new(false),
            }),
        })
    }

    /// The target's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The clients (built once).
    pub async fn clients(&self) -> Result<&Clients, ProviderError> {
        self.inner
            .clients
            .get_or_try_init(|| config::load(&self.inner.settings, &self.inner.spec_dir))
            .await
    }
}

impl GcpProvider {
    /// The target's staging bucket native (see [`crate::functions::staging`]).
    fn staging_bucket(&self) -> NativeSpec {
        crate::functions::staging::spec(
            &self.inner.stack,
            &self.inner.target,
            self.inner.settings.effective_region(),
        )
    }
}

/// The handler of a native type, or an error naming the type.
fn handler_of(type_name: &str) -> Result<&'static dyn Handler, ProviderError> {
    handler(type_name).ok_or_else(|| {
        ProviderError::invalid(format!("the gcp provider has no native type `{type_name}`"))
    })
}

#[async_trait]
impl Provider for GcpProvider {
    fn name(&self) -> &str {
        "gcp"
    }

    /// Cloud Storage and Pub/Sub meter their request rates separately.
    fn api_of(&self, type_name: &str) -> &'static str {
        handler(type_name).map_or("gcp", |h| h.api())
    }

    fn expand(&self, resource: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        let ctx = expand::Ctx {
            stack: &self.inner.stack,
            target: &self.inner.target,
            region: self.inner.settings.effective_region(),
            zone: self.inner.settings.zone.as_deref(),
        };
        if resource.kind() == Kind::Compute {
            self.inner.has_compute.store(true, Ordering::Relaxed);
        }
        if resource.kind() == Kind::Function {
            self.inner.has_function.store(true, Ordering::Relaxed);
        }
        if matches!(resource.kind(), Kind::Compute | Kind::Cdn) {
            self.inner.uses_compute_api.store(true, Ordering::Relaxed);
        }
        if resource.kind() == Kind::Database {
            self.inner.has_database.store(true, Ordering::Relaxed);
        }
        expand::expand(&ctx, resource)
    }

    /// What the target's resources need once per target: the stack's own VPC network
    /// (`@<target>.network`) when it has a compute resource (its instances and firewall
    /// rules live on it, never on the project's `default` network), and the staging
    /// bucket of functions' source archives (`@<target>.staging`) when it has a function.
    /// A stack of buckets and queues needs neither (nor Compute Engine's API).
    fn expand_target(&self) -> Result<Vec<NativeSpec>, ProviderError> {
        let mut out = Vec::new();
        if self.inner.has_compute.load(Ordering::Relaxed) {
            out.extend(crate::compute::expand::target(
                &self.inner.stack,
                &self.inner.target,
            ));
        }
        if self.inner.has_function.load(Ordering::Relaxed) {
            out.push(self.staging_bucket());
        }
        Ok(out)
    }

    fn outputs(&self, kind: Kind, natives: &[&NativeState]) -> Attrs {
        outputs::abstract_outputs(kind, natives)
    }

    /// The project must be known and, against Google (no emulator endpoint), Application
    /// Default Credentials must yield a token; the error names what was tried.
    async fn preflight(&self) -> Result<(), ProviderError> {
        let s = &self.inner.settings;
        s.effective_project()?;
        let c = self.clients().await?;
        // Listing one page of each service proves the endpoint answers and the
        // credentials are accepted there.
        let target = &self.inner.target;
        let auth = |e: ProviderError, service: &str, emulated: bool| {
            if e.class == ErrorClass::Retryable || emulated {
                return ProviderError::new(
                    e.class,
                    format!(
                        "gcp target `{target}`: {service} did not answer: {}",
                        e.message
                    ),
                );
            }
            ProviderError::new(
                ErrorClass::Auth,
                format!(
                    "gcp target `{target}`: {service} refused project `{}`: {} (credentials from {ADC_SOURCES})",
                    c.project, e.message
                ),
            )
            .with_hint("run `gcloud auth application-default login`, or check the project id and that the API is enabled")
        };
        c.gcs
            .list_page(&c.project)
            .await
            .map_err(|e| auth(e, "Cloud Storage", s.storage_endpoint.is_some()))?;
        c.topics
            .list_topics()
            .set_project(format!("projects/{}", c.project))
            .set_page_size(1)
            .send()
            .await
            .map_err(|e| {
                auth(
                    crate::errors::gax("ListTopics", e),
                    "Pub/Sub",
                    s.pubsub_endpoint.is_some(),
                )
            })?;
        // Compute Engine only when a compute or cdn resource of the stack needs it.
        if self.inner.uses_compute_api.load(Ordering::Relaxed) {
            crate::compute::global::Global::Network
                .list(&c.compute)
                .await
                .map_err(|e| auth(e, "Compute Engine", s.compute_endpoint.is_some()))?;
        }
        // Cloud SQL Admin only when the stack has a database: one page of one instance.
        if self.inner.has_database.load(Ordering::Relaxed) {
            c.sql
                .list_instances_page(&c.project, 1)
                .await
                .map_err(|e| auth(e, "Cloud SQL Admin", s.sql_endpoint.is_some()))?;
        }
        Ok(())
    }

    async fn read(
        &self,
        ctx: &OpContext,
        state: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        let h = handler_of(&state.type_name)?;
        overcast_core::error::gone_as(h.read(self.clients().await?, ctx, state).await, None)
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

    async fn adopt(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let h = handler_of(&req.type_name)?;
        overcast_core::error::gone_as(h.adopt(self.clients().await?, ctx, req).await, None)
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

    /// What each found resource uses, from the listings read again (see [`crate::link`]).
    async fn link_discovered(
        &self,
        _ctx: &OpContext,
        found: &mut [DiscoveredResource],
    ) -> Result<(), ProviderError> {
        crate::link::link(self.clients().await?, found).await
    }

    /// The project the target acts in. Its display name would take the Resource Manager
    /// API (and a permission a lab's service account may lack): not read.
    async fn account(&self, _ctx: &OpContext) -> Result<AccountIdentity, ProviderError> {
        let project = self.inner.settings.effective_project()?;
        Ok(AccountIdentity::new("project", project))
    }

    fn owner_labels(&self, owner: &OwnerTags) -> Vec<(String, String)> {
        labels::encode(owner, &LabelRules::GCP)
    }

    fn decode_owner(&self, found: &BTreeMap<String, String>) -> Option<OwnerTags> {
        labels::decode(found, &LabelRules::GCP)
    }

    /// The stack's (and target's) labels as GCP writes them: escaped, and split across
    /// numbered keys when long, so every part must match.
    fn owner_filter(&self, stack: &str, target: Option<&str>) -> DiscoveryFilter {
        let probe = OwnerTags {
            stack: stack.to_string(),
            target: target.unwrap_or_default().to_string(),
            resource: String::new(),
        };
        let [stack_key, target_key, _] = LabelRules::GCP.keys;
        let tags = labels::encode(&probe, &LabelRules::GCP)
            .into_iter()
            .filter(|(k, _)| {
                k.starts_with(stack_key) || (target.is_some() && k.starts_with(target_key))
            })
            .map(|(k, v)| (k, Some(v)))
            .collect();
        DiscoveryFilter {
            tags,
            types: Vec::new(),
        }
    }

    /// A discovered resource as a state its handler can read and delete: its full
    /// resource name as id (a bucket's name), its address from its owner labels.
    async fn discovered_state(
        &self,
        _ctx: &OpContext,
        found: &DiscoveredResource,
    ) -> Result<Option<NativeState>, ProviderError> {
        let Some((type_name, h)) = handler_of_discovered(&found.resource_type) else {
            return Ok(None);
        };
        let addr = found.address();
        Ok(Some(NativeState::new(
            addr,
            h.kind(),
            type_name,
            found.id.clone(),
        )))
    }

    fn to_abstract(&self, state: &NativeState) -> Option<AbstractView> {
        crate::abstracts::to_abstract(state)
    }

    /// An http function is called at its URL; an emulator's functions (no runtime) are
    /// refused with an error that says so.
    async fn invoke(
        &self,
        _ctx: &OpContext,
        state: &NativeState,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, ProviderError> {
        if state.type_name != expand::types::FUNCTION {
            return Err(ProviderError::invalid(format!(
                "`{}` is not a function",
                state.addr
            )));
        }
        let emulator = self.inner.settings.functions_endpoint.as_deref();
        crate::functions::invoke::invoke(emulator, state, &payload).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider() -> GcpProvider {
        GcpProvider::new(ProviderContext {
            stack: "s".into(),
            target: "t".into(),
            settings: json!({"project": "p"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            spec_dir: ".".into(),
            work_dir: ".".into(),
        })
        .expect("provider")
    }

    #[test]
    fn the_owner_filter_matches_the_labels_of_a_long_escaped_stack_name() {
        let p = provider();
        let owner = OwnerTags {
            stack: format!("Shop.{}", "x".repeat(70)),
            target: "prod_eu".into(),
            resource: "web.instance[0]".into(),
        };
        let labels: BTreeMap<String, String> = p.owner_labels(&owner).into_iter().collect();
        assert!(labels.contains_key("overcast-stack-2"), "{labels:?}");
        assert!(
            p.owner_filter(&owner.stack, Some(&owner.target))
                .matches(&labels)
        );
        assert!(!p.owner_filter(&owner.stack, Some("other")).matches(&labels));
        assert!(!p.owner_filter("shop", None).matches(&labels));
        assert_eq!(p.decode_owner(&labels), Some(owner));
    }

    #[test]
    fn storage_and_pubsub_have_budgets_of_their_own() {
        let p = provider();
        assert_eq!(p.api_of(crate::expand::types::BUCKET), "storage");
        assert_eq!(p.api_of(crate::expand::types::SUBSCRIPTION), "pubsub");
        assert_eq!(p.api_of(crate::expand::types::TOPIC), "pubsub");
    }
}
