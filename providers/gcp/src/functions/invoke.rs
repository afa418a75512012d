//! Invoking a function: an http function is called at its URL with the payload as a JSON
//! body, with an ID token for that URL from Application Default Credentials (Cloud Run
//! functions refuse unauthenticated calls unless `allUsers` may invoke them). An emulator
//! of the control plane runs no code: invoking there is refused rather than faked.

use std::time::Duration;

use google_cloud_auth::credentials::idtoken;
use overcast_core::{ErrorClass, NativeState, ProviderError};
use serde_json::Value;

use crate::errors;

/// Invoke the function `state` with `payload`. `emulator`: the target's
/// `functions_endpoint`, when it points at an emulator.
pub async fn invoke(
    emulator: Option<&str>,
    state: &NativeState,
    payload: &Value,
) -> Result<Value, ProviderError> {
    if let Some(ep) = emulator {
        return Err(ProviderError::invalid(format!(
            "`{}` cannot be invoked: the target's Cloud Functions endpoint `{ep}` is an \
             emulator of the control plane, which keeps functions' configuration but has no \
             runtime to run their code",
            state.addr
        ))
        .with_hint(
            "invoke it on Google (a target without `functions_endpoint`), or run the handler \
             on the local provider",
        ));
    }
    let trigger = state
        .inputs
        .get("trigger")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str);
    if trigger.is_some_and(|t| t != "http") {
        return Err(ProviderError::invalid(format!(
            "`{}` is triggered by {} events, not http: it has no URL to call",
            state.addr,
            trigger.unwrap_or_default()
        ))
        .with_hint("publish a message to its queue or write an object to its bucket instead"));
    }
    let url = state
        .outputs
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "`{}` has no URL yet: apply the stack first",
                state.addr
            ))
        })?;
    let token = idtoken::Builder::new(url)
        .build()
        .map_err(|e| {
            ProviderError::new(
                ErrorClass::Auth,
                format!(
                    "no ID token for `{url}`: {e} (tried {})",
                    crate::config::ADC_SOURCES
                ),
            )
        })?
        .id_token()
        .await
        .map_err(|e| {
            ProviderError::new(ErrorClass::Auth, format!("no ID token for `{url}`: {e}"))
        })?;
    let timeout = state
        .inputs
        .get("timeout")
        .and_then(Value::as_u64)
        .unwrap_or(60)
        + 30;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout))
        .build()
        .map_err(|e| ProviderError::fatal(format!("cannot build an HTTP client: {e}")))?;
    let op = format!("invoke {url}");
    let resp = http
        .post(url)
        .bearer_auth(token)
        .json(payload)
        .send()
        .await
        .map_err(|e| errors::transport(&op, &e, true))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| errors::transport(&op, &e, true))?;
    if !(200..300).contains(&status) {
        return Err(errors::http(&op, status, &text, None));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
