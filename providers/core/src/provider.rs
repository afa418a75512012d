//! The provider trait: how the engine talks to one cloud (or to the local cloud).
//!
//! A provider is built for one *target* of one stack ([`ProviderContext`]). It expands
//! abstract resources into native ones (pure, no I/O), and performs the four native
//! operations. It never writes state and never retries on its own: the engine wraps
//! every call in one call layer (retries, deadlines, adaptive per-API budgets, adopt on
//! an unknown outcome) and records every result. What a provider owes that layer is a
//! precise [`crate::ErrorClass`] on every error, `retry_after` when the service said how
//! long to wait, and `outcome_unknown` when a request may have taken effect unseen.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use serde_json::Value;

use crate::discovery::{AccountIdentity, DiscoveredResource, DiscoveryFilter};
use crate::error::ProviderError;
use crate::kinds::{Kind, Properties};
use crate::labels::{self, LabelRules};
use crate::native::{Attrs, CreateRequest, NativeSpec, NativeState, Observed, OwnerTags};
use crate::op::OpContext;

/// Where a provider runs: one target of one stack.
#[derive(Debug, Clone)]
pub struct ProviderContext {
    /// Stack name.
    pub stack: String,
    /// Target name (as declared under `targets:`).
    pub target: String,
    /// The target's settings (region, project, `endpoint_url`, fault injection, ...),
    /// with references already resolved.
    pub settings: serde_json::Map<String, Value>,
    /// Directory of the spec file: relative paths in properties are relative to it.
    pub spec_dir: PathBuf,
    /// The stack's working directory (`.overcast/` beside the spec).
    pub work_dir: PathBuf,
}

/// An abstract resource handed to [`Provider::expand`].
#[derive(Debug, Clone)]
pub struct AbstractResource {
    /// Logical name.
    pub name: String,
    /// Typed properties (kind included). String fields may still hold references.
    pub properties: Properties,
    /// Kind of every resource this one references by name (`${site}` -> storage), so a
    /// provider can choose which attribute of the referenced resource it needs.
    pub referenced_kinds: BTreeMap<String, Kind>,
}

impl AbstractResource {
    /// The resource's kind.
    pub fn kind(&self) -> Kind {
        self.properties.kind()
    }
}

/// A native resource seen as an abstract one (see [`Provider::to_abstract`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AbstractView {
    /// The kind.
    pub kind: Kind,
    /// The properties a spec would write for it (only those that differ from defaults
    /// need be present).
    pub properties: serde_json::Map<String, Value>,
    /// What could not be carried exactly: `(property, what differs)`.
    pub approximations: Vec<(String, String)>,
}

