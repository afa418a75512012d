//! A session: one command's view of a stack — the validated spec, a provider per target,
//! the expanded desired natives, and the state of every target (locked when writing).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use overcast_core::kinds::Kind;
use overcast_core::{NativeAddr, NativeState, Provider};

use crate::call::{CallLayer, RetryPolicy};
use crate::engine::{self, Desired};
use crate::spec::Stack;
use crate::state::{self, StateStore};
use crate::ui::{Event, Reporter};

/// How a session opens state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAccess {
    /// Take the lock of every target (plan, apply, destroy).
    Lock(&'static str),
    /// Read without locking (output, state list).
    ReadOnly,
}

/// Settings of a session.
#[derive(Clone)]
pub struct SessionOptions {
    /// Lock or read-only.
    pub access: StateAccess,
    /// Maximum provider operations in flight.
    pub parallelism: usize,
    /// Retries and timeouts.
    pub policy: RetryPolicy,
    /// Where progress goes.
    pub reporter: Arc<dyn Reporter>,
    /// Stops new provider calls (the command cancels it on Ctrl-C).
    pub cancel: tokio_util::sync::CancellationToken,
}

/// One command's view of a stack.
pub struct Session {
    /// The validated spec.
    pub stack: Stack,
    /// `.overcast/` beside the spec.
    pub work_dir: PathBuf,
    /// A provider per declared target.
    pub providers: BTreeMap<String, Arc<dyn Provider>>,
    /// State per target (targets with resources or existing state).
    pub stores: BTreeMap<String, StateStore>,
    /// Desired natives.
    pub desired: Desired,
    /// Kind and target of each abstract resource.
    pub resource_info: BTreeMap<String, (Kind, String)>,
    /// Progress.
    pub reporter: Arc<dyn Reporter>,
    /// The call layer every provider call of the command goes through.
    pub calls: Arc<CallLayer>,
    /// Maximum provider operations in flight.
    pub parallelism: usize,
}

impl Session {
    /// Expand the stack, build providers and open the state of every target involved.
    pub fn open(stack: Stack, opts: SessionOptions) -> anyhow::Result<Session> {
        let work_dir = engine::work_dir(&stack);
        let providers = crate::registry::build_providers(&stack)?;
        // Expansion (pure computation) and reading state (file reads and parsing) do not
        // depend on each other: for a large stack each takes a good part of a second, and
        // on two cores they overlap. A failed expansion is reported first, as when they
        // ran in turn, and nothing is compacted then. State is read on the caller's
        // thread: it is the longer part and the larger allocation, and there it reuses the
        // memory the spec's validation just freed (measured: a steadier peak and a shorter
        // phase than the other way round).
        let (desired, opened) = std::thread::scope(|scope| {
            let expanding = scope.spawn(|| engine::expand(&stack, &providers));
            let opened = open_states(&stack, &work_dir, opts.access);
            let desired = expanding
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (desired, opened)
        });
        let mut opened = opened;
        if let Ok(opened) = &mut opened {
            // Taking over a dead holder's lock is said even when the expansion failed: the
            // lock is released on return and the next command could no longer tell.
            for (t, _, interrupted) in opened.iter_mut() {
                if let Some(prev) = interrupted.take() {
                    opts.reporter.event(Event::Warn(&format!(
                        "a previous `{}` on target `{t}` (pid {}, started {}) was interrupted; \
                         overcast will recover what it left half done",
                        prev.operation, prev.pid, prev.created
                    )));
                }
            }
        }
        let desired = desired?;
        let mut stores = BTreeMap::new();
        for (t, mut store, _) in opened? {
            if store.is_writable() {
                store
                    .compact()
                    .with_context(|| format!("compacting the state of target `{t}`"))?;
            }
            stores.insert(t, store);
        }
        let resource_info = engine::resource_info(&stack);
        Ok(Session {
            stack,
            work_dir,
            providers,
            stores,
            desired,
            resource_info,
            calls: CallLayer::new(
                opts.policy,
                opts.reporter.clone(),
                opts.parallelism,
                opts.cancel,
            ),
            reporter: opts.reporter,
            parallelism: opts.parallelism,
        })
    }

    /// Every native in state, merged across targets.
    pub fn all_states(&self) -> BTreeMap<NativeAddr, NativeState> {
        let mut out = BTreeMap::new();
        for store in self.stores.values() {
            for (a, s) in store.resources() {
                out.insert(a.clone(), s.clone());
            }
        }
        out
    }

    /// The state that holds the stack's outputs: the default target's.
    pub fn outputs_target(&self) -> Option<&str> {
        if self.stores.contains_key(&self.stack.default_target) {
            Some(self.stack.default_target.as_str())
        } else {
            self.stores.keys().next().map(String::as_str)
        }
    }

