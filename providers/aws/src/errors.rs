//! SDK errors to the engine's classified [`ProviderError`]. The classification drives the
//! engine's single retry layer, so it errs on "retryable" only for what AWS documents as
//! transient: throttling, 5xx, timeouts, dropped connections and resources still settling.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::ErrorKind;
use overcast_core::error::parse_retry_after;
use overcast_core::{ErrorClass, ProviderError};

/// Error codes AWS uses for throttling: retried, and the call layer slows the API down.
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
];

/// Error codes AWS uses for transient failures and resources still settling.
const RETRYABLE: &[&str] = &[
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "RequestTimeout",
    "RequestTimeoutException",
    "OperationAborted",
    "IncorrectInstanceState",
    "InvalidDBInstanceState",
    // CloudFront: the distribution is still being disabled.
    "DistributionNotDisabled",
    // Lambda: an update of the function is still in progress.
    "ResourceInUseException",
    // SQS: a queue of the same name was deleted less than 60 s ago.
    "AWS.SimpleQueueService.QueueDeletedRecently",
    "QueueDeletedRecently",
];

const AUTH: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "UnauthorizedOperation",
    "MissingAuthenticationToken",
    "InvalidToken",
];

/// Error codes of a delete refused because something still uses the resource (a security
/// group an instance or another group's rule uses, a role still attached, an origin access
/// control a distribution uses): a conflict, which `nuke` re-queues after the others
/// rather than retrying at once. Part of [`CONFLICT`].
pub const IN_USE: &[&str] = &[
    "DependencyViolation",
    "DeleteConflict",
    "InvalidGroup.InUse",
    "ResourceInUse",
    "OriginAccessControlInUse",
];

const CONFLICT: &[&str] = &[
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "EntityAlreadyExists",
    "QueueAlreadyExists",
    "AWS.SimpleQueueService.QueueNameExists",
    "QueueNameExists",
    "DBInstanceAlreadyExists",
    "InvalidGroup.Duplicate",
    "InvalidPermission.Duplicate",
    "DistributionAlreadyExists",
    "OriginAccessControlAlreadyExists",
    "ResourceConflictException",
    "BucketNotEmpty",
];

/// Classify an AWS error code (and HTTP status, when known).
pub fn classify(code: Option<&str>, status: Option<u16>) -> ErrorClass {
    if let Some(code) = code {
        if THROTTLED.contains(&code) {
            return ErrorClass::Throttled;
        }
        // A stale ETag (CloudFront's If-Match): the provider reads the current one at the
        // start of every attempt, so a retry is a fresh read and write.
        if code == "PreconditionFailed" || code == "InvalidIfMatchVersion" {
            return ErrorClass::Precondition;
        }
        if RETRYABLE.contains(&code) {
            return ErrorClass::Retryable;
        }
        if AUTH.contains(&code) {
            return ErrorClass::Auth;
        }
        if CONFLICT.contains(&code) || IN_USE.contains(&code) || code.ends_with("AlreadyExists") {
            return ErrorClass::Conflict;
        }
        if code.contains("NotFound")
            || code.starts_with("NoSuch")
            || code.contains("NonExistent")
            || code == "QueueDoesNotExist"
            || code == "AWS.SimpleQueueService.NonExistentQueue"
        {
            return ErrorClass::NotFound;
        }
        if code.contains("Invalid")
            || code.contains("Validation")
            || code.contains("Malformed")
            || code.starts_with("InvalidParameter")
            || code == "MissingParameter"
            || code == "IllegalLocationConstraintException"
        {
            return ErrorClass::InvalidInput;
        }
    }
    match status {
        Some(429) => ErrorClass::Throttled,
        Some(412) => ErrorClass::Precondition,
        Some(s) if s >= 500 => ErrorClass::Retryable,
        Some(404) => ErrorClass::NotFound,
        Some(401 | 403) => ErrorClass::Auth,
        Some(409) => ErrorClass::Conflict,
        Some(400) => ErrorClass::InvalidInput,
        _ => ErrorClass::Fatal,
    }
}

/// `Ok(gone)` when the error says the resource does not exist, the error otherwise: reads
/// answer `None` for a vanished resource, deletes succeed on one (the provider contract).
pub fn gone_as<T>(err: ProviderError, gone: T) -> Result<T, ProviderError> {
    if err.class == overcast_core::ErrorClass::NotFound {
        Ok(gone)
    } else {
        Err(err)
    }
}

/// For deletes: a resource that is already gone is a success.
pub fn gone_is_ok(err: ProviderError) -> Result<(), ProviderError> {
    gone_as(err, ())
}

