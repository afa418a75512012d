//! Refresh: recover work an interrupted apply left half done (intents), then read the
//! live state of every native in state, in parallel with bounded concurrency.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use overcast_core::native::LiveStatus;
use overcast_core::{NativeAddr, NativeState, ProviderError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::engine::StateView;
use crate::session::Session;
use crate::ui::Event;

/// The live view of everything in state, borrowed from the session's stores: without a
/// live read it is the recorded state itself, and a 100,000-resource plan copies nothing.
#[derive(Debug, Default, Clone)]
pub struct Live<'s> {
    /// Natives that exist, with their target and refreshed attributes.
    pub states: BTreeMap<&'s NativeAddr, Found<'s>>,
    /// Natives in state that no longer exist (deleted outside overcast), with their target.
    pub gone: BTreeMap<&'s NativeAddr, (&'s str, &'s NativeState)>,
    /// Natives whose live inputs differ from the inputs last applied.
    pub drifted: BTreeSet<&'s NativeAddr>,
    /// Natives their cloud reports as failed (they will not become usable), with why.
    pub failed: BTreeMap<&'s NativeAddr, String>,
}

/// A native that exists: its target and its state.
#[derive(Debug, Clone)]
pub struct Found<'s> {
    /// The target whose state holds it.
    pub target: &'s str,
    /// Its state.
    pub state: LiveState<'s>,
}

/// A native's state as the refresh found it: small either way, so that the map of a large
/// state stays small.
#[derive(Debug, Clone)]
pub enum LiveState<'s> {
    /// As recorded (no live read).
    Recorded(&'s NativeState),
    /// As read from the provider.
    Read(Box<NativeState>),
}

impl std::ops::Deref for LiveState<'_> {
    type Target = NativeState;
    fn deref(&self) -> &NativeState {
        match self {
            LiveState::Recorded(s) => s,
            LiveState::Read(s) => s,
        }
    }
}

impl Live<'_> {
    /// The target of a native that exists or is gone.
    pub fn target(&self, addr: &NativeAddr) -> Option<&str> {
        match self.states.get(addr) {
            Some(f) => Some(f.target),
            None => self.gone.get(addr).map(|(t, _)| *t),
        }
    }
}

impl StateView for Live<'_> {
    fn state(&self, addr: &NativeAddr) -> Option<&NativeState> {
        self.states.get(addr).map(|f| &*f.state)
    }
}

/// A refresh failure: which native, and the provider's error.
#[derive(Debug, thiserror::Error)]
#[error("reading `{addr}` on target `{target}` failed: {error}{}", hint(error))]
pub struct RefreshError {
    /// Native address.
    pub addr: NativeAddr,
    /// Target.
    pub target: String,
    /// The provider's error.
    pub error: ProviderError,
}

fn hint(e: &ProviderError) -> String {
    e.hint
        .as_ref()
        .map(|h| format!("\n  hint: {h}"))
        .unwrap_or_default()
}

/// Adopt or forget every intent left by an interrupted apply. Adopted resources are
/// written to state at once, so nothing an earlier run created is ever lost.
pub async fn recover_intents(session: &mut Session) -> Result<usize, RefreshError> {
    let mut recovered = 0;
    let targets: Vec<String> = session.stores.keys().cloned().collect();
    for target in targets {
        let Some(store) = session.stores.get(&target) else {
            continue;
        };
        let intents: Vec<_> = store.intents().values().cloned().collect();
        if intents.is_empty() {
            continue;
        }
        let Some(provider) = session.providers.get(&target).cloned() else {
            continue;
        };
        for intent in intents {
            let addr = intent.request.addr.clone();
            let found = session
                .calls
                .adopt(
                    &target,
                    &*provider,
                    &intent.request,
                    &crate::executor::intent_key(&intent),
                )
                .await
                .map_err(|error| RefreshError {
                    addr: addr.clone(),
                    target: target.clone(),
                    error,
                })?;
            let store = session
                .stores
                .get_mut(&target)
                .ok_or_else(|| RefreshError {
                    addr: addr.clone(),
                    target: target.clone(),
                    error: ProviderError::fatal("state store vanished"),
                })?;
            let result = match found {
                Some(obs) => {
                    recovered += 1;
                    session.reporter.event(Event::Note(&format!(
                        "{addr}: found the resource an interrupted apply created; adopting it into state"
                    )));
                    store.put(NativeState {
                        addr: addr.clone(),
                        kind: intent.request.kind,
                        type_name: intent.request.type_name.clone(),
                        id: obs.id,
                        inputs: obs.inputs,
                        outputs: obs.outputs,
                        depends_on: intent.depends_on.clone(),
                        sensitive: intent.sensitive.clone(),
                        force_new: intent.force_new.clone(),
                        protect: intent.protect,
                    })
                }
                None => store.clear_intent(&addr),
            };
            result.map_err(|e| RefreshError {
                addr: addr.clone(),
                target: target.clone(),
                error: ProviderError::fatal(e.to_string()),
            })?;
        }
    }
    Ok(recovered)
}

