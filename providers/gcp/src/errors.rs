//! Google errors classified for the engine's call layer: 409 conflict, 404 not found,
//! 412 precondition, 429 / RESOURCE_EXHAUSTED throttled, 5xx / UNAVAILABLE retryable,
//! 401 / 403 auth, other 4xx invalid. A request that may have reached the service with no
//! answer back (a timeout, a connection dropped after sending) is `outcome_unknown`, so a
//! create is adopted before it is tried again.

use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Code;
use overcast_core::error::parse_retry_after;
use overcast_core::{ErrorClass, ProviderError};

/// The class of an HTTP status.
pub fn class_of_http(status: u16) -> ErrorClass {
    match status {
        401 | 403 => ErrorClass::Auth,
        404 => ErrorClass::NotFound,
        409 => ErrorClass::Conflict,
        412 => ErrorClass::Precondition,
        429 => ErrorClass::Throttled,
        408 | 500..=599 => ErrorClass::Retryable,
        400..=499 => ErrorClass::InvalidInput,
        _ => ErrorClass::Fatal,
    }
}

/// The class of a gRPC status code.
pub fn class_of_code(code: Code) -> ErrorClass {
    match code {
        Code::NotFound => ErrorClass::NotFound,
        Code::AlreadyExists | Code::Aborted => ErrorClass::Conflict,
        Code::FailedPrecondition => ErrorClass::Precondition,
        Code::ResourceExhausted => ErrorClass::Throttled,
        Code::Unavailable | Code::Internal | Code::DeadlineExceeded | Code::Unknown => {
            ErrorClass::Retryable
        }
        Code::Unauthenticated | Code::PermissionDenied => ErrorClass::Auth,
        Code::InvalidArgument | Code::OutOfRange | Code::Unimplemented => ErrorClass::InvalidInput,
        _ => ErrorClass::Fatal,
    }
}

/// An error of the JSON API: its status, the service's message and `Retry-After`.
pub fn http(op: &str, status: u16, message: &str, retry_after: Option<&str>) -> ProviderError {
    let mut e = ProviderError::new(
        class_of_http(status),
        format!("{op}: HTTP {status}: {message}"),
    );
    if let Some(wait) = retry_after.and_then(parse_retry_after) {
        e = e.with_retry_after(wait);
    }
    e
}

/// A transport failure of the JSON API (no status came back).
pub fn transport(op: &str, e: &reqwest::Error, sent: bool) -> ProviderError {
    let mut err = ProviderError::retryable(format!("{op}: {e}"));
    // A connect error never reached the service; anything later may have.
    if sent && !e.is_connect() {
        err = err.with_outcome_unknown();
    }
    err
}

/// An error of a google-cloud-rust client.
pub fn gax(op: &str, e: GaxError) -> ProviderError {
    let retry_after = e
        .http_headers()
        .and_then(|h| h.get("retry-after"))
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let mut err = if let Some(status) = e.status() {
        ProviderError::new(
            class_of_code(status.code),
            format!("{op}: {:?}: {}", status.code, status.message),
        )
    } else if let Some(code) = e.http_status_code() {
        ProviderError::new(class_of_http(code), format!("{op}: HTTP {code}: {e}"))
    } else if e.is_authentication() {
        ProviderError::new(ErrorClass::Auth, format!("{op}: {e}"))
    } else if e.is_timeout() || e.is_io() || e.is_transport() || e.is_connect() {
        let err = ProviderError::retryable(format!("{op}: {e}"));
        // A request that could not connect never reached the service.
        if e.is_connect() {
            err
        } else {
            err.with_outcome_unknown()
        }
    } else {
        ProviderError::fatal(format!("{op}: {e}"))
    };
    if let Some(wait) = retry_after {
        err = err.with_retry_after(wait);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_classes_the_call_layer_expects() {
        assert_eq!(class_of_http(409), ErrorClass::Conflict);
        assert_eq!(class_of_http(404), ErrorClass::NotFound);
        assert_eq!(class_of_http(412), ErrorClass::Precondition);
        assert_eq!(class_of_http(429), ErrorClass::Throttled);
        assert_eq!(class_of_http(503), ErrorClass::Retryable);
        assert_eq!(class_of_http(403), ErrorClass::Auth);
        assert_eq!(class_of_http(400), ErrorClass::InvalidInput);
        assert_eq!(
            class_of_code(Code::ResourceExhausted),
            ErrorClass::Throttled
        );
        assert_eq!(class_of_code(Code::Unavailable), ErrorClass::Retryable);
        assert_eq!(class_of_code(Code::AlreadyExists), ErrorClass::Conflict);
        assert_eq!(class_of_code(Code::NotFound), ErrorClass::NotFound);
        let e = http("insert bucket", 429, "slow down", Some("3"));
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
    }
}
