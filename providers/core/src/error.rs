//! The one error type every provider returns, classified so the engine's call layer can
//! decide without knowing the cloud: retry now, retry later (and slow down), re-read and
//! retry, adopt before retrying, or give up.

use std::fmt;
use std::time::Duration;

/// How the engine should treat a failed provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 5xx, timeouts, dropped connections, "resource busy": worth retrying with backoff.
    Retryable,
    /// The API refused the call for its rate (HTTP 429, `ThrottlingException`, a quota
    /// per second): retried, and the call layer lowers the API's budget so the run
    /// converges instead of storming.
    Throttled,
    /// A precondition failed: a stale fingerprint, ETag or `If-Match` (HTTP 412). The
    /// provider re-reads what it needs at the start of every call, so the call layer
    /// retries at once rather than failing.
    Precondition,
    /// The resource does not exist (reads treat this as "gone", deletes as success).
    NotFound,
    /// A name or resource already exists.
    Conflict,
    /// The request is invalid for the service: fix the spec.
    InvalidInput,
    /// Missing or rejected credentials, or no permission.
    Auth,
    /// Anything else: not retried.
    Fatal,
}

impl ErrorClass {
    /// Whether a call that failed this way may be tried again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Retryable | ErrorClass::Throttled | ErrorClass::Precondition
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorClass::Retryable => "retryable",
            ErrorClass::Throttled => "throttled",
            ErrorClass::Precondition => "precondition failed",
            ErrorClass::NotFound => "not found",
            ErrorClass::Conflict => "conflict",
            ErrorClass::InvalidInput => "invalid input",
            ErrorClass::Auth => "authentication",
            ErrorClass::Fatal => "error",
        };
        f.write_str(s)
    }
}

/// An error from a provider call: what failed, how to classify it, and what the user can do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// Classification used by the call layer and by reads/deletes.
    pub class: ErrorClass,
    /// What failed, in the provider's words (include the API error code where there is one).
    pub message: String,
    /// What the user can do about it, when the provider knows.
    pub hint: Option<String>,
    /// How long the service asked the caller to wait (`Retry-After`), when it said so. The
    /// call layer waits at least this long before the next attempt.
    pub retry_after: Option<Duration>,
    /// The request may have reached the service and taken effect although no answer came
    /// back (a connection dropped after the request was sent, a timeout). A create that
    /// failed this way is adopted before it is tried again: repeating it blindly could make
    /// two resources.
    pub outcome_unknown: bool,
}

impl ProviderError {
    /// An error of the given class.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            message: message.into(),
            hint: None,
            retry_after: None,
            outcome_unknown: false,
        }
    }
    /// A retryable error (transient failures).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Retryable, message)
    }
    /// The API throttled the call.
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Throttled, message)
    }
    /// A precondition (fingerprint, ETag) failed: re-read and retry.
    pub fn precondition(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Precondition, message)
    }
    /// The resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::NotFound, message)
    }
    /// The request is invalid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::InvalidInput, message)
    }
    /// A non-retryable failure.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Fatal, message)
    }
    /// Attach a hint telling the user what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Attach the wait the service asked for.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
    /// Mark that the request may have taken effect (see [`ProviderError::outcome_unknown`]).
    pub fn with_outcome_unknown(mut self) -> Self {
        self.outcome_unknown = true;
        self
    }
    /// Whether the call layer may try the call again.
    pub fn is_retryable(&self) -> bool {
        self.class.is_retryable()
    }
    /// The message followed by the hint, as one line for reports.
    pub fn to_report(&self) -> String {
        match &self.hint {
            Some(h) => format!("{} (hint: {h})", self.message),
            None => self.message.clone(),
        }
    }
}

/// A result where "not found" means `gone`: reads answer `None` for a vanished resource,
/// deletes succeed on one (the provider contract).
pub fn gone_as<T>(r: Result<T, ProviderError>, gone: T) -> Result<T, ProviderError> {
    match r {
        Err(e) if e.class == ErrorClass::NotFound => Ok(gone),
        other => other,
    }
}

/// Parse an HTTP `Retry-After` value given in seconds (the form clouds use for throttling;
/// the HTTP-date form is not used by their APIs and is ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

impl From<std::io::Error> for ProviderError {
    fn from(e: std::io::Error) -> Self {
        let class = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorClass::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorClass::Conflict,
            std::io::ErrorKind::PermissionDenied => ErrorClass::Auth,
            std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::WouldBlock => ErrorClass::Retryable,
            _ => ErrorClass::Fatal,
        };
        ProviderError::new(class, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_preconditions_are_retryable_conflicts_are_not() {
        assert!(ProviderError::throttled("429").is_retryable());
        assert!(ProviderError::precondition("412").is_retryable());
        assert!(ProviderError::retryable("503").is_retryable());
        assert!(!ProviderError::new(ErrorClass::Conflict, "exists").is_retryable());
        assert!(!ProviderError::fatal("x").is_retryable());
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
