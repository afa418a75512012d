//! Small helpers shared by the service modules: typed access to native inputs, owner
//! tags, and waiting for a resource to settle.

use overcast_core::op::OpContext;
use overcast_core::poll::{Poll, PollPolicy, poll_until};
use overcast_core::{Attrs, OwnerTags, ProviderError};
use serde_json::Value;

use crate::errors;

/// A string input.
pub fn s<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| errors::input("native", key))
}

/// An optional string input (null or absent is `None`).
pub fn opt_s<'a>(inputs: &'a Attrs, key: &str) -> Option<&'a str> {
    inputs.get(key).and_then(Value::as_str)
}

/// An unsigned integer input.
pub fn u(inputs: &Attrs, key: &str) -> Result<u64, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| errors::input("native", key))
}

/// An integer input that must fit an `i32` (what most AWS APIs take).
pub fn i32_of(inputs: &Attrs, key: &str) -> Result<i32, ProviderError> {
    let v = u(inputs, key)?;
    i32::try_from(v)
        .map_err(|_| ProviderError::invalid(format!("input `{key}` = {v} is too large")))
}

/// A boolean input (absent is false).
pub fn b(inputs: &Attrs, key: &str) -> bool {
    inputs.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether a tag list carries exactly these owner tags.
pub fn owned_by<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>, owner: &OwnerTags) -> bool {
    let tags: Vec<(&str, &str)> = tags.into_iter().collect();
    owner
        .pairs()
        .iter()
        .all(|(k, v)| tags.iter().any(|(tk, tv)| tk == k && tv == v))
}

/// Poll `check` until it returns `Some`, through the core poller (backoff up to a cap,
/// progress reported as `status`, the operation's deadline and cancellation honoured).
/// Used where AWS requires a state before the next call (an instance stopped before it is
/// modified, a distribution deployed before it is deleted).
pub async fn wait_for<T, F, Fut>(
    ctx: &OpContext,
    what: &str,
    status: &str,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ProviderError>>,
{
    poll_until(ctx, what, PollPolicy::default(), || {
        let look = check();
        async move {
            Ok(match look.await? {
                Some(v) => Poll::Ready(v),
                None => Poll::pending(status),
            })
        }
    })
    .await
}
