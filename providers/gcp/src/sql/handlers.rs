//! The Cloud SQL natives in the provider's handler registry.

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, Kind, NativeState, ProviderError};
use serde_json::Value;

use crate::config::Clients;
use crate::handlers::{Handler, adopt_if_owned, name_of};

fn child_id(inputs: &Attrs) -> Result<String, ProviderError> {
    let instance = inputs
        .get("instance")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::invalid("input `instance` missing or not a string"))?;
    Ok(format!("{instance}/{}", name_of(inputs)?))
}

/// `gcp_sql_instance`.
pub(crate) struct Instance;
#[async_trait]
impl Handler for Instance {
    fn api(&self) -> &'static str {
        "sqladmin"
    }
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn discovered_as(&self) -> &'static str {
        "sqladmin:instance"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(super::read_instance(c, &st.id).await?.0))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        super::create_instance(c, ctx, req).await
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        super::update_instance(c, ctx, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        super::delete_instance(c, ctx, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        adopt_if_owned(super::read_instance(c, name_of(&req.inputs)?).await, req)
    }
}

/// `gcp_sql_database`.
pub(crate) struct Database;
#[async_trait]
impl Handler for Database {
    fn api(&self) -> &'static str {
        "sqladmin"
    }
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn discovered_as(&self) -> &'static str {
        "sqladmin:database"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(super::read_database(c, &st.id).await?))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        super::create_database(c, ctx, &req.inputs).await
    }
    /// Both inputs force a replacement: nothing to change in place.
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        super::read_database(c, &prior.id).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        super::delete_database(c, ctx, &prior.id).await
    }
    /// A database carries no labels: the one of the deterministic name in the (owned)
    /// instance is this create's.
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        if parent_unknown(req) {
            return Ok(None);
        }
        match super::read_database(c, &child_id(&req.inputs)?).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `gcp_sql_user`, whose password is generated before the create and kept in state as a
/// sensitive output.
pub(crate) struct User;
#[async_trait]
impl Handler for User {
    fn api(&self) -> &'static str {
        "sqladmin"
    }
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn discovered_as(&self) -> &'static str {
        "sqladmin:user"
    }
    fn generate_secrets(&self) -> Attrs {
        super::generate_secrets()
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(
            super::read_user(c, &st.id, st.outputs.get("password")).await?,
        ))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        super::create_user(c, ctx, req).await
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        super::read_user(c, &prior.id, prior.outputs.get("password")).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        super::delete_user(c, ctx, &prior.id).await
    }
    /// A user found under its name gets the password of the create's intent (Cloud SQL
    /// cannot tell the password it has), so the state holds a password that works.
    async fn adopt(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        if parent_unknown(req) {
            return Ok(None);
        }
        match super::read_user(c, &child_id(&req.inputs)?, None).await {
            Ok(_) => Ok(Some(super::create_user(c, ctx, req).await?)),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Whether a database's or user's intent names an instance not known when it was recorded
/// (the instance was still to be created): its create never started, so there is nothing
/// to adopt, and the unknown marker must not end up in a request path.
fn parent_unknown(req: &CreateRequest) -> bool {
    req.inputs.values().any(|v| {
        v.as_str()
            .is_some_and(|s| s.contains(overcast_core::refs::UNKNOWN))
    })
}
