//! The one error type every provider returns, classified so the engine's retry layer can
//! decide without knowing the cloud.

use std::fmt;

/// How the engine should treat a failed provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Throttling, 5xx, timeouts, "resource busy": worth retrying with backoff.
    Retryable,
    /// The resource does not exist (reads treat this as "gone", deletes as success).
    NotFound,
    /// A name or resource already exists, or a precondition failed.
    Conflict,
    /// The request is invalid for the service: fix the spec.
    InvalidInput,
    /// Missing or rejected credentials, or no permission.
    Auth,
    /// Anything else: not retried.
    Fatal,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorClass::Retryable => "retryable",
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
    /// Classification used by the retry layer and by reads/deletes.
    pub class: ErrorClass,
    /// What failed, in the provider's words (include the API error code where there is one).
    pub message: String,
    /// What the user can do about it, when the provider knows.
    pub hint: Option<String>,
}

impl ProviderError {
    /// An error of the given class.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            message: message.into(),
            hint: None,
        }
    }
    /// A retryable error (throttling, transient failures).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Retryable, message)
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
    /// Whether the retry layer may try the call again.
    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }
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
