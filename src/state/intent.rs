//! Intents: a create about to happen, recorded before the provider is called so that an
//! apply killed mid-create can be resumed by adopting the resource instead of creating it
//! twice.

use overcast_core::NativeAddr;
use overcast_core::native::CreateRequest;
use serde::{Deserialize, Serialize};

use super::clock::now_rfc3339;

/// A create the engine is about to perform. Cleared when the resource's state is
/// recorded (see [`super::StateStore::put`]) or explicitly when the create failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// The request as it will be sent to the provider, ownership tags included: enough
    /// for the provider to find (adopt) the resource if it was created.
    pub request: CreateRequest,
    /// Natives the resource depends on (kept so a resumed apply can record them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NativeAddr>,
    /// Sensitive output attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
    /// Inputs that force replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub force_new: Vec<String>,
    /// The resource was `protect: true` (copied into its state when adopted).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// When the intent was recorded (RFC 3339).
    pub recorded_at: String,
}

impl Intent {
    /// An intent for `request`, stamped now, with no dependencies or attribute lists.
    pub fn new(request: CreateRequest) -> Self {
        Intent {
            request,
            depends_on: Vec::new(),
            sensitive: Vec::new(),
            force_new: Vec::new(),
            protect: false,
            recorded_at: now_rfc3339(),
        }
    }

    /// The address the intent is about.
    pub fn addr(&self) -> &NativeAddr {
        &self.request.addr
    }
}