    /// Carry out a plan with this session's providers and call layer, writing to its
    /// state stores. Ctrl-C while it runs stops new operations (the ones in flight finish
    /// and are recorded); the handler is the command's, not the executor's.
    pub async fn execute(
        &mut self,
        plan: &crate::plan::Plan,
    ) -> anyhow::Result<crate::executor::ApplyReport> {
        let current = self.all_states();
        let Session {
            stack,
            providers,
            stores,
            desired,
            resource_info,
            reporter,
            calls,
            parallelism,
            ..
        } = self;
        let executor = crate::executor::Executor {
            stack: &stack.name,
            providers,
            by_resource: &desired.by_resource,
            resource_info,
            calls: calls.clone(),
            reporter: reporter.clone(),
            parallelism: *parallelism,
            phase: "apply",
        };
        let token = calls.cancel_token().clone();
        let on_ctrl_c = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                token.cancel();
            }
        });
        let report = executor.run(plan, current, stores).await;
        on_ctrl_c.abort();
        report
    }

    /// Write every store's snapshot (end of command).
    pub fn close(&mut self) -> anyhow::Result<()> {
        for (t, store) in &mut self.stores {
            if store.is_writable() {
                store
                    .compact()
                    .with_context(|| format!("saving the state of target `{t}`"))?;
            }
        }
        Ok(())
    }
}

/// A store opened for a session, its target, and the holder of the lock whose operation
/// was interrupted, if any.
type Opened = (String, StateStore, Option<state::LockInfo>);

/// Open the state of every target involved: targets with resources or with state.
fn open_states(
    stack: &Stack,
    work_dir: &std::path::Path,
    access: StateAccess,
) -> anyhow::Result<Vec<Opened>> {
    let mut targets: Vec<String> = stack
        .resources
        .values()
        .map(|r| r.target.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for t in state::list_targets(work_dir, &stack.name) {
        if !stack.targets.contains_key(&t) {
            // A target renamed or re-targeted after a destroy leaves an empty state
            // behind: nothing to destroy or keep, so it must not block the new spec.
            let held = StateStore::open_read_only(work_dir, &stack.name, &t)
                .with_context(|| format!("reading the state of target `{t}`"))?;
            if held.resources().is_empty() && held.intents().is_empty() {
                continue;
            }
            bail!(undeclared_target_message(stack, &t, &held));
        }
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    targets.sort();
    let mut opened = Vec::with_capacity(targets.len());
    for t in targets {
        match access {
            StateAccess::Lock(op) => {
                let (store, interrupted) = StateStore::open(work_dir, &stack.name, &t, op)
                    .with_context(|| format!("opening the state of target `{t}`"))?;
                opened.push((t, store, interrupted));
            }
            StateAccess::ReadOnly => {
                let store = StateStore::open_read_only(work_dir, &stack.name, &t)
                    .with_context(|| format!("reading the state of target `{t}`"))?;
                opened.push((t, store, None));
            }
        }
    }
    Ok(opened)
}

/// Addresses listed in full in a message; the rest are counted.
const LISTED_ADDRS: usize = 10;

/// `a, b, c`, or the first [`LISTED_ADDRS`] and how many more.
fn addr_list<'a>(addrs: impl ExactSizeIterator<Item = &'a NativeAddr>) -> String {
    let total = addrs.len();
    let shown: Vec<String> = addrs.take(LISTED_ADDRS).map(ToString::to_string).collect();
    match total.saturating_sub(LISTED_ADDRS) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Why a session refuses a state whose target the spec no longer declares, and the
/// two ways out, with the addresses to give them.
fn undeclared_target_message(stack: &Stack, target: &str, held: &StateStore) -> String {
    let file = stack.file.display();
    let resources = held.resources();
    let mut msg = format!(
        "the state of target `{target}` is not empty, and {file} no longer declares that target"
    );
    if !resources.is_empty() {
        msg.push_str(&format!(
            ":\n  it holds {} resource(s): {}",
            resources.len(),
            addr_list(resources.keys())
        ));
    }
    let intents = held.intents();
    if !intents.is_empty() {
        msg.push_str(&format!(
            "\n  and {} interrupted create(s) to recover: {}",
            intents.len(),
            addr_list(intents.keys())
        ));
    }
    msg.push_str(&format!(
        "\n  hint: to destroy them, declare target `{target}` again in {file} (with the provider \
         and settings it had) and run `overcast apply`: resources in state that no resource \
         places on it any more are destroyed; then remove the target again"
    ));
    if !resources.is_empty() {
        let addrs = if resources.len() <= LISTED_ADDRS {
            resources
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            "ADDR...".to_string()
        };
        msg.push_str(&format!(
            "\n  hint: to keep them in the cloud but stop managing them, forget them with \
             `overcast state rm --target {target} {addrs}`"
        ));
    }
    msg
}
