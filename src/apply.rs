//! Apply: walk a plan's changes as a DAG. A node starts the moment its last dependency
//! finishes (not level by level), up to `parallelism` at once; a failure skips only its
//! dependents; every result is written to state before anything else happens. Creates
//! are preceded by an intent in the state journal so an interrupted apply can be resumed
//! without duplicates or orphans.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{ErrorClass, NativeAddr, NativeState, OwnerTags, Provider, ProviderError};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::engine::Known;
use crate::graph::Dag;
use crate::plan::{Action, Change, Plan};
use crate::retry::{CallKind, RetryPolicy, with_retry};
use crate::session::Session;
use crate::state::{Change as StateChange, Intent};
use crate::ui::{Event, Reporter};

/// What happened to each planned change.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ApplyReport {
    /// Changes carried out.
    pub succeeded: Vec<(NativeAddr, Action)>,
    /// Changes that failed, with the error.
    pub failed: Vec<(NativeAddr, Action, String)>,
    /// Changes not attempted because something they depend on failed.
    pub skipped: Vec<(NativeAddr, Action, String)>,
    /// Changes not started because the run was interrupted.
    pub not_started: Vec<(NativeAddr, Action)>,
    /// The run was interrupted (Ctrl-C) or stopped on a state write error.
    pub interrupted: bool,
}

impl ApplyReport {
    /// Whether everything planned was carried out.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
            && self.skipped.is_empty()
            && self.not_started.is_empty()
            && !self.interrupted
    }
}

/// Build the execution graph of a plan: creates/updates after what they need, deletes
/// before what they needed.
pub fn execution_graph(changes: &BTreeMap<NativeAddr, &Change>) -> Dag<NativeAddr> {
    let mut g = Dag::new();
    for (addr, c) in changes {
        g.add_node(addr.clone());
        match c.action {
            Action::Create | Action::Update | Action::Replace => {
                for dep in &c.depends_on {
                    if let Some(d) = changes.get(dep)
                        && d.action != Action::Delete
                    {
                        g.add_edge(dep.clone(), addr.clone());
                    }
                }
            }
            Action::Delete | Action::NoOp => {}
        }
        // Whatever depended on this native (per state) must change or go first when it is deleted.
        if let Some(prior) = &c.prior {
            for dep in &prior.depends_on {
                if let Some(d) = changes.get(dep)
                    && d.action == Action::Delete
                {
                    g.add_edge(addr.clone(), dep.clone());
                }
            }
        }
    }
    g
}

enum Outcome {
    Written(Observed),
    Deleted,
}

struct Done {
    addr: NativeAddr,
    action: Action,
    elapsed: Duration,
    /// For a failed replace: whether the old resource was already deleted.
    old_deleted: bool,
    result: Result<Outcome, ProviderError>,
    /// Resolved inputs used for a create/update.
    inputs: overcast_core::Attrs,
}

