//! The call layer against a scripted provider: what is retried, how long it waits, when a
//! create is adopted instead of repeated, and that cancellation stops new attempts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, Kind, NativeAddr, NativeState, OwnerTags, ProviderError};

use super::*;
use crate::testing::{Fake, answer, observed};
use crate::ui::QuietReporter;

/// What a scripted provider was asked and did.
#[derive(Default)]
struct Counts {
    script: Mutex<VecDeque<Result<(), ProviderError>>>,
    created: AtomicUsize,
    create_calls: AtomicUsize,
    adopt_calls: AtomicUsize,
}

impl Counts {
    fn get(&self, n: &AtomicUsize) -> usize {
        n.load(Ordering::SeqCst)
    }
}

/// A provider whose creates answer from a script: an error whose outcome is unknown made
/// the resource all the same (the answer was lost), and adopt finds what was made.
fn scripted(script: Vec<Result<(), ProviderError>>) -> (Fake, Arc<Counts>) {
    let counts = Arc::new(Counts {
        script: Mutex::new(script.into()),
        ..Default::default()
    });
    let (c1, c2) = (counts.clone(), counts.clone());
    let fake = Fake {
        create: Box::new(move |_| {
            c1.create_calls.fetch_add(1, Ordering::SeqCst);
            let next = c1.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
            let made = match &next {
                Ok(()) => true,
                Err(e) => e.outcome_unknown,
            };
            if made {
                c1.created.fetch_add(1, Ordering::SeqCst);
            }
            answer(next.map(|()| observed("x-1")))
        }),
        adopt: Box::new(move |_| {
            c2.adopt_calls.fetch_add(1, Ordering::SeqCst);
            answer(Ok(
                (c2.created.load(Ordering::SeqCst) > 0).then(|| observed("x-1"))
            ))
        }),
        delete: Box::new(|_| answer(Err(ProviderError::not_found("already gone")))),
        ..Fake::default()
    };
    (fake, counts)
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        read_timeout: Duration::from_millis(200),
        write_timeout: Duration::from_millis(200),
    }
}

fn layer(policy: RetryPolicy) -> Arc<CallLayer> {
    CallLayer::new(policy, Arc::new(QuietReporter), 8, CancellationToken::new())
}

fn request() -> CreateRequest {
    CreateRequest {
        addr: NativeAddr::new("web", "instance"),
        kind: Kind::Compute,
        type_name: "scripted_instance".into(),
        inputs: Attrs::new(),
        owner: OwnerTags {
            stack: "s".into(),
            target: "t".into(),
            resource: "web.instance".into(),
        },
        secrets: Attrs::new(),
    }
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_not_repeated() {
    let (p, n) = scripted(vec![Err(ProviderError::retryable(
        "connection closed before message completed",
    )
    .with_outcome_unknown())]);
    let obs = layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("adopted");
    assert_eq!(obs.id, "x-1");
    assert_eq!(n.get(&n.created), 1, "one resource, not two");
    assert_eq!(n.get(&n.create_calls), 1);
    assert_eq!(n.get(&n.adopt_calls), 1);
}

#[tokio::test]
async fn a_throttled_create_is_retried_without_an_adopt() {
    let (p, n) = scripted(vec![Err(ProviderError::throttled("429")), Ok(())]);
    layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("retried");
    assert_eq!(n.get(&n.create_calls), 2);
    assert_eq!(n.get(&n.adopt_calls), 0, "nothing to adopt");
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let (p, _) = scripted(vec![
        Err(ProviderError::throttled("429").with_retry_after(Duration::from_millis(150))),
        Ok(()),
    ]);
    let t0 = Instant::now();
    layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("retried");
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn fatal_errors_are_not_retried_and_retries_stop_at_the_policy() {
    let (p, n) = scripted(vec![Err(ProviderError::fatal("bad"))]);
    assert!(
        layer(fast())
            .create("t", &p, &request(), "k")
            .await
            .is_err()
    );
    assert_eq!(n.get(&n.create_calls), 1);

    let (p, n) = scripted(
        (0..10)
            .map(|_| Err(ProviderError::retryable("503")))
            .collect(),
    );
    let e = layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect_err("gives up");
    assert!(e.is_retryable());
    assert_eq!(n.get(&n.create_calls), 4);
}

#[tokio::test]
async fn a_hung_call_times_out_with_an_unknown_outcome_and_is_adopted() {
    // A create that never answers (it did reach the cloud) and an adopt that finds it.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let p = Fake {
        create: Box::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(observed("x-1"))
            })
        }),
        adopt: Box::new(|_| answer(Ok(Some(observed("x-1"))))),
        ..Fake::default()
    };
    let obs = layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("adopted");
    assert_eq!(obs.id, "x-1");
    assert_eq!(
        sent.load(Ordering::SeqCst),
        1,
        "the hung create is not sent again"
    );
}

