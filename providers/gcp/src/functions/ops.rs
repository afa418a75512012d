//! Long-running operations of Cloud Functions (create, patch, delete), polled through the
//! core poller (`overcast_core::poll::poll_until`: backoff, progress, deadline,
//! cancellation) by `GetOperation` on the operation's name.

use google_cloud_functions_v2::client::FunctionService;
use google_cloud_functions_v2::model::OperationMetadata;
use google_cloud_gax::error::rpc::Code;
use google_cloud_longrunning::model::Operation;
use google_cloud_longrunning::model::operation::Result as OpResult;
use overcast_core::poll::{Poll, PollPolicy, poll_until};
use overcast_core::{OpContext, ProviderError};

use crate::errors;

/// What a finished operation says: failed with the service's status, or done.
fn outcome(what: &str, op: Operation) -> Result<Poll<()>, ProviderError> {
    if !op.done {
        // The stage the deployment is at ("BUILD", "SERVICE"), when the service says.
        let stage = op
            .metadata
            .as_ref()
            .and_then(|m| m.to_msg::<OperationMetadata>().ok())
            .and_then(|m| {
                m.stages
                    .iter()
                    .rev()
                    .find(|s| !s.name.name().unwrap_or_default().is_empty())
                    .map(|s| s.name.name().unwrap_or_default().to_ascii_lowercase())
            });
        return Ok(Poll::pending(
            stage.map_or("running".to_string(), |s| format!("running ({s})")),
        ));
    }
    match op.result {
        Some(OpResult::Error(status)) => {
            let code = Code::from(status.code);
            Err(ProviderError::new(
                errors::class_of_code(code),
                format!("{what}: the operation failed: {code:?}: {}", status.message),
            ))
        }
        _ => Ok(Poll::Ready(())),
    }
}

/// Wait for `op` (as the mutating call returned it) to finish.
pub async fn wait(
    ctx: &OpContext,
    client: &FunctionService,
    what: &str,
    op: Operation,
) -> Result<(), ProviderError> {
    let name = op.name.clone();
    let mut first = Some(op);
    poll_until(ctx, what, PollPolicy::default(), || {
        let given = first.take();
        let client = client.clone();
        let name = name.clone();
        let what = what.to_string();
        async move {
            let op = match given {
                Some(op) => op,
                None => client
                    .get_operation()
                    .set_name(name)
                    .send()
                    .await
                    .map_err(|e| errors::gax("GetOperation", e))?,
            };
            outcome(&what, op)
        }
    })
    .await
}
