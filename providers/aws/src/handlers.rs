//! One handler per AWS native type: the registry the provider dispatches through, instead
//! of a `match` on the type name in every operation. A new type is one `impl` here and one
//! line in [`handler`]; the five operations of a type sit together.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde_json::Value;

use crate::config::Clients;
use crate::expand::types;
use crate::util::s;
use crate::{cloudfront, ec2, events, iam, lambda, rds, s3, s3_notify, sqs};

/// The operations of one native type.
#[async_trait]
pub(crate) trait Handler: Send + Sync {
    /// The service whose request rate the type's calls count against.
    fn api(&self) -> &'static str;
    /// The abstract kind whose expansion makes this type.
    fn kind(&self) -> Kind;
    /// The discovery type (`s3:bucket`) under which `discover` lists this type, if it
    /// lists it; several native types may share one (a replica is an `rds:db` too), and
    /// the first registered is the one a discovered resource maps to.
    fn discovered_as(&self) -> Option<&'static str> {
        None
    }
    /// The id this type's operations take, from the id discovery reports (a queue is
    /// listed by name and operated on by URL). `Ok(None)`: it is gone.
    async fn id_from_discovery(
        &self,
        _c: &Clients,
        id: &str,
    ) -> Result<Option<String>, ProviderError> {
        Ok(Some(id.to_string()))
    }
    /// Secrets to generate before a create (see `Provider::generate_secrets`).
    fn generate_secrets(&self) -> Attrs {
        Attrs::new()
    }
    /// Read the live resource; `Ok(None)` or a not-found error when it is gone.
    async fn read(
        &self,
        c: &Clients,
        ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError>;
    /// Create it, tagged with the request's owner.
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError>;
    /// Bring it to `inputs` in place.
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError>;
    /// Delete it (a not-found error counts as deleted).
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError>;
    /// Find what an interrupted create of `req` made, by owner tags or name.
    async fn adopt(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError>;
}

/// The native type and handler of a discovery type (`s3:bucket` -> `aws_s3_bucket`).
pub(crate) fn handler_of_discovered(
    discovery_type: &str,
) -> Option<(&'static str, &'static dyn Handler)> {
    types::ALL.iter().find_map(|t| {
        let h = handler(t)?;
        (h.discovered_as() == Some(discovery_type)).then_some((*t, h))
    })
}

/// The handler of a native type, if the provider has that type.
pub(crate) fn handler(type_name: &str) -> Option<&'static dyn Handler> {
    static HANDLERS: LazyLock<BTreeMap<&'static str, Box<dyn Handler>>> = LazyLock::new(|| {
        let all: [(&'static str, Box<dyn Handler>); 15] = [
            (types::BUCKET, Box::new(Bucket)),
            (types::QUEUE, Box::new(Queue)),
            (types::ROLE, Box::new(Role)),
            (types::FUNCTION, Box::new(Function)),
            (types::EVENT_SOURCE, Box::new(EventSource)),
            (types::FUNCTION_URL, Box::new(FunctionUrl)),
            (types::SCHEDULE, Box::new(Schedule)),
            (types::BUCKET_NOTIFICATION, Box::new(BucketNotification)),
            (types::SECURITY_GROUP, Box::new(SecurityGroup)),
            (types::INSTANCE, Box::new(Instance)),
            (types::DB_INSTANCE, Box::new(DbInstance)),
            (types::DB_REPLICA, Box::new(DbReplica)),
            (types::OAC, Box::new(OriginAccessControl)),
            (types::DISTRIBUTION, Box::new(Distribution)),
            (types::BUCKET_CDN_ACCESS, Box::new(BucketCdnAccess)),
        ];
        all.into_iter().collect()
    });
    HANDLERS.get(type_name).map(|h| &**h)
}

