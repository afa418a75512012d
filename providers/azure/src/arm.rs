//! The Azure Resource Manager client: plain JSON over azure_core's HTTP pipeline, one
//! pinned api-version per resource type, typed bodies in each type's module.
//!
//! There is no maintained ARM crate, and ARM needs none: every resource is
//! `PUT/GET/PATCH/DELETE {endpoint}{id}?api-version=...`. What this module adds is the
//! part every type shares: the bearer token (or none against a test server), ARM's error
//! body, and long-running operations. A PUT or DELETE that answers 201/202 is followed
//! through its `Azure-AsyncOperation` status resource or its `Location` until it ends, via
//! the core poller (backoff, `Retry-After`, deadline, cancellation); a PUT answered with a
//! non-terminal `provisioningState` and no operation header is followed by reading the
//! resource itself. The pipeline's own retries are off: the engine's call layer is the
//! one retry loop.

use std::sync::Arc;
use std::time::Duration;

use azure_core::http::headers::HeaderName;
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    ClientOptions, Context, Method, Pipeline, PipelineSendOptions, Request, RetryOptions, Url,
};
use overcast_core::error::parse_retry_after;
use overcast_core::op::OpContext;
use overcast_core::poll::{Poll, PollPolicy, poll_until};
use overcast_core::{ErrorClass, ProviderError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::credential::Chain;
use crate::errors;

/// Azure's public-cloud Resource Manager endpoint.
pub const AZURE_ENDPOINT: &str = "https://management.azure.com";

const ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");
const LOCATION: HeaderName = HeaderName::from_static("location");
const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");
const AUTHORIZATION: HeaderName = HeaderName::from_static("authorization");
const CONTENT_TYPE: HeaderName = HeaderName::from_static("content-type");

/// The token a test server is sent in place of an Entra ID token: it checks that one is
/// present, as ARM does, and cannot check more.
pub const EMULATOR_TOKEN: &str = "overcast-emulator";

/// One answer of ARM.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body (empty for 202/204).
    pub body: Vec<u8>,
    /// `Azure-AsyncOperation`: the status resource of a long-running operation.
    pub async_operation: Option<String>,
    /// `Location`: where a long-running operation's result will be.
    pub location: Option<String>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
}

impl Answer {
    /// The body as JSON (`null` when empty).
    pub fn json(&self) -> Result<Value, ProviderError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ProviderError::fatal(format!("ARM answered a body that is not JSON: {e}")))
    }
}

/// The Resource Manager client of one target.
#[derive(Debug, Clone)]
pub struct Arm {
    pipeline: Pipeline,
    endpoint: Url,
    /// Against a test server: no Entra ID, a placeholder bearer token.
    emulated: bool,
    /// The credential chain (against Azure).
    pub credential: Arc<Chain>,
}