#[tokio::test]
async fn deleting_what_is_gone_succeeds() {
    let (p, _) = scripted(Vec::new());
    let st = NativeState::new(
        NativeAddr::new("web", "instance"),
        Kind::Compute,
        "scripted_instance",
        "x-1",
    );
    layer(fast())
        .delete("t", &p, &st)
        .await
        .expect("gone is deleted");
}

/// A provider whose deletes answer `in use` until `free_after` attempts were made.
fn in_use_until(free_after: usize) -> (Fake, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let fake = Fake {
        delete: Box::new(move |_| {
            let n = c.fetch_add(1, Ordering::SeqCst) + 1;
            answer(if n > free_after {
                Ok(())
            } else {
                Err(ProviderError::new(
                    ErrorClass::Conflict,
                    "sg-1 is in use by i-1",
                ))
            })
        }),
        ..Fake::default()
    };
    (fake, calls)
}

#[tokio::test]
async fn a_delete_in_use_is_tried_a_few_times_then_the_conflict_is_the_callers() {
    let st = NativeState::new(
        NativeAddr::new("web", "group"),
        Kind::Compute,
        "scripted_group",
        "sg-1",
    );
    // Freed meanwhile (an eventually consistent cloud): deleted.
    let (p, calls) = in_use_until(2);
    layer(fast()).delete("t", &p, &st).await.expect("freed");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Still in use: a conflict after three attempts, not the whole retry budget.
    let (p, calls) = in_use_until(usize::MAX);
    let e = layer(fast())
        .delete("t", &p, &st)
        .await
        .expect_err("in use");
    assert_eq!(e.class, ErrorClass::Conflict);
    assert_eq!(calls.load(Ordering::SeqCst), DELETE_CONFLICT_ATTEMPTS);
}

#[tokio::test]
async fn cancellation_stops_further_attempts() {
    let (p, n) = scripted(
        (0..10)
            .map(|_| Err(ProviderError::retryable("503")))
            .collect(),
    );
    let policy = RetryPolicy {
        initial_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(30),
        ..fast()
    };
    let l = layer(policy);
    let token = l.cancel_token().clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        token.cancel();
    });
    let t0 = Instant::now();
    assert!(l.create("t", &p, &request(), "k").await.is_err());
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "the backoff sleep was cut short"
    );
    assert_eq!(n.get(&n.create_calls), 1);
}

#[tokio::test]
async fn a_half_configured_resource_found_after_a_lost_answer_is_finished_by_an_update() {
    // The first attempt created the bucket but was cut off before configuring it: adopt
    // finds it with other inputs than asked, and the call layer brings it to the request.
    let updates = Arc::new(AtomicUsize::new(0));
    let counter = updates.clone();
    let mut half = Attrs::new();
    half.insert("public".into(), serde_json::json!(true));
    let p = Fake {
        create: Box::new(|_| {
            answer(Err(
                ProviderError::retryable("connection closed").with_outcome_unknown()
            ))
        }),
        adopt: Box::new(move |_| {
            answer(Ok(Some(Observed::new("b-1", half.clone(), Attrs::new()))))
        }),
        update: Box::new(move |(prior, inputs)| {
            counter.fetch_add(1, Ordering::SeqCst);
            assert_eq!(prior.id, "b-1", "the adopted resource is the one updated");
            answer(Ok(Observed::new(
                prior.id.clone(),
                inputs.clone(),
                Attrs::new(),
            )))
        }),
        ..Fake::default()
    };
    let mut req = request();
    req.inputs.insert("public".into(), serde_json::json!(false));
    let obs = layer(fast())
        .create("t", &p, &req, "k")
        .await
        .expect("finished");
    assert_eq!(updates.load(Ordering::SeqCst), 1);
    assert_eq!(obs.inputs, req.inputs, "what is live is what was asked");
}
