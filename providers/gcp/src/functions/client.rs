//! The Cloud Functions (2nd gen) client: google-cloud-functions-v2's `FunctionService`
//! over its HTTP/JSON transport, against the target's `functions_endpoint` (an emulator,
//! with anonymous credentials) or Google (Application Default Credentials).

use google_cloud_functions_v2::client::FunctionService;
use google_cloud_gax::retry_policy::NeverRetry;
use overcast_core::ProviderError;

use crate::config::creds_for;

/// Build the client of `endpoint` (`None`: Google).
pub async fn build(endpoint: Option<&str>) -> Result<FunctionService, ProviderError> {
    let mut b = FunctionService::builder().with_credentials(creds_for(endpoint)?);
    if let Some(ep) = endpoint {
        b = b.with_endpoint(ep.trim_end_matches('/'));
    }
    // The engine's call layer is the only retry loop.
    b.with_retry_policy(NeverRetry)
        .build()
        .await
        .map_err(|e| ProviderError::fatal(format!("cannot build the Cloud Functions client: {e}")))
}