/// Read every native in state. With `read_live == false`, state is taken as it is.
pub async fn refresh(session: &Session, read_live: bool) -> Result<Live<'_>, RefreshError> {
    let mut live = Live::default();
    // Every recorded state with its target, in address order per target. Maps built from
    // whole sorted lists (rather than insert by insert) cost a fraction for large states;
    // an address recorded on two targets keeps the later target's, as inserts would.
    let recorded: Vec<(&str, &NativeState)> = session
        .stores
        .iter()
        .flat_map(|(target, store)| store.resources().values().map(|st| (target.as_str(), st)))
        .collect();
    if !read_live {
        live.states = recorded
            .iter()
            .map(|(target, st)| {
                let found = Found {
                    target,
                    state: LiveState::Recorded(st),
                };
                (&st.addr, found)
            })
            .collect();
        return Ok(live);
    }
    let todo = recorded;
    if todo.is_empty() {
        return Ok(live);
    }
    session.reporter.event(Event::PhaseStarted {
        name: "refresh",
        total: todo.len(),
    });
    let limit = Arc::new(Semaphore::new(session.parallelism.max(1)));
    let mut tasks = JoinSet::new();
    // Which native each task reads: a task that panics must still fail its native's read,
    // or the diff would see the native neither existing nor gone and plan a second create.
    let mut task_index: HashMap<tokio::task::Id, usize> = HashMap::new();
    for (index, (target, prior)) in todo.iter().enumerate() {
        let Some(provider) = session.providers.get(*target).cloned() else {
            return Err(RefreshError {
                addr: prior.addr.clone(),
                target: target.to_string(),
                error: ProviderError::fatal(format!("no provider for target `{target}`")),
            });
        };
        let limit = limit.clone();
        let calls = session.calls.clone();
        let reporter = session.reporter.clone();
        let target = target.to_string();
        // The task outlives this borrow of the session: it reads a copy.
        let prior = (*prior).clone();
        let handle = tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let r = calls.read(&target, &*provider, &prior).await;
            reporter.event(Event::PhaseProgress { name: "refresh" });
            (prior, r)
        });
        task_index.insert(handle.id(), index);
    }
    let mut first_error = None;
    while let Some(joined) = tasks.join_next_with_id().await {
        let (id, outcome) = match joined {
            Ok((id, (prior, r))) => (id, Some((prior, r))),
            Err(e) => (e.id(), None),
        };
        let Some((target, recorded)) = task_index.get(&id).and_then(|i| todo.get(*i)).copied()
        else {
            continue;
        };
        let (prior, r) = outcome.unwrap_or_else(|| {
            let crashed = ProviderError::fatal(
                "reading it crashed (a bug in overcast or its provider; please report it); \
                 nothing was planned for it",
            );
            ((*recorded).clone(), Err(crashed))
        });
        let addr = &recorded.addr;
        match r {
            Ok(Some(obs)) => {
                if obs.inputs != prior.inputs {
                    live.drifted.insert(addr);
                }
                match &obs.status {
                    LiveStatus::Failed(why) => {
                        live.failed.insert(addr, why.clone());
                    }
                    LiveStatus::Provisioning(what) => {
                        session.reporter.event(Event::Note(&format!(
                            "{addr}: still provisioning ({what}); its attributes may change"
                        )));
                    }
                    LiveStatus::Ready | LiveStatus::Deleting => {}
                }
                let mut st = prior;
                st.id = obs.id;
                st.inputs = obs.inputs;
                st.outputs = obs.outputs;
                let found = Found {
                    target,
                    state: LiveState::Read(Box::new(st)),
                };
                live.states.insert(addr, found);
            }
            Ok(None) => {
                live.gone.insert(addr, (target, recorded));
            }
            Err(error) if error.class == overcast_core::ErrorClass::NotFound => {
                live.gone.insert(addr, (target, recorded));
            }
            Err(error) => {
                if first_error.is_none() {
                    first_error = Some(RefreshError {
                        addr: addr.clone(),
                        target: target.to_string(),
                        error,
                    });
                }
            }
        }
    }
    session
        .reporter
        .event(Event::PhaseFinished { name: "refresh" });
    match first_error {
        Some(e) => Err(e),
        None => Ok(live),
    }
}
