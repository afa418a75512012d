//! The one poller for long-running operations, shared by every provider: a database that
//! takes ten minutes to create, a distribution that takes fifteen to disable, an ARM
//! `Azure-AsyncOperation` or a GCP `operations/...` resource. It polls with backoff up to a
//! cap, waits at least what the service asked for (`Retry-After`), reports each new status
//! through the operation's progress sink, stops when the operation is cancelled, and gives
//! up at the operation's deadline with an error that says what it was waiting for.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::ProviderError;
use crate::op::OpContext;

/// One look at a long-running operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    /// Done, with its result.
    Ready(T),
    /// Not yet: the service's status word ("creating", "InProgress"), and how long the
    /// service asked the caller to wait before looking again, if it said.
    Pending {
        /// The status, as the service words it.
        status: String,
        /// The service's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
}

impl<T> Poll<T> {
    /// Not done yet, with this status.
    pub fn pending(status: impl Into<String>) -> Poll<T> {
        Poll::Pending {
            status: status.into(),
            retry_after: None,
        }
    }
}

/// How often to look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    /// Wait before the second look.
    pub initial: Duration,
    /// Each wait is this many times the previous one...
    pub factor: f64,
    /// ...up to this.
    pub max: Duration,
    /// Give up after this long when the operation has no deadline of its own.
    pub default_timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_millis(250),
            factor: 1.6,
            max: Duration::from_secs(20),
            default_timeout: Duration::from_secs(60 * 60),
        }
    }
}

/// Poll `look` until it is ready. `what` names what is awaited in errors and progress
/// ("`db.instance` to become available"). Errors of `look` end the wait (the call layer
/// decides whether to try the whole operation again).
pub async fn poll_until<T, F, Fut>(
    ctx: &OpContext,
    what: &str,
    policy: PollPolicy,
    mut look: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let started = Instant::now();
    let deadline = ctx.deadline.unwrap_or(started + policy.default_timeout);
    let mut wait = policy.initial;
    let mut last_status = String::new();
    loop {
        let (status, asked) = match look().await? {
            Poll::Ready(v) => return Ok(v),
            Poll::Pending {
                status,
                retry_after,
            } => (status, retry_after),
        };
        if status != last_status {
            ctx.progress(&format!("{status}, {}s", started.elapsed().as_secs()));
            last_status = status;
        }
        if ctx.cancel.is_cancelled() {
            return Err(interrupted(what, &last_status));
        }
        let now = Instant::now();
        let pause = asked.map_or(wait, |a| a.max(wait));
        if now + pause >= deadline {
            return Err(ProviderError::retryable(format!(
                "gave up waiting for {what} after {}s: its status is still `{last_status}`. \
                 The operation may still finish in the cloud",
                started.elapsed().as_secs()
            ))
            .with_hint("run `overcast plan` later: it reads what the operation became")
            .with_outcome_unknown());
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = ctx.cancel.cancelled() => return Err(interrupted(what, &last_status)),
        }
        wait = Duration::from_secs_f64(
            (wait.as_secs_f64() * policy.factor).min(policy.max.as_secs_f64()),
        );
    }
}

fn interrupted(what: &str, status: &str) -> ProviderError {
    ProviderError::fatal(format!(
        "stopped waiting for {what} (interrupted); its status was `{status}`"
    ))
    .with_outcome_unknown()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn quick() -> PollPolicy {
        PollPolicy {
            initial: Duration::from_millis(1),
            factor: 2.0,
            max: Duration::from_millis(4),
            default_timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn polls_until_ready_and_reports_each_new_status_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let ctx = OpContext::detached("k").with_progress(Arc::new(move |l: &str| {
            s.lock().unwrap().push(l.to_string())
        }));
        let mut looks = 0;
        let v = poll_until(&ctx, "the thing", quick(), || {
            looks += 1;
            let n = looks;
            async move {
                Ok(match n {
                    1 | 2 => Poll::pending("creating"),
                    3 => Poll::pending("backing-up"),
                    _ => Poll::Ready(n),
                })
            }
        })
        .await
        .expect("ready");
        assert_eq!(v, 4);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].starts_with("creating") && seen[1].starts_with("backing-up"));
    }

    #[tokio::test]
    async fn retry_after_is_honoured() {
        let ctx = OpContext::detached("k");
        let t0 = Instant::now();
        let mut first = true;
        poll_until(&ctx, "x", quick(), || {
            let f = std::mem::replace(&mut first, false);
            async move {
                Ok(if f {
                    Poll::Pending {
                        status: "Accepted".into(),
                        retry_after: Some(Duration::from_millis(120)),
                    }
                } else {
                    Poll::Ready(())
                })
            }
        })
        .await
        .expect("ready");
        assert!(t0.elapsed() >= Duration::from_millis(120));
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline_naming_what_and_the_last_status() {
        let ctx =
            OpContext::detached("k").with_deadline(Instant::now() + Duration::from_millis(30));
        let e = poll_until::<(), _, _>(
            &ctx,
            "`db.instance` to become available",
            quick(),
            || async { Ok(Poll::pending("modifying")) },
        )
        .await
        .expect_err("times out");
        assert!(
            e.message.contains("`db.instance` to become available"),
            "{e}"
        );
        assert!(e.message.contains("modifying"), "{e}");
        assert!(e.outcome_unknown);
    }

    #[tokio::test]
    async fn cancellation_stops_the_wait() {
        let ctx = OpContext::detached("k");
        ctx.cancel.cancel();
        let e = poll_until::<(), _, _>(
            &ctx,
            "x",
            PollPolicy {
                initial: Duration::from_secs(30),
                ..quick()
            },
            || async { Ok(Poll::pending("creating")) },
        )
        .await
        .expect_err("cancelled");
        assert!(e.message.contains("interrupted"), "{e}");
    }
}
