//! Deleting what a nuke selected, on the same executor as `destroy`: each resource a
//! `Delete` change whose prior state comes from its provider's `discovered_state`, the
//! dependency graph from what the provider linked (a user is deleted before what it
//! uses). A failure the graph did not foresee (a dependency it did not know) is tried
//! again in the next round, after everything else; the run stops when a whole round
//! deletes nothing, and what is left is reported with the reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use overcast_core::discovery::DiscoveredResource;
use overcast_core::{NativeAddr, NativeState, Provider};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::call::CallLayer;
use crate::executor::{Executor, StateSink};
use crate::graph::Dag;
use crate::plan::{Action, Change, PLAN_FORMAT, Plan};
use crate::state::Change as StateChange;
use crate::ui::{Event, Reporter};

/// One resource in the final report.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Its type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Its id.
    pub id: String,
    /// Its provider-wide name.
    pub arn: String,
    /// Why it is left (or how it went), empty for a deleted one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
}

impl Outcome {
    fn of(r: &DiscoveredResource, why: impl Into<String>) -> Outcome {
        Outcome {
            resource_type: r.resource_type.clone(),
            id: r.id.clone(),
            arn: r.arn.clone(),
            why: why.into(),
        }
    }
}

/// What a real run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteReport {
    /// Deleted (or found already gone).
    pub deleted: Vec<Outcome>,
    /// Still there: its own delete failed in the last round; `why` is the error.
    pub failed: Vec<Outcome>,
    /// Still there, never attempted: a type the provider cannot delete, or something that
    /// uses it was not deleted.
    pub skipped: Vec<Outcome>,
    /// Rounds run.
    pub rounds: usize,
    /// The run was interrupted (Ctrl-C).
    pub interrupted: bool,
}

