//! [`AwsProvider`]: the `overcast_core::Provider` of AWS. It derives names and natives in
//! `expand` (pure), and dispatches each native operation to the module of its service.
//! SDK clients are built on first use (the constructor is synchronous).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{
    AbstractResource, Attrs, ErrorClass, Kind, NativeSpec, NativeState, Provider, ProviderContext,
    ProviderError,
};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::config::{self, Clients, Settings};
use crate::discover::{self, DiscoveredResource, DiscoveryFilter};
use crate::expand::{self, types};
use crate::util::s;
use crate::{cloudfront, ec2, errors, events, iam, lambda, outputs, rds, s3, s3_notify, sqs};

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

/// Reads treat "not found" as gone.
fn gone_is_none(
    r: Result<Option<Observed>, ProviderError>,
) -> Result<Option<Observed>, ProviderError> {
    match r {
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        other => other,
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    /// Each AWS service meters its own request rate: one call budget per service.
    fn api_of(&self, type_name: &str) -> &'static str {
        match type_name {
            types::BUCKET | types::BUCKET_NOTIFICATION | types::BUCKET_CDN_ACCESS => "s3",
            types::QUEUE => "sqs",
            types::ROLE => "iam",
            types::FUNCTION | types::EVENT_SOURCE | types::FUNCTION_URL => "lambda",
            types::SCHEDULE => "events",
            types::SECURITY_GROUP | types::INSTANCE => "ec2",
            types::DB_INSTANCE | types::DB_REPLICA => "rds",
            types::OAC | types::DISTRIBUTION => "cloudfront",
            _ => "aws",
        }
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
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        discover::discover(self.clients().await?, filter).await
    }

    fn generate_secrets(&self, type_name: &str) -> Attrs {
        match type_name {
            types::DB_INSTANCE => rds::generate_secrets(),
            _ => Attrs::new(),
        }
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

    async fn read(&self, state: &NativeState) -> Result<Option<Observed>, ProviderError> {
        let c = self.clients().await?;
        let id = state.id.as_str();
        let r = match state.type_name.as_str() {
            types::BUCKET => s3::read_named(c, id, &state.inputs).await,
            types::QUEUE => sqs::read_url(c, id).await,
            types::ROLE => iam::read(c, id).await,
            types::FUNCTION => lambda::read(c, id, &state.inputs).await,
            types::EVENT_SOURCE => lambda::read_mapping(c, id).await,
            types::FUNCTION_URL => lambda::read_url(c, id).await,
            types::SCHEDULE => events::read(c, id).await,
            types::BUCKET_NOTIFICATION => {
                s3_notify::read(c, s(&state.inputs, "bucket")?, s(&state.inputs, "id")?).await
            }
            types::SECURITY_GROUP => ec2::read_sg(c, id).await,
            types::INSTANCE => ec2::read_instance(c, id, &state.inputs, &state.outputs).await,
            types::DB_INSTANCE => rds::read(c, id, &state.inputs, &state.outputs).await,
            types::DB_REPLICA => rds::read_replica(c, id, &state.inputs).await,
            types::OAC => cloudfront::read_oac(c, id).await,
            types::DISTRIBUTION => cloudfront::read(c, id, &state.inputs).await,
            types::BUCKET_CDN_ACCESS => cdn_access_read(c, &state.inputs).await,
            t => Err(unknown_type(t)),
        };
        gone_is_none(r)
    }

    async fn create(&self, req: &CreateRequest) -> Result<Observed, ProviderError> {
        let c = self.clients().await?;
        let (i, o) = (&req.inputs, &req.owner);
        match req.type_name.as_str() {
            types::BUCKET => s3::create(c, i, o).await,
            types::QUEUE => sqs::create(c, i, o).await,
            types::ROLE => iam::create(c, i, o).await,
            types::FUNCTION => lambda::create(c, i, o).await,
            types::EVENT_SOURCE => lambda::create_mapping(c, i).await,
            types::FUNCTION_URL => lambda::create_url(c, i).await,
            types::SCHEDULE => events::create(c, i, o).await,
            types::BUCKET_NOTIFICATION => s3_notify::write(c, i).await,
            types::SECURITY_GROUP => ec2::create_sg(c, i, o).await,
            types::INSTANCE => ec2::create_instance(c, i, o).await,
            types::DB_INSTANCE => rds::create(c, i, o, &req.secrets).await,
            types::DB_REPLICA => rds::create_replica(c, i, o).await,
            types::OAC => cloudfront::create_oac(c, i).await,
            types::DISTRIBUTION => cloudfront::create(c, i, o).await,
            types::BUCKET_CDN_ACCESS => cdn_access_write(c, i).await,
            t => Err(unknown_type(t)),
        }
    }

    async fn update(&self, prior: &NativeState, inputs: &Attrs) -> Result<Observed, ProviderError> {
        let c = self.clients().await?;
        let id = prior.id.as_str();
        match prior.type_name.as_str() {
            types::BUCKET => s3::update(c, &prior.inputs, inputs).await,
            types::QUEUE => sqs::update(c, id, inputs).await,
            types::ROLE => iam::update(c, id, inputs).await,
            types::FUNCTION => lambda::update(c, id, &prior.inputs, inputs).await,
            types::EVENT_SOURCE => lambda::update_mapping(c, id, inputs).await,
            types::FUNCTION_URL => lambda::read_url(c, id)
                .await?
                .ok_or_else(|| ProviderError::not_found(format!("function url of `{id}` is gone"))),
            types::SCHEDULE => events::update(c, inputs).await,
            types::BUCKET_NOTIFICATION => s3_notify::write(c, inputs).await,
            types::SECURITY_GROUP => ec2::update_sg(c, id, &prior.inputs, inputs).await,
            types::INSTANCE => {
                ec2::update_instance(c, id, &prior.inputs, inputs, &prior.outputs).await
            }
            types::DB_INSTANCE => rds::update(c, id, inputs, &prior.outputs).await,
            types::DB_REPLICA => rds::update_replica(c, id, inputs).await,
            types::OAC => cloudfront::read_oac(c, id).await?.ok_or_else(|| {
                ProviderError::not_found(format!("origin access control `{id}` is gone"))
            }),
            types::DISTRIBUTION => cloudfront::update(c, id, inputs).await,
            types::BUCKET_CDN_ACCESS => cdn_access_write(c, inputs).await,
            t => Err(unknown_type(t)),
        }
    }

    async fn delete(&self, prior: &NativeState) -> Result<(), ProviderError> {
        let c = self.clients().await?;
        let id = prior.id.as_str();
        let r = match prior.type_name.as_str() {
            types::BUCKET => s3::delete(c, id).await,
            types::QUEUE => sqs::delete(c, id).await,
            types::ROLE => iam::delete(c, id).await,
            types::FUNCTION => lambda::delete(c, id).await,
            types::EVENT_SOURCE => lambda::delete_mapping(c, id).await,
            types::FUNCTION_URL => lambda::delete_url(c, id).await,
            types::SCHEDULE => events::delete(c, &prior.inputs).await,
            types::BUCKET_NOTIFICATION => s3_notify::delete(c, &prior.inputs).await,
            types::SECURITY_GROUP => ec2::delete_sg(c, id).await,
            types::INSTANCE => ec2::delete_instance(c, id).await,
            types::DB_INSTANCE | types::DB_REPLICA => rds::delete(c, id).await,
            types::OAC => cloudfront::delete_oac(c, id).await,
            types::DISTRIBUTION => cloudfront::delete(c, id).await,
            types::BUCKET_CDN_ACCESS => {
                let bucket = s(&prior.inputs, "bucket")?;
                s3::set_statement(c, bucket, s(&prior.inputs, "sid")?, None).await
            }
            t => Err(unknown_type(t)),
        };
        match r {
            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
            other => other,
        }
    }

    async fn adopt(&self, req: &CreateRequest) -> Result<Option<Observed>, ProviderError> {
        let c = self.clients().await?;
        let (i, o) = (&req.inputs, &req.owner);
        let r = match req.type_name.as_str() {
            types::BUCKET => {
                let name = s(i, "name")?;
                if s3::owned(c, name, o).await? {
                    s3::read_named(c, name, i).await
                } else {
                    Ok(None)
                }
            }
            types::QUEUE => match sqs::url_of(c, s(i, "name")?).await? {
                Some(url) if sqs::owned(c, &url, o).await? => sqs::read_url(c, &url).await,
                _ => Ok(None),
            },
            types::ROLE => iam::adopt(c, i, o).await,
            types::FUNCTION => lambda::adopt(c, i, o).await,
            types::EVENT_SOURCE => lambda::adopt_mapping(c, i).await,
            types::FUNCTION_URL => lambda::read_url(c, s(i, "function_name")?).await,
            types::SCHEDULE => events::adopt(c, i, o).await,
            types::BUCKET_NOTIFICATION => s3_notify::read(c, s(i, "bucket")?, s(i, "id")?).await,
            types::SECURITY_GROUP => ec2::adopt_sg(c, i, o).await,
            types::INSTANCE => ec2::adopt_instance(c, i, o).await,
            types::DB_INSTANCE | types::DB_REPLICA => rds::adopt(c, i, o, &req.secrets).await,
            types::OAC => cloudfront::adopt_oac(c, i).await,
            types::DISTRIBUTION => cloudfront::adopt(c, i, o).await,
            types::BUCKET_CDN_ACCESS => cdn_access_read(c, i).await,
            t => Err(unknown_type(t)),
        };
        gone_is_none(r)
    }

    async fn invoke(&self, state: &NativeState, payload: Value) -> Result<Value, ProviderError> {
        if state.type_name != types::FUNCTION {
            return Err(ProviderError::invalid(format!(
                "`{}` is not a function",
                state.addr
            )));
        }
        lambda::invoke(self.clients().await?, &state.id, &payload).await
    }
}

/// The `aws_s3_bucket_cdn_access` native: one statement of the bucket policy.
async fn cdn_access_write(c: &Clients, inputs: &Attrs) -> Result<Observed, ProviderError> {
    let (bucket, sid, arn) = (
        s(inputs, "bucket")?,
        s(inputs, "sid")?,
        s(inputs, "distribution_arn")?,
    );
    s3::set_statement(c, bucket, sid, Some(s3::cdn_statement(sid, bucket, arn))).await?;
    cdn_access_read(c, inputs).await?.ok_or_else(|| {
        ProviderError::retryable(format!(
            "policy statement `{sid}` not visible yet on `{bucket}`"
        ))
    })
}

async fn cdn_access_read(c: &Clients, inputs: &Attrs) -> Result<Option<Observed>, ProviderError> {
    let (bucket, sid) = (s(inputs, "bucket")?, s(inputs, "sid")?);
    let Some(arn) = s3::statement_for(c, bucket, sid).await? else {
        return Ok(None);
    };
    let mut live = Attrs::new();
    live.insert("bucket".into(), Value::from(bucket));
    live.insert("distribution_arn".into(), Value::from(arn));
    live.insert("sid".into(), Value::from(sid));
    Ok(Some(Observed {
        id: format!("{bucket}/{sid}"),
        inputs: live,
        outputs: Attrs::new(),
    }))
}
