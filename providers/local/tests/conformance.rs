//! The provider conformance suite (overcast_core::conformance) on the local cloud, with
//! real artifacts (directories, SQLite files, processes, a CDN server) and in `noop` mode.

use overcast_core::Kind;
use overcast_core::conformance::{self, Case, Target};
use overcast_core::provider::ProviderContext;
use overcast_local::LocalProvider;
use serde_json::json;

fn cases() -> Vec<Case> {
    let case = |name: &str, kind, props| Case::new(name, kind, props).expect("valid properties");
    vec![
        case("files", Kind::Storage, json!({}))
            .with_update(json!({"versioning": true}))
            .expect("update"),
        case("jobs", Kind::Queue, json!({"visibility_timeout": 30}))
            .with_update(json!({"visibility_timeout": 60}))
            .expect("update"),
        case("db", Kind::Database, json!({"engine": "postgres", "database_name": "app"}))
            .with_update(json!({"engine": "postgres", "database_name": "app", "storage_gb": 30}))
            .expect("update")
            .with_replace(json!({"engine": "postgres", "database_name": "other"}))
            .expect("replace"),
        case(
            "api",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "fn"}),
        )
        .with_update(
            json!({"runtime": "python3.12", "handler": "main.handler", "source": "fn", "memory": 256}),
        )
        .expect("update"),
        case(
            "web",
            Kind::Compute,
            json!({"image": "ubuntu-24.04", "startup": "sleep 300", "size": "nano"}),
        )
        .with_update(json!({"image": "ubuntu-24.04", "startup": "sleep 301", "size": "nano"}))
        .expect("update")
        .with_replace(json!({"image": "debian-12", "startup": "sleep 300", "size": "nano"}))
        .expect("replace"),
        case("edge", Kind::Cdn, json!({"origin": "http://127.0.0.1:9/"}))
            .with_update(json!({"origin": "http://127.0.0.1:9/", "cache_ttl": 120}))
            .expect("update"),
    ]
}

async fn run(noop: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("fn")).expect("mkdir");
    std::fs::write(
        dir.path().join("fn/main.py"),
        "def handler(event, context=None):\n    return {'ok': True}\n",
    )
    .expect("write handler");
    // The CDN server runs as a detached helper process: this crate's own binary.
    let settings = json!({"noop": noop, "helper_exe": env!("CARGO_BIN_EXE_overcast-local-cdn")})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let provider = LocalProvider::new(ProviderContext {
        stack: "conform".into(),
        target: "local".into(),
        settings,
        spec_dir: dir.path().to_path_buf(),
        work_dir: dir.path().join(".overcast"),
    })
    .expect("provider");
    let target = Target {
        stack: "conform".into(),
        target: "local".into(),
    };
    let mut failures = Vec::new();
    for case in cases() {
        match conformance::check(&provider, &target, &case).await {
            Ok(passed) => assert!(passed.created > 0, "{}: nothing created", case.name),
            Err(f) => failures.push(f.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "the local cloud (noop: {noop}) fails the conformance suite:\n  {}",
        failures.join("\n  ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_cloud_passes_the_conformance_suite() {
    run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_cloud_in_noop_mode_passes_the_conformance_suite() {
    run(true).await;
}

/// A provider that breaks one promise, around the local cloud: the suite must catch each.
struct Flawed {
    inner: LocalProvider,
    flaw: Flaw,
}

#[derive(Clone, Copy, Debug)]
enum Flaw {
    /// Reads report an input that was never applied.
    Drifts,
    /// Adopt never finds what create made.
    ForgetsWhatItMade,
    /// A retried create makes a second resource.
    CreatesTwice,
    /// Deleting something already gone is an error.
    DeleteNotIdempotent,
}

mod flawed {
    use super::{Flaw, Flawed};
    use async_trait::async_trait;
    use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
    use overcast_core::native::{CreateRequest, Observed};
    use overcast_core::op::OpContext;
    use overcast_core::provider::{AbstractResource, AbstractView, Provider};
    use overcast_core::{Attrs, Kind, NativeSpec, NativeState, ProviderError};
    use serde_json::json;

    #[async_trait]
    impl Provider for Flawed {
        fn name(&self) -> &str {
            "flawed"
        }
        fn expand(&self, r: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
            self.inner.expand(r)
        }
        fn outputs(&self, k: Kind, n: &[&NativeState]) -> Attrs {
            self.inner.outputs(k, n)
        }
        async fn read(
            &self,
            c: &OpContext,
            s: &NativeState,
        ) -> Result<Option<Observed>, ProviderError> {
            let mut r = self.inner.read(c, s).await?;
            if let (Flaw::Drifts, Some(o)) = (self.flaw, r.as_mut()) {
                o.inputs.insert("versioning".into(), json!("drifted"));
            }
            Ok(r)
        }
        async fn create(
            &self,
            c: &OpContext,
            r: &CreateRequest,
        ) -> Result<Observed, ProviderError> {
            if matches!(self.flaw, Flaw::CreatesTwice)
                && let Some(mut first) = self.inner.adopt(c, r).await?
            {
                // As a cloud without idempotency would: a second resource with another id.
                first.id.push_str("-again");
                return Ok(first);
            }
            self.inner.create(c, r).await
        }
        async fn update(
            &self,
            c: &OpContext,
            p: &NativeState,
            i: &Attrs,
        ) -> Result<Observed, ProviderError> {
            self.inner.update(c, p, i).await
        }
        async fn delete(&self, c: &OpContext, p: &NativeState) -> Result<(), ProviderError> {
            let existed = self.inner.read(c, p).await?.is_some();
            self.inner.delete(c, p).await?;
            if matches!(self.flaw, Flaw::DeleteNotIdempotent) && !existed {
                return Err(ProviderError::fatal("no such resource"));
            }
            Ok(())
        }
        async fn adopt(
            &self,
            c: &OpContext,
            r: &CreateRequest,
        ) -> Result<Option<Observed>, ProviderError> {
            match self.flaw {
                Flaw::ForgetsWhatItMade => Ok(None),
                _ => self.inner.adopt(c, r).await,
            }
        }
        async fn discover(
            &self,
            c: &OpContext,
            f: &DiscoveryFilter,
        ) -> Result<Vec<DiscoveredResource>, ProviderError> {
            self.inner.discover(c, f).await
        }
        fn to_abstract(&self, s: &NativeState) -> Option<AbstractView> {
            self.inner.to_abstract(s)
        }
    }
}

#[tokio::test]
async fn the_suite_catches_a_provider_that_breaks_a_promise() {
    for (flaw, step) in [
        (Flaw::Drifts, "read after create"),
        (Flaw::ForgetsWhatItMade, "adopt"),
        (Flaw::CreatesTwice, "create retried"),
        (Flaw::DeleteNotIdempotent, "delete again"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = LocalProvider::new(ProviderContext {
            stack: "conform".into(),
            target: "local".into(),
            settings: json!({"noop": true})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            spec_dir: dir.path().to_path_buf(),
            work_dir: dir.path().join(".overcast"),
        })
        .expect("provider");
        let p = Flawed { inner, flaw };
        let target = Target {
            stack: "conform".into(),
            target: "local".into(),
        };
        let case = Case::new("files", Kind::Storage, json!({})).expect("case");
        let failure = conformance::check(&p, &target, &case)
            .await
            .expect_err("a flawed provider must fail");
        assert_eq!(failure.step, step, "{flaw:?}: {failure}");
    }
}