struct Bucket;
#[async_trait]
impl Handler for Bucket {
    fn kind(&self) -> Kind {
        Kind::Storage
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("s3:bucket")
    }
    fn api(&self) -> &'static str {
        "s3"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        s3::read_named(c, &st.id, &st.inputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        s3::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        s3::update(c, &prior.inputs, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        s3::delete(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let name = s(&req.inputs, "name")?;
        if s3::owned(c, name, &req.owner).await? {
            s3::read_named(c, name, &req.inputs).await
        } else {
            Ok(None)
        }
    }
}

struct Queue;
#[async_trait]
impl Handler for Queue {
    /// Listed by name (from its ARN), operated on by URL.
    async fn id_from_discovery(
        &self,
        c: &Clients,
        id: &str,
    ) -> Result<Option<String>, ProviderError> {
        sqs::url_of(c, id).await
    }
    fn kind(&self) -> Kind {
        Kind::Queue
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("sqs:queue")
    }
    fn api(&self) -> &'static str {
        "sqs"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        sqs::read_url(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        sqs::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        sqs::update(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        sqs::delete(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        match sqs::url_of(c, s(&req.inputs, "name")?).await? {
            Some(url) if sqs::owned(c, &url, &req.owner).await? => sqs::read_url(c, &url).await,
            _ => Ok(None),
        }
    }
}

struct Role;
#[async_trait]
impl Handler for Role {
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("iam:role")
    }
    fn api(&self) -> &'static str {
        "iam"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        iam::read(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        iam::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        iam::update(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        iam::delete(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        iam::adopt(c, &req.inputs, &req.owner).await
    }
}

struct Function;
#[async_trait]
impl Handler for Function {
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("lambda:function")
    }
    fn api(&self) -> &'static str {
        "lambda"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        lambda::read(c, &st.id, &st.inputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        lambda::create(ctx, c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        lambda::update(ctx, c, &prior.id, &prior.inputs, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        lambda::delete(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        lambda::adopt(c, &req.inputs, &req.owner).await
    }
}

struct EventSource;
#[async_trait]
impl Handler for EventSource {
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("lambda:event-source-mapping")
    }
    fn api(&self) -> &'static str {
        "lambda"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        lambda::read_mapping(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        lambda::create_mapping(c, &req.inputs).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        lambda::update_mapping(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        lambda::delete_mapping(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        lambda::adopt_mapping(c, &req.inputs).await
    }
}

struct FunctionUrl;
#[async_trait]
impl Handler for FunctionUrl {
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn api(&self) -> &'static str {
        "lambda"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        lambda::read_url(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        lambda::create_url(c, &req.inputs).await
    }
    /// A function URL has nothing to change in place: its inputs all force a new one.
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        _: &Attrs,
    ) -> Result<Observed, ProviderError> {
        lambda::read_url(c, &prior.id).await?.ok_or_else(|| {
            ProviderError::not_found(format!("function url of `{}` is gone", prior.id))
        })
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        lambda::delete_url(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        lambda::read_url(c, s(&req.inputs, "function_name")?).await
    }
}

struct Schedule;
#[async_trait]
impl Handler for Schedule {
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("events:rule")
    }
    fn api(&self) -> &'static str {
        "events"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        events::read(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        events::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        _: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        events::update(c, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        events::delete(c, &prior.inputs).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        events::adopt(c, &req.inputs, &req.owner).await
    }
}

struct BucketNotification;
#[async_trait]
impl Handler for BucketNotification {
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn api(&self) -> &'static str {
        "s3"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        s3_notify::read(c, s(&st.inputs, "bucket")?, s(&st.inputs, "id")?).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        s3_notify::write(c, &req.inputs).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        _: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        s3_notify::write(c, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        s3_notify::delete(c, &prior.inputs).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        s3_notify::read(c, s(&req.inputs, "bucket")?, s(&req.inputs, "id")?).await
    }
}

struct SecurityGroup;
#[async_trait]
impl Handler for SecurityGroup {
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("ec2:security-group")
    }
    fn api(&self) -> &'static str {
        "ec2"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        ec2::read_sg(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        ec2::create_sg(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        ec2::update_sg(c, &prior.id, &prior.inputs, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        ec2::delete_sg(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        ec2::adopt_sg(c, &req.inputs, &req.owner).await
    }
}

struct Instance;
#[async_trait]
impl Handler for Instance {
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("ec2:instance")
    }
    fn api(&self) -> &'static str {
        "ec2"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        ec2::read_instance(c, &st.id, &st.inputs, &st.outputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        ec2::create_instance(ctx, c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        ec2::update_instance(ctx, c, &prior.id, &prior.inputs, inputs, &prior.outputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        ec2::delete_instance(ctx, c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        ec2::adopt_instance(c, &req.inputs, &req.owner).await
    }
}

struct DbInstance;
#[async_trait]
impl Handler for DbInstance {
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("rds:db")
    }
    fn api(&self) -> &'static str {
        "rds"
    }
    fn generate_secrets(&self) -> Attrs {
        rds::generate_secrets()
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        rds::read(c, &st.id, &st.inputs, &st.outputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        rds::create(c, &req.inputs, &req.owner, &req.secrets).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        rds::update(c, &prior.id, inputs, &prior.outputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        rds::delete(ctx, c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        rds::adopt(c, &req.inputs, &req.owner, &req.secrets).await
    }
}

struct DbReplica;
#[async_trait]
impl Handler for DbReplica {
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn api(&self) -> &'static str {
        "rds"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        rds::read_replica(c, &st.id, &st.inputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        rds::create_replica(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        rds::update_replica(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        rds::delete(ctx, c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        rds::adopt(c, &req.inputs, &req.owner, &req.secrets).await
    }
}

struct OriginAccessControl;
#[async_trait]
impl Handler for OriginAccessControl {
    fn kind(&self) -> Kind {
        Kind::Cdn
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("cloudfront:origin-access-control")
    }
    fn api(&self) -> &'static str {
        "cloudfront"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        cloudfront::read_oac(c, &st.id).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        cloudfront::create_oac(c, &req.inputs).await
    }
    /// An origin access control's inputs all force a new one: nothing to change in place.
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        _: &Attrs,
    ) -> Result<Observed, ProviderError> {
        cloudfront::read_oac(c, &prior.id).await?.ok_or_else(|| {
            ProviderError::not_found(format!("origin access control `{}` is gone", prior.id))
        })
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        cloudfront::delete_oac(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        cloudfront::adopt_oac(c, &req.inputs).await
    }
}

struct Distribution;
#[async_trait]
impl Handler for Distribution {
    fn kind(&self) -> Kind {
        Kind::Cdn
    }
    fn discovered_as(&self) -> Option<&'static str> {
        Some("cloudfront:distribution")
    }
    fn api(&self) -> &'static str {
        "cloudfront"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        cloudfront::read(c, &st.id, &st.inputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        cloudfront::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        cloudfront::update(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        cloudfront::delete(ctx, c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        cloudfront::adopt(c, &req.inputs, &req.owner).await
    }
}

/// `aws_s3_bucket_cdn_access`: one statement of the bucket policy, which lets the
/// distribution (and only it) read the bucket.
struct BucketCdnAccess;
#[async_trait]
impl Handler for BucketCdnAccess {
    fn kind(&self) -> Kind {
        Kind::Cdn
    }
    fn api(&self) -> &'static str {
        "s3"
    }
    async fn read(
        &self,
        c: &Clients,
        _: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        cdn_access_read(c, &st.inputs).await
    }
    async fn create(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        cdn_access_write(c, &req.inputs).await
    }
    async fn update(
        &self,
        c: &Clients,
        _: &OpContext,
        _: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        cdn_access_write(c, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        let bucket = s(&prior.inputs, "bucket")?;
        s3::set_statement(c, bucket, s(&prior.inputs, "sid")?, None).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        cdn_access_read(c, &req.inputs).await
    }
}

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
    Ok(Some(Observed::new(
        format!("{bucket}/{sid}"),
        live,
        Attrs::new(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_discovery_type_maps_to_a_native_type() {
        for t in crate::discover::discoverable_types() {
            assert!(
                handler_of_discovered(t).is_some(),
                "discovery type `{t}` has no native type"
            );
        }
        assert_eq!(
            handler_of_discovered("rds:db").map(|(t, _)| t),
            Some(types::DB_INSTANCE)
        );
    }

    #[test]
    fn every_native_type_the_expansion_produces_has_a_handler() {
        for t in types::ALL {
            assert!(handler(t).is_some(), "no handler for `{t}`");
        }
        assert!(handler("aws_nothing").is_none());
    }
}
