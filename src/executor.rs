//! The executor: carries out a [`Plan`] as a DAG. A node starts the moment its last
//! dependency finishes (not level by level), up to `parallelism` at once; a failure skips
//! only its dependents; every result is written to the [`StateSink`] before anything that
//! depends on it starts. Creates are preceded by an intent written durably ahead, so an
//! interrupted run can be resumed without duplicates or orphans.
//!
//! It needs no session: providers, what references resolve against, a state sink, the
//! call layer and a reporter. `apply` and `destroy` drive it with the stack's state
//! stores as the sink; other workflows (nuke, migrate) drive it with sinks of their own.
//! Cancellation (Ctrl-C, which the command handles) comes through the call layer's token:
//! no new operation starts, the ones in flight finish and are recorded.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use overcast_core::kinds::Kind;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{ErrorClass, NativeAddr, NativeState, OwnerTags, Provider, ProviderError};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::call::CallLayer;
use crate::engine::Known;
use crate::graph::Dag;
use crate::plan::{Action, Change, Plan};
use crate::state::{Change as StateChange, Intent, StateStore};
use crate::ui::{Event, Reporter};

/// Where the executor writes what it did: per target, durably or buffered.
pub trait StateSink {
    /// Write changes of `target` durably (fsynced) before returning: intents.
    fn write_durable(&mut self, target: &str, changes: Vec<StateChange>) -> anyhow::Result<()>;
    /// Write changes of `target` so that they survive a killed process (not necessarily a
    /// power cut): results, which a lost write re-derives from their intent.
    fn write_buffered(&mut self, target: &str, changes: Vec<StateChange>) -> anyhow::Result<()>;
    /// Make every buffered write durable.
    fn sync(&mut self) -> anyhow::Result<()>;
}

/// The state stores of a stack, one per target, as a sink.
impl StateSink for BTreeMap<String, StateStore> {
    fn write_durable(&mut self, target: &str, changes: Vec<StateChange>) -> anyhow::Result<()> {
        self.get_mut(target)
            .ok_or_else(|| anyhow::anyhow!("no state for target `{target}`"))?
            .apply_changes(changes)?;
        Ok(())
    }
    fn write_buffered(&mut self, target: &str, changes: Vec<StateChange>) -> anyhow::Result<()> {
        self.get_mut(target)
            .ok_or_else(|| anyhow::anyhow!("no state for target `{target}`"))?
            .apply_changes_buffered(changes)?;
        Ok(())
    }
    fn sync(&mut self) -> anyhow::Result<()> {
        for store in self.values_mut() {
            if store.is_writable() {
                store.sync()?;
            }
        }
        Ok(())
    }
}

/// Everything the executor needs besides the plan and the sink.
pub struct Executor<'a> {
    /// Stack name (owner tags).
    pub stack: &'a str,
    /// A provider per target.
    pub providers: &'a BTreeMap<String, Arc<dyn Provider>>,
    /// Natives of each abstract resource (references to whole resources).
    pub by_resource: &'a BTreeMap<String, Vec<NativeAddr>>,
    /// Kind and target of each abstract resource.
    pub resource_info: &'a BTreeMap<String, (Kind, String)>,
    /// The call layer every provider call goes through.
    pub calls: Arc<CallLayer>,
    /// Progress.
    pub reporter: Arc<dyn Reporter>,
    /// Operations in flight at most.
    pub parallelism: usize,
    /// The phase its progress is shown as (`apply`, `destroy`, `nuke`).
    pub phase: &'static str,
}

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

/// An operation ready to start, ordered by the length of the longest chain of operations
/// that waits for it (longest first), then by address (smallest first).
#[derive(PartialEq, Eq)]
struct Ready {
    chain: usize,
    addr: NativeAddr,
}

impl Ready {
    fn new(addr: &NativeAddr, priority: &HashMap<NativeAddr, usize>) -> Ready {
        Ready {
            chain: priority.get(addr).copied().unwrap_or(1),
            addr: addr.clone(),
        }
    }
}