/// Carry out the plan's changes. State is written after every single operation.
pub async fn apply(session: &mut Session, plan: &Plan) -> anyhow::Result<ApplyReport> {
    let changes: BTreeMap<NativeAddr, &Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| (c.addr.clone(), c))
        .collect();
    let graph = execution_graph(&changes);
    if let Err(cycle) = graph.topo_order() {
        anyhow::bail!(
            "the plan's operations form a cycle: {}",
            Dag::cycle_to_string(&cycle)
        );
    }
    let mut report = ApplyReport::default();
    if changes.is_empty() {
        return Ok(report);
    }
    let reporter = session.reporter.clone();
    reporter.event(Event::PhaseStarted {
        name: "apply",
        total: changes.len(),
    });

    let mut current = session.all_states();
    // Write-ahead intents: every create of this apply is recorded durably, in one write per
    // target, before any provider call. From then on results need no fsync of their own: a
    // result lost with a power cut is re-derived by adopting the resource its intent names.
    let secrets = write_ahead_intents(session, &changes, &current)?;
    let mut indeg: HashMap<NativeAddr, usize> = graph
        .nodes()
        .map(|n| (n.clone(), graph.deps_of(n).count()))
        .collect();
    let mut ready: VecDeque<NativeAddr> = indeg
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(n, _)| n.clone())
        .collect();
    let mut ready_sorted: Vec<NativeAddr> = ready.drain(..).collect();
    ready_sorted.sort();
    ready.extend(ready_sorted);
    let mut blocked: BTreeSet<NativeAddr> = BTreeSet::new();
    let mut running: JoinSet<Done> = JoinSet::new();
    let mut stop_reason: Option<String> = None;
    let parallelism = session.parallelism.max(1);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    // State changes not yet written, and finished operations not yet reported. A round's
    // results are written before the nodes they made ready are spawned.
    let mut batch: BTreeMap<String, Vec<StateChange>> = BTreeMap::new();
    let mut unreported: Vec<Done> = Vec::new();
    let mut last_sync = Instant::now();
    loop {
        let mut burst: Vec<(NativeAddr, Action, Task)> = Vec::new();
        while stop_reason.is_none() && running.len() + burst.len() < parallelism {
            let Some(addr) = ready.pop_front() else { break };
            if blocked.contains(&addr) {
                continue;
            }
            let Some(change) = changes.get(&addr) else {
                continue;
            };
            match prepare(session, change, &current, secrets.get(&addr), &reporter) {
                Ok(task) => burst.push((addr, change.action, task)),
                Err(msg) => {
                    reporter.event(Event::OpFailed {
                        addr: &addr,
                        action: change.action,
                        error: &msg,
                    });
                    report.failed.push((addr.clone(), change.action, msg));
                    skip_dependents(
                        &graph,
                        &addr,
                        &changes,
                        &mut blocked,
                        &mut report,
                        &reporter,
                    );
                }
            }
        }
        let written = match write_batch(session, std::mem::take(&mut batch), &mut last_sync) {
            Ok(()) => true,
            Err(e) => {
                // Nothing of the burst may start without its intent on disk.
                stop_reason.get_or_insert_with(|| format!("could not write state: {e:#}"));
                report.interrupted = true;
                burst.clear();
                false
            }
        };
        for done in unreported.drain(..) {
            if written {
                reporter.event(Event::OpFinished {
                    addr: &done.addr,
                    action: done.action,
                    elapsed: done.elapsed,
                });
                report.succeeded.push((done.addr, done.action));
            } else {
                report.failed.push((
                    done.addr,
                    done.action,
                    "succeeded, but its state could not be written".into(),
                ));
            }
        }
        for (addr, action, task) in burst {
            reporter.event(Event::OpStarted {
                addr: &addr,
                action,
            });
            running.spawn(task);
        }
        if running.is_empty() {
            break;
        }
        let first = tokio::select! {
            joined = running.join_next() => match joined {
                Some(Ok(done)) => done,
                Some(Err(e)) => { stop_reason.get_or_insert_with(|| format!("an operation task crashed: {e}")); continue; }
                None => break,
            },
            _ = &mut ctrl_c, if stop_reason.is_none() => {
                reporter.event(Event::Warn("interrupted: no new operations will start; waiting for the ones in flight to finish and saving state"));
                stop_reason = Some("interrupted".to_string());
                report.interrupted = true;
                continue;
            }
        };
        // Everything else that has finished meanwhile goes into the same batch.
        let mut finished = vec![first];
        while let Some(joined) = running.try_join_next() {
            match joined {
                Ok(done) => finished.push(done),
                Err(e) => {
                    stop_reason.get_or_insert_with(|| format!("an operation task crashed: {e}"));
                }
            }
        }
        for done in &finished {
            record(&changes, done, &mut current, &mut batch);
        }
        crash_point_for_tests(&finished);
        for done in finished {
            match &done.result {
                Ok(_) => {
                    for dep in graph.dependents_of(&done.addr) {
                        if let Some(n) = indeg.get_mut(dep) {
                            *n = n.saturating_sub(1);
                            if *n == 0 && !blocked.contains(dep) {
                                ready.push_back(dep.clone());
                            }
                        }
                    }
                    unreported.push(done);
                }
                Err(e) => {
                    let msg = match &e.hint {
                        Some(h) => format!("{} (hint: {h})", e.message),
                        None => e.message.clone(),
                    };
                    reporter.event(Event::OpFailed {
                        addr: &done.addr,
                        action: done.action,
                        error: &msg,
                    });
                    report.failed.push((done.addr.clone(), done.action, msg));
                    skip_dependents(
                        &graph,
                        &done.addr,
                        &changes,
                        &mut blocked,
                        &mut report,
                        &reporter,
                    );
                }
            }
        }
    }
    reporter.event(Event::PhaseFinished { name: "apply" });
    let started: BTreeSet<&NativeAddr> = report
        .succeeded
        .iter()
        .map(|x| &x.0)
        .chain(report.failed.iter().map(|x| &x.0))
        .collect();
    let mut never_started: BTreeMap<String, Vec<StateChange>> = BTreeMap::new();
    for (addr, c) in &changes {
        if matches!(c.action, Action::Create | Action::Replace) && !started.contains(addr) {
            never_started
                .entry(c.target.clone())
                .or_default()
                .push(StateChange::ClearIntent(addr.clone()));
        }
    }
    let settled =
        write_batch(session, never_started, &mut last_sync).and_then(|()| sync_all(session));
    if let Err(e) = settled {
        stop_reason.get_or_insert_with(|| format!("could not write state: {e:#}"));
    }
    if let Some(reason) = stop_reason {
        if reason != "interrupted" {
            reporter.event(Event::Warn(&format!("apply stopped: {reason}")));
        }
        report.interrupted = true;
        let finished: BTreeSet<&NativeAddr> = report
            .succeeded
            .iter()
            .map(|x| &x.0)
            .chain(report.failed.iter().map(|x| &x.0))
            .chain(report.skipped.iter().map(|x| &x.0))
            .collect();
        report.not_started = changes
            .iter()
            .filter(|(a, _)| !finished.contains(a))
            .map(|(a, c)| (a.clone(), c.action))
            .collect();
    }
    Ok(report)
}

