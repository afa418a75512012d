//! Cloud Functions (2nd gen): the `function` kind on GCP.
//!
//! - [`staging`]: the target's staging bucket (`@<target>.staging`), which holds the
//!   source archives;
//! - [`source`]: the source directory zipped deterministically and uploaded as
//!   `<function>/<sha256>.zip`;
//! - [`function`]: the `gcp_cloud_function` native (create / patch / delete as
//!   long-running operations, see [`ops`]);
//! - [`expand`]: a function resource as natives (plus a `gcp_scheduler_job` for a
//!   schedule trigger);
//! - [`adapter`]: the generated `main.py`/`index.js` that calls a `(event, context)`
//!   handler from what Cloud Functions passes;
//! - [`abstracts`]: a function native back to the abstract kind;
//! - [`invoke`]: calling an http function's URL.

pub mod abstracts;
pub mod adapter;
pub mod client;
pub mod expand;
pub mod function;
pub mod invoke;
pub mod ops;
pub mod source;
pub mod staging;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};

use crate::config::Clients;
use crate::handlers::Handler;

/// The discovery type of functions.
pub const DISCOVERED_AS: &str = "functions:function";

/// The handler of `gcp_cloud_function`.
pub(crate) struct FunctionHandler;

#[async_trait]
impl Handler for FunctionHandler {
    fn api(&self) -> &'static str {
        "cloudfunctions"
    }
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn discovered_as(&self) -> &'static str {
        DISCOVERED_AS
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(function::read(c, &st.id, &st.inputs).await?.0))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        function::create(ctx, c, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        function::update(ctx, c, &prior.id, inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        function::delete(ctx, c, &prior.id, &prior.inputs).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        function::adopt(c, &req.inputs, &req.owner).await
    }
}