impl DeleteReport {
    /// Whether everything selected is gone.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

/// A sink that keeps nothing: a nuke writes no state (the resources it deletes are not
/// in this command's state; a stack whose resources were deleted sees them gone at its
/// next refresh).
struct NoState;

impl StateSink for NoState {
    fn write_durable(&mut self, _: &str, _: Vec<StateChange>) -> anyhow::Result<()> {
        Ok(())
    }
    fn write_buffered(&mut self, _: &str, _: Vec<StateChange>) -> anyhow::Result<()> {
        Ok(())
    }
    fn sync(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Where the deletion runs.
pub struct Deleter {
    /// The target's name (the call layer's budgets are per target).
    pub target: String,
    /// Its provider.
    pub provider: Arc<dyn Provider>,
    /// The call layer.
    pub calls: Arc<CallLayer>,
    /// Progress.
    pub reporter: Arc<dyn Reporter>,
    /// Operations in flight at most.
    pub parallelism: usize,
}

/// A reporter that also counts each finished deletion in its type's tally.
struct TypeTallies {
    inner: Arc<dyn Reporter>,
    type_of: HashMap<NativeAddr, String>,
}

impl Reporter for TypeTallies {
    fn event(&self, e: Event<'_>) {
        if let Event::OpFinished { addr, .. } = &e
            && let Some(t) = self.type_of.get(*addr)
        {
            self.inner.event(Event::TallyProgress { name: t });
        }
        self.inner.event(e);
    }
    fn suspend(&self, f: &mut dyn FnMut()) {
        self.inner.suspend(f)
    }
    fn finish(&self) {
        self.inner.finish()
    }
}

/// A unique, readable address per resource: `<type>.<name>` (its name, or the last segment
/// of its id), numbered on collision.
fn addresses(found: &[DiscoveredResource]) -> Vec<NativeAddr> {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '[' | ']') {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut seen: BTreeSet<NativeAddr> = BTreeSet::new();
    found
        .iter()
        .map(|r| {
            let ty = clean(&r.resource_type).replace('-', "_");
            let short = match &r.name {
                Some(n) if !n.is_empty() => clean(n),
                _ => clean(
                    r.id.trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or(&r.id),
                ),
            };
            let mut addr = NativeAddr::new(ty.clone(), short.clone());
            let mut n = 2;
            while seen.contains(&addr) {
                addr = NativeAddr::new(ty.clone(), format!("{short}-{n}"));
                n += 1;
            }
            seen.insert(addr.clone());
            addr
        })
        .collect()
}

/// The deletion edges among `found` (user index, used index), with the edges that closed a
/// cycle dropped (the rounds then sort those out) and reported.
pub fn deletion_edges(found: &[DiscoveredResource]) -> (Vec<(usize, usize)>, Vec<String>) {
    let index: HashMap<&str, usize> = found
        .iter()
        .enumerate()
        .map(|(i, r)| (r.arn.as_str(), i))
        .collect();
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (i, r) in found.iter().enumerate() {
        for used in &r.uses {
            if let Some(&j) = index.get(used.as_str())
                && j != i
            {
                edges.push((i, j));
            }
        }
    }
    let mut dropped = Vec::new();
    loop {
        let mut g: Dag<usize> = Dag::new();
        for i in 0..found.len() {
            g.add_node(i);
        }
        for &(i, j) in &edges {
            g.add_edge(i, j);
        }
        match g.topo_order() {
            Ok(_) => return (edges, dropped),
            Err(cycle) => {
                // Drop one edge of the cycle: the one from its first member.
                let Some(pos) = edges
                    .iter()
                    .position(|&(i, j)| cycle.contains(&i) && cycle.contains(&j))
                else {
                    return (edges, dropped);
                };
                let (i, j) = edges.remove(pos);
                dropped.push(format!(
                    "{} and {} use each other; whichever the cloud refuses first is tried again after the other",
                    found[i].id, found[j].id
                ));
            }
        }
    }
}

impl Deleter {
    /// Delete every one of `found`, users before what they use.
    pub async fn run(&self, found: &[DiscoveredResource]) -> anyhow::Result<DeleteReport> {
        let mut report = DeleteReport::default();
        // Each resource as a state its provider can delete.
        let states = self.states(found).await;
        let addrs = addresses(found);
        let (edges, dropped) = deletion_edges(found);
        for d in &dropped {
            self.reporter.event(Event::Warn(d));
        }
        let mut uses: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, j) in edges {
            uses.entry(i).or_default().push(j);
        }
        let mut changes: BTreeMap<NativeAddr, (usize, Change)> = BTreeMap::new();
        for (i, r) in found.iter().enumerate() {
            match &states[i] {
                Ok(Some(state)) => {
                    let mut prior = state.clone();
                    // The executor deletes a native before the natives its prior state
                    // depends on: here, what it uses.
                    prior.depends_on = uses
                        .get(&i)
                        .map(|js| js.iter().map(|&j| addrs[j].clone()).collect())
                        .unwrap_or_default();
                    changes.insert(
                        addrs[i].clone(),
                        (i, delete_change(&addrs[i], &self.target, prior)),
                    );
                }
                Ok(None) => report.skipped.push(Outcome::of(
                    r,
                    "overcast cannot delete this type on this cloud",
                )),
                Err(e) => report.failed.push(Outcome::of(r, e.clone())),
            }
        }
        let mut tallies: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, _) in changes.values() {
            *tallies.entry(found[*i].resource_type.as_str()).or_default() += 1;
        }
        for (name, total) in &tallies {
            self.reporter.event(Event::TallyStarted {
                name,
                total: *total,
            });
        }
        let reporter: Arc<dyn Reporter> = Arc::new(TypeTallies {
            inner: self.reporter.clone(),
            type_of: changes
                .iter()
                .map(|(a, (i, _))| (a.clone(), found[*i].resource_type.clone()))
                .collect(),
        });
        let providers: BTreeMap<String, Arc<dyn Provider>> =
            [(self.target.clone(), self.provider.clone())].into();
        let (by_resource, resource_info) = (BTreeMap::new(), BTreeMap::new());
        let executor = Executor {
            stack: "nuke",
            providers: &providers,
            by_resource: &by_resource,
            resource_info: &resource_info,
            calls: self.calls.clone(),
            reporter,
            parallelism: self.parallelism,
            phase: "nuke",
        };
        let mut last_error: BTreeMap<NativeAddr, String> = BTreeMap::new();
        let mut waiting: BTreeMap<NativeAddr, String> = BTreeMap::new();
        while !changes.is_empty() {
            report.rounds += 1;
            if report.rounds > 1 {
                self.reporter.event(Event::Note(&format!(
                    "round {}: {} resource(s) left, trying again after the others went",
                    report.rounds,
                    changes.len()
                )));
            }
            let plan = Plan {
                format: PLAN_FORMAT,
                stack: "nuke".into(),
                spec_file: String::new(),
                spec_digest: String::new(),
                vars: BTreeMap::new(),
                destroy: true,
                states: BTreeMap::new(),
                changes: changes.values().map(|(_, c)| c.clone()).collect(),
            };
            let round = executor.run(&plan, BTreeMap::new(), &mut NoState).await?;
            let deleted: BTreeSet<NativeAddr> =
                round.succeeded.iter().map(|(a, _)| a.clone()).collect();
            // In the order they finished: users before what they use.
            for (a, _) in &round.succeeded {
                if let Some((i, _)) = changes.remove(a) {
                    report.deleted.push(Outcome::of(&found[i], ""));
                }
            }
            for (a, _, e) in &round.failed {
                last_error.insert(a.clone(), e.clone());
                waiting.remove(a);
            }
            for (a, _, why) in &round.skipped {
                // The executor words it for a destroy ("depends on X, which failed"); here X
                // is a resource that uses this one.
                let why = match why
                    .strip_prefix("depends on ")
                    .and_then(|r| r.strip_suffix(", which failed"))
                {
                    Some(user) => format!("still used by {user}, which could not be deleted"),
                    None => why.clone(),
                };
                waiting.insert(a.clone(), why);
                last_error.remove(a);
            }
            // The survivors no longer wait for what is gone.
            for (_, c) in changes.values_mut() {
                if let Some(p) = c.prior.as_mut() {
                    p.depends_on.retain(|d| !deleted.contains(d));
                }
            }
            if round.interrupted {
                report.interrupted = true;
                break;
            }
            if deleted.is_empty() {
                break;
            }
        }
        for (addr, (i, _)) in changes {
            let r = &found[i];
            match (last_error.get(&addr), waiting.get(&addr)) {
                (Some(e), _) => report.failed.push(Outcome::of(r, e.clone())),
                (None, Some(w)) => report.skipped.push(Outcome::of(r, w.clone())),
                (None, None) => report
                    .skipped
                    .push(Outcome::of(r, "not started: the run was interrupted")),
            }
        }
        Ok(report)
    }