impl Arm {
    /// A client of `endpoint` (`None`: Azure's). An `http://` endpoint is a test server
    /// and gets no real token.
    pub fn new(endpoint: Option<&str>, credential: Arc<Chain>) -> Result<Arm, ProviderError> {
        let raw = endpoint.unwrap_or(AZURE_ENDPOINT).trim_end_matches('/');
        let endpoint: Url = raw.parse().map_err(|e| {
            ProviderError::invalid(format!("azure `arm_endpoint` `{raw}` is not a URL: {e}"))
        })?;
        let emulated = endpoint.scheme() == "http";
        let mut per_try: Vec<Arc<dyn Policy>> = Vec::new();
        if !emulated {
            let scope = format!("{}/.default", raw);
            per_try.push(Arc::new(BearerTokenAuthorizationPolicy::new(
                credential.clone(),
                vec![scope],
            )));
        }
        let options = ClientOptions {
            retry: RetryOptions::none(),
            ..ClientOptions::default()
        };
        let pipeline = Pipeline::new(
            Some("overcast-azure"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            Vec::new(),
            per_try,
            None,
        );
        Ok(Arm {
            pipeline,
            endpoint,
            emulated,
            credential,
        })
    }

    /// Whether this client talks to a test server.
    pub fn emulated(&self) -> bool {
        self.emulated
    }

    /// The URL of a path (an ARM id, or a collection) with its api-version.
    pub fn url(&self, path: &str, api_version: &str) -> Result<Url, ProviderError> {
        let mut url = self
            .endpoint
            .join(path)
            .map_err(|e| ProviderError::fatal(format!("bad ARM path `{path}`: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    /// Send one request; any status is an [`Answer`] (transport failures are errors).
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        let op = format!("{} {}", method, url.path());
        // Only this endpoint ever gets the token: a status URL elsewhere is refused.
        if url.origin() != self.endpoint.origin() {
            return Err(ProviderError::fatal(format!(
                "{op}: ARM pointed at `{}`, which is not its endpoint `{}`",
                url.origin().ascii_serialization(),
                self.endpoint.origin().ascii_serialization()
            )));
        }
        let mut req = Request::new(url, method);
        if self.emulated {
            req.insert_header(AUTHORIZATION, format!("Bearer {EMULATOR_TOKEN}"));
        }
        if let Some(b) = body {
            req.insert_header(CONTENT_TYPE, "application/json");
            req.set_body(b.to_string());
        }
        let options = PipelineSendOptions {
            skip_checks: true,
            ..PipelineSendOptions::default()
        };
        let raw = self
            .pipeline
            .send(&Context::new(), &mut req, Some(options))
            .await
            .map_err(|e| errors::transport(&op, &e))?;
        let headers = raw.headers();
        let answer = Answer {
            status: u16::from(raw.status()),
            async_operation: headers.get_optional_string(&ASYNC_OPERATION),
            location: headers.get_optional_string(&LOCATION),
            retry_after: headers
                .get_optional_str(&RETRY_AFTER)
                .and_then(parse_retry_after),
            body: raw.body().to_vec(),
        };
        Ok(answer)
    }

    /// Send, and turn an error status into the error it means.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, ProviderError> {
        let op = format!("{} {}", method, url.path());
        let a = self.send(method, url, body).await?;
        if a.status >= 400 {
            let retry = a.retry_after.map(|d| d.as_secs().to_string());
            return Err(errors::arm(&op, a.status, &a.body, retry.as_deref()));
        }
        Ok(a)
    }

    /// GET a resource as `T` (a not-found error when it does not exist).
    pub async fn get<T: DeserializeOwned>(
        &self,
        id: &str,
        api_version: &str,
    ) -> Result<T, ProviderError> {
        let a = self
            .call(Method::Get, self.url(id, api_version)?, None)
            .await?;
        decode(id, &a.json()?)
    }

    /// POST an action (`listKeys`) and decode its answer.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<T, ProviderError> {
        let a = self
            .call(Method::Post, self.url(path, api_version)?, body)
            .await?;
        decode(path, &a.json()?)
    }

    /// PUT (create or update) a resource and wait until ARM says it has settled; the
    /// resource as ARM then reads it.
    pub async fn put<B: Serialize, T: DeserializeOwned>(
        &self,
        ctx: &OpContext,
        id: &str,
        api_version: &str,
        body: &B,
    ) -> Result<T, ProviderError> {
        self.write(ctx, Method::Put, id, api_version, body).await
    }

    /// PATCH a resource (a merge) and wait like [`Arm::put`].
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        ctx: &OpContext,
        id: &str,
        api_version: &str,
        body: &B,
    ) -> Result<T, ProviderError> {
        self.write(ctx, Method::Patch, id, api_version, body).await
    }

    async fn write<B: Serialize, T: DeserializeOwned>(
        &self,
        ctx: &OpContext,
        method: Method,
        id: &str,
        api_version: &str,
        body: &B,
    ) -> Result<T, ProviderError> {
        let body = serde_json::to_value(body)
            .map_err(|e| ProviderError::fatal(format!("cannot encode the body of {id}: {e}")))?;
        let a = self
            .call(method, self.url(id, api_version)?, Some(&body))
            .await?;
        self.settle(ctx, id, &a).await?;
        // The settled resource, as a read sees it.
        let now: Value = match (
            a.status,
            a.async_operation.is_some() || a.location.is_some(),
        ) {
            (200 | 201, false) if terminal(&a.json()?) => a.json()?,
            _ => self.get(id, api_version).await?,
        };
        if let Some(failed) = failed_state(&now) {
            return Err(ProviderError::fatal(format!(
                "{id}: provisioningState is `{failed}` after the request"
            )));
        }
        let settled = if terminal(&now) {
            now
        } else {
            self.await_provisioning(ctx, id, api_version).await?
        };
        decode(id, &settled)
    }

    /// DELETE a resource and wait until it is gone (already gone: success).
    pub async fn delete(
        &self,
        ctx: &OpContext,
        id: &str,
        api_version: &str,
    ) -> Result<(), ProviderError> {
        let a = match self
            .call(Method::Delete, self.url(id, api_version)?, None)
            .await
        {
            Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
            other => other?,
        };
        // Gone while the operation was followed: deleted all the same.
        overcast_core::error::gone_as(self.settle(ctx, id, &a).await, ())
    }

    /// Follow a long-running operation to its end: through `Azure-AsyncOperation` when
    /// ARM gave one (its status resource), else through `Location` (202 until done).
    async fn settle(&self, ctx: &OpContext, id: &str, a: &Answer) -> Result<(), ProviderError> {
        if !matches!(a.status, 201 | 202) {
            return Ok(());
        }
        let first_wait = a.retry_after;
        if let Some(op_url) = &a.async_operation {
            let url: Url = parse_url(op_url)?;
            return poll_until(ctx, &format!("`{id}`"), policy(first_wait), || {
                let url = url.clone();
                async move {
                    let s = self.call(Method::Get, url, None).await?;
                    let v = s.json()?;
                    let status = v.get("status").and_then(Value::as_str).unwrap_or("");
                    match status.to_ascii_lowercase().as_str() {
                        "succeeded" => Ok(Poll::Ready(())),
                        "failed" | "canceled" | "cancelled" => {
                            let err = v.get("error").cloned().unwrap_or(Value::Null);
                            let code = err.get("code").and_then(Value::as_str).unwrap_or("");
                            let msg = err.get("message").and_then(Value::as_str).unwrap_or("");
                            Err(ProviderError::new(
                                errors::class_of(400, code),
                                format!("{id}: the operation ended `{status}`: {code}: {msg}"),
                            ))
                        }
                        _ => Ok(Poll::Pending {
                            status: if status.is_empty() {
                                "InProgress".into()
                            } else {
                                status.to_string()
                            },
                            retry_after: s.retry_after,
                        }),
                    }
                }
            })
            .await;
        }
        if let Some(loc) = &a.location {
            let url: Url = parse_url(loc)?;
            return poll_until(ctx, &format!("`{id}`"), policy(first_wait), || {
                let url = url.clone();
                async move {
                    let s = self.call(Method::Get, url, None).await?;
                    if s.status == 202 {
                        Ok(Poll::Pending {
                            status: "Accepted".into(),
                            retry_after: s.retry_after,
                        })
                    } else {
                        Ok(Poll::Ready(()))
                    }
                }
            })
            .await;
        }
        Ok(())
    }

    /// Read the resource until its `provisioningState` is terminal.
    async fn await_provisioning(
        &self,
        ctx: &OpContext,
        id: &str,
        api_version: &str,
    ) -> Result<Value, ProviderError> {
        poll_until(
            ctx,
            &format!("`{id}` to be provisioned"),
            policy(None),
            || async {
                let v: Value = self.get(id, api_version).await?;
                if let Some(failed) = failed_state(&v) {
                    return Err(ProviderError::fatal(format!(
                        "{id}: provisioningState is `{failed}`"
                    )));
                }
                if terminal(&v) {
                    Ok(Poll::Ready(v))
                } else {
                    Ok(Poll::pending(provisioning_state(&v).unwrap_or("Creating")))
                }
            },
        )
        .await
    }

    /// Every item of a collection (`value`), following `nextLink` to the end.
    pub async fn list(&self, first: Url) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page = self.call(Method::Get, url, None).await?.json()?;
            if let Some(items) = page.get("value").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            next = match page.get("nextLink").and_then(Value::as_str) {
                Some(link) if !link.is_empty() => Some(parse_url(link)?),
                _ => None,
            };
        }
        Ok(out)
    }
}