/// Convert an SDK error of operation `op` on `what` (a name or id) to a [`ProviderError`]
/// whose message carries the AWS error code.
pub fn sdk<E>(op: &str, what: &str, err: SdkError<E, Response>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // Throttling answers may say how long to wait.
    let retry_after = err
        .raw_response()
        .and_then(|r| r.headers().get("retry-after"))
        .and_then(parse_retry_after);
    let mut outcome_unknown = false;
    let (class, detail) = match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let status = se.raw().status().as_u16();
            let code = e.code();
            let class = classify(code, Some(status));
            let detail = format!(
                "{} (HTTP {status}): {}",
                code.unwrap_or("no error code"),
                e.message().unwrap_or("no message")
            );
            (class, detail)
        }
        SdkError::ResponseError(re) => {
            let status = re.raw().status().as_u16();
            (
                classify(None, Some(status)),
                format!(
                    "unreadable response (HTTP {status}): {}",
                    DisplayErrorContext(&err)
                ),
            )
        }
        // No answer in time: worth another attempt, but the request may have been served.
        SdkError::TimeoutError(_) => {
            outcome_unknown = true;
            (
                ErrorClass::Retryable,
                format!("{}", DisplayErrorContext(&err)),
            )
        }
        SdkError::DispatchFailure(df) => {
            let text = format!("{}", DisplayErrorContext(&err));
            // Credentials are resolved while dispatching: no credentials is not transient.
            if text.contains("credentials") || text.contains("identity") {
                (ErrorClass::Auth, text)
            } else if df.is_io()
                || df.is_timeout()
                || df.as_other() == Some(ErrorKind::TransientError)
                || is_dropped_connection(&text)
            {
                // A dropped connection may have dropped after the request went out: the
                // service may have acted on it. The call layer adopts before re-creating.
                outcome_unknown = true;
                (ErrorClass::Retryable, text)
            } else {
                (ErrorClass::Fatal, text)
            }
        }
        _ => (ErrorClass::Fatal, format!("{}", DisplayErrorContext(&err))),
    };
    let mut err = ProviderError::new(class, format!("aws {op} `{what}`: {detail}"));
    err.outcome_unknown = outcome_unknown;
    err.retry_after = retry_after;
    match class {
        ErrorClass::Auth => err.with_hint(
            "check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, \
             SSO or an instance role) and their permissions",
        ),
        _ => err,
    }
}

/// Whether a transport error's text says the connection dropped mid-call (hyper's
/// `IncompleteMessage`, a reset, a broken pipe): the SDK marks some of these transient
/// and some not, depending on where the connection broke; all are worth another attempt.
fn is_dropped_connection(text: &str) -> bool {
    const DROPPED: &[&str] = &[
        "connection closed before message completed",
        "connection reset",
        "broken pipe",
        "unexpected end of file",
        "connection error",
        "operation was canceled",
    ];
    let lower = text.to_ascii_lowercase();
    DROPPED.iter().any(|d| lower.contains(d))
}

/// The HTTP status of the service's answer, if there was one.
pub fn status<E, R>(err: &SdkError<E, R>) -> Option<u16>
where
    R: HasStatus,
{
    err.raw_response().map(HasStatus::status_code)
}

/// Access to the HTTP status of a raw response (implemented for the SDK's response type).
pub trait HasStatus {
    /// The status code.
    fn status_code(&self) -> u16;
}

impl HasStatus for Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The AWS error code of an SDK error, if the service answered with one.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// An error for a builder that refused its fields (a required field missing): a bug in
/// the provider, reported rather than panicking.
pub fn build(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::fatal(format!("building the {what} request: {e}"))
}

/// An input that should have been set by `expand` is missing or has the wrong type.
pub fn input(addr: &str, name: &str) -> ProviderError {
    ProviderError::invalid(format!(
        "`{addr}`: input `{name}` is missing or has the wrong type"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_connections_are_recognized() {
        assert!(is_dropped_connection(
            "dispatch failure: io error: connection closed before message completed"
        ));
        assert!(is_dropped_connection(
            "Connection reset by peer (os error 104)"
        ));
        assert!(!is_dropped_connection("invalid URI"));
    }

    #[test]
    fn codes_map_to_engine_classes() {
        assert_eq!(
            classify(Some("ThrottlingException"), Some(400)),
            ErrorClass::Throttled
        );
        assert_eq!(classify(Some("SlowDown"), Some(503)), ErrorClass::Throttled);
        assert_eq!(classify(None, Some(429)), ErrorClass::Throttled);
        assert_eq!(
            classify(Some("PreconditionFailed"), Some(412)),
            ErrorClass::Precondition
        );
        assert_eq!(classify(None, Some(503)), ErrorClass::Retryable);
        assert_eq!(
            classify(Some("NoSuchBucket"), Some(404)),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("InvalidInstanceID.NotFound"), None),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("AWS.SimpleQueueService.NonExistentQueue"), None),
            ErrorClass::NotFound
        );
        assert_eq!(
            classify(Some("BucketAlreadyOwnedByYou"), Some(409)),
            ErrorClass::Conflict
        );
        assert_eq!(
            classify(Some("EntityAlreadyExists"), None),
            ErrorClass::Conflict
        );
        assert_eq!(
            classify(Some("InvalidParameterValue"), Some(400)),
            ErrorClass::InvalidInput
        );
        assert_eq!(
            classify(Some("ValidationError"), Some(400)),
            ErrorClass::InvalidInput
        );
        assert_eq!(
            classify(Some("InvalidClientTokenId"), Some(403)),
            ErrorClass::Auth
        );
        assert_eq!(classify(Some("Weird"), Some(403)), ErrorClass::Auth);
        for in_use in [
            "DependencyViolation",
            "DeleteConflict",
            "OriginAccessControlInUse",
        ] {
            assert_eq!(classify(Some(in_use), Some(400)), ErrorClass::Conflict);
        }
        assert_eq!(classify(Some("Weird"), None), ErrorClass::Fatal);
    }
}