impl Ord for Ready {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.chain
            .cmp(&other.chain)
            .then_with(|| other.addr.cmp(&self.addr))
    }
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// For each node, the number of operations on the longest path from it to the end of the
/// graph (itself included), from a topological `order`.
fn critical_path_lengths(
    graph: &Dag<NativeAddr>,
    order: &[NativeAddr],
) -> HashMap<NativeAddr, usize> {
    let mut len: HashMap<NativeAddr, usize> = HashMap::with_capacity(order.len());
    for n in order.iter().rev() {
        let longest = graph
            .dependents_of(n)
            .filter_map(|d| len.get(d))
            .max()
            .copied()
            .unwrap_or(0);
        len.insert(n.clone(), longest + 1);
    }
    len
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

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>;

/// What a create takes from its write-ahead intent: the secrets generated for it and its
/// idempotency key.
struct Prepared {
    secrets: overcast_core::Attrs,
    key: String,
}

/// The idempotency key of a create: derived from its intent, so every attempt of it and
/// a later run resuming the same intent present the same key to the cloud, and nothing
/// else does.
pub fn intent_key(intent: &Intent) -> String {
    use sha2::{Digest, Sha256};
    let r = &intent.request;
    let digest = Sha256::new()
        .chain_update(r.owner.stack.as_bytes())
        .chain_update([0])
        .chain_update(r.owner.target.as_bytes())
        .chain_update([0])
        .chain_update(r.owner.resource.as_bytes())
        .chain_update([0])
        .chain_update(intent.recorded_at.as_bytes())
        .finalize();
    format!("oc-{}", &hex::encode(digest)[..40])
}

/// Changes not yet written and finished operations not yet reported: a round's results are
/// written before the nodes they made ready are spawned.
struct Pending {
    batch: BTreeMap<String, Vec<StateChange>>,
    unreported: Vec<Done>,
    last_sync: Instant,
}

impl Executor<'_> {
    fn known<'k>(
        &'k self,
        states: &'k BTreeMap<NativeAddr, NativeState>,
        pending: &'k BTreeSet<NativeAddr>,
    ) -> Known<'k> {
        Known {
            states,
            pending,
            by_resource: self.by_resource,
            resource_info: self.resource_info,
            providers: self.providers,
        }
    }

    fn owner(&self, target: &str, addr: &NativeAddr) -> OwnerTags {
        OwnerTags {
            stack: self.stack.to_string(),
            target: target.to_string(),
            resource: addr.to_string(),
        }
    }

    /// Carry out the plan's changes, starting from `current` (every native in state).
    /// Every result is written to `sink` before its dependents start.
    pub async fn run(
        &self,
        plan: &Plan,
        mut current: BTreeMap<NativeAddr, NativeState>,
        sink: &mut dyn StateSink,
    ) -> anyhow::Result<ApplyReport> {
        let changes: BTreeMap<NativeAddr, &Change> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| (c.addr.clone(), c))
            .collect();
        let graph = execution_graph(&changes);
        let order = match graph.topo_order() {
            Ok(order) => order,
            Err(cycle) => anyhow::bail!(
                "the plan's operations form a cycle: {}",
                Dag::cycle_to_string(&cycle)
            ),
        };
        let priority = critical_path_lengths(&graph, &order);
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let reporter = self.reporter.clone();
        reporter.event(Event::PhaseStarted {
            name: self.phase,
            total: changes.len(),
        });
        // Write-ahead intents: every create of this run is recorded durably, in one write
        // per target, before any provider call. From then on results need no fsync of their
        // own: a result lost with a power cut is re-derived by adopting what its intent names.
        let prepared = self.write_ahead_intents(&changes, &current, sink)?;
        let mut indeg: HashMap<NativeAddr, usize> = graph
            .nodes()
            .map(|n| (n.clone(), graph.deps_of(n).count()))
            .collect();
        // Ready operations start longest remaining chain first (critical-path list
        // scheduling), then by address: a long chain is never queued behind a crowd of
        // independent operations that could run beside it.
        let mut ready: BinaryHeap<Ready> = indeg
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| Ready::new(n, &priority))
            .collect();
        let mut blocked: BTreeSet<NativeAddr> = BTreeSet::new();
        let mut running: JoinSet<Done> = JoinSet::new();
        // What each running task is, so a task that panics is still a failure of its node.
        let mut running_ids: HashMap<tokio::task::Id, (NativeAddr, Action)> = HashMap::new();
        let mut stop_reason: Option<String> = None;
        let parallelism = self.parallelism.max(1);
        let cancel = self.calls.cancel_token().clone();
        let mut pending = Pending {
            batch: BTreeMap::new(),
            unreported: Vec::new(),
            last_sync: Instant::now(),
        };
        loop {
            let mut burst: Vec<(NativeAddr, Action, Task)> = Vec::new();
            while stop_reason.is_none() && running.len() + burst.len() < parallelism {
                let Some(Ready { addr, .. }) = ready.pop() else {
                    break;
                };
                if blocked.contains(&addr) {
                    continue;
                }
                let Some(change) = changes.get(&addr) else {
                    continue;
                };
                match self.prepare(change, &current, prepared.get(&addr)) {
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
            let written = match write_batch(sink, &mut pending) {
                Ok(()) => true,
                Err(e) => {
                    // Nothing of the burst may start without its intent on disk.
                    stop_reason.get_or_insert_with(|| format!("could not write state: {e:#}"));
                    report.interrupted = true;
                    burst.clear();
                    false
                }
            };
            for done in pending.unreported.drain(..) {
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
                let handle = running.spawn(task);
                running_ids.insert(handle.id(), (addr, action));
            }
            if running.is_empty() {
                break;
            }
            let first = tokio::select! {
                joined = running.join_next_with_id() => match joined {
                    Some(joined) => finished_task(joined, &mut running_ids),
                    None => break,
                },
                _ = cancel.cancelled(), if stop_reason.is_none() => {
                    reporter.event(Event::Warn("interrupted: no new operations will start; waiting for the ones in flight to finish and saving state"));
                    stop_reason = Some("interrupted".to_string());
                    report.interrupted = true;
                    continue;
                }
            };
            // Everything else that has finished meanwhile goes into the same batch.
            let mut finished = vec![first];
            while let Some(joined) = running.try_join_next_with_id() {
                finished.push(finished_task(joined, &mut running_ids));
            }
            for done in &finished {
                record(&changes, done, &mut current, &mut pending.batch);
            }
            crash_point_for_tests(&finished);
            for done in finished {
                match &done.result {
                    Ok(_) => {
                        for dep in graph.dependents_of(&done.addr) {
                            if let Some(n) = indeg.get_mut(dep) {
                                *n = n.saturating_sub(1);
                                if *n == 0 && !blocked.contains(dep) {
                                    ready.push(Ready::new(dep, &priority));
                                }
                            }
                        }
                        pending.unreported.push(done);
                    }
                    Err(e) => {
                        let msg = e.to_report();
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
        reporter.event(Event::PhaseFinished { name: self.phase });
        self.settle(&changes, &mut report, stop_reason, sink, &mut pending);
        Ok(report)
    }

    /// After the last operation: forget the intents of creates that never started, make
    /// everything durable, and list what was not started when the run stopped early.
    fn settle(
        &self,
        changes: &BTreeMap<NativeAddr, &Change>,
        report: &mut ApplyReport,
        mut stop_reason: Option<String>,
        sink: &mut dyn StateSink,
        pending: &mut Pending,
    ) {
        let started: BTreeSet<&NativeAddr> = report
            .succeeded
            .iter()
            .map(|x| &x.0)
            .chain(report.failed.iter().map(|x| &x.0))
            .collect();
        for (addr, c) in changes {
            if matches!(c.action, Action::Create | Action::Replace) && !started.contains(addr) {
                pending
                    .batch
                    .entry(c.target.clone())
                    .or_default()
                    .push(StateChange::ClearIntent(addr.clone()));
            }
        }
        let settled = write_batch(sink, pending).and_then(|()| sink.sync());
        if let Err(e) = settled {
            stop_reason.get_or_insert_with(|| format!("could not write state: {e:#}"));
        }
        let Some(reason) = stop_reason else {
            return;
        };
        if reason != "interrupted" {
            self.reporter
                .event(Event::Warn(&format!("apply stopped: {reason}")));
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

    /// Record the intent of every create and replace of the plan, durably, before any of
    /// them starts. Inputs are resolved as far as they are known now; adoption after a
    /// crash finds resources by their owner tags and address, not by these inputs. Secrets
    /// the providers generate for the creates go into the intents too, and are returned so
    /// the creates use exactly the recorded values.
    fn write_ahead_intents(
        &self,
        changes: &BTreeMap<NativeAddr, &Change>,
        current: &BTreeMap<NativeAddr, NativeState>,
        sink: &mut dyn StateSink,
    ) -> anyhow::Result<HashMap<NativeAddr, Prepared>> {
        let mut prepared = HashMap::new();
        let pending: BTreeSet<NativeAddr> = changes
            .iter()
            .filter(|(_, c)| matches!(c.action, Action::Create | Action::Replace | Action::Update))
            .map(|(a, _)| a.clone())
            .collect();
        let known = self.known(current, &pending);
        let mut batch: BTreeMap<String, Vec<StateChange>> = BTreeMap::new();
        for (addr, c) in changes {
            let (Action::Create | Action::Replace, Some(d)) = (c.action, &c.desired) else {
                continue;
            };
            let inputs = known
                .resolve_attrs(&d.inputs)
                .unwrap_or_else(|_| d.inputs.clone());
            let generated = self
                .providers
                .get(&c.target)
                .map(|p| p.generate_secrets(&d.type_name))
                .unwrap_or_default();
            let intent = Intent {
                request: CreateRequest {
                    addr: addr.clone(),
                    kind: c.kind,
                    type_name: d.type_name.clone(),
                    inputs,
                    owner: self.owner(&c.target, addr),
                    secrets: generated,
                },
                depends_on: c.depends_on.clone(),
                sensitive: d.sensitive.clone(),
                force_new: d.force_new.clone(),
                protect: c.protect,
                recorded_at: crate::state::now_rfc3339(),
            };
            prepared.insert(
                addr.clone(),
                Prepared {
                    secrets: intent.request.secrets.clone(),
                    key: intent_key(&intent),
                },
            );
            batch
                .entry(c.target.clone())
                .or_default()
                .push(StateChange::Intent(intent));
        }
        for (target, list) in batch {
            sink.write_durable(&target, list)?;
        }
        Ok(prepared)
    }

    /// Prepare one node: resolve its inputs against what exists now and return the
    /// provider call as a task. An error fails only this node.
    fn prepare(
        &self,
        change: &Change,
        current: &BTreeMap<NativeAddr, NativeState>,
        prepared: Option<&Prepared>,
    ) -> Result<Task, String> {
        let addr = change.addr.clone();
        let action = change.action;
        let provider_for = |t: &str| -> Result<Arc<dyn Provider>, String> {
            self.providers
                .get(t)
                .cloned()
                .ok_or_else(|| format!("no provider for target `{t}`"))
        };
        let provider = provider_for(&change.target)?;
        let prior_target = change
            .prior_target
            .clone()
            .unwrap_or_else(|| change.target.clone());
        let prior_provider = provider_for(&prior_target)?;
        let mut inputs = overcast_core::Attrs::new();
        if let Some(desired) = &change.desired {
            let none = BTreeSet::new();
            inputs = self
                .known(current, &none)
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
            owner: self.owner(&change.target, &addr),
            secrets: prepared.map(|p| p.secrets.clone()).unwrap_or_default(),
        });
        let key = prepared.map_or_else(
            || crate::call::op_key(&change.target, &addr.to_string(), "create"),
            |p| p.key.clone(),
        );
        let calls = self.calls.clone();
        let target = change.target.clone();
        let prior = change.prior.clone();
        let task: Task = Box::pin(async move {
            let t0 = Instant::now();
            let mut old_deleted = false;
            let result = async {
                let need = |what: &str| ProviderError::fatal(format!("{action:?} without {what}"));
                match action {
                    Action::Create => {
                        let req = request.as_ref().ok_or_else(|| need("a desired state"))?;
                        calls
                            .create(&target, &*provider, req, &key)
                            .await
                            .map(Outcome::Written)
                    }
                    Action::Update => {
                        let prior = prior.as_ref().ok_or_else(|| need("a prior state"))?;
                        calls
                            .update(&target, &*provider, prior, &inputs)
                            .await
                            .map(Outcome::Written)
                    }
                    Action::Replace => {
                        let prior = prior.as_ref().ok_or_else(|| need("a prior state"))?;
                        let req = request.as_ref().ok_or_else(|| need("a desired state"))?;
                        calls.delete(&prior_target, &*prior_provider, prior).await?;
                        old_deleted = true;
                        calls
                            .create(&target, &*provider, req, &key)
                            .await
                            .map(Outcome::Written)
                    }
                    Action::Delete => {
                        let prior = prior.as_ref().ok_or_else(|| need("a prior state"))?;
                        calls
                            .delete(&prior_target, &*prior_provider, prior)
                            .await
                            .map(|()| Outcome::Deleted)
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
}

/// The outcome of a joined task. A task that panicked is a failure of its node, never a
/// lost one: its intent (if a create) is kept for the next run to adopt.
fn finished_task(
    joined: Result<(tokio::task::Id, Done), tokio::task::JoinError>,
    running_ids: &mut HashMap<tokio::task::Id, (NativeAddr, Action)>,
) -> Done {
    match joined {
        Ok((id, done)) => {
            running_ids.remove(&id);
            done
        }
        Err(e) => {
            let (addr, action) = running_ids
                .remove(&e.id())
                .unwrap_or_else(|| (NativeAddr::new("?", "?"), Action::NoOp));
            let why = if e.is_panic() {
                "the operation crashed (a bug in overcast or its provider; please report it)"
            } else {
                "the operation was aborted"
            };
            Done {
                addr,
                action,
                elapsed: Duration::ZERO,
                old_deleted: false,
                result: Err(ProviderError::fatal(format!(
                    "{why}; its outcome is unknown, so the next run checks the cloud before anything else"
                ))),
                inputs: overcast_core::Attrs::new(),
            }
        }
    }
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
            // failure (timeouts, throttling, conflicts, a crash) may have created something:
            // keep the intent so the next run adopts it.
            if matches!(done.action, Action::Create | Action::Replace)
                && matches!(e.class, ErrorClass::InvalidInput | ErrorClass::Auth)
                && !e.outcome_unknown
            {
                push(&change.target, StateChange::ClearIntent(done.addr.clone()));
            }
        }
    }
}

/// How long results may stay buffered (not fsynced). They survive a killed process either
/// way; this bounds what a power cut can lose (and recovery then re-adopts it anyway).
const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// Write the pending results: one journal write per target, fsynced at most every
/// [`SYNC_INTERVAL`].
fn write_batch(sink: &mut dyn StateSink, pending: &mut Pending) -> anyhow::Result<()> {
    for (target, list) in std::mem::take(&mut pending.batch) {
        if !list.is_empty() {
            sink.write_buffered(&target, list)?;
        }
    }
    if pending.last_sync.elapsed() >= SYNC_INTERVAL {
        sink.sync()?;
        pending.last_sync = Instant::now();
    }
    Ok(())
}

/// Crash-safety tests kill the process at exact points: with
/// `OVERCAST_TEST_CRASH_BEFORE_RECORD=<native address>`, the process kills itself with
/// SIGKILL after that native's provider call succeeded and before its state is written:
/// the worst moment, which the intent journal must make harmless. Only in builds with the
/// `test-hooks` feature (the test suite's): a user's binary ignores the variable.
#[cfg(feature = "test-hooks")]
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

#[cfg(not(feature = "test-hooks"))]
fn crash_point_for_tests(_: &[Done]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_operations_start_longest_chain_first_then_by_address() {
        let a = |s: &str| NativeAddr::new(s, "x");
        // c1 -> c2 -> c3 (a chain), and b, d independent.
        let mut g: Dag<NativeAddr> = Dag::new();
        for n in ["b", "c1", "c2", "c3", "d"] {
            g.add_node(a(n));
        }
        g.add_edge(a("c1"), a("c2"));
        g.add_edge(a("c2"), a("c3"));
        let order = g.topo_order().expect("a DAG");
        let len = critical_path_lengths(&g, &order);
        assert_eq!((len[&a("c1")], len[&a("c3")], len[&a("b")]), (3, 1, 1));
        let mut ready: BinaryHeap<Ready> = ["d", "b", "c1"]
            .into_iter()
            .map(|n| Ready::new(&a(n), &len))
            .collect();
        let popped: Vec<String> = std::iter::from_fn(|| ready.pop())
            .map(|r| r.addr.resource)
            .collect();
        assert_eq!(popped, ["c1", "b", "d"]);
    }
    use crate::call::RetryPolicy;
    use crate::testing::{Fake, observed};
    use crate::ui::QuietReporter;
    use overcast_core::{Attrs, NativeSpec};
    use tokio_util::sync::CancellationToken;

    /// A provider whose creates of `boom.*` panic and whose other creates succeed.
    fn panics() -> Fake {
        Fake {
            create: Box::new(|req| {
                let boom = req.addr.resource == "boom";
                let obs = observed(&req.addr.to_string());
                Box::pin(async move {
                    if boom {
                        panic!("provider bug");
                    }
                    Ok(obs)
                })
            }),
            ..Fake::default()
        }
    }

    /// A sink that keeps every change it is given, per target.
    #[derive(Default)]
    struct Recorder(Vec<(String, StateChange)>);

    impl StateSink for Recorder {
        fn write_durable(&mut self, t: &str, c: Vec<StateChange>) -> anyhow::Result<()> {
            self.0.extend(c.into_iter().map(|c| (t.to_string(), c)));
            Ok(())
        }
        fn write_buffered(&mut self, t: &str, c: Vec<StateChange>) -> anyhow::Result<()> {
            self.write_durable(t, c)
        }
        fn sync(&mut self) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn create(resource: &str, depends_on: &[&str]) -> Change {
        Change {
            addr: NativeAddr::new(resource, "thing"),
            kind: Kind::Queue,
            target: "t".into(),
            prior_target: None,
            type_name: "panics_thing".into(),
            action: Action::Create,
            attrs: Vec::new(),
            desired: Some(Box::new(NativeSpec::new(
                "thing",
                "panics_thing",
                Attrs::new(),
            ))),
            depends_on: depends_on
                .iter()
                .map(|r| NativeAddr::new(*r, "thing"))
                .collect(),
            prior: None,
            protect: false,
            reason: None,
        }
    }

    #[tokio::test]
    async fn a_panicking_operation_fails_its_node_and_keeps_its_intent() {
        let providers: BTreeMap<String, Arc<dyn Provider>> =
            [("t".to_string(), Arc::new(panics()) as Arc<dyn Provider>)].into();
        let (by_resource, resource_info) = (BTreeMap::new(), BTreeMap::new());
        let reporter: Arc<dyn Reporter> = Arc::new(QuietReporter);
        let executor = Executor {
            stack: "s",
            providers: &providers,
            by_resource: &by_resource,
            resource_info: &resource_info,
            calls: CallLayer::new(
                RetryPolicy::default(),
                reporter.clone(),
                4,
                CancellationToken::new(),
            ),
            reporter,
            parallelism: 4,
            phase: "apply",
        };
        let plan = Plan {
            format: crate::plan::PLAN_FORMAT,
            stack: "s".into(),
            spec_file: String::new(),
            spec_digest: String::new(),
            vars: BTreeMap::new(),
            destroy: false,
            states: BTreeMap::new(),
            changes: vec![
                create("boom", &[]),
                create("after", &["boom"]),
                create("fine", &[]),
            ],
        };
        let mut sink = Recorder::default();
        let report = executor
            .run(&plan, BTreeMap::new(), &mut sink)
            .await
            .expect("the run itself completes");
        let boom = NativeAddr::new("boom", "thing");
        assert!(
            report
                .failed
                .iter()
                .any(|(a, _, e)| *a == boom && e.contains("crashed")),
            "{report:?}"
        );
        assert_eq!(
            report.skipped.len(),
            1,
            "its dependent is skipped: {report:?}"
        );
        assert_eq!(
            report.succeeded.len(),
            1,
            "independent work goes on: {report:?}"
        );
        assert!(!report.interrupted, "a crashed node does not stop the run");
        // Its intent was written and never cleared: the next run checks the cloud for it.
        let intents =
            |f: &dyn Fn(&StateChange) -> bool| sink.0.iter().filter(|(_, c)| f(c)).count();
        assert_eq!(
            intents(&|c| matches!(c, StateChange::Intent(i) if i.request.addr == boom)),
            1
        );
        assert_eq!(
            intents(&|c| matches!(c, StateChange::ClearIntent(a) if *a == boom)),
            0,
            "the intent of a create that crashed must survive"
        );
    }
}

#[cfg(test)]
mod target_order_tests {
    use super::*;
    use crate::plan::Change;
    use overcast_core::NativeSpec;

    fn change(addr: NativeAddr, action: Action, deps: &[NativeAddr]) -> Change {
        let prior = NativeState {
            addr: addr.clone(),
            kind: if addr.is_target_native() {
                Kind::Target
            } else {
                Kind::Queue
            },
            type_name: "t".into(),
            id: "x".into(),
            inputs: Default::default(),
            outputs: Default::default(),
            depends_on: deps.to_vec(),
            sensitive: Vec::new(),
            force_new: Vec::new(),
            protect: false,
        };
        Change {
            addr: addr.clone(),
            kind: prior.kind,
            target: "main".into(),
            prior_target: None,
            type_name: "t".into(),
            action,
            attrs: Vec::new(),
            desired: (action != Action::Delete)
                .then(|| Box::new(NativeSpec::new(&addr.local, "t", Default::default()))),
            depends_on: deps.to_vec(),
            prior: (action == Action::Delete).then(|| Box::new(prior)),
            protect: false,
            reason: None,
        }
    }

    #[test]
    fn a_targets_natives_are_created_first_and_destroyed_last() {
        let group = NativeAddr::new("@main", "group");
        let thing = NativeAddr::new("a", "thing");
        for (action, first, last) in [
            (Action::Create, &group, &thing),
            (Action::Delete, &thing, &group),
        ] {
            let list = [
                change(group.clone(), action, &[]),
                change(thing.clone(), action, std::slice::from_ref(&group)),
            ];
            let changes: BTreeMap<NativeAddr, &Change> =
                list.iter().map(|c| (c.addr.clone(), c)).collect();
            let order = execution_graph(&changes).topo_order().expect("no cycle");
            let pos = |a: &NativeAddr| order.iter().position(|x| x == a).expect("in order");
            assert!(pos(first) < pos(last), "{action:?}: {order:?}");
        }
    }
}
