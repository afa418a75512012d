//! The call layer: the one wrapper around every provider call, from refresh, apply,
//! destroy, discover and invoke alike. It owns what no provider should reinvent:
//!
//! - retries with exponential backoff and full jitter, on the error classes that allow
//!   them ([`ErrorClass::is_retryable`]), waiting at least what the service asked for
//!   (`Retry-After`, [`ProviderError::retry_after`]);
//! - a deadline per attempt (a hung call becomes a retryable error whose outcome is
//!   unknown);
//! - for a create whose outcome is unknown (the connection dropped after the request went
//!   out), an adopt before the next attempt: the resource it may have made is found by its
//!   owner tags instead of being created twice;
//! - a per-target, per-API [`budget::Budget`] that adapts to throttling;
//! - events to the reporter, and cancellation: once cancelled, no new attempt starts (a
//!   call in flight finishes, so its outcome is known and recorded).

pub mod budget;
pub mod policy;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ErrorClass, NativeState, Provider, ProviderError};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use budget::{Budget, BudgetStats};
pub use policy::{CallKind, RetryPolicy};

use crate::ui::{Event, Reporter};

/// The call layer of one command. Shared by every task of the command (`Arc`).
pub struct CallLayer {
    policy: RetryPolicy,
    reporter: Arc<dyn Reporter>,
    /// Upper bound of every budget's concurrency.
    cap: usize,
    /// One budget per (target, API); as many as the stack has targets times APIs.
    budgets: Mutex<BTreeMap<(String, &'static str), Arc<Budget>>>,
    cancel: CancellationToken,
}

impl CallLayer {
    /// A call layer with this policy, reporting to `reporter`, allowing at most `cap`
    /// calls in flight per API, stopped by `cancel`.
    pub fn new(
        policy: RetryPolicy,
        reporter: Arc<dyn Reporter>,
        cap: usize,
        cancel: CancellationToken,
    ) -> Arc<CallLayer> {
        Arc::new(CallLayer {
            policy,
            reporter,
            cap: cap.max(1),
            budgets: Mutex::new(BTreeMap::new()),
            cancel,
        })
    }

    /// The token that stops new attempts (the command cancels it on Ctrl-C).
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Whether the command was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn budget(&self, target: &str, api: &'static str) -> Arc<Budget> {
        let mut budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        budgets
            .entry((target.to_string(), api))
            .or_insert_with(|| Budget::new(self.cap))
            .clone()
    }

    /// Where each (target, API) budget stands, for reports and benchmarks.
    pub fn budget_stats(&self) -> Vec<(String, &'static str, BudgetStats)> {
        let budgets = self.budgets.lock().unwrap_or_else(PoisonError::into_inner);
        budgets
            .iter()
            .map(|((t, api), b)| (t.clone(), *api, b.stats()))
            .collect()
    }