fn parse_url(s: &str) -> Result<Url, ProviderError> {
    s.parse().map_err(|e| {
        ProviderError::fatal(format!(
            "ARM answered a URL that does not parse: `{s}`: {e}"
        ))
    })
}

fn policy(first: Option<Duration>) -> PollPolicy {
    let mut p = PollPolicy::default();
    if let Some(wait) = first {
        p.initial = wait.max(Duration::from_millis(50));
    }
    p
}

fn decode<T: DeserializeOwned>(what: &str, v: &Value) -> Result<T, ProviderError> {
    serde_json::from_value(v.clone()).map_err(|e| {
        ProviderError::fatal(format!("ARM's answer for `{what}` does not decode: {e}"))
    })
}

/// `properties.provisioningState`, when the resource has one.
pub fn provisioning_state(v: &Value) -> Option<&str> {
    v.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
}

/// Whether a resource has settled: no provisioning state (synchronous types), or a
/// terminal one.
fn terminal(v: &Value) -> bool {
    match provisioning_state(v) {
        None => true,
        Some(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "succeeded" | "failed" | "canceled" | "cancelled"
        ),
    }
}

fn failed_state(v: &Value) -> Option<&str> {
    provisioning_state(v).filter(|s| {
        matches!(
            s.to_ascii_lowercase().as_str(),
            "failed" | "canceled" | "cancelled"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_resource_is_settled_without_a_state_or_with_a_terminal_one() {
        assert!(terminal(&json!({"name": "q"})));
        assert!(terminal(
            &json!({"properties": {"provisioningState": "Succeeded"}})
        ));
        assert!(!terminal(
            &json!({"properties": {"provisioningState": "Creating"}})
        ));
        assert_eq!(
            failed_state(&json!({"properties": {"provisioningState": "Failed"}})),
            Some("Failed")
        );
    }

    #[test]
    fn urls_carry_the_api_version_and_a_test_server_gets_no_real_token() {
        let arm = Arm::new(Some("http://127.0.0.1:9/"), Chain::new()).expect("client");
        assert!(arm.emulated());
        let u = arm
            .url("/subscriptions/s/resourceGroups/g", "2022-09-01")
            .expect("url");
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/subscriptions/s/resourceGroups/g?api-version=2022-09-01"
        );
    }
}
