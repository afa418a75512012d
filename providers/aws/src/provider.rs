//! [`AwsProvider`]: the `overcast_core::Provider` of AWS. It derives names and natives in
//! `expand` (pure), and dispatches each native operation to the module of its service.
//! SDK clients are built on first use (the constructor is synchronous).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use overcast_core::discovery::AccountIdentity;
use overcast_core::error::gone_as;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{
    AbstractResource, Attrs, ErrorClass, Kind, NativeSpec, NativeState, Provider, ProviderContext,
    ProviderError,
};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::config::{self, Clients, Settings};
use crate::discover::{self, DiscoveredResource, DiscoveryFilter};
use crate::expand::{self, types};
use crate::handlers::{Handler, handler, handler_of_discovered};
use crate::{errors, outputs};

/// The AWS provider for one target of one stack.
#[derive(Debug, Clone)]
pub struct AwsProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stack: String,
    target: String,
    spec_dir: PathBuf,
    settings: Settings,
    clients: OnceCell<Clients>,
}

impl AwsProvider {
    /// Build the provider from the target's settings (`region`, `endpoint_url`, `profile`).
    /// No network access: clients and credentials are loaded on the first call.
    pub fn new(ctx: ProviderContext) -> Result<AwsProvider, ProviderError> {
        let settings = Settings::from_map(&ctx.settings)?;
        Ok(AwsProvider {
            inner: Arc::new(Inner {
                stack: ctx.stack,
                target: ctx.target,
                spec_dir: ctx.spec_dir,
                settings,
                clients: OnceCell::new(),
            }),
        })
    }

    /// Like [`AwsProvider::new`], with an SDK configuration loaded by the caller (its
    /// credentials, region and endpoint are used as they are; the engine's single retry
    /// layer assumes the caller disabled the SDK's retries too).
    pub fn with_sdk_config(
        ctx: ProviderContext,
        sdk: SdkConfig,
    ) -> Result<AwsProvider, ProviderError> {
        let settings = Settings::from_map(&ctx.settings)?;
        let clients = config::from_sdk_config(&settings, &ctx.spec_dir, sdk)?;
        Ok(AwsProvider {
            inner: Arc::new(Inner {
                stack: ctx.stack,
                target: ctx.target,
                spec_dir: ctx.spec_dir,
                settings,
                clients: OnceCell::new_with(Some(clients)),
            }),
        })
    }

    /// The target's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The SDK clients (loaded once).
    pub async fn clients(&self) -> Result<&Clients, ProviderError> {
        self.inner
            .clients
            .get_or_try_init(|| config::load(&self.inner.settings, &self.inner.spec_dir))
            .await
    }
}

fn unknown_type(t: &str) -> ProviderError {
    ProviderError::invalid(format!("the aws provider has no native type `{t}`"))
}

