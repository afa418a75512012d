//! The Compute Engine clients of a target, and Compute's errors classified for the
//! engine's call layer.

use google_cloud_compute_v1::client::{
    BackendBuckets, Firewalls, GlobalForwardingRules, GlobalOperations, Images, Instances,
    Networks, TargetHttpProxies, UrlMaps, ZoneOperations,
};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::retry_policy::NeverRetry;
use overcast_core::{ErrorClass, ProviderError};
use serde_json::Value;

use crate::errors::{class_of_http, gax};

/// The Compute Engine clients of one target.
#[derive(Debug, Clone)]
pub struct Compute {
    /// The project.
    pub project: String,
    /// The zone of instances.
    pub zone: String,
    /// Instances.
    pub instances: Instances,
    /// Firewall rules.
    pub firewalls: Firewalls,
    /// VPC networks.
    pub networks: Networks,
    /// Backend buckets (a cdn's origin).
    pub backend_buckets: BackendBuckets,
    /// URL maps.
    pub url_maps: UrlMaps,
    /// Target HTTP proxies.
    pub proxies: TargetHttpProxies,
    /// Global forwarding rules.
    pub rules: GlobalForwardingRules,
    /// Zonal operations (instances).
    pub zone_ops: ZoneOperations,
    /// Global operations (everything else).
    pub global_ops: GlobalOperations,
    /// Public images (image families).
    pub images: Images,
}

macro_rules! build {
    ($ty:ty, $endpoint:expr, $creds:expr, $what:literal) => {{
        let mut b = <$ty>::builder().with_credentials($creds.clone());
        if let Some(ep) = $endpoint {
            b = b.with_endpoint(ep);
        }
        // The engine's call layer is the only retry loop.
        b.with_retry_policy(NeverRetry).build().await.map_err(|e| {
            ProviderError::fatal(format!(
                "cannot build the Compute Engine {} client: {e}",
                $what
            ))
        })?
    }};
}

impl Compute {
    /// Build every client, against `endpoint` (a test server; no credentials) or Google.
    pub async fn new(
        project: String,
        zone: String,
        endpoint: Option<&str>,
        creds: google_cloud_auth::credentials::Credentials,
    ) -> Result<Compute, ProviderError> {
        let endpoint = endpoint.map(|e| e.trim_end_matches('/').to_string());
        let ep = endpoint.as_deref();
        Ok(Compute {
            project,
            zone,
            instances: build!(Instances, ep, creds, "instances"),
            firewalls: build!(Firewalls, ep, creds, "firewalls"),
            networks: build!(Networks, ep, creds, "networks"),
            backend_buckets: build!(BackendBuckets, ep, creds, "backend buckets"),
            url_maps: build!(UrlMaps, ep, creds, "URL maps"),
            proxies: build!(TargetHttpProxies, ep, creds, "target HTTP proxies"),
            rules: build!(GlobalForwardingRules, ep, creds, "forwarding rules"),
            zone_ops: build!(ZoneOperations, ep, creds, "zone operations"),
            global_ops: build!(GlobalOperations, ep, creds, "global operations"),
            images: build!(Images, ep, creds, "images"),
        })
    }
}

/// The `reason` Compute gives when a resource is still used by another (a network with
/// instances or firewall rules on it, a backend bucket behind a URL map).
pub const IN_USE: &str = "resourceInUseByAnotherResource";

/// Google's error body of a failed call: (HTTP status, message, reason).
fn body_of(e: &GaxError) -> Option<(u16, String, String)> {
    let payload: Value = serde_json::from_slice(e.http_payload()?).ok()?;
    let err = payload.get("error")?;
    let status = e.http_status_code().or_else(|| {
        err.get("code")?
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
    })?;
    let message = err.get("message")?.as_str()?.to_string();
    let reason = err
        .pointer("/errors/0/reason")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((status, message, reason))
}

/// Compute's message for a resource still in use, when the reason is not at hand (the
/// client keeps the message of an error body it parsed, not its `errors[].reason`).
const IN_USE_MESSAGE: &str = "is already being used by";

/// The hint of a resource still in use.
pub const IN_USE_HINT: &str =
    "delete what uses it first; overcast deletes it once the user is gone";

/// A resource still in use (Google's message names the user): a conflict, so a teardown
/// deletes the user first and this one after it, rather than retrying it in place.
pub fn in_use(op: &str, message: &str) -> ProviderError {
    ProviderError::new(
        ErrorClass::Conflict,
        format!("{op}: still in use ({IN_USE}): {message}"),
    )
    .with_hint(IN_USE_HINT)
}

/// A failed Compute call. A resource still in use is a conflict ([`in_use`]); the rest as
/// every Google JSON API.
pub fn err(op: &str, e: GaxError) -> ProviderError {
    if let Some(status) = e.status()
        && status.message.contains(IN_USE_MESSAGE)
    {
        return in_use(op, &status.message);
    }
    match body_of(&e) {
        Some((_, message, reason)) if reason == IN_USE => in_use(op, &message),
        Some((status, message, reason)) => {
            let mut out = ProviderError::new(
                class_of_http(status),
                format!("{op}: HTTP {status} {reason}: {message}"),
            );
            if let Some(wait) = gax(op, e).retry_after {
                out = out.with_retry_after(wait);
            }
            out
        }
        None => gax(op, e),
    }
}

/// The class of a failed operation's error code (`errors[].code` of a DONE operation).
pub fn class_of_op_code(code: &str, http_status: Option<i64>) -> ErrorClass {
    match code {
        // Still used by another resource: that one goes first (see `in_use`).
        "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE" => ErrorClass::Conflict,
        "RESOURCE_NOT_READY"
        | "INTERNAL_ERROR"
        | "ZONE_RESOURCE_POOL_EXHAUSTED"
        | "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS" => ErrorClass::Retryable,
        "RATE_LIMIT_EXCEEDED" => ErrorClass::Throttled,
        "RESOURCE_NOT_FOUND" | "NOT_FOUND" => ErrorClass::NotFound,
        "RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS" => ErrorClass::Conflict,
        "CONDITION_NOT_MET" => ErrorClass::Precondition,
        // Waiting does not raise a quota: the user must.
        "QUOTA_EXCEEDED" => ErrorClass::Fatal,
        _ => http_status
            .and_then(|s| u16::try_from(s).ok())
            .map_or(ErrorClass::Fatal, class_of_http),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_codes_map_to_classes() {
        assert_eq!(
            class_of_op_code("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", Some(400)),
            ErrorClass::Conflict
        );
        assert_eq!(
            class_of_op_code("QUOTA_EXCEEDED", Some(403)),
            ErrorClass::Fatal
        );
        assert_eq!(
            class_of_op_code("INVALID", Some(400)),
            ErrorClass::InvalidInput
        );
        assert_eq!(class_of_op_code("X", None), ErrorClass::Fatal);
    }
}
