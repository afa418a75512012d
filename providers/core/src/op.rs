//! The operation context: what every provider call is given besides its arguments. The
//! engine's call layer builds one per operation; a provider uses it to make a create
//! idempotent on the cloud's side, to say what a long operation is doing, to stop when
//! the user interrupts, and to know how long it may wait.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use tokio_util::sync::CancellationToken;

/// Receives status lines of a long operation ("provisioning", "deploying 2 of 3").
pub type ProgressSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The context of one provider operation (all its attempts).
#[derive(Clone)]
pub struct OpContext {
    /// A key derived from the operation's write-ahead intent: the same for every attempt
    /// and for a later run that resumes the same intent, different for any other
    /// operation. Providers pass it where the cloud deduplicates requests (EC2
    /// `ClientToken`, CloudFront `CallerReference`, GCP `requestId` via
    /// [`OpContext::request_uuid`]); ARM's PUT is idempotent by name and needs none.
    pub idempotency_key: String,
    progress: Option<ProgressSink>,
    /// Cancelled when the user interrupts: a provider waiting on a long-running operation
    /// stops waiting (the operation goes on in the cloud; the next run reads it).
    pub cancel: CancellationToken,
    /// When the operation must be over. A provider polling a long-running operation gives
    /// up at this instant with an error that says what it was waiting for.
    pub deadline: Option<Instant>,
}

impl fmt::Debug for OpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpContext")
            .field("idempotency_key", &self.idempotency_key)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl OpContext {
    /// A context with this key, no progress sink, a token nobody cancels and no deadline:
    /// for tools and tests that call a provider directly.
    pub fn detached(idempotency_key: impl Into<String>) -> OpContext {
        OpContext {
            idempotency_key: idempotency_key.into(),
            progress: None,
            cancel: CancellationToken::new(),
            deadline: None,
        }
    }

    /// Set where status lines go.
    pub fn with_progress(mut self, sink: ProgressSink) -> OpContext {
        self.progress = Some(sink);
        self
    }

    /// Set the cancellation token.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> OpContext {
        self.cancel = cancel;
        self
    }

    /// Set the deadline.
    pub fn with_deadline(mut self, deadline: Instant) -> OpContext {
        self.deadline = Some(deadline);
        self
    }

    /// Report a status line of a long operation.
    pub fn progress(&self, status: &str) {
        if let Some(sink) = &self.progress {
            sink(status);
        }
    }

    /// Time left before the deadline (`None`: no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// The key shaped as a UUID (8-4-4-4-12 hex digits), for APIs that require one (GCP's
    /// `requestId`). Deterministic: the same key gives the same UUID.
    pub fn request_uuid(&self) -> String {
        // FNV-1a over the key, twice with different offsets, gives 128 stable bits; the
        // key itself is already a digest, so this only reshapes it.
        let fnv = |seed: u64| {
            self.idempotency_key.bytes().fold(seed, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
        };
        let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4));
        let hex = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// The key cut to at most `max` characters, for APIs with a length limit (EC2's
    /// `ClientToken`: 64 ASCII characters).
    pub fn key_of_len(&self, max: usize) -> &str {
        let end = self.idempotency_key.len().min(max);
        // The key is ASCII (hex and punctuation), so any cut is on a character boundary.
        self.idempotency_key
            .get(..end)
            .unwrap_or(&self.idempotency_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn request_uuids_are_stable_and_shaped_like_uuids() {
        let a = OpContext::detached("oc-1234abcd");
        let b = OpContext::detached("oc-1234abcd");
        let c = OpContext::detached("oc-1234abce");
        assert_eq!(a.request_uuid(), b.request_uuid());
        assert_ne!(a.request_uuid(), c.request_uuid());
        let u = a.request_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.matches('-').count(), 4);
        assert_eq!(a.key_of_len(5), "oc-12");
    }

    #[test]
    fn progress_reaches_the_sink() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let ctx = OpContext::detached("k").with_progress(Arc::new(move |line: &str| {
            s.lock().unwrap().push(line.to_string())
        }));
        ctx.progress("provisioning");
        assert_eq!(*seen.lock().unwrap(), vec!["provisioning".to_string()]);
    }
}