fn skip_dependents(
    graph: &Dag<NativeAddr>,
    failed: &NativeAddr,
    changes: &BTreeMap<NativeAddr, &Change>,
    blocked: &mut BTreeSet<NativeAddr>,
    report: &mut ApplyReport,
    reporter: &Arc<dyn Reporter>,
) {
    for dep in graph.transitive_dependents(failed) {
        if blocked.insert(dep.clone()) {
            let action = changes.get(&dep).map(|c| c.action).unwrap_or(Action::NoOp);
            let reason = format!("depends on `{failed}`, which failed");
            reporter.event(Event::OpSkipped {
                addr: &dep,
                action,
                reason: &reason,
            });
            report.skipped.push((dep, action, reason));
        }
    }
}

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>;

/// Record the intent of every create and replace of the plan, durably, before any of them
/// starts. Inputs are resolved as far as they are known now; adoption after a crash finds
/// resources by their owner tags and address, not by these inputs. Secrets the providers
/// generate for the creates go into the intents too, and are returned so the creates use
/// exactly the recorded values.
fn write_ahead_intents(
    session: &mut Session,
    changes: &BTreeMap<NativeAddr, &Change>,
    current: &BTreeMap<NativeAddr, NativeState>,
) -> anyhow::Result<HashMap<NativeAddr, overcast_core::Attrs>> {
    let mut secrets = HashMap::new();
    let pending: BTreeSet<NativeAddr> = changes
        .iter()
        .filter(|(_, c)| matches!(c.action, Action::Create | Action::Replace | Action::Update))
        .map(|(a, _)| a.clone())
        .collect();
    let known = Known {
        states: current,
        pending: &pending,
        by_resource: &session.desired.by_resource,
        resource_info: &session.resource_info,
        providers: &session.providers,
    };
    let mut batch: BTreeMap<String, Vec<StateChange>> = BTreeMap::new();
    for (addr, c) in changes {
        let (Action::Create | Action::Replace, Some(d)) = (c.action, &c.desired) else {
            continue;
        };
        let inputs = known
            .resolve_attrs(&d.inputs)
            .unwrap_or_else(|_| d.inputs.clone());
        let generated = session
            .providers
            .get(&c.target)
            .map(|p| p.generate_secrets(&d.type_name))
            .unwrap_or_default();
        if !generated.is_empty() {
            secrets.insert(addr.clone(), generated.clone());
        }
        let intent = Intent {
            request: CreateRequest {
                addr: addr.clone(),
                kind: c.kind,
                type_name: d.type_name.clone(),
                inputs,
                owner: OwnerTags {
                    stack: session.stack.name.clone(),
                    target: c.target.clone(),
                    resource: addr.to_string(),
                },
                secrets: generated,
            },
            depends_on: c.depends_on.clone(),
            sensitive: d.sensitive.clone(),
            force_new: d.force_new.clone(),
            protect: c.protect,
            recorded_at: crate::state::now_rfc3339(),
        };
        batch
            .entry(c.target.clone())
            .or_default()
            .push(StateChange::Intent(intent));
    }
    for (target, list) in batch {
        let store = session
            .stores
            .get_mut(&target)
            .ok_or_else(|| anyhow::anyhow!("no state for target `{target}`"))?;
        store.apply_changes(list)?;
    }
    Ok(secrets)
}

