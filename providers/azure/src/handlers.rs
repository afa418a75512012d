//! One handler per Azure native type: the registry the provider dispatches through. A new
//! type is one `impl` and one line in [`handler`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use overcast_core::labels::{self, LabelRules};
use overcast_core::native::{CreateRequest, Observed, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde_json::Value;

use crate::config::Clients;
use crate::expand::types;

/// The operations of one native type.
#[async_trait]
pub(crate) trait Handler: Send + Sync {
    /// The resource provider whose request rate the type's calls count against.
    fn api(&self) -> &'static str;
    /// The abstract kind whose expansion makes this type.
    fn kind(&self) -> Kind;
    /// The ARM types discovery lists it as (`Microsoft.Storage/storageAccounts`); none
    /// for a child type, which goes with its parent.
    fn arm_types(&self) -> &'static [&'static str];
    /// Secrets a create needs, generated before it starts and recorded in its intent.
    fn generate_secrets(&self) -> Attrs {
        Attrs::new()
    }
    /// Read the live resource and its tags (`None`: a type ARM keeps no tags on, a child
    /// of a resource that has them); a not-found error when it is gone.
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError>;
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
    /// The api-version of its calls (`id`: the resource's ARM id, for types whose resource
    /// provider depends on it).
    fn api_version(&self, id: &str) -> &'static str;
    /// Delete it and wait until it is gone (not found counts as deleted). Types that must
    /// check or clean something first override it.
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        c.arm
            .delete(ctx, &prior.id, self.api_version(&prior.id))
            .await
    }
    /// The ARM id a create of `req` makes (deterministic: ARM names are ids).
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError>;
}

/// What a read found.
pub(crate) type Read = (Observed, Option<BTreeMap<String, String>>);

/// The handler of a native type, if the provider has that type.
pub(crate) fn handler(type_name: &str) -> Option<&'static dyn Handler> {
    static HANDLERS: LazyLock<BTreeMap<&'static str, Box<dyn Handler>>> = LazyLock::new(|| {
        let all: [(&'static str, Box<dyn Handler>); 19] = [
            (types::GROUP, Box::new(crate::group::Group)),
            (types::STORAGE_ACCOUNT, Box::new(crate::storage::Account)),
            (types::CONTAINER, Box::new(crate::storage::Container)),
            (
                types::SERVICEBUS_NAMESPACE,
                Box::new(crate::servicebus::Namespace),
            ),
            (types::SERVICEBUS_QUEUE, Box::new(crate::servicebus::Queue)),
            (types::DB_SERVER, Box::new(crate::database::Server)),
            (types::DB_DATABASE, Box::new(crate::database::Database)),
            (
                types::VNET,
                Box::new(crate::compute::network::VirtualNetwork),
            ),
            (types::NSG, Box::new(crate::compute::network::SecurityGroup)),
            (
                types::PUBLIC_IP,
                Box::new(crate::compute::network::PublicIp),
            ),
            (
                types::NIC,
                Box::new(crate::compute::network::NetworkInterface),
            ),
            (types::VM, Box::new(crate::compute::vm::VirtualMachine)),
            (types::CDN_PROFILE, Box::new(crate::cdn::Profile)),
            (types::CDN_ENDPOINT, Box::new(crate::cdn::Endpoint)),
            (types::CDN_ORIGIN_GROUP, Box::new(crate::cdn::OriginGroup)),
            (types::CDN_ORIGIN, Box::new(crate::cdn::Origin)),
            (types::CDN_ROUTE, Box::new(crate::cdn::Route)),
            (types::FUNCTION_PLAN, Box::new(crate::function::plan::Plan)),
            (types::FUNCTION_APP, Box::new(crate::function::app::App)),
        ];
        all.into_iter().collect()
    });
    HANDLERS.get(type_name).map(|h| &**h)
}

/// The native type and handler of an ARM type found by discovery.
pub(crate) fn handler_of_arm_type(arm_type: &str) -> Option<(&'static str, &'static dyn Handler)> {
    types::ALL.iter().find_map(|t| {
        let h = handler(t)?;
        h.arm_types()
            .iter()
            .any(|a| a.eq_ignore_ascii_case(arm_type))
            .then_some((*t, h))
    })
}

/// The owner tags of a create, as ARM's `tags` object.
pub(crate) fn tags(owner: &OwnerTags) -> BTreeMap<String, String> {
    labels::encode(owner, &LabelRules::TAGS)
        .into_iter()
        .collect()
}

/// Whether ARM's `tags` name this owner.
pub(crate) fn owned_by(tags: &BTreeMap<String, String>, owner: &OwnerTags) -> bool {
    labels::decode(tags, &LabelRules::TAGS).as_ref() == Some(owner)
}

/// A state holding only an id and inputs: what a handler's `read` looks at, to read back
/// what a create or an update just wrote.
pub(crate) fn read_state(id: &str, inputs: &Attrs) -> NativeState {
    let mut st = NativeState::new(
        overcast_core::NativeAddr::new("_", "_"),
        Kind::Target,
        "",
        id,
    );
    st.inputs = inputs.clone();
    st
}

/// A required string input.
pub(crate) fn str_of<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::invalid(format!("input `{key}` missing or not a string")))
}

/// A boolean input (absent: false).
pub(crate) fn bool_of(inputs: &Attrs, key: &str) -> bool {
    inputs.get(key).and_then(Value::as_bool).unwrap_or(false)
}
