//! The call layer against a scripted provider: what is retried, how long it waits, when a
//! create is adopted instead of repeated, and that cancellation stops new attempts.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{
    AbstractResource, Attrs, Kind, NativeAddr, NativeSpec, NativeState, OwnerTags, Provider,
    ProviderError,
};

use super::*;
use crate::ui::QuietReporter;

/// A provider whose creates answer from a script, and which counts what it was asked.
#[derive(Default)]
struct Scripted {
    creates: Mutex<VecDeque<Result<(), ProviderError>>>,
    created: AtomicUsize,
    create_calls: AtomicUsize,
    adopt_calls: AtomicUsize,
}

impl Scripted {
    fn with(script: Vec<Result<(), ProviderError>>) -> Scripted {
        Scripted {
            creates: Mutex::new(script.into()),
            ..Default::default()
        }
    }
    fn observed() -> Observed {
        Observed::new("x-1", Attrs::new(), Attrs::new())
    }
}

#[async_trait]
impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }
    fn expand(&self, _: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        Ok(Vec::new())
    }
    fn outputs(&self, _: Kind, _: &[&NativeState]) -> Attrs {
        Attrs::new()
    }
    async fn read(
        &self,
        _: &OpContext,
        _: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(None)
    }
    async fn create(&self, _: &OpContext, _: &CreateRequest) -> Result<Observed, ProviderError> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        let next = self.creates.lock().unwrap().pop_front().unwrap_or(Ok(()));
        match next {
            // The request reached the "cloud", which made the resource, but the answer is lost.
            Err(e) if e.outcome_unknown => {
                self.created.fetch_add(1, Ordering::SeqCst);
                Err(e)
            }
            Err(e) => Err(e),
            Ok(()) => {
                self.created.fetch_add(1, Ordering::SeqCst);
                Ok(Self::observed())
            }
        }
    }
    async fn update(
        &self,
        _: &OpContext,
        _: &NativeState,
        _: &Attrs,
    ) -> Result<Observed, ProviderError> {
        Ok(Self::observed())
    }
    async fn delete(&self, _: &OpContext, _: &NativeState) -> Result<(), ProviderError> {
        Err(ProviderError::not_found("already gone"))
    }
    async fn adopt(
        &self,
        _: &OpContext,
        _: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        self.adopt_calls.fetch_add(1, Ordering::SeqCst);
        Ok((self.created.load(Ordering::SeqCst) > 0).then(Self::observed))
    }
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
    let p = Scripted::with(vec![Err(ProviderError::retryable(
        "connection closed before message completed",
    )
    .with_outcome_unknown())]);
    let obs = layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("adopted");
    assert_eq!(obs.id, "x-1");
    assert_eq!(p.created.load(Ordering::SeqCst), 1, "one resource, not two");
    assert_eq!(p.create_calls.load(Ordering::SeqCst), 1);
    assert_eq!(p.adopt_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_throttled_create_is_retried_without_an_adopt() {
    let p = Scripted::with(vec![Err(ProviderError::throttled("429")), Ok(())]);
    layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("retried");
    assert_eq!(p.create_calls.load(Ordering::SeqCst), 2);
    assert_eq!(p.adopt_calls.load(Ordering::SeqCst), 0, "nothing to adopt");
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let p = Scripted::with(vec![
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
    let p = Scripted::with(vec![Err(ProviderError::fatal("bad"))]);
    assert!(
        layer(fast())
            .create("t", &p, &request(), "k")
            .await
            .is_err()
    );
    assert_eq!(p.create_calls.load(Ordering::SeqCst), 1);

    let p = Scripted::with(
        (0..10)
            .map(|_| Err(ProviderError::retryable("503")))
            .collect(),
    );
    let e = layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect_err("gives up");
    assert!(e.is_retryable());
    assert_eq!(p.create_calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_hung_call_times_out_with_an_unknown_outcome_and_is_adopted() {
    struct Hangs(AtomicUsize);
    #[async_trait]
    impl Provider for Hangs {
        fn name(&self) -> &str {
            "hangs"
        }
        fn expand(&self, _: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
            Ok(Vec::new())
        }
        fn outputs(&self, _: Kind, _: &[&NativeState]) -> Attrs {
            Attrs::new()
        }
        async fn read(
            &self,
            _: &OpContext,
            _: &NativeState,
        ) -> Result<Option<Observed>, ProviderError> {
            Ok(None)
        }
        async fn create(
            &self,
            _: &OpContext,
            _: &CreateRequest,
        ) -> Result<Observed, ProviderError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(Scripted::observed())
        }
        async fn update(
            &self,
            _: &OpContext,
            _: &NativeState,
            _: &Attrs,
        ) -> Result<Observed, ProviderError> {
            Ok(Scripted::observed())
        }
        async fn delete(&self, _: &OpContext, _: &NativeState) -> Result<(), ProviderError> {
            Ok(())
        }
        async fn adopt(
            &self,
            _: &OpContext,
            _: &CreateRequest,
        ) -> Result<Option<Observed>, ProviderError> {
            Ok(Some(Scripted::observed()))
        }
    }
    let p = Hangs(AtomicUsize::new(0));
    let obs = layer(fast())
        .create("t", &p, &request(), "k")
        .await
        .expect("adopted");
    assert_eq!(obs.id, "x-1");
    assert_eq!(
        p.0.load(Ordering::SeqCst),
        1,
        "the hung create is not sent again"
    );
}

#[tokio::test]
async fn deleting_what_is_gone_succeeds() {
    let p = Scripted::default();
    let st = NativeState {
        addr: NativeAddr::new("web", "instance"),
        kind: Kind::Compute,
        type_name: "scripted_instance".into(),
        id: "x-1".into(),
        inputs: Attrs::new(),
        outputs: Attrs::new(),
        depends_on: Vec::new(),
        sensitive: Vec::new(),
        force_new: Vec::new(),
        protect: false,
    };
    layer(fast())
        .delete("t", &p, &st)
        .await
        .expect("gone is deleted");
}

#[tokio::test]
async fn cancellation_stops_further_attempts() {
    let p = Scripted::with(
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
    assert_eq!(p.create_calls.load(Ordering::SeqCst), 1);
}