/// A cloud, as the engine sees it.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name (`local`, `aws`, `azure`, `gcp`).
    fn name(&self) -> &str;

    /// The API a native type's calls go to (`s3`, `ec2`, ...), as a key of the engine's
    /// per-target, per-API call budget: when one API throttles, only its calls slow down.
    /// Default: one budget for the whole provider.
    fn api_of(&self, type_name: &str) -> &'static str {
        let _ = type_name;
        "api"
    }

    /// Expand an abstract resource into its native resources. Pure: no I/O.
    fn expand(&self, resource: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError>;

    /// The natives this provider needs once per target, before any resource of it and
    /// after the last one is gone: an Azure resource group, a GCP network or enabled API,
    /// the local cloud's root directory. Pure, like [`Provider::expand`]. The engine puts
    /// them at `@<target>.<local>`, makes every other native of the target depend on them
    /// (created first, destroyed last), keeps them while any resource of the stack is on
    /// the target, and tags them like every other native. Default: none.
    fn expand_target(&self) -> Result<Vec<NativeSpec>, ProviderError> {
        Ok(Vec::new())
    }

    /// The abstract attributes (see [`Kind::outputs`]) of a resource, computed from the
    /// state of its natives. Attributes not computable yet are left out.
    fn outputs(&self, kind: Kind, natives: &[&NativeState]) -> Attrs;

    /// Check credentials and reachability before any change. The default accepts.
    async fn preflight(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Read a native resource's live state; `Ok(None)` when it no longer exists.
    async fn read(
        &self,
        ctx: &OpContext,
        state: &NativeState,
    ) -> Result<Option<Observed>, ProviderError>;

    /// Secrets to generate for a create of `type_name` before it starts (a database's
    /// master password, say). The engine records them in the create's write-ahead intent
    /// and passes them in [`CreateRequest::secrets`] to both `create` and `adopt`, so a
    /// crash between the create and its recorded result cannot lose them. Default: none.
    fn generate_secrets(&self, type_name: &str) -> Attrs {
        let _ = type_name;
        Attrs::new()
    }

    /// Create a native resource, tagged with `req.owner`. Where the cloud deduplicates
    /// requests, pass `ctx.idempotency_key`; where an operation runs long, wait through
    /// [`crate::poll::poll_until`] with `ctx`.
    async fn create(&self, ctx: &OpContext, req: &CreateRequest)
    -> Result<Observed, ProviderError>;

    /// Update a native resource in place to the given (resolved) inputs.
    async fn update(
        &self,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError>;

    /// Delete a native resource. Deleting one that is already gone is a success.
    async fn delete(&self, ctx: &OpContext, prior: &NativeState) -> Result<(), ProviderError>;

    /// Find a resource that an interrupted apply may have created for `req` (by its owner
    /// tags or deterministic name) so it can be adopted instead of created twice.
    async fn adopt(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError>;

    /// The resource types [`Provider::discover`] can list (e.g. `s3:bucket`). Empty: the
    /// provider cannot discover.
    fn discoverable_types(&self) -> Vec<String> {
        Vec::new()
    }

    /// List resources in the target's account and region, independently of state: all of
    /// them, or those matching `filter`. Paginated to the end.
    async fn discover(
        &self,
        ctx: &OpContext,
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        let _ = (ctx, filter);
        Err(ProviderError::invalid(format!(
            "provider `{}` cannot list resources that are not in state",
            self.name()
        ))
        .with_hint("`overcast state list` shows what overcast recorded"))
    }

    /// Fill [`DiscoveredResource::uses`] of `found` (what discovery just listed): which
    /// resource uses which, as far as this provider can tell from the listing and a few
    /// more reads (an instance's security groups, a distribution's origins, a replica's
    /// primary, everything in a resource group). `nuke` deletes along it: users before
    /// what they use. Only `uses` may change. Default: nothing known.
    async fn link_discovered(
        &self,
        ctx: &OpContext,
        found: &mut [DiscoveredResource],
    ) -> Result<(), ProviderError> {
        let _ = (ctx, found);
        Ok(())
    }

    /// The account, subscription or project this target acts in (and its alias or
    /// name), for `nuke`'s confirmation and allow/block lists.
    async fn account(&self, ctx: &OpContext) -> Result<AccountIdentity, ProviderError> {
        let _ = ctx;
        Err(ProviderError::invalid(format!(
            "provider `{}` cannot tell which account it acts in",
            self.name()
        )))
    }

    /// The labels that carry `owner` on this cloud, within its rules (see
    /// [`crate::labels`]). Default: tags that take any value (`overcast:stack`, ...).
    fn owner_labels(&self, owner: &OwnerTags) -> Vec<(String, String)> {
        labels::encode(owner, &LabelRules::TAGS)
    }

    /// The owner that a discovered resource's labels carry, if overcast created it:
    /// the inverse of [`Provider::owner_labels`].
    fn decode_owner(&self, labels: &BTreeMap<String, String>) -> Option<OwnerTags> {
        labels::decode(labels, &LabelRules::TAGS)
    }

    /// The discovery filter of everything overcast created for `stack` (and `target`), in
    /// this cloud's label keys.
    fn owner_filter(&self, stack: &str, target: Option<&str>) -> DiscoveryFilter {
        DiscoveryFilter::stack(stack, target)
    }

    /// The state a discovered resource would have if overcast had recorded it: enough for
    /// [`Provider::read`] and [`Provider::delete`] to act on it with no recorded state (what
    /// `nuke` deletes, what `import` adopts). `Ok(None)`: a type this provider does not
    /// manage. Default: none.
    async fn discovered_state(
        &self,
        ctx: &OpContext,
        found: &DiscoveredResource,
    ) -> Result<Option<NativeState>, ProviderError> {
        let _ = (ctx, found);
        Ok(None)
    }

    /// Delete a discovered resource, with no recorded state: through
    /// [`Provider::discovered_state`] and [`Provider::delete`].
    async fn delete_discovered(
        &self,
        ctx: &OpContext,
        found: &DiscoveredResource,
    ) -> Result<(), ProviderError> {
        match self.discovered_state(ctx, found).await? {
            Some(state) => self.delete(ctx, &state).await,
            None => Err(ProviderError::invalid(format!(
                "provider `{}` cannot delete `{}` ({}): not a type it manages",
                self.name(),
                found.id,
                found.resource_type
            ))),
        }
    }

    /// The abstract resource a native most likely belongs to, for `migrate` and
    /// `discover -o`: its kind, the properties a spec would write, and what the mapping
    /// could not carry exactly. `None`: the native is a part of a resource that another
    /// native represents (a role of a function), or a type with no abstract kind.
    fn to_abstract(&self, state: &NativeState) -> Option<AbstractView> {
        let _ = state;
        None
    }

    /// Invoke a function resource with a JSON payload and return its JSON result.
    async fn invoke(
        &self,
        ctx: &OpContext,
        state: &NativeState,
        payload: Value,
    ) -> Result<Value, ProviderError> {
        let _ = (ctx, payload);
        Err(ProviderError::invalid(format!(
            "provider `{}` cannot invoke `{}` ({}) from here",
            self.name(),
            state.addr,
            state.type_name
        )))
    }
}
