//! Injected latency and faults, for the engine's tests and benchmarks (settings
//! `latency_ms`, `error_rate`, `seed`, `fail_resources`).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

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
}

impl Faults {
    pub(crate) fn new(settings: &Settings) -> Faults {
        Faults {
            latency: Duration::from_millis(settings.latency_ms),
            error_rate: settings.error_rate,
            rng: Mutex::new(StdRng::seed_from_u64(settings.seed)),
            fail_resources: settings.fail_resources.clone(),
        }
    }

    /// Run at the start of every provider call: sleep the injected latency, then fail
    /// with a retryable error at the injected rate, before doing anything.
    pub(crate) async fn before(&self, op: &str, addr: &NativeAddr) -> Result<(), ProviderError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
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
}
