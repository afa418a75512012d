//! A provider for the engine's unit tests, built from closures: each test states only what
//! differs from "everything succeeds".

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{
    AbstractResource, Attrs, Kind, NativeSpec, NativeState, Provider, ProviderError,
};

/// What a fake operation answers, later.
pub(crate) type Answer<T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send>>;

/// An answer ready at once.
pub(crate) fn answer<T: Send + 'static>(r: Result<T, ProviderError>) -> Answer<T> {
    Box::pin(async move { r })
}

/// A usable resource with this id.
pub(crate) fn observed(id: &str) -> Observed {
    Observed::new(id, Attrs::new(), Attrs::new())
}

type Op<A, T> = Box<dyn Fn(&A) -> Answer<T> + Send + Sync>;

/// A provider whose operations are closures. By default creates succeed (the id is the
/// address), adopts find nothing, reads find nothing, deletes succeed, and every abstract
/// resource expands to `natives`.
pub(crate) struct Fake {
    pub(crate) create: Op<CreateRequest, Observed>,
    pub(crate) adopt: Op<CreateRequest, Option<Observed>>,
    pub(crate) update: Op<(NativeState, Attrs), Observed>,
    pub(crate) delete: Op<NativeState, ()>,
    pub(crate) natives: Vec<NativeSpec>,
    pub(crate) target_natives: Vec<NativeSpec>,
}

impl Default for Fake {
    fn default() -> Self {
        Fake {
            create: Box::new(|req| answer(Ok(observed(&req.addr.to_string())))),
            adopt: Box::new(|_| answer(Ok(None))),
            update: Box::new(|(prior, inputs)| {
                answer(Ok(Observed::new(
                    prior.id.clone(),
                    inputs.clone(),
                    Attrs::new(),
                )))
            }),
            delete: Box::new(|_| answer(Ok(()))),
            natives: Vec::new(),
            target_natives: Vec::new(),
        }
    }
}

#[async_trait]
impl Provider for Fake {
    fn name(&self) -> &str {
        "fake"
    }
    fn expand_target(&self) -> Result<Vec<NativeSpec>, ProviderError> {
        Ok(self.target_natives.clone())
    }
    fn expand(&self, _: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        Ok(self.natives.clone())
    }
    fn outputs(&self, _: Kind, _: &[&NativeState]) -> Attrs {
        Attrs::new()
    }
    async fn read(
        &self,
        _: &OpContext,
        _: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(None)
    }
    async fn create(&self, _: &OpContext, req: &CreateRequest) -> Result<Observed, ProviderError> {
        (self.create)(req).await
    }
    async fn update(
        &self,
        _: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        (self.update)(&(prior.clone(), inputs.clone())).await
    }
    async fn delete(&self, _: &OpContext, prior: &NativeState) -> Result<(), ProviderError> {
        (self.delete)(prior).await
    }
    async fn adopt(
        &self,
        _: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        (self.adopt)(req).await
    }
}
