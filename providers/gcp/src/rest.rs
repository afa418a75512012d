//! One JSON REST exchange with a Google API over reqwest, shared by the clients that speak
//! REST directly (Cloud Storage's JSON API, Cloud SQL Admin): the bearer token from
//! Application Default Credentials (none against an emulator), the status classified for
//! the call layer (`Retry-After` kept), Google's error message extracted from its body.

use google_cloud_auth::credentials::AccessTokenCredentials;
use overcast_core::{ErrorClass, ProviderError};
use serde_json::Value;

use crate::errors;

/// Send `req` (with a token from `tokens`, if any) and return the body of a 2xx answer;
/// any other status is an error of its class with Google's message.
pub async fn exchange(
    op: &str,
    tokens: Option<&AccessTokenCredentials>,
    req: reqwest::RequestBuilder,
) -> Result<String, ProviderError> {
    let req = match tokens {
        Some(t) => {
            let token = t.access_token().await.map_err(|e| {
                ProviderError::new(
                    ErrorClass::Auth,
                    format!("{op}: no access token from Application Default Credentials: {e}"),
                )
            })?;
            req.bearer_auth(token.token)
        }
        None => req,
    };
    let resp = req
        .send()
        .await
        .map_err(|e| errors::transport(op, &e, true))?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp
        .text()
        .await
        .map_err(|e| errors::transport(op, &e, true))?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        return Err(errors::http(op, status, &message, retry_after.as_deref()));
    }
    Ok(text)
}