    /// Run one provider call with retries, deadline, budget and events. `subject` names
    /// what the call is about in events (a native address, `discover on target x`).
    pub async fn run<T, F, Fut>(
        &self,
        target: &str,
        api: &'static str,
        subject: &str,
        kind: CallKind,
        mut call: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let budget = self.budget(target, api);
        let deadline = self.policy.deadline(kind);
        let mut delays = self.policy.delays();
        let mut attempt = 1;
        loop {
            let result = {
                let _slot = tokio::select! {
                    slot = budget.acquire() => slot,
                    _ = self.cancel.cancelled(), if attempt > 1 => {
                        return Err(cancelled(subject));
                    }
                };
                match tokio::time::timeout(deadline, call()).await {
                    Ok(r) => r,
                    Err(_) => Err(ProviderError::retryable(format!(
                        "{subject}: no answer within {}s",
                        deadline.as_secs()
                    ))
                    .with_outcome_unknown()),
                }
            };
            let throttled = matches!(&result, Err(e) if e.class == ErrorClass::Throttled);
            budget.record(if throttled {
                budget::Outcome::Throttled
            } else {
                budget::Outcome::Accepted
            });
            let error = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !error.is_retryable() || self.cancel.is_cancelled() {
                return Err(error);
            }
            let Some(mut delay) = delays.next() else {
                return Err(error);
            };
            if error.class == ErrorClass::Precondition {
                // The provider re-reads at the start of every attempt: no reason to wait.
                delay = delay.min(self.policy.initial_delay);
            }
            if let Some(asked) = error.retry_after {
                delay = delay.max(asked);
            }
            self.reporter.event(Event::Retrying {
                subject,
                attempt,
                error: &error.message,
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.cancel.cancelled() => return Err(error),
            }
            attempt += 1;
        }
    }

    /// Read a native's live state; `Ok(None)` when it is gone.
    pub async fn read(
        &self,
        target: &str,
        provider: &dyn Provider,
        state: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        let subject = state.addr.to_string();
        let api = provider.api_of(&state.type_name);
        let r = self
            .run(target, api, &subject, CallKind::Read, || {
                provider.read(state)
            })
            .await;
        match r {
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            other => other,
        }
    }

    /// Find what an interrupted create may have made.
    pub async fn adopt(
        &self,
        target: &str,
        provider: &dyn Provider,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let subject = req.addr.to_string();
        let api = provider.api_of(&req.type_name);
        self.run(target, api, &subject, CallKind::Read, || {
            provider.adopt(req)
        })
        .await
    }

    /// Create a native. An attempt whose outcome is unknown is followed by an adopt
    /// before the next one, so a create that did reach the cloud is not repeated.
    pub async fn create(
        &self,
        target: &str,
        provider: &dyn Provider,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let subject = req.addr.to_string();
        let api = provider.api_of(&req.type_name);
        let maybe_created = AtomicBool::new(false);
        self.run(target, api, &subject, CallKind::Write, || async {
            if maybe_created.load(Ordering::Relaxed) {
                if let Some(found) = provider.adopt(req).await? {
                    self.reporter.event(Event::Note(&format!(
                        "{subject}: the previous attempt did create it (its answer was lost); adopted"
                    )));
                    return Ok(found);
                }
                maybe_created.store(false, Ordering::Relaxed);
            }
            // Until the provider answers, the attempt's outcome is unknown: if the
            // deadline cuts it off, the next attempt starts with an adopt.
            maybe_created.store(true, Ordering::Relaxed);
            let r = provider.create(req).await;
            let unknown = matches!(&r, Err(e) if e.outcome_unknown);
            maybe_created.store(unknown, Ordering::Relaxed);
            r
        })
        .await
    }

    /// Update a native in place.
    pub async fn update(
        &self,
        target: &str,
        provider: &dyn Provider,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let subject = prior.addr.to_string();
        let api = provider.api_of(&prior.type_name);
        self.run(target, api, &subject, CallKind::Write, || {
            provider.update(prior, inputs)
        })
        .await
    }

    /// Delete a native; one that is already gone is a success.
    pub async fn delete(
        &self,
        target: &str,
        provider: &dyn Provider,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        let subject = prior.addr.to_string();
        let api = provider.api_of(&prior.type_name);
        let r = self
            .run(target, api, &subject, CallKind::Write, || {
                provider.delete(prior)
            })
            .await;
        match r {
            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
            other => other,
        }
    }

    /// List what the target holds.
    pub async fn discover(
        &self,
        target: &str,
        provider: &dyn Provider,
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        let subject = format!("discover on target `{target}`");
        self.run(target, DISCOVERY_API, &subject, CallKind::Read, || {
            provider.discover(filter)
        })
        .await
    }

    /// Check credentials and reachability.
    pub async fn preflight(
        &self,
        target: &str,
        provider: &dyn Provider,
    ) -> Result<(), ProviderError> {
        let subject = format!("preflight of target `{target}`");
        self.run(target, DISCOVERY_API, &subject, CallKind::Read, || {
            provider.preflight()
        })
        .await
    }

    /// Invoke a function. Invocations are not idempotent: only errors that say the
    /// function did not run (throttling, a refused connection) are retried.
    pub async fn invoke(
        &self,
        target: &str,
        provider: &dyn Provider,
        state: &NativeState,
        payload: &Value,
    ) -> Result<Value, ProviderError> {
        let subject = state.addr.to_string();
        let api = provider.api_of(&state.type_name);
        self.run(target, api, &subject, CallKind::Write, || async {
            provider
                .invoke(state, payload.clone())
                .await
                .map_err(|mut e| {
                    if e.outcome_unknown {
                        // It may have run: running it again is the user's decision.
                        e.class = ErrorClass::Fatal;
                    }
                    e
                })
        })
        .await
    }
}

/// The budget key of discovery and preflight calls, which span the target's APIs.
const DISCOVERY_API: &str = "discovery";

fn cancelled(subject: &str) -> ProviderError {
    ProviderError::fatal(format!(
        "{subject}: cancelled before it could be tried again"
    ))
}

#[cfg(test)]
mod tests;
