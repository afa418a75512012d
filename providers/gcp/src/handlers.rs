//! One handler per GCP native type: the registry the provider dispatches through, instead
//! of a `match` on the type name in every operation. A new type is one `impl` here and one
//! line in [`handler`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde_json::Value;

use crate::config::Clients;
use crate::expand::types;
use crate::{bucket, labels, pubsub, scheduler, sql};

/// The operations of one native type.
#[async_trait]
pub(crate) trait Handler: Send + Sync {
    /// The service whose request rate the type's calls count against.
    fn api(&self) -> &'static str;
    /// The abstract kind whose expansion makes this type.
    fn kind(&self) -> Kind;
    /// The discovery type (`storage:bucket`) under which `discover` lists this type.
    fn discovered_as(&self) -> &'static str;
    /// Secrets a create needs, generated before it starts and recorded in its intent.
    fn generate_secrets(&self) -> Attrs {
        Attrs::new()
    }
    /// Read the live resource; a not-found error when it is gone.
    async fn read(
        &self,
        c: &Clients,
        ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError>;
    /// Create it, labelled with the request's owner.
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
    /// What an interrupted create of `req` made: the resource of its deterministic name,
    /// if it carries the request's owner labels.
    async fn adopt(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError>;
}

/// The native type and handler of a discovery type (`pubsub:topic` -> `gcp_pubsub_topic`).
pub(crate) fn handler_of_discovered(
    discovery_type: &str,
) -> Option<(&'static str, &'static dyn Handler)> {
    types::ALL.iter().find_map(|t| {
        let h = handler(t)?;
        (h.discovered_as() == discovery_type).then_some((*t, h))
    })
}

/// The handler of a native type, if the provider has that type.
pub(crate) fn handler(type_name: &str) -> Option<&'static dyn Handler> {
    static HANDLERS: LazyLock<BTreeMap<&'static str, Box<dyn Handler>>> = LazyLock::new(|| {
        let all: [(&'static str, Box<dyn Handler>); 8] = [
            (types::BUCKET, Box::new(Bucket)),
            (types::TOPIC, Box::new(Topic)),
            (types::SUBSCRIPTION, Box::new(Subscription)),
            (types::SCHEDULER_JOB, Box::new(SchedulerJob)),
            (types::FUNCTION, Box::new(crate::functions::FunctionHandler)),
            (types::SQL_INSTANCE, Box::new(sql::handlers::Instance)),
            (types::SQL_DATABASE, Box::new(sql::handlers::Database)),
            (types::SQL_USER, Box::new(sql::handlers::User)),
        ];
        all.into_iter()
            .chain(crate::compute::handlers::all())
            .collect()
    });
    HANDLERS.get(type_name).map(|h| &**h)
}

pub(crate) fn name_of(inputs: &Attrs) -> Result<&str, ProviderError> {
    inputs
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::invalid("input `name` missing or not a string"))
}

/// Adopt what `found` read if its labels name the request's owner; otherwise the name is
/// someone else's resource and creating it will report the conflict.
pub(crate) fn adopt_if_owned(
    found: Result<(Observed, BTreeMap<String, String>), ProviderError>,
    req: &CreateRequest,
) -> Result<Option<Observed>, ProviderError> {
    match overcast_core::error::gone_as(found.map(Some), None)? {
        Some((obs, l)) if labels::owned_by(&l, &req.owner) => Ok(Some(obs)),
        _ => Ok(None),
    }
}

struct Bucket;
#[async_trait]
impl Handler for Bucket {
    fn api(&self) -> &'static str {
        "storage"
    }
    fn kind(&self) -> Kind {
        Kind::Storage
    }
    fn discovered_as(&self) -> &'static str {
        "storage:bucket"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(
            bucket::read(c, &st.id, bucket::content_of(&st.inputs))
                .await?
                .0,
        ))
    }
    async fn create(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        bucket::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        bucket::update(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        if crate::functions::staging::is_staging(prior) {
            crate::functions::staging::delete_archives(&c.gcs, &prior.id).await?;
        }
        bucket::delete(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let content = bucket::content_of(&req.inputs);
        adopt_if_owned(bucket::read(c, name_of(&req.inputs)?, content).await, req)
    }
}

struct Topic;
#[async_trait]
impl Handler for Topic {
    fn api(&self) -> &'static str {
        "pubsub"
    }
    fn kind(&self) -> Kind {
        Kind::Queue
    }
    fn discovered_as(&self) -> &'static str {
        "pubsub:topic"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(pubsub::get_topic(c, &st.id).await?.0))
    }
    async fn create(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        pubsub::create_topic(c, &req.inputs, &req.owner).await
    }
    /// A topic's only input is its name, which forces a replacement: nothing to change
    /// in place.
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        Ok(pubsub::get_topic(c, &prior.id).await?.0)
    }
    async fn delete(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        pubsub::delete_topic(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let path = pubsub::topic_path(&c.project, name_of(&req.inputs)?);
        adopt_if_owned(pubsub::get_topic(c, &path).await, req)
    }
}

struct Subscription;
#[async_trait]
impl Handler for Subscription {
    fn api(&self) -> &'static str {
        "pubsub"
    }
    fn kind(&self) -> Kind {
        Kind::Queue
    }
    fn discovered_as(&self) -> &'static str {
        "pubsub:subscription"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(pubsub::get_subscription(c, &st.id).await?.0))
    }
    async fn create(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        pubsub::create_subscription(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        pubsub::update_subscription(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        pubsub::delete_subscription(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let path = pubsub::subscription_path(&c.project, name_of(&req.inputs)?);
        adopt_if_owned(pubsub::get_subscription(c, &path).await, req)
    }
}

struct SchedulerJob;
#[async_trait]
impl Handler for SchedulerJob {
    fn api(&self) -> &'static str {
        "scheduler"
    }
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn discovered_as(&self) -> &'static str {
        "scheduler:job"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(scheduler::read(c, &st.id).await?.0))
    }
    async fn create(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        scheduler::create(c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        scheduler::update(c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        scheduler::delete(c, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        scheduler::adopt(c, &req.inputs, &req.owner).await
    }
}