    /// Each resource's deletable state, read in parallel under the call layer's budgets.
    async fn states(
        &self,
        found: &[DiscoveredResource],
    ) -> Vec<Result<Option<NativeState>, String>> {
        let mut out: Vec<Result<Option<NativeState>, String>> =
            (0..found.len()).map(|_| Ok(None)).collect();
        let mut set: JoinSet<(usize, Result<Option<NativeState>, String>)> = JoinSet::new();
        let mut index_of: HashMap<tokio::task::Id, usize> = HashMap::new();
        let mut next = 0;
        let width = self.parallelism.max(1);
        while next < found.len() || !set.is_empty() {
            while next < found.len() && set.len() < width {
                let (calls, provider, target, r) = (
                    self.calls.clone(),
                    self.provider.clone(),
                    self.target.clone(),
                    found[next].clone(),
                );
                let i = next;
                let handle = set.spawn(async move {
                    let s = calls
                        .discovered_state(&target, &*provider, &r)
                        .await
                        .map_err(|e| e.to_report());
                    (i, s)
                });
                index_of.insert(handle.id(), i);
                next += 1;
            }
            match set.join_next_with_id().await {
                Some(Ok((_, (i, s)))) => out[i] = s,
                Some(Err(e)) => {
                    // A panicking provider fails only that resource.
                    if let Some(&i) = index_of.get(&e.id()) {
                        out[i] = Err(format!(
                            "reading it for deletion crashed (a bug in overcast or its provider; please report it): {e}"
                        ));
                    }
                }
                None => {}
            }
        }
        out
    }
}

fn delete_change(addr: &NativeAddr, target: &str, prior: NativeState) -> Change {
    Change {
        addr: addr.clone(),
        kind: prior.kind,
        target: target.to_string(),
        prior_target: None,
        type_name: prior.type_name.clone(),
        action: Action::Delete,
        attrs: Vec::new(),
        desired: None,
        depends_on: Vec::new(),
        prior: Some(Box::new(prior)),
        protect: false,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str, uses: &[&str]) -> DiscoveredResource {
        let mut x = DiscoveredResource::new(id, "t:x", id, BTreeMap::new());
        for u in uses {
            x.add_use(*u);
        }
        x
    }

    #[test]
    fn addresses_are_readable_and_unique() {
        let found = vec![
            DiscoveredResource::new("a", "s3:bucket", "logs.example", BTreeMap::new()),
            DiscoveredResource::new("b", "s3:bucket", "x/logs.example", BTreeMap::new()),
        ];
        let a = addresses(&found);
        assert_eq!(a[0].to_string(), "s3_bucket.logs-example");
        let named = DiscoveredResource::new("c", "ec2:instance", "i-1", BTreeMap::new())
            .with_name("web server");
        assert_eq!(
            addresses(&[named])[0].to_string(),
            "ec2_instance.web-server"
        );
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn cycles_lose_one_edge_and_say_so() {
        let found = vec![r("a", &["b"]), r("b", &["a"]), r("c", &["a"])];
        let (edges, dropped) = deletion_edges(&found);
        assert_eq!(edges.len(), 2, "{edges:?}");
        assert_eq!(dropped.len(), 1);
        assert!(edges.contains(&(2, 0)));
    }

    #[test]
    fn uses_of_resources_not_selected_are_ignored() {
        let found = vec![r("a", &["gone", "b"]), r("b", &[])];
        assert_eq!(deletion_edges(&found).0, vec![(0, 1)]);
    }
}
