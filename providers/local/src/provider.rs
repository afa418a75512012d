//! [`LocalProvider`]: the `overcast_core::Provider` of the local cloud. It checks the
//! target's settings, injects faults, and dispatches each native operation to the module
//! of its native type, on a blocking thread (they do file, SQLite and process work).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use overcast_core::discovery::{AccountIdentity, DiscoveredResource, DiscoveryFilter};
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{
    AbstractResource, Attrs, Kind, NativeSpec, NativeState, OwnerTags, Provider, ProviderContext,
    ProviderError,
};
use serde_json::{Value, json};

use crate::expand::{self, types};
use crate::faults::Faults;
use crate::paths::Layout;
use crate::postgres::{self, PgBins};
use crate::queue::LocalQueue;
use crate::record::{self, Record};
use crate::settings::Settings;
use crate::{cdn, compute, database, fsutil, function, noop, storage};

/// The embedded local cloud, for one target of one stack. Everything it creates lives
/// under `<work_dir>/local/<target>/`.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stack: String,
    target: String,
    layout: Layout,
    spec_dir: PathBuf,
    settings: Settings,
    faults: Faults,
    postgres: Option<PgBins>,
    /// The ledger of `noop` mode.
    noop: noop::NoopStore,
}

/// What [`LocalProvider::drain_queue`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Messages the function handled (and that were acked).
    pub processed: usize,
    /// Messages whose invocation failed: left on the queue, visible again after the
    /// visibility timeout and dead-lettered after `max_receives`.
    pub failed: usize,
    /// The error of each failed invocation.
    pub errors: Vec<String>,
}

fn absolute(p: &Path) -> Result<PathBuf, ProviderError> {
    std::path::absolute(p).map_err(|e| ProviderError::invalid(format!("path {}: {e}", p.display())))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProviderError> + Send + 'static,
) -> Result<T, ProviderError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ProviderError::fatal(format!("local provider task failed: {e}")))?
}

/// The input of a state made by [`Provider::discovered_state`] that holds the owner tags
/// discovery found on the native. Such a state acts on the native at its `id` (its
/// directory, or its key in the `noop` ledger) whatever stack owns it, as long as that
/// owner is still the one there: `nuke` deletes what other stacks (or none) made, while a
/// state of this stack's own (apply, destroy) still never touches another stack's native.
/// The engine never writes it: expansions produce no such input.
const DISCOVERED_OWNER: &str = "discovered_owner";

