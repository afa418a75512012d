//! The adaptive budget of one API of one target: how many calls may be in flight and, once
//! the API has throttled, how many may start per second. Both adapt the way TCP does:
//! multiplicative decrease on throttling, additive increase on success. A throttled API
//! therefore converges to the rate it accepts instead of being stormed by retries.
//!
//! Concurrency alone cannot hold a rate limit (calls that answer in a millisecond make a
//! thousand calls per second at a concurrency of one), so the first throttle also sets a
//! pace: the rate of calls that succeeded in the last second, which is what the API just
//! accepted, times [`BETA`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Multiplicative decrease applied to the pace on throttling.
pub const BETA: f64 = 0.8;
/// Additive increase of the pace per successful call, in calls per second: the pace grows
/// by about 10% per second of success, so it finds a raised limit again within seconds.
const PACE_STEP: f64 = 0.1;
/// Throttles closer together than this are one event: the calls already in flight when
/// the API started refusing all come back throttled, and must not halve the budget each.
const DECREASE_COOLDOWN: Duration = Duration::from_millis(300);
/// The slowest pace the budget falls to (calls per second).
const MIN_PACE: f64 = 0.5;
/// Width of one bucket of the success-rate window; ten of them make the last second.
const BUCKET: Duration = Duration::from_millis(100);
const BUCKETS: usize = 10;

/// One API's budget. Cheap to share: clone the `Arc`.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    /// Upper bound of the concurrency limit (the command's `--parallelism`).
    cap: f64,
    /// Calls allowed in flight now.
    limit: f64,
    in_flight: usize,
    /// Calls per second allowed to start, once the API has throttled.
    pace: Option<f64>,
    /// Earliest start of the next call under the pace.
    next_start: Instant,
    last_decrease: Option<Instant>,
    /// Until when the first pace is still being estimated: calls accepted before the first
    /// throttle can be recorded after it (their tasks finish in any order), and each one
    /// recorded then raises the estimate to what the window now holds.
    estimating_until: Option<Instant>,
    /// Successes per [`BUCKET`] over the last second (a ring), and the start of the newest.
    window: [u32; BUCKETS],
    window_head: usize,
    window_start: Instant,
    /// Counters for reports and benchmarks.
    throttled: u64,
    succeeded: u64,
}

/// A snapshot of a budget, for reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetStats {
    /// Calls allowed in flight now.
    pub limit: usize,
    /// Calls per second allowed to start, if the API has throttled.
    pub pace: Option<f64>,
    /// Calls that came back throttled.
    pub throttled: u64,
    /// Calls that succeeded.
    pub succeeded: u64,
}

/// A slot taken from a budget; freed on drop, whatever happened to the call.
#[derive(Debug)]
pub struct Permit {
    budget: Arc<Budget>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.budget.lock().in_flight -= 1;
        self.budget.freed.notify_one();
    }
}

/// How a call ended, for the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The API accepted the call (whatever the result of the operation).
    Accepted,
    /// The API refused it for its rate.
    Throttled,
}

impl Budget {
    /// A budget that allows `cap` calls in flight and no pace until the API throttles.
    pub fn new(cap: usize) -> Arc<Budget> {
        let cap = cap.max(1) as f64;
        let now = Instant::now();
        Arc::new(Budget {
            state: Mutex::new(State {
                cap,
                limit: cap,
                in_flight: 0,
                pace: None,
                next_start: now,
                last_decrease: None,
                estimating_until: None,
                window: [0; BUCKETS],
                window_head: 0,
                window_start: now,
                throttled: 0,
                succeeded: 0,
            }),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a handful of counters that every update leaves consistent: a panic
        // elsewhere while the lock was held cannot have broken them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wait for a slot: below the concurrency limit and, under a pace, at the next start
    /// time. Waiters are woken by freed slots; the wait is bounded by the calls in flight.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let wait = {
                let mut s = self.lock();
                if (s.in_flight as f64) >= s.limit.floor().max(1.0) {
                    Wait::Freed
                } else {
                    let now = Instant::now();
                    match s.pace {
                        Some(_) if s.next_start > now => Wait::Until(s.next_start - now),
                        pace => {
                            if let Some(p) = pace {
                                s.next_start =
                                    s.next_start.max(now) + Duration::from_secs_f64(1.0 / p);
                            }
                            s.in_flight += 1;
                            Wait::Granted
                        }
                    }
                }
            };
            match wait {
                Wait::Granted => {
                    return Permit {
                        budget: self.clone(),
                    };
                }
                Wait::Until(d) => tokio::time::sleep(d).await,
                Wait::Freed => freed.await,
            }
        }
    }