/// The handler of a native type, or an error naming the type.
fn handler_of(type_name: &str) -> Result<&'static dyn Handler, ProviderError> {
    handler(type_name).ok_or_else(|| unknown_type(type_name))
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    /// Each AWS service meters its own request rate: one call budget per service.
    fn api_of(&self, type_name: &str) -> &'static str {
        handler(type_name).map_or("aws", |h| h.api())
    }

    fn expand(&self, resource: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        let ctx = expand::Ctx {
            stack: &self.inner.stack,
            target: &self.inner.target,
        };
        expand::expand(&ctx, resource)
    }

    fn outputs(&self, kind: Kind, natives: &[&NativeState]) -> Attrs {
        outputs::abstract_outputs(kind, natives)
    }

    fn discoverable_types(&self) -> Vec<String> {
        discover::discoverable_types().map(str::to_string).collect()
    }

    /// Every supported native type in the target's region: the Resource Groups Tagging API
    /// for the types it covers, IAM's own listing for roles (which it does not return). See
    /// [`crate::discover`].
    async fn discover(
        &self,
        _ctx: &OpContext,
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        discover::discover(self.clients().await?, filter).await
    }

    /// What each discovered resource uses (see [`crate::link`]): instance -> its security
    /// groups, group -> groups its rules reference, replica -> primary, distribution ->
    /// its origin buckets and origin access control, function -> role, event source
    /// mapping -> function and queue.
    async fn link_discovered(
        &self,
        _ctx: &OpContext,
        found: &mut [DiscoveredResource],
    ) -> Result<(), ProviderError> {
        crate::link::link(self.clients().await?, found).await
    }

    /// The account (STS GetCallerIdentity) and its alias (IAM ListAccountAliases).
    async fn account(&self, _ctx: &OpContext) -> Result<AccountIdentity, ProviderError> {
        crate::link::account(self.clients().await?).await
    }

    /// A discovered resource as a state its handler can read and delete: the native type
    /// of its discovery type, the id its operations take, and its address from its owner
    /// tags (or `discovered.<id>` for a resource overcast did not create).
    async fn discovered_state(
        &self,
        _ctx: &OpContext,
        found: &DiscoveredResource,
    ) -> Result<Option<NativeState>, ProviderError> {
        let Some((type_name, h)) = handler_of_discovered(&found.resource_type) else {
            return Ok(None);
        };
        let Some(id) = h
            .id_from_discovery(self.clients().await?, &found.id)
            .await?
        else {
            return Ok(None);
        };
        let mut state = NativeState::new(found.address(), h.kind(), type_name, id);
        // Types whose operations read their name from the inputs (a schedule's rule).
        state
            .inputs
            .insert("name".into(), Value::from(found.id.clone()));
        Ok(Some(state))
    }

    fn to_abstract(&self, state: &NativeState) -> Option<overcast_core::provider::AbstractView> {
        crate::abstracts::to_abstract(state)
    }

    fn generate_secrets(&self, type_name: &str) -> Attrs {
        handler(type_name).map_or_else(Attrs::new, |h| h.generate_secrets())
    }

    async fn preflight(&self) -> Result<(), ProviderError> {
        let tried = "the standard AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE \
                     and ~/.aws/{config,credentials}, web identity (AWS_WEB_IDENTITY_TOKEN_FILE), \
                     SSO, ECS container and EC2 instance metadata";
        let c = self.clients().await?;
        let Some(provider) = c.sdk.credentials_provider() else {
            return Err(ProviderError::new(
                ErrorClass::Auth,
                format!("no AWS credentials provider configured (tried {tried})"),
            ));
        };
        if let Err(e) = provider.provide_credentials().await {
            return Err(ProviderError::new(
                ErrorClass::Auth,
                format!("no AWS credentials for target `{}`: {e} (tried {tried})", self.inner.target),
            )
            .with_hint("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, set AWS_PROFILE, or run `aws sso login`"));
        }
        let endpoint = c
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("sts.{}.amazonaws.com", c.region));
        match c.sts.get_caller_identity().send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let mut err = errors::sdk("GetCallerIdentity", &endpoint, e);
                if err.class != ErrorClass::Retryable {
                    err.class = ErrorClass::Auth;
                    err.message = format!(
                        "AWS rejected the credentials of target `{}` ({}): {} (credentials from {tried})",
                        self.inner.target, c.region, err.message
                    );
                }
                Err(err)
            }
        }
    }

    async fn read(
        &self,
        ctx: &OpContext,
        state: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        let h = handler_of(&state.type_name)?;
        gone_as(h.read(self.clients().await?, ctx, state).await, None)
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
        gone_as(h.delete(self.clients().await?, ctx, prior).await, ())
    }

    async fn adopt(
        &self,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let h = handler_of(&req.type_name)?;
        gone_as(h.adopt(self.clients().await?, ctx, req).await, None)
    }

    async fn invoke(
        &self,
        _ctx: &OpContext,
        state: &NativeState,
        payload: Value,
    ) -> Result<Value, ProviderError> {
        if state.type_name != types::FUNCTION {
            return Err(ProviderError::invalid(format!(
                "`{}` is not a function",
                state.addr
            )));
        }
        crate::lambda::invoke(self.clients().await?, &state.id, &payload).await
    }
}