/// The owner a discovered state was found with (see [`DISCOVERED_OWNER`]).
fn discovered_owner(state: &NativeState) -> Option<OwnerTags> {
    state
        .inputs
        .get(DISCOVERED_OWNER)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

impl LocalProvider {
    /// Build the provider of one target. Fails (naming the setting) on bad settings.
    pub fn new(ctx: ProviderContext) -> Result<LocalProvider, ProviderError> {
        let settings = Settings::parse(&ctx.settings)?;
        let root = absolute(&ctx.work_dir.join("local").join(&ctx.target))?;
        // Decided once, here, so that `expand` stays pure.
        let postgres = if settings.postgres && !settings.noop {
            match postgres::detect() {
                Ok(bins) => Some(bins),
                Err(why) => {
                    tracing::warn!(target = %ctx.target, "postgres: true, but {why}: databases stay SQLite files");
                    None
                }
            }
        } else {
            None
        };
        Ok(LocalProvider {
            inner: Arc::new(Inner {
                stack: ctx.stack,
                target: ctx.target,
                noop: noop::NoopStore::new(&root),
                layout: Layout::new(root),
                spec_dir: absolute(&ctx.spec_dir)?,
                faults: Faults::new(&settings),
                settings,
                postgres,
            }),
        })
    }

    /// The directory under which this target's resources live.
    pub fn root(&self) -> &Path {
        self.inner.layout.root()
    }

    /// Whether `engine: postgres` databases become real PostgreSQL clusters here.
    pub fn uses_postgres(&self) -> bool {
        self.inner.postgres.is_some()
    }

    /// Serve a function's queue trigger by hand: receive up to `max` messages from the
    /// queue its trigger points at, invoke the function once per message with
    /// `{"trigger": "queue", "queue": <path>, "message": {"id", "body", "receive_count"}}`
    /// (`body` parsed as JSON when it is JSON), and ack each message it handled. The local
    /// cloud runs no background poller, so this is how queue-triggered functions run.
    pub async fn drain_queue(
        &self,
        function: &NativeState,
        max: usize,
    ) -> Result<DrainReport, ProviderError> {
        let url = function
            .inputs
            .get("trigger")
            .filter(|t| t.get("type").and_then(Value::as_str) == Some("queue"))
            .and_then(|t| t.get("source_url"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ProviderError::invalid(format!("function `{}` has no queue trigger", function.addr))
            })?
            .to_string();
        let mut report = DrainReport::default();
        while report.processed + report.failed < max {
            let path = PathBuf::from(&url);
            let msg = blocking(move || Ok(LocalQueue::open(&path)?.receive(1)?)).await?;
            let Some(msg) = msg.into_iter().next() else {
                break;
            };
            let body = serde_json::from_str(&msg.body).unwrap_or_else(|_| json!(msg.body));
            let event = json!({"trigger": "queue", "queue": url,
                "message": {"id": msg.id, "body": body, "receive_count": msg.receive_count}});
            match self
                .invoke(&OpContext::detached("drain"), function, event)
                .await
            {
                Ok(_) => {
                    let path = PathBuf::from(&url);
                    blocking(move || Ok(LocalQueue::open(&path)?.ack(&msg.receipt)?)).await?;
                    report.processed += 1;
                }
                Err(e) => {
                    report.failed += 1;
                    report.errors.push(e.message);
                }
            }
        }
        Ok(report)
    }
}

impl Inner {
    fn dir(&self, kind: Kind, addr: &overcast_core::NativeAddr) -> PathBuf {
        self.layout.native_dir(kind, addr)
    }

    fn pg(&self) -> Result<&PgBins, ProviderError> {
        self.postgres.as_ref().ok_or_else(|| {
            ProviderError::invalid(
                "this database is a local PostgreSQL cluster, but PostgreSQL is not usable here",
            )
            .with_hint(
                "set `postgres: true` on the local target and install PostgreSQL (not as root)",
            )
        })
    }

    fn helper(&self) -> Result<PathBuf, ProviderError> {
        cdn::helper_exe(self.settings.helper_exe.as_ref())
    }

    /// A directory at our path that another stack owns is not ours to read or delete.
    fn foreign(&self, dir: &Path) -> Result<bool, ProviderError> {
        Ok(record::read_owner(dir)?.is_some_and(|o| o.stack != self.stack))
    }

    fn read(
        &self,
        kind: Kind,
        addr: &overcast_core::NativeAddr,
        type_name: &str,
    ) -> Result<Option<Observed>, ProviderError> {
        if self.settings.noop {
            return noop::read(&self.noop, &self.layout.noop_file(kind, addr));
        }
        let dir = self.dir(kind, addr);
        if self.foreign(&dir)? {
            return Ok(None);
        }
        self.read_at(&dir, type_name)
    }

    /// Read a state [`Provider::discovered_state`] made: the native at its id, if the
    /// owner discovery found is still the one there.
    fn read_discovered(
        &self,
        state: &NativeState,
        owner: &OwnerTags,
    ) -> Result<Option<Observed>, ProviderError> {
        if self.settings.noop {
            return noop::adopt(&self.noop, &self.noop_key(state)?, owner);
        }
        let dir = self.discovered_dir(state)?;
        if record::read_owner(&dir)?.as_ref() != Some(owner) {
            return Ok(None);
        }
        self.read_at(&dir, &state.type_name)
    }

    /// The directory of a discovered state's native: its id, which must be a native's
    /// place under this target's root (`<kind>/<resource>/<native>`). Anything else is
    /// refused, so a doctored state can never make a delete leave the target.
    fn discovered_dir(&self, state: &NativeState) -> Result<PathBuf, ProviderError> {
        let dir = PathBuf::from(&state.id);
        let inside = dir.strip_prefix(self.layout.root()).is_ok_and(|rel| {
            rel.components().count() == 3
                && rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
        });
        if inside {
            Ok(dir)
        } else {
            Err(self.not_ours(state))
        }
    }

    /// The ledger key of a discovered state's native in `noop` mode: its id, which must
    /// be a key of this target's ledger.
    fn noop_key(&self, state: &NativeState) -> Result<PathBuf, ProviderError> {
        let key = PathBuf::from(&state.id);
        let noop_dir = self.layout.root().join("noop");
        if key.parent() == Some(noop_dir.as_path()) && !state.id.contains("/../") {
            Ok(key)
        } else {
            Err(self.not_ours(state))
        }
    }

    fn not_ours(&self, state: &NativeState) -> ProviderError {
        ProviderError::invalid(format!(
            "`{}` ({}) is not a native of local target `{}` (its natives live under {})",
            state.addr,
            state.id,
            self.target,
            self.layout.root().display()
        ))
    }

    /// Read the native at `dir` once it is known to be this caller's to read.
    fn read_at(&self, dir: &Path, type_name: &str) -> Result<Option<Observed>, ProviderError> {
        let dir = dir.to_path_buf();
        let Some(rec) = record::read_record(&dir)? else {
            return Ok(None);
        };
        if rec.type_name != type_name {
            return Ok(None);
        }
        match type_name {
            types::BUCKET => storage::read(&self.spec_dir, &dir, rec),
            types::QUEUE => crate::queue::read(&dir, rec),
            types::SQLITE => database::read(&dir, rec),
            types::POSTGRES => postgres::read(self.pg()?, &dir, rec),
            types::FUNCTION => function::read(&self.spec_dir, &dir, rec),
            types::PROCESS => compute::read(&dir, rec),
            types::CDN => cdn::read(&dir, rec),
            other => Err(unknown_type(other)),
        }
    }

    fn create(&self, req: &CreateRequest) -> Result<Observed, ProviderError> {
        if self.settings.noop {
            return noop::create(
                &self.noop,
                req.kind,
                &self.layout.noop_file(req.kind, &req.addr),
                req,
            );
        }
        let dir = self.dir(req.kind, &req.addr);
        let rec = match req.type_name.as_str() {
            types::BUCKET => storage::create(&self.spec_dir, &dir, req)?,
            types::QUEUE => crate::queue::create(&dir, req)?,
            types::SQLITE => database::create(&dir, req)?,
            types::POSTGRES => postgres::create(self.pg()?, &dir, req)?,
            types::FUNCTION => function::create(&self.spec_dir, &dir, req)?,
            types::PROCESS => compute::create(&dir, req)?,
            types::CDN => cdn::create(&self.helper()?, &dir, req)?,
            other => return Err(unknown_type(other)),
        };
        Ok(rec.observed(&dir))
    }

    fn update(&self, prior: &NativeState, inputs: &Attrs) -> Result<Observed, ProviderError> {
        if self.settings.noop {
            return noop::update(
                &self.noop,
                &self.layout.noop_file(prior.kind, &prior.addr),
                inputs,
            );
        }
        let dir = self.dir(prior.kind, &prior.addr);
        let rec: Record = record::read_record(&dir)?
            .filter(|r| r.type_name == prior.type_name)
            .ok_or_else(|| {
                ProviderError::not_found(format!(
                    "`{}` is gone ({} does not exist)",
                    prior.addr,
                    dir.display()
                ))
            })?;
        let rec = match prior.type_name.as_str() {
            types::BUCKET => storage::update(&self.spec_dir, &dir, rec, inputs)?,
            types::QUEUE => crate::queue::update(&dir, rec, inputs)?,
            types::SQLITE => database::update(&dir, rec, inputs)?,
            types::POSTGRES => postgres::update(self.pg()?, &dir, rec, inputs)?,
            types::FUNCTION => function::update(&self.spec_dir, &dir, rec, inputs)?,
            types::PROCESS => compute::update(&dir, rec, inputs)?,
            types::CDN => cdn::update(&self.helper()?, &dir, rec, inputs)?,
            other => return Err(unknown_type(other)),
        };
        record::write_record(&dir, &rec)?;
        Ok(rec.observed(&dir))
    }

    fn delete(&self, prior: &NativeState) -> Result<(), ProviderError> {
        if let Some(owner) = discovered_owner(prior) {
            return self.delete_discovered(prior, &owner);
        }
        if self.settings.noop {
            return noop::delete(&self.noop, &self.layout.noop_file(prior.kind, &prior.addr));
        }
        let dir = self.dir(prior.kind, &prior.addr);
        if !dir.exists() {
            return Ok(());
        }
        if self.foreign(&dir)? {
            return Err(record::already_exists(
                &dir,
                record::read_owner(&dir)?.as_ref(),
            ));
        }
        let pg = match prior.type_name.as_str() {
            types::POSTGRES => Some(self.pg()?.clone()),
            _ => None,
        };
        self.remove(&dir, &prior.type_name, pg.as_ref())
    }

    /// Delete a state [`Provider::discovered_state`] made, whatever stack owns the native,
    /// if the owner discovery found is still the one there (gone is a success).
    fn delete_discovered(
        &self,
        prior: &NativeState,
        owner: &OwnerTags,
    ) -> Result<(), ProviderError> {
        if self.settings.noop {
            return noop::delete_owned(&self.noop, &self.noop_key(prior)?, owner);
        }
        let dir = self.discovered_dir(prior)?;
        if !dir.exists() {
            return Ok(());
        }
        let now = record::read_owner(&dir)?;
        if now.as_ref() != Some(owner) {
            return Err(record::replaced(&dir, owner, now.as_ref()));
        }
        // The type on disk decides what runs there; a cluster made by a target with
        // `postgres: true` is stopped even when this one did not opt in.
        let type_name = record::read_record(&dir)?.map_or(prior.type_name.clone(), |r| r.type_name);
        let pg = match (type_name.as_str(), &self.postgres) {
            (types::POSTGRES, Some(bins)) => Some(bins.clone()),
            (types::POSTGRES, None) => Some(postgres::detect().map_err(|why| {
                ProviderError::fatal(format!(
                    "{} is a PostgreSQL cluster, which cannot be stopped here: {why}",
                    dir.display()
                ))
            })?),
            _ => None,
        };
        self.remove(&dir, &type_name, pg.as_ref())
    }

    /// Stop what runs for the native at `dir`, then remove its files.
    fn remove(
        &self,
        dir: &Path,
        type_name: &str,
        pg: Option<&PgBins>,
    ) -> Result<(), ProviderError> {
        let dir = dir.to_path_buf();
        match (type_name, pg) {
            (types::PROCESS, _) => compute::stop(&dir),
            (types::CDN, _) => cdn::stop(&dir),
            (types::POSTGRES, Some(bins)) => postgres::stop(bins, &dir),
            _ => {}
        }
        fsutil::remove_dir_safely(&dir)?;
        fsutil::remove_stale_siblings(&dir);
        fsutil::prune_empty_parents(&dir, self.layout.root());
        Ok(())
    }

    /// The records of the natives with these ids (`None`: not a native of this target,
    /// or gone since discovery).
    fn records(&self, ids: &[String]) -> Result<Vec<Option<Record>>, ProviderError> {
        if self.settings.noop {
            return noop::records(&self.noop, ids);
        }
        let root = self.layout.root();
        ids.iter()
            .map(|id| {
                let dir = PathBuf::from(id);
                if dir.starts_with(root) {
                    record::read_record(&dir)
                } else {
                    Ok(None)
                }
            })
            .collect()
    }

    fn adopt(&self, req: &CreateRequest) -> Result<Option<Observed>, ProviderError> {
        if self.settings.noop {
            return noop::adopt(
                &self.noop,
                &self.layout.noop_file(req.kind, &req.addr),
                &req.owner,
            );
        }
        let dir = self.dir(req.kind, &req.addr);
        if record::read_owner(&dir)?.as_ref() != Some(&req.owner) {
            return Ok(None);
        }
        self.read(req.kind, &req.addr, &req.type_name)
    }
}

fn unknown_type(t: &str) -> ProviderError {
    ProviderError::invalid(format!("`{t}` is not a native type of the local cloud"))
}

#[async_trait]
impl Provider for LocalProvider {
    /// The local cloud is one API: its `rate_limit` holds across the whole target.
    fn api_of(&self, _type_name: &str) -> &'static str {
        "local"
    }

    fn name(&self) -> &str {
        "local"
    }

    fn expand(&self, resource: &AbstractResource) -> Result<Vec<NativeSpec>, ProviderError> {
        expand::expand(resource, self.inner.postgres.is_some())
    }

    fn outputs(&self, kind: Kind, natives: &[&NativeState]) -> Attrs {
        crate::outputs::abstract_outputs(kind, natives)
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        state: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        self.inner.faults.before("read", &state.addr).await?;
        let (inner, state) = (Arc::clone(&self.inner), state.clone());
        blocking(move || match discovered_owner(&state) {
            Some(owner) => inner.read_discovered(&state, &owner),
            None => inner.read(state.kind, &state.addr, &state.type_name),
        })
        .await
    }

    async fn create(
        &self,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        self.inner.faults.before("create", &req.addr).await?;
        self.inner.faults.check_fail("create", &req.addr)?;
        let (inner, req) = (Arc::clone(&self.inner), req.clone());
        blocking(move || inner.create(&req)).await
    }

    async fn update(
        &self,
        _ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        self.inner.faults.before("update", &prior.addr).await?;
        self.inner.faults.check_fail("update", &prior.addr)?;
        let (inner, prior, inputs) = (Arc::clone(&self.inner), prior.clone(), inputs.clone());
        blocking(move || inner.update(&prior, &inputs)).await
    }

    async fn delete(&self, _ctx: &OpContext, prior: &NativeState) -> Result<(), ProviderError> {
        self.inner.faults.before("delete", &prior.addr).await?;
        self.inner.faults.check_fail_delete(&prior.addr)?;
        let (inner, prior) = (Arc::clone(&self.inner), prior.clone());
        blocking(move || inner.delete(&prior)).await
    }

    async fn adopt(
        &self,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        self.inner.faults.before("adopt", &req.addr).await?;
        let (inner, req) = (Arc::clone(&self.inner), req.clone());
        blocking(move || inner.adopt(&req)).await
    }

    /// A discovered native of this target as a state: its owner record gives its address,
    /// its type its kind, its id (directory or ledger key) where it is. The state carries
    /// the owner it was found with ([`DISCOVERED_OWNER`]), so `read` and `delete` act on
    /// it whichever stack owns it (every local type can be deleted). A native without an
    /// owner is not one the local cloud made.
    async fn discovered_state(
        &self,
        _ctx: &OpContext,
        found: &DiscoveredResource,
    ) -> Result<Option<NativeState>, ProviderError> {
        let (Some(owner), Some(kind)) = (&found.owner, types::kind_of(&found.resource_type)) else {
            return Ok(None);
        };
        let Ok(addr) = owner.resource.parse() else {
            return Ok(None);
        };
        let mut state = NativeState::new(addr, kind, found.resource_type.clone(), found.id.clone());
        let tags = serde_json::to_value(owner)
            .map_err(|e| ProviderError::fatal(format!("encoding owner tags: {e}")))?;
        state.inputs.insert(DISCOVERED_OWNER.into(), tags);
        Ok(Some(state))
    }

    /// Which native uses which, from their records (see the `link` module): a cdn its
    /// origin, a function its trigger's queue or bucket, anything the bucket, queue,
    /// database or instance whose directory, key or url its inputs name.
    async fn link_discovered(
        &self,
        _ctx: &OpContext,
        found: &mut [DiscoveredResource],
    ) -> Result<(), ProviderError> {
        let inner = Arc::clone(&self.inner);
        let ids: Vec<String> = found.iter().map(|f| f.id.clone()).collect();
        let records = blocking(move || inner.records(&ids)).await?;
        crate::link::link(found, &records);
        Ok(())
    }

    /// The target's directory: kind `directory`, id its absolute path, name the target.
    async fn account(&self, _ctx: &OpContext) -> Result<AccountIdentity, ProviderError> {
        Ok(
            AccountIdentity::new("directory", self.inner.layout.root().display().to_string())
                .with_name(self.inner.target.clone()),
        )
    }

    fn to_abstract(&self, state: &NativeState) -> Option<overcast_core::provider::AbstractView> {
        crate::abstracts::to_abstract(state)
    }

    fn discoverable_types(&self) -> Vec<String> {
        types::ALL.iter().map(|t| t.to_string()).collect()
    }

    /// Every native under this target's directory (or in its `noop` ledger), whatever the
    /// state says.
    async fn discover(
        &self,
        _ctx: &OpContext,
        filter: &DiscoveryFilter,
    ) -> Result<Vec<DiscoveredResource>, ProviderError> {
        let (inner, filter) = (Arc::clone(&self.inner), filter.clone());
        blocking(move || {
            if inner.settings.noop {
                crate::discover::ledger(&inner.noop, &inner.target, &filter)
            } else {
                crate::discover::materialized(inner.layout.root(), &inner.target, &filter)
            }
        })
        .await
    }

    async fn invoke(
        &self,
        _ctx: &OpContext,
        state: &NativeState,
        payload: Value,
    ) -> Result<Value, ProviderError> {
        self.inner.faults.before("invoke", &state.addr).await?;
        if state.type_name != types::FUNCTION {
            return Err(ProviderError::invalid(format!(
                "`{}` is a {}, not a function",
                state.addr, state.type_name
            )));
        }
        if self.inner.settings.noop {
            return Ok(json!({"noop": true, "payload": payload}));
        }
        function::invoke(
            &self.inner.dir(state.kind, &state.addr),
            &state.addr.resource,
            payload,
        )
        .await
    }
}