    /// Record how a call ended and adapt.
    pub fn record(&self, outcome: Outcome) {
        let now = Instant::now();
        let mut s = self.lock();
        s.advance_window(now);
        match outcome {
            Outcome::Accepted => {
                s.succeeded += 1;
                let head = s.window_head;
                s.window[head] += 1;
                let grown = (s.limit + 1.0 / s.limit).min(s.cap);
                let more_slots = grown.floor() > s.limit.floor();
                s.limit = grown;
                let estimating = s.estimating_until.is_some_and(|t| now < t);
                let accepted: u32 = s.window.iter().sum();
                if let Some(p) = s.pace.as_mut() {
                    *p += PACE_STEP;
                    if estimating {
                        *p = p.max(f64::from(accepted) * BETA);
                    }
                }
                drop(s);
                if more_slots {
                    self.freed.notify_one();
                }
            }
            Outcome::Throttled => {
                s.throttled += 1;
                if s.last_decrease.is_some_and(|t| now - t < DECREASE_COOLDOWN) {
                    return;
                }
                s.last_decrease = Some(now);
                s.limit = (s.limit * 0.5).max(1.0);
                // What the API accepted in the last second is the best first estimate of
                // its rate; after that, each throttle lowers the pace it broke.
                let accepted: u32 = s.window.iter().sum();
                if s.pace.is_none() {
                    s.estimating_until = Some(now + DECREASE_COOLDOWN);
                }
                let base = s.pace.unwrap_or(f64::from(accepted));
                let pace = (base * BETA).max(MIN_PACE);
                s.pace = Some(pace);
                // Let the API's own bucket refill before the next call.
                s.next_start = now + Duration::from_secs_f64(1.0 / pace);
            }
        }
    }

    /// Where the budget stands.
    pub fn stats(&self) -> BudgetStats {
        let s = self.lock();
        BudgetStats {
            limit: s.limit.floor().max(1.0) as usize,
            pace: s.pace,
            throttled: s.throttled,
            succeeded: s.succeeded,
        }
    }
}

enum Wait {
    Granted,
    Until(Duration),
    Freed,
}

impl State {
    /// Move the success window's head to `now`, zeroing the buckets it passes.
    fn advance_window(&mut self, now: Instant) {
        let mut steps = 0;
        while now.duration_since(self.window_start) >= BUCKET && steps <= BUCKETS {
            self.window_start += BUCKET;
            self.window_head = (self.window_head + 1) % BUCKETS;
            self.window[self.window_head] = 0;
            steps += 1;
        }
        if steps > BUCKETS {
            // Idle for longer than the window: start afresh at now.
            self.window = [0; BUCKETS];
            self.window_start = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrency_is_bounded_and_slots_come_back_on_drop() {
        let b = Budget::new(2);
        let p1 = b.acquire().await;
        let _p2 = b.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), b.acquire()).await;
        assert!(
            third.is_err(),
            "a third call must wait while two are in flight"
        );
        drop(p1);
        let third = tokio::time::timeout(Duration::from_millis(500), b.acquire()).await;
        assert!(third.is_ok(), "a freed slot lets the waiter in");
    }

    #[tokio::test]
    async fn a_throttle_halves_the_limit_and_sets_a_pace_from_what_was_accepted() {
        let b = Budget::new(64);
        for _ in 0..50 {
            b.record(Outcome::Accepted);
        }
        // Everything in flight comes back throttled at once: one decrease, not twenty.
        for _ in 0..20 {
            b.record(Outcome::Throttled);
        }
        let s = b.stats();
        assert_eq!(s.limit, 32);
        let pace = s.pace.expect("a pace after throttling");
        assert!((pace - 50.0 * BETA).abs() < 1e-9, "pace {pace}");
        assert_eq!(s.throttled, 20);
    }

    #[tokio::test]
    async fn successes_recorded_just_after_the_first_throttle_still_count_for_the_pace() {
        let b = Budget::new(64);
        for _ in 0..10 {
            b.record(Outcome::Accepted);
        }
        // The throttle is recorded before 30 calls the API had accepted earlier.
        b.record(Outcome::Throttled);
        for _ in 0..30 {
            b.record(Outcome::Accepted);
        }
        let pace = b.stats().pace.expect("pace");
        assert!(
            pace >= 40.0 * BETA,
            "pace {pace} ignores the late successes"
        );
    }

    #[tokio::test]
    async fn success_grows_the_budget_again_up_to_its_cap() {
        let b = Budget::new(4);
        b.record(Outcome::Throttled);
        assert_eq!(b.stats().limit, 2);
        for _ in 0..100 {
            b.record(Outcome::Accepted);
        }
        let s = b.stats();
        assert_eq!(s.limit, 4, "additive increase stops at the cap");
        assert!(s.pace.expect("pace") > MIN_PACE + 4.0);
    }

    #[tokio::test]
    async fn a_pace_spaces_call_starts() {
        let b = Budget::new(8);
        {
            let mut s = b.lock();
            s.pace = Some(20.0);
            s.next_start = Instant::now();
        }
        let t0 = Instant::now();
        for _ in 0..5 {
            drop(b.acquire().await);
        }
        // Five starts at 20/s: the last one no earlier than 4 x 50 ms after the first.
        assert!(
            t0.elapsed() >= Duration::from_millis(190),
            "{:?}",
            t0.elapsed()
        );
    }
}
