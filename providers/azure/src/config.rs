//! Target settings and the clients of one target.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use overcast_core::ProviderError;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::arm::Arm;
use crate::credential::Chain;

/// Settings of an `azure` target (every key of `targets.<name>` besides `provider`).
///
/// Also the schema the spec validator checks an azure target against: an unknown key is
/// refused with a did-you-mean.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(title = "azure target settings")]
pub struct Settings {
    /// The subscription every resource is created in. When absent,
    /// `AZURE_SUBSCRIPTION_ID` decides.
    #[serde(deserialize_with = "empty_is_none")]
    pub subscription_id: Option<String>,
    /// The Azure region (`location`) of every resource, e.g. `westeurope`. Default:
    /// `eastus`.
    #[serde(deserialize_with = "empty_is_none")]
    pub location: Option<String>,
    /// An existing resource group to deploy into. When absent, the target gets a resource
    /// group of its own (`@<target>.group`), created first and deleted last.
    #[serde(deserialize_with = "empty_is_none")]
    pub resource_group: Option<String>,
    /// Resource Manager endpoint, for a test server (`http://127.0.0.1:PORT`). An
    /// `http://` endpoint is sent no real token.
    #[serde(deserialize_with = "empty_is_none")]
    pub arm_endpoint: Option<String>,
    /// Blob endpoint of every storage account's data (containers' content), for Azurite
    /// (`http://127.0.0.1:PORT/devstoreaccount1`): the account it names holds every
    /// container's blobs, signed with the key ARM's `listKeys` returns. Absent: each
    /// account's own `primaryEndpoints.blob`.
    #[serde(deserialize_with = "empty_is_none")]
    pub blob_endpoint: Option<String>,
}

/// An empty string means "not set", so a spec can pass an optional setting through a
/// variable whose default is `""`.
fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// The location when a target names none.
pub const DEFAULT_LOCATION: &str = "eastus";

impl Settings {
    /// Read the target's settings; an error names the offending key.
    pub fn from_map(settings: &Map<String, Value>) -> Result<Settings, ProviderError> {
        serde_path_to_error::deserialize(Value::Object(settings.clone())).map_err(|e| {
            let key = e.path().to_string();
            let what = if key == "." {
                "azure target settings".to_string()
            } else {
                format!("azure target setting `{key}`")
            };
            ProviderError::invalid(format!("{what}: {}", e.inner())).with_hint(
                "azure targets accept `subscription_id`, `location`, `resource_group`, \
                 `arm_endpoint` and `blob_endpoint`",
            )
        })
    }

    /// The subscription: the setting, else `AZURE_SUBSCRIPTION_ID`, else an error naming
    /// both.
    pub fn effective_subscription(&self) -> Result<String, ProviderError> {
        self.subscription_id
            .clone()
            .or_else(|| {
                std::env::var("AZURE_SUBSCRIPTION_ID")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .ok_or_else(|| {
                ProviderError::invalid(
                    "no Azure subscription for this target (tried the target's \
                     `subscription_id` setting and AZURE_SUBSCRIPTION_ID)",
                )
                .with_hint("set `subscription_id:` on the target, or export AZURE_SUBSCRIPTION_ID (`az account show --query id`)")
            })
    }

    /// The location in use.
    pub fn effective_location(&self) -> &str {
        self.location.as_deref().unwrap_or(DEFAULT_LOCATION)
    }

    /// Whether the target points at a test server.
    pub fn emulated(&self) -> bool {
        self.arm_endpoint.is_some()
    }
}

/// The clients and identity of one target.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The target's settings.
    pub settings: Settings,
    /// The subscription in use.
    pub subscription: String,
    /// The resource group every resource of the target lives in.
    pub group: String,
    /// The location of every resource.
    pub location: String,
    /// Directory of the spec (storage content is relative to it).
    pub spec_dir: PathBuf,
    /// Resource Manager.
    pub arm: Arm,
}

impl Clients {
    /// The ARM id of the target's resource group.
    pub fn group_id(&self) -> String {
        crate::ids::group(&self.subscription, &self.group)
    }

    /// The ARM id of a resource of the target's group: `{ns}/{type}/{name}`.
    pub fn id(&self, provider_type: &str, name: &str) -> String {
        format!("{}/providers/{provider_type}/{name}", self.group_id())
    }
}

/// Build the clients of a target. No network access.
pub fn load(settings: &Settings, group: &str, spec_dir: &Path) -> Result<Clients, ProviderError> {
    let subscription = settings.effective_subscription()?;
    let arm = Arm::new(settings.arm_endpoint.as_deref(), Chain::new())?;
    Ok(Clients {
        settings: settings.clone(),
        subscription,
        group: group.to_string(),
        location: settings.effective_location().to_string(),
        spec_dir: spec_dir.to_path_buf(),
        arm,
    })
}

/// Shared ownership of the clients, built once per provider.
pub type Shared = Arc<Clients>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_refused_by_name_and_empty_values_are_unset() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        let e = Settings::from_map(&m(json!({"subscription": "x"}))).unwrap_err();
        assert!(e.message.contains("subscription"), "{}", e.message);
        let s = Settings::from_map(&m(json!({"subscription_id": "s", "arm_endpoint": ""})))
            .expect("settings");
        assert_eq!(s.arm_endpoint, None);
        assert_eq!(s.effective_location(), DEFAULT_LOCATION);
        assert_eq!(s.effective_subscription().expect("sub"), "s");
    }
}