/// Prepare one node: resolve its inputs against what exists now and return the provider
/// call as a task. An error fails only this node.
fn prepare(
    session: &Session,
    change: &Change,
    current: &BTreeMap<NativeAddr, NativeState>,
    secrets: Option<&overcast_core::Attrs>,
    reporter: &Arc<dyn Reporter>,
) -> Result<Task, String> {
    let addr = change.addr.clone();
    let action = change.action;
    let provider_for = |t: &str| -> Result<Arc<dyn Provider>, String> {
        session
            .providers
            .get(t)
            .cloned()
            .ok_or_else(|| format!("no provider for target `{t}`"))
    };
    let provider = provider_for(&change.target)?;
    let prior_provider = match &change.prior_target {
        Some(t) => provider_for(t)?,
        None => provider.clone(),
    };
    let mut inputs = overcast_core::Attrs::new();
    if let Some(desired) = &change.desired {
        let pending = BTreeSet::new();
        let known = Known {
            states: current,
            pending: &pending,
            by_resource: &session.desired.by_resource,
            resource_info: &session.resource_info,
            providers: &session.providers,
        };
        inputs = known
            .resolve_attrs(&desired.inputs)
            .map_err(|e| e.to_string())?;
        if overcast_core::refs::is_unknown(&serde_json::Value::Object(inputs.clone())) {
            return Err("an input is still unknown after its dependencies were applied".into());
        }
    }
    let request = change.desired.as_ref().map(|d| CreateRequest {
        addr: addr.clone(),
        kind: change.kind,
        type_name: d.type_name.clone(),
        inputs: inputs.clone(),
        owner: OwnerTags {
            stack: session.stack.name.clone(),
            target: change.target.clone(),
            resource: addr.to_string(),
        },
        secrets: secrets.cloned().unwrap_or_default(),
    });
    let policy: RetryPolicy = session.policy;
    let prior = change.prior.clone();
    let reporter = reporter.clone();
    let task: Task = Box::pin(async move {
        let t0 = Instant::now();
        let on_retry = |n: usize, e: &ProviderError| {
            reporter.event(Event::Retrying {
                addr: &addr,
                attempt: n,
                error: &e.message,
            })
        };
        let mut old_deleted = false;
        let result = async {
            match action {
                Action::Create => {
                    let req = request
                        .as_ref()
                        .ok_or_else(|| ProviderError::fatal("create without a desired state"))?;
                    with_retry(&policy, CallKind::Write, || provider.create(req), &on_retry)
                        .await
                        .map(Outcome::Written)
                }
                Action::Update => {
                    let prior = prior
                        .as_ref()
                        .ok_or_else(|| ProviderError::fatal("update without a prior state"))?;
                    with_retry(
                        &policy,
                        CallKind::Write,
                        || provider.update(prior, &inputs),
                        &on_retry,
                    )
                    .await
                    .map(Outcome::Written)
                }
                Action::Replace => {
                    let prior = prior
                        .as_ref()
                        .ok_or_else(|| ProviderError::fatal("replace without a prior state"))?;
                    let req = request
                        .as_ref()
                        .ok_or_else(|| ProviderError::fatal("replace without a desired state"))?;
                    delete_tolerant(&policy, &prior_provider, prior, &on_retry).await?;
                    old_deleted = true;
                    with_retry(&policy, CallKind::Write, || provider.create(req), &on_retry)
                        .await
                        .map(Outcome::Written)
                }
                Action::Delete => {
                    let prior = prior
                        .as_ref()
                        .ok_or_else(|| ProviderError::fatal("delete without a prior state"))?;
                    delete_tolerant(&policy, &prior_provider, prior, &on_retry)
                        .await
                        .map(|_| Outcome::Deleted)
                }
                Action::NoOp => Err(ProviderError::fatal("no-op scheduled")),
            }
        }
        .await;
        Done {
            addr,
            action,
            elapsed: t0.elapsed(),
            old_deleted,
            result,
            inputs,
        }
    });
    Ok(task)
}

