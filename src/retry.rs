//! The one layer of retries, backoff and timeouts around every provider call. Providers
//! classify their errors ([`ProviderError::is_retryable`]); this module decides what to do.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use overcast_core::ProviderError;

/// How provider calls are retried and timed out.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub max_attempts: usize,
    /// First backoff delay; doubles each attempt, with full jitter.
    pub initial_delay: Duration,
    /// Cap on a single backoff delay.
    pub max_delay: Duration,
    /// Deadline for one attempt of a read.
    pub read_timeout: Duration,
    /// Deadline for one attempt of a create, update or delete.
    pub write_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            read_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(45 * 60),
        }
    }
}

/// Whether the call reads or writes (they get different deadlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// refresh / adopt.
    Read,
    /// create / update / delete.
    Write,
}

/// Run `f` with the policy: per-attempt timeout, exponential backoff with jitter on
/// retryable errors, `on_retry(attempt, error)` called before each new attempt.
pub async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    kind: CallKind,
    mut f: F,
    on_retry: &(dyn Fn(usize, &ProviderError) + Send + Sync),
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let deadline = match kind {
        CallKind::Read => policy.read_timeout,
        CallKind::Write => policy.write_timeout,
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.initial_delay)
        .with_max_delay(policy.max_delay)
        .with_max_times(policy.max_attempts.saturating_sub(1))
        .with_jitter();
    let attempt = std::sync::atomic::AtomicUsize::new(1);
    let call = || {
        let fut = f();
        async move {
            match tokio::time::timeout(deadline, fut).await {
                Ok(r) => r,
                Err(_) => Err(ProviderError::retryable(format!(
                    "no answer within {}s",
                    deadline.as_secs()
                ))),
            }
        }
    };
    call.retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &ProviderError| e.is_retryable())
        .notify(|e: &ProviderError, _d: Duration| {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            on_retry(n, e);
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            read_timeout: Duration::from_millis(200),
            write_timeout: Duration::from_millis(200),
        }
    }

    #[tokio::test]
    async fn retries_retryable_errors_until_success() {
        let calls = AtomicUsize::new(0);
        let retries = AtomicUsize::new(0);
        let r = with_retry(
            &fast(),
            CallKind::Write,
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(ProviderError::retryable("throttled"))
                } else {
                    Ok(7)
                }
            },
            &|_, _| {
                retries.fetch_add(1, Ordering::SeqCst);
            },
        )
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(retries.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn does_not_retry_fatal_errors_and_gives_up_after_max_attempts() {
        let calls = AtomicUsize::new(0);
        let r: Result<(), _> = with_retry(
            &fast(),
            CallKind::Write,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::fatal("bad"))
            },
            &|_, _| {},
        )
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = AtomicUsize::new(0);
        let r: Result<(), _> = with_retry(
            &fast(),
            CallKind::Read,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::retryable("503"))
            },
            &|_, _| {},
        )
        .await;
        assert!(r.unwrap_err().is_retryable());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_hung_call_times_out_as_retryable() {
        let r: Result<(), _> = with_retry(
            &RetryPolicy {
                max_attempts: 1,
                ..fast()
            },
            CallKind::Read,
            || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            },
            &|_, _| {},
        )
        .await;
        assert!(r.unwrap_err().message.contains("no answer"));
    }
}
