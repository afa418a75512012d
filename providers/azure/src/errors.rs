//! Azure Resource Manager errors classified for the engine's call layer.
//!
//! ARM answers an error with `{"error": {"code", "message"}}`; the HTTP status decides
//! most of the class, the code refines it: a 409 `AnotherOperationInProgress` or
//! `ResourceGroupBeingDeleted` is worth waiting out, a 409 `StorageAccountAlreadyTaken` is
//! not. A request that may have reached ARM with no answer back is `outcome_unknown`, so a
//! create is adopted before it is tried again (ARM's PUT is idempotent by name anyway).

use overcast_core::error::parse_retry_after;
use overcast_core::{ErrorClass, ProviderError};
use serde::Deserialize;

/// ARM's error body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorBody {
    /// The error.
    #[serde(default)]
    pub error: ErrorDetail,
}

/// ARM's error detail: a code such as `ResourceNotFound` and a message for people.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErrorDetail {
    /// The machine-readable code.
    #[serde(default)]
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: String,
}

/// 409 codes that mean "not now" rather than "never": another operation on the resource
/// (or its group) is still running.
const BUSY_CODES: &[&str] = &[
    "AnotherOperationInProgress",
    "OperationNotAllowed",
    "ResourceGroupBeingDeleted",
    "Conflict",
    "RetryableError",
];

/// Codes of a name someone else holds: never retried, the user must rename.
const TAKEN_CODES: &[&str] = &[
    "StorageAccountAlreadyTaken",
    "NamespaceAlreadyExists",
    "ServerNameAlreadyExists",
];

/// Codes of a delete refused because another resource still uses this one (Microsoft.Network
/// answers them with 400, not 409; their messages name the user). A conflict: `nuke`
/// tries again once what uses it is gone, never right away.
const IN_USE_CODES: &[&str] = &[
    "InUseNetworkSecurityGroupCannotBeDeleted",
    "InUseSubnetCannotBeDeleted",
    "InUseRouteTableCannotBeDeleted",
    "PublicIPAddressCannotBeDeleted",
    "PublicIPAddressInUse",
    "NicInUse",
];

/// Whether ARM refused a delete because something still uses the resource: an in-use code,
/// or App Service's generic 409 `Conflict` saying what it cannot delete because of what
/// ("Server farm 'p' cannot be deleted because it has web app(s) a assigned to it").
pub fn in_use(status: u16, code: &str, message: &str) -> bool {
    IN_USE_CODES.contains(&code)
        || (status == 409 && code == "Conflict" && message.contains("cannot be deleted because"))
}

/// The class of an ARM error.
pub fn class_of(status: u16, code: &str) -> ErrorClass {
    if IN_USE_CODES.contains(&code) {
        return ErrorClass::Conflict;
    }
    match status {
        401 | 403 => ErrorClass::Auth,
        404 => ErrorClass::NotFound,
        409 if TAKEN_CODES.contains(&code) => ErrorClass::Conflict,
        409 if BUSY_CODES.contains(&code) => ErrorClass::Retryable,
        409 => ErrorClass::Conflict,
        412 => ErrorClass::Precondition,
        429 => ErrorClass::Throttled,
        408 | 500..=599 => ErrorClass::Retryable,
        400..=499 => ErrorClass::InvalidInput,
        _ => ErrorClass::Fatal,
    }
}

/// An error answer of ARM: its status, code, message and `Retry-After`.
pub fn arm(op: &str, status: u16, body: &[u8], retry_after: Option<&str>) -> ProviderError {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let message = if detail.message.is_empty() {
        String::from_utf8_lossy(body).chars().take(500).collect()
    } else {
        detail.message
    };
    let code = if detail.code.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {}", detail.code)
    };
    let used = in_use(status, &detail.code, &message);
    let class = if used {
        ErrorClass::Conflict
    } else {
        class_of(status, &detail.code)
    };
    let mut e = ProviderError::new(class, format!("{op}: {code}: {message}"));
    if used {
        e = e.with_hint("it is still in use (the message names by what): delete that first");
    }
    if TAKEN_CODES.contains(&detail.code.as_str()) {
        e = e.with_hint(
            "the name is taken outside this stack: rename the resource (names derive from \
             stack, target and resource name)",
        );
    }
    if let Some(wait) = retry_after.and_then(parse_retry_after) {
        e = e.with_retry_after(wait);
    }
    e
}

/// A failure of the pipeline itself (no status came back).
pub fn transport(op: &str, e: &azure_core::Error) -> ProviderError {
    use azure_core::error::ErrorKind;
    match e.kind() {
        // Never sent: safe to try again, nothing to adopt.
        ErrorKind::Connection => ProviderError::retryable(format!("{op}: {e}")),
        ErrorKind::Credential => ProviderError::new(ErrorClass::Auth, format!("{op}: {e}")),
        ErrorKind::Io => ProviderError::retryable(format!("{op}: {e}")).with_outcome_unknown(),
        _ => ProviderError::fatal(format!("{op}: {e}")).with_outcome_unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_conflicts_are_retried_and_taken_names_are_not() {
        let e = arm(
            "PUT x",
            409,
            br#"{"error":{"code":"AnotherOperationInProgress","message":"busy"}}"#,
            Some("3"),
        );
        assert_eq!(e.class, ErrorClass::Retryable);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
        let e = arm(
            "PUT x",
            409,
            br#"{"error":{"code":"StorageAccountAlreadyTaken","message":"taken"}}"#,
            None,
        );
        assert_eq!(e.class, ErrorClass::Conflict);
        assert!(
            e.message.contains("StorageAccountAlreadyTaken"),
            "{}",
            e.message
        );
        assert_eq!(arm("GET x", 404, b"", None).class, ErrorClass::NotFound);
        // In use: a conflict that names the user, whatever the status ARM gives it.
        let e = arm(
            "DELETE nsg",
            400,
            br#"{"error":{"code":"InUseNetworkSecurityGroupCannotBeDeleted","message":"in use by the following resources: /x/nic1."}}"#,
            None,
        );
        assert_eq!(e.class, ErrorClass::Conflict);
        assert!(e.message.contains("/x/nic1"), "{}", e.message);
        let plan = br#"{"error":{"code":"Conflict","message":"Server farm 'p' cannot be deleted because it has web app(s) a assigned to it."}}"#;
        assert_eq!(
            arm("DELETE plan", 409, plan, None).class,
            ErrorClass::Conflict
        );
        assert_eq!(
            arm("GET x", 400, b"not json", None).class,
            ErrorClass::InvalidInput
        );
    }
}
