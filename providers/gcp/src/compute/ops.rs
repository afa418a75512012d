//! Compute's long-running operations: every insert, patch, delete, setLabels,
//! setMetadata, setMachineType, stop and start answers an operation, waited for here
//! through the one poller (`overcast_core::poll::poll_until`) until it is DONE; one DONE
//! with an `error` becomes a [`ProviderError`] with Google's code and message.

use google_cloud_gax::error::Error as GaxError;
use overcast_core::ProviderError;
use overcast_core::op::OpContext;
use overcast_core::poll::{Poll, PollPolicy, poll_until};
use serde_json::Value;

use super::client::{Compute, class_of_op_code, err};
use super::{last_segment, str_of};

/// An operation as JSON (the fields read here: name, zone, status, error).
pub fn json(
    op: Result<google_cloud_compute_v1::model::Operation, GaxError>,
    what: &str,
) -> Result<Value, ProviderError> {
    let op = op.map_err(|e| err(what, e))?;
    serde_json::to_value(op)
        .map_err(|e| ProviderError::fatal(format!("{what}: unreadable operation: {e}")))
}

/// The error of a DONE operation, if it failed.
pub fn failure(what: &str, op: &Value) -> Option<ProviderError> {
    let errors = op.pointer("/error/errors")?.as_array()?;
    let first = errors.first()?;
    let code = str_of(first, "code");
    let message = str_of(first, "message");
    let status = op.get("httpErrorStatusCode").and_then(Value::as_i64);
    let class = class_of_op_code(code, status);
    let mut e = ProviderError::new(
        class,
        format!(
            "{what}: operation {} failed: {code}: {message}",
            str_of(op, "name")
        ),
    );
    if code.starts_with("RESOURCE_IN_USE") {
        e = e.with_hint(super::client::IN_USE_HINT);
    }
    Some(e)
}

/// Wait until `op` (the answer of a mutating call) is DONE; its error if it failed.
pub async fn wait(
    c: &Compute,
    ctx: &OpContext,
    what: &str,
    op: Value,
) -> Result<Value, ProviderError> {
    let done = |op: &Value| str_of(op, "status") == "DONE";
    let finish = |op: Value| match failure(what, &op) {
        Some(e) => Err(e),
        None => Ok(op),
    };
    if done(&op) {
        return finish(op);
    }
    let name = str_of(&op, "name").to_string();
    let zone = last_segment(str_of(&op, "zone")).to_string();
    let op = poll_until(ctx, what, PollPolicy::default(), || {
        let (name, zone) = (name.clone(), zone.clone());
        async move {
            let now = if zone.is_empty() {
                json(
                    c.global_ops
                        .get()
                        .set_project(&c.project)
                        .set_operation(&name)
                        .send()
                        .await,
                    what,
                )?
            } else {
                json(
                    c.zone_ops
                        .get()
                        .set_project(&c.project)
                        .set_zone(&zone)
                        .set_operation(&name)
                        .send()
                        .await,
                    what,
                )?
            };
            Ok(if done(&now) {
                Poll::Ready(now)
            } else {
                Poll::pending(str_of(&now, "status").to_ascii_lowercase())
            })
        }
    })
    .await?;
    finish(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::ErrorClass;
    use serde_json::json;

    #[test]
    fn a_failed_operation_carries_googles_code_and_message() {
        let op = json!({"name": "operation-1", "status": "DONE", "httpErrorStatusCode": 400,
            "error": {"errors": [{"code": "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", "message": "used by x"}]}});
        let e = failure("delete network `n`", &op).expect("a failure");
        assert_eq!(e.class, ErrorClass::Conflict);
        assert!(
            e.message
                .contains("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE: used by x"),
            "{}",
            e.message
        );
        assert!(failure("x", &json!({"status": "DONE"})).is_none());
    }
}
