//! Storage `content` on Azure Blob Storage: the files of a directory uploaded as blobs of
//! the container, through the data plane.

use overcast_core::{Attrs, ProviderError};
use serde_json::Value;

use crate::config::Clients;

/// The URL of a container: under the target's `blob_endpoint` when it names one (Azurite),
/// else the account's public blob endpoint.
pub fn container_url(c: &Clients, account: &str, container: &str) -> Result<String, ProviderError> {
    Ok(match &c.settings.blob_endpoint {
        Some(ep) => format!("{}/{container}", ep.trim_end_matches('/')),
        None => format!("https://{account}.blob.core.windows.net/{container}"),
    })
}

/// Bring the container's blobs to the `content` directory of `inputs` (none: nothing to do).
pub async fn sync(_c: &Clients, inputs: &Attrs) -> Result<(), ProviderError> {
    match inputs.get("content").and_then(Value::as_str) {
        None => Ok(()),
        Some(_) => Err(ProviderError::invalid(
            "storage `content` is not built on azure yet",
        )),
    }
}

/// Whether the container holds the directory.
pub async fn in_sync(
    _c: &Clients,
    _account: &str,
    _container: &str,
    _dir: &str,
) -> Result<bool, ProviderError> {
    Ok(true)
}
