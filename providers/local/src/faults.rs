//! Injected latency and faults, for the engine's tests and benchmarks (settings
//! `latency_ms`, `error_rate`, `rate_limit`, `seed`, `fail_resources`, `fail_deletes`).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use overcast_core::{NativeAddr, ProviderError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::settings::Settings;

/// The fault injector of one provider. The random source is seeded, so a given sequence
/// of calls meets the same faults on every run.
#[derive(Debug)]
pub(crate) struct Faults {
    latency: Duration,
    error_rate: f64,
    rng: Mutex<StdRng>,
    fail_resources: BTreeSet<String>,
    fail_deletes: BTreeSet<String>,
    rate: Option<Mutex<TokenBucket>>,
}

/// The `rate_limit` of a target: a bucket of one second's worth of calls, refilled
/// continuously, as cloud APIs meter their request rates.
#[derive(Debug)]
struct TokenBucket {
    per_second: f64,
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn new(per_second: f64) -> TokenBucket {
        TokenBucket {
            per_second,
            tokens: per_second.max(1.0),
            refilled: Instant::now(),
        }
    }

    /// Take a token if one is there.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.refilled).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.per_second.max(1.0));
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Faults {
    pub(crate) fn new(settings: &Settings) -> Faults {
        Faults {
            latency: Duration::from_millis(settings.latency_ms),
            error_rate: settings.error_rate,
            rng: Mutex::new(StdRng::seed_from_u64(settings.seed)),
            fail_resources: settings.fail_resources.clone(),
            fail_deletes: settings.fail_deletes.clone(),
            rate: settings.rate_limit.map(|r| Mutex::new(TokenBucket::new(r))),
        }
    }

    /// Run at the start of every provider call: sleep the injected latency, then fail
    /// with a retryable error at the injected rate, before doing anything.
    pub(crate) async fn before(&self, op: &str, addr: &NativeAddr) -> Result<(), ProviderError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if let Some(bucket) = &self.rate {
            // A poisoned lock only means another call panicked while taking a token.
            let mut bucket = bucket.lock().unwrap_or_else(|p| p.into_inner());
            if !bucket.take() {
                return Err(ProviderError::throttled(format!(
                    "Throttling: {op} of `{addr}` refused: rate exceeded (local target setting rate_limit = {} calls/s)",
                    bucket.per_second
                )));
            }
        }
        if self.error_rate > 0.0 {
            // A poisoned lock only means another call panicked mid-draw; the generator
            // state is still a valid generator state.
            let draw: f64 = self.rng.lock().unwrap_or_else(|p| p.into_inner()).random();
            if draw < self.error_rate {
                return Err(ProviderError::retryable(format!(
                    "injected fault: {op} of `{addr}` failed (local target setting error_rate = {})",
                    self.error_rate
                )));
            }
        }
        Ok(())
    }

    /// Run before create and update: natives of the resources named in `fail_resources`
    /// fail fatally, so the engine's failure isolation can be tested.
    pub(crate) fn check_fail(&self, op: &str, addr: &NativeAddr) -> Result<(), ProviderError> {
        if self.fail_resources.contains(&addr.resource) {
            return Err(ProviderError::fatal(format!(
                "injected failure: {op} of `{addr}` refused (resource `{}` is listed in the local target setting fail_resources)",
                addr.resource
            )));
        }
        Ok(())
    }

    /// Run before delete: natives named in `fail_deletes`, by address or by their
    /// abstract resource, fail fatally.
    pub(crate) fn check_fail_delete(&self, addr: &NativeAddr) -> Result<(), ProviderError> {
        let by_addr = addr.to_string();
        let listed = if self.fail_deletes.contains(&by_addr) {
            by_addr
        } else if self.fail_deletes.contains(&addr.resource) {
            addr.resource.clone()
        } else {
            return Ok(());
        };
        Err(ProviderError::fatal(format!(
            "injected failure: delete of `{addr}` refused (`{listed}` is listed in the local target setting fail_deletes)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_deletes_fail_fatally_by_address_or_resource() {
        let settings = Settings {
            fail_deletes: ["web.instance[1]".to_string(), "db".to_string()].into(),
            ..Settings::default()
        };
        let faults = Faults::new(&settings);
        let fails = |r: &str, l: &str| faults.check_fail_delete(&NativeAddr::new(r, l)).is_err();
        assert!(fails("web", "instance[1]") && fails("db", "db"));
        assert!(!fails("web", "instance[0]") && !fails("site", "bucket"));
        let e = faults
            .check_fail_delete(&NativeAddr::new("db", "db"))
            .expect_err("listed");
        assert_eq!(e.class, overcast_core::ErrorClass::Fatal);
        assert!(e.message.contains("fail_deletes"), "{e}");
    }

    #[tokio::test]
    async fn calls_beyond_the_rate_limit_are_throttled() {
        let settings = Settings {
            rate_limit: Some(5.0),
            ..Settings::default()
        };
        let faults = Faults::new(&settings);
        let addr = NativeAddr::new("q", "queue");
        let mut accepted = 0;
        let mut throttled = 0;
        for _ in 0..20 {
            match faults.before("read", &addr).await {
                Ok(()) => accepted += 1,
                Err(e) => {
                    assert_eq!(e.class, overcast_core::ErrorClass::Throttled, "{e}");
                    throttled += 1;
                }
            }
        }
        // A burst of one second's worth, then refusals (20 calls take far less than 1 s).
        assert!((5..=6).contains(&accepted), "accepted {accepted}");
        assert_eq!(accepted + throttled, 20);
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(
            faults.before("read", &addr).await.is_ok(),
            "the bucket refills"
        );
    }
}