async fn delete_tolerant(
    policy: &RetryPolicy,
    provider: &Arc<dyn Provider>,
    prior: &NativeState,
    on_retry: &(dyn Fn(usize, &ProviderError) + Send + Sync),
) -> Result<(), ProviderError> {
    match with_retry(policy, CallKind::Write, || provider.delete(prior), on_retry).await {
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        other => other,
    }
}

/// Turn one finished operation into state changes (per target) and update the live view.
fn record(
    changes: &BTreeMap<NativeAddr, &Change>,
    done: &Done,
    current: &mut BTreeMap<NativeAddr, NativeState>,
    batch: &mut BTreeMap<String, Vec<StateChange>>,
) {
    let Some(change) = changes.get(&done.addr) else {
        return;
    };
    let prior_target = change
        .prior_target
        .clone()
        .unwrap_or_else(|| change.target.clone());
    let mut push = |t: &str, c: StateChange| batch.entry(t.to_string()).or_default().push(c);
    match &done.result {
        Ok(Outcome::Written(obs)) => {
            let desired = change.desired.as_ref();
            let st = NativeState {
                addr: done.addr.clone(),
                kind: change.kind,
                type_name: change.type_name.clone(),
                id: obs.id.clone(),
                inputs: done.inputs.clone(),
                outputs: obs.outputs.clone(),
                depends_on: change.depends_on.clone(),
                sensitive: desired.map(|d| d.sensitive.clone()).unwrap_or_default(),
                force_new: desired.map(|d| d.force_new.clone()).unwrap_or_default(),
                protect: change.protect,
            };
            if prior_target != change.target {
                push(&prior_target, StateChange::Remove(done.addr.clone()));
            }
            push(&change.target, StateChange::Put(st.clone()));
            current.insert(done.addr.clone(), st);
        }
        Ok(Outcome::Deleted) => {
            push(&prior_target, StateChange::Remove(done.addr.clone()));
            current.remove(&done.addr);
        }
        Err(e) => {
            if done.old_deleted {
                // The old resource of a failed replace is gone: state must not claim it exists.
                push(&prior_target, StateChange::Remove(done.addr.clone()));
                current.remove(&done.addr);
            }
            // A create rejected outright created nothing: forget its intent. Any other
            // failure (timeouts, throttling, conflicts) may have created something: keep
            // the intent so the next run adopts it.
            if matches!(done.action, Action::Create | Action::Replace)
                && matches!(e.class, ErrorClass::InvalidInput | ErrorClass::Auth)
            {
                push(&change.target, StateChange::ClearIntent(done.addr.clone()));
            }
        }
    }
}

/// How long results may stay buffered (not fsynced). They survive a killed process either
/// way; this bounds what a power cut can lose (and recovery then re-adopts it anyway).
const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// Write a batch of results: one journal write per target, fsynced at most every
/// [`SYNC_INTERVAL`].
fn write_batch(
    session: &mut Session,
    batch: BTreeMap<String, Vec<StateChange>>,
    last_sync: &mut Instant,
) -> anyhow::Result<()> {
    for (target, list) in batch {
        if list.is_empty() {
            continue;
        }
        let store = session
            .stores
            .get_mut(&target)
            .ok_or_else(|| anyhow::anyhow!("no state for target `{target}`"))?;
        store.apply_changes_buffered(list)?;
    }
    if last_sync.elapsed() >= SYNC_INTERVAL {
        sync_all(session)?;
        *last_sync = Instant::now();
    }
    Ok(())
}

fn sync_all(session: &mut Session) -> anyhow::Result<()> {
    for store in session.stores.values_mut() {
        if store.is_writable() {
            store.sync()?;
        }
    }
    Ok(())
}

/// Crash-safety tests kill the process at exact points: with
/// `OVERCAST_TEST_CRASH_BEFORE_RECORD=<native address>`, the process kills itself with
/// SIGKILL after that native's provider call succeeded and before its state is written:
/// the worst moment, which the intent journal must make harmless.
fn crash_point_for_tests(finished: &[Done]) {
    if let Ok(addr) = std::env::var("OVERCAST_TEST_CRASH_BEFORE_RECORD")
        && finished
            .iter()
            .any(|d| d.result.is_ok() && d.addr.to_string() == addr)
    {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}
