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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use overcast_core::ErrorClass;

    use super::*;

    /// A server on 127.0.0.1 answering successive requests with `bodies` (200, JSON); the
    /// endpoint and the request lines it saw.
    fn canned(bodies: Vec<&'static str>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let mut bodies = bodies.into_iter();
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let Some(body) = bodies.next() else { return };
                let mut buf = [0u8; 8192];
                let n = s.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                if let Ok(mut l) = log.lock() {
                    l.push(head.lines().next().unwrap_or_default().to_string());
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        (format!("http://127.0.0.1:{port}"), seen)
    }

    const OP: &str = "projects/p/locations/r/operations/op-1";

    #[tokio::test]
    async fn an_operation_is_polled_until_done_and_its_error_classified() {
        let (ep, seen) = canned(vec![
            r#"{"name": "projects/p/locations/r/operations/op-1", "done": false}"#,
            r#"{"name": "projects/p/locations/r/operations/op-1", "done": true,
                "error": {"code": 6, "message": "function exists"}}"#,
        ]);
        let client = super::super::client::build(Some(&ep))
            .await
            .expect("client");
        let op = Operation::new().set_name(OP).set_done(false);
        let e = wait(&OpContext::detached("k"), &client, "`f` to deploy", op)
            .await
            .expect_err("the operation failed");
        assert_eq!(e.class, ErrorClass::Conflict, "{}", e.message);
        assert!(e.message.contains("function exists"), "{}", e.message);
        let seen = seen.lock().expect("log").clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(
            seen.iter().all(|l| l.starts_with(&format!("GET /v2/{OP}"))),
            "{seen:?}"
        );
    }

    #[tokio::test]
    async fn a_finished_operation_needs_no_poll() {
        let (ep, seen) = canned(vec![]);
        let client = super::super::client::build(Some(&ep))
            .await
            .expect("client");
        let op = Operation::new().set_name(OP).set_done(true);
        wait(&OpContext::detached("k"), &client, "x", op)
            .await
            .expect("done");
        assert!(seen.lock().expect("log").is_empty());
    }
}
