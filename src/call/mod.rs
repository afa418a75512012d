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
use std::time::{Duration, Instant};

use overcast_core::discovery::{AccountIdentity, DiscoveredResource, DiscoveryFilter};
use overcast_core::error::gone_as;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::{OpContext, ProgressSink};
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
    /// what the call is about in events (a native address, `discover on target x`); `key`
    /// is the operation's idempotency key. Each attempt gets an [`OpContext`] whose
    /// deadline falls just before the attempt's own timeout, so a provider polling a
    /// long-running operation gives up with its own precise error first.
    pub async fn run<T, F, Fut>(
        &self,
        target: &str,
        api: &'static str,
        subject: &str,
        kind: CallKind,
        key: &str,
        mut call: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut(OpContext) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let budget = self.budget(target, api);
        let deadline = self.policy.deadline(kind);
        let mut delays = self.policy.delays();
        let mut attempt = 1;
        let progress = self.progress_sink(subject);
        loop {
            let result = {
                let _slot = tokio::select! {
                    slot = budget.acquire() => slot,
                    _ = self.cancel.cancelled(), if attempt > 1 => {
                        return Err(cancelled(subject));
                    }
                };
                let ctx = OpContext::detached(key)
                    .with_progress(progress.clone())
                    .with_cancel(self.cancel.clone())
                    .with_deadline(
                        Instant::now() + deadline.saturating_sub(POLL_MARGIN.min(deadline / 4)),
                    );
                match tokio::time::timeout(deadline, call(ctx)).await {
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

    /// Where a provider's status lines for `subject` go: an event to the reporter.
    fn progress_sink(&self, subject: &str) -> ProgressSink {
        let reporter = self.reporter.clone();
        let subject = subject.to_string();
        Arc::new(move |status: &str| {
            reporter.event(Event::OpProgress {
                subject: &subject,
                status,
            })
        })
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
        let key = op_key(target, &subject, "read");
        let r = self
            .run(
                target,
                api,
                &subject,
                CallKind::Read,
                &key,
                |ctx| async move { provider.read(&ctx, state).await },
            )
            .await;
        gone_as(r, None)
    }

    /// Find what an interrupted create may have made. `key` is the create's idempotency
    /// key (from its intent).
    pub async fn adopt(
        &self,
        target: &str,
        provider: &dyn Provider,
        req: &CreateRequest,
        key: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        let subject = req.addr.to_string();
        let api = provider.api_of(&req.type_name);
        self.run(
            target,
            api,
            &subject,
            CallKind::Read,
            key,
            |ctx| async move { provider.adopt(&ctx, req).await },
        )
        .await
    }

    /// Create a native. `key` is derived from its write-ahead intent (the same for every
    /// attempt). An attempt whose outcome is unknown is followed by an adopt before the
    /// next one, so a create that did reach the cloud is not repeated.
    pub async fn create(
        &self,
        target: &str,
        provider: &dyn Provider,
        req: &CreateRequest,
        key: &str,
    ) -> Result<Observed, ProviderError> {
        let subject = req.addr.to_string();
        let api = provider.api_of(&req.type_name);
        let maybe_created = AtomicBool::new(false);
        let (maybe_created, subject_ref) = (&maybe_created, &subject);
        self.run(target, api, &subject, CallKind::Write, key, |ctx| async move {
            if maybe_created.load(Ordering::Relaxed) {
                if let Some(found) = provider.adopt(&ctx, req).await? {
                    self.reporter.event(Event::Note(&format!(
                        "{subject_ref}: the previous attempt did create it (its answer was lost); adopted"
                    )));
                    if found.inputs == req.inputs {
                        return Ok(found);
                    }
                    // A create of several steps can be cut off after the resource exists
                    // and before it is fully configured (a bucket without its public access
                    // block): finish the job, or state would claim what is not live.
                    let mut adopted = NativeState::new(
                        req.addr.clone(),
                        req.kind,
                        req.type_name.clone(),
                        found.id,
                    );
                    adopted.inputs = found.inputs;
                    adopted.outputs = found.outputs;
                    return provider.update(&ctx, &adopted, &req.inputs).await;
                }
                maybe_created.store(false, Ordering::Relaxed);
            }
            // Until the provider answers, the attempt's outcome is unknown: if the
            // deadline cuts it off, the next attempt starts with an adopt.
            maybe_created.store(true, Ordering::Relaxed);
            let r = provider.create(&ctx, req).await;
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
        let key = op_key(target, &subject, "update");
        self.run(
            target,
            api,
            &subject,
            CallKind::Write,
            &key,
            |ctx| async move { provider.update(&ctx, prior, inputs).await },
        )
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
        let key = op_key(target, &subject, "delete");
        // A delete refused because something still uses the resource (a conflict) is tried
        // a few more times: clouds are eventually consistent, and a group whose instance
        // just terminated can read as in use for seconds. Past that it is the caller's:
        // destroy reports it, nuke tries it again after the others.
        let attempt = std::sync::atomic::AtomicUsize::new(0);
        let r = self
            .run(target, api, &subject, CallKind::Write, &key, |ctx| {
                let n = attempt.fetch_add(1, Ordering::Relaxed) + 1;
                async move {
                    provider.delete(&ctx, prior).await.map_err(|mut e| {
                        if e.class == ErrorClass::Conflict && n < DELETE_CONFLICT_ATTEMPTS {
                            e.class = ErrorClass::Retryable;
                        }
                        e
                    })
                }
            })
            .await;
        gone_as(r, ())
    }

    /// List what the target holds.
    pub async fn discover(
        &self,
        target: &str,
        provider: &dyn Provider,
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        let subject = format!("discover on target `{target}`");
        let key = op_key(target, &subject, "discover");
        let mut found = self
            .run(
                target,
                DISCOVERY_API,
                &subject,
                CallKind::Read,
                &key,
                |ctx| async move { provider.discover(&ctx, filter).await },
            )
            .await?;
        // Whose each resource is, in the provider's own label encoding.
        for r in &mut found {
            r.owner = provider.decode_owner(&r.tags);
        }
        Ok(found)
    }

    /// Fill in which discovered resource uses which ([`Provider::link_discovered`]).
    pub async fn link_discovered(
        &self,
        target: &str,
        provider: &dyn Provider,
        found: &mut Vec<DiscoveredResource>,
    ) -> Result<(), ProviderError> {
        let subject = format!("linking what target `{target}` holds");
        let key = op_key(target, &subject, "link");
        // The retry loop needs a fresh start each attempt: link a copy, keep the last good.
        let linked = self
            .run(
                target,
                DISCOVERY_API,
                &subject,
                CallKind::Read,
                &key,
                |ctx| {
                    let mut copy = found.clone();
                    async move {
                        provider.link_discovered(&ctx, &mut copy).await?;
                        Ok(copy)
                    }
                },
            )
            .await?;
        *found = linked;
        Ok(())
    }

    /// The state a discovered resource would have ([`Provider::discovered_state`]):
    /// `Ok(None)` for a type the provider cannot act on.
    pub async fn discovered_state(
        &self,
        target: &str,
        provider: &dyn Provider,
        found: &DiscoveredResource,
    ) -> Result<Option<NativeState>, ProviderError> {
        let subject = found.arn.clone();
        let api = provider.api_of(&found.resource_type);
        let key = op_key(target, &subject, "discovered-state");
        self.run(
            target,
            api,
            &subject,
            CallKind::Read,
            &key,
            |ctx| async move { provider.discovered_state(&ctx, found).await },
        )
        .await
    }

    /// The account, subscription or project the target acts in.
    pub async fn account(
        &self,
        target: &str,
        provider: &dyn Provider,
    ) -> Result<AccountIdentity, ProviderError> {
        let subject = format!("identity of target `{target}`");
        let key = op_key(target, &subject, "account");
        self.run(
            target,
            DISCOVERY_API,
            &subject,
            CallKind::Read,
            &key,
            |ctx| async move { provider.account(&ctx).await },
        )
        .await
    }

    /// Check credentials and reachability.
    pub async fn preflight(
        &self,
        target: &str,
        provider: &dyn Provider,
    ) -> Result<(), ProviderError> {
        let subject = format!("preflight of target `{target}`");
        let key = op_key(target, &subject, "preflight");
        self.run(
            target,
            DISCOVERY_API,
            &subject,
            CallKind::Read,
            &key,
            |_| provider.preflight(),
        )
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
        let key = op_key(target, &subject, "invoke");
        self.run(
            target,
            api,
            &subject,
            CallKind::Write,
            &key,
            |ctx| async move {
                provider
                    .invoke(&ctx, state, payload.clone())
                    .await
                    .map_err(|mut e| {
                        if e.outcome_unknown {
                            // It may have run: running it again is the user's decision.
                            e.class = ErrorClass::Fatal;
                        }
                        e
                    })
            },
        )
        .await
    }
}

/// How long before an attempt's timeout a provider's own wait gives up, so its precise
/// error ("still `creating` after ...") is the one reported.
const POLL_MARGIN: Duration = Duration::from_secs(5);

/// An idempotency key for an operation that has no intent (reads, updates, deletes):
/// stable for the same operation on the same native.
pub fn op_key(target: &str, subject: &str, op: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(target.as_bytes())
        .chain_update([0])
        .chain_update(subject.as_bytes())
        .chain_update([0])
        .chain_update(op.as_bytes())
        .finalize();
    format!("oc-{}", &hex::encode(digest)[..40])
}

/// The budget key of discovery and preflight calls, which span the target's APIs.
const DISCOVERY_API: &str = "discovery";

/// Attempts of a delete refused with a conflict (in use) before the refusal is final.
const DELETE_CONFLICT_ATTEMPTS: usize = 3;

fn cancelled(subject: &str) -> ProviderError {
    ProviderError::fatal(format!(
        "{subject}: cancelled before it could be tried again"
    ))
}

#[cfg(test)]
mod tests;
