//! How provider calls are retried and timed out: the numbers the call layer
//! ([`super::CallLayer`]) works with.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

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

impl RetryPolicy {
    /// The per-attempt deadline of a call of this kind.
    pub fn deadline(&self, kind: CallKind) -> Duration {
        match kind {
            CallKind::Read => self.read_timeout,
            CallKind::Write => self.write_timeout,
        }
    }

    /// The delays between attempts: exponential with full jitter, capped, as many as the
    /// policy allows retries.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.initial_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_jitter()
            .build()
    }
}
