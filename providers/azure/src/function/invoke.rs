//! Invoking a function: an http function is called at `https://<app>.azurewebsites.net/api/
//! <function>` with the payload as a JSON body (its trigger is anonymous, as a function URL
//! is on the other clouds). A test server of ARM runs no code: invoking there is refused
//! rather than faked.

use std::time::Duration;

use azure_core::http::headers::HeaderName;
use azure_core::http::{Method, Request, Url};
use overcast_core::{NativeState, ProviderError};
use serde_json::Value;

/// How much longer than the function's own timeout a call may take (cold start, network).
const SLACK: Duration = Duration::from_secs(30);

/// Invoke the function `state` with `payload`. `emulator`: the target's `arm_endpoint` when
/// it points at a test server.
pub async fn invoke(
    emulator: Option<&str>,
    state: &NativeState,
    payload: &Value,
) -> Result<Value, ProviderError> {
    if let Some(ep) = emulator {
        return Err(ProviderError::invalid(format!(
            "`{}` cannot be invoked: the target's Resource Manager endpoint `{ep}` is a test \
             server of the control plane, which keeps function apps' configuration but has no \
             runtime to run their code",
            state.addr
        ))
        .with_hint(
            "invoke it on Azure (a target without `arm_endpoint`), or run the handler on the \
             local provider",
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
        .with_hint(
            "send a message to its queue, write a blob to its container, or wait for its schedule",
        ));
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
    let parsed: Url = url
        .parse()
        .map_err(|e| ProviderError::fatal(format!("`{}`: URL `{url}`: {e}", state.addr)))?;
    let mut req = Request::new(parsed, Method::Post);
    req.insert_header(HeaderName::from_static("content-type"), "application/json");
    req.set_body(payload.to_string());
    let op = format!("invoke {url}");
    let timeout = Duration::from_secs(
        state
            .inputs
            .get("timeout")
            .and_then(Value::as_u64)
            .unwrap_or(230),
    ) + SLACK;
    let client = azure_core::http::new_http_client(None);
    let call = async {
        let raw = client
            .execute_request(&req)
            .await
            .map_err(|e| crate::errors::transport(&op, &e))?;
        raw.try_into_raw_response()
            .await
            .map_err(|e| crate::errors::transport(&op, &e))
    };
    let raw = tokio::time::timeout(timeout, call).await.map_err(|_| {
        ProviderError::retryable(format!("{op}: no answer in {}s", timeout.as_secs()))
            .with_outcome_unknown()
    })??;
    let status = u16::from(raw.status());
    let text = String::from_utf8_lossy(raw.body()).to_string();
    if !(200..300).contains(&status) {
        return Err(ProviderError::new(
            crate::errors::class_of(status, ""),
            format!("{op}: HTTP {status}: {text}"),
        ));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
