//! Expansion: every abstract resource of a stack becomes native resources through its
//! target's provider, and the native dependency graph is built. Also the resolution of
//! references against what is known so far (shared by plan and apply).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};
use overcast_core::kinds::Kind;
use overcast_core::provider::{AbstractResource, Provider};
use overcast_core::refs::{self, Lookup, Ref, RefError};
use overcast_core::{Attrs, NativeAddr, NativeSpec, NativeState};
use serde_json::Value;

use crate::graph::Dag;
use crate::spec::Stack;

/// Errors of expansion and resolution.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A target names a provider this build does not include.
    #[error("target `{target}` ({location}) uses provider `{provider}`, {why}")]
    ProviderUnavailable {
        /// Target name.
        target: String,
        /// Provider name.
        provider: String,
        /// Where the target is declared.
        location: String,
        /// Why and what to do.
        why: String,
    },
    /// A provider could not be set up (bad settings, missing credentials).
    #[error("target `{target}`: {message}")]
    ProviderSetup {
        /// Target name.
        target: String,
        /// The provider's message.
        message: String,
    },
    /// A provider refused to expand a resource.
    #[error("resource `{resource}` ({location}): {message}")]
    Expand {
        /// Logical name.
        resource: String,
        /// Where it is declared.
        location: String,
        /// The provider's message.
        message: String,
    },
    /// A native dependency cycle (a provider bug, or references forming a loop).
    #[error("dependency cycle between native resources: {0}")]
    Cycle(String),
    /// A reference that cannot be resolved.
    #[error("{0}")]
    Reference(String),
}

impl From<RefError> for EngineError {
    fn from(e: RefError) -> Self {
        EngineError::Reference(e.message)
    }
}

/// The working directory of a stack: `.overcast/` beside its spec file.
pub fn work_dir(stack: &Stack) -> PathBuf {
    stack.dir.join(".overcast")
}

/// One native resource the stack wants.
#[derive(Debug, Clone)]
pub struct DesiredNative {
    /// Address.
    pub addr: NativeAddr,
    /// Kind of its abstract resource.
    pub kind: Kind,
    /// Target name.
    pub target: String,
    /// What the provider expanded (inputs may hold references).
    pub spec: NativeSpec,
    /// Whether its abstract resource is protected.
    pub protect: bool,
}

/// The whole desired native model of a stack.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Every native by address.
    pub natives: BTreeMap<NativeAddr, DesiredNative>,
    /// Natives of each abstract resource, in expansion order.
    pub by_resource: BTreeMap<String, Vec<NativeAddr>>,
    /// Dependency graph of the natives.
    pub graph: Dag<NativeAddr>,
}

impl Desired {
    /// The natives `addr` must come after, in address order.
    pub fn deps_of<'a>(
        &'a self,
        addr: &NativeAddr,
    ) -> impl Iterator<Item = &'a NativeAddr> + use<'a> {
        self.graph.deps_of(addr)
    }
}

/// Expand every resource of the stack through its target's provider.
pub fn expand(
    stack: &Stack,
    providers: &BTreeMap<String, Arc<dyn Provider>>,
) -> Result<Desired, EngineError> {
    // Collected, then built into maps in one sorted pass each (cheaper than an insert per
    // native into maps of 100,000 string-keyed entries; a repeated address keeps the last
    // one, as inserts would).
    let mut natives = Vec::with_capacity(stack.resources.len());
    let mut by_resource = Vec::with_capacity(stack.resources.len());
    for (name, res) in &stack.resources {
        let provider = providers
            .get(&res.target)
            .ok_or_else(|| EngineError::Expand {
                resource: name.clone(),
                location: res.location.to_string(),
                message: format!("target `{}` has no provider", res.target),
            })?;
        let abstract_res = AbstractResource {
            name: name.clone(),
            properties: res.properties.clone(),
            referenced_kinds: res.referenced.clone(),
        };
        let specs = provider
            .expand(&abstract_res)
            .map_err(|e| EngineError::Expand {
                resource: name.clone(),
                location: res.location.to_string(),
                message: match &e.hint {
                    Some(h) => format!("{} (hint: {h})", e.message),
                    None => e.message.clone(),
                },
            })?;
        let mut addrs = Vec::with_capacity(specs.len());
        for mut spec in specs {
            spec.inputs = crate::attrs::exact_capacity(spec.inputs);
            let addr = NativeAddr::new(name.clone(), spec.local.clone());
            addrs.push(addr.clone());
            natives.push((
                addr.clone(),
                DesiredNative {
                    addr,
                    kind: res.kind,
                    target: res.target.clone(),
                    spec,
                    protect: res.protect,
                },
            ));
        }
        by_resource.push((name.clone(), addrs));
    }
    expand_targets(stack, providers, &mut natives, &mut by_resource)?;
    let mut desired = Desired {
        natives: natives.into_iter().collect(),
        by_resource: by_resource.into_iter().collect(),
        graph: Dag::new(),
    };
    link(stack, &mut desired)?;
    Ok(desired)
}

/// The natives of every target that has resources: created before anything of the target,
/// destroyed after everything of it (see [`Provider::expand_target`]).
fn expand_targets(
    stack: &Stack,
    providers: &BTreeMap<String, Arc<dyn Provider>>,
    natives: &mut Vec<(NativeAddr, DesiredNative)>,
    by_resource: &mut Vec<(String, Vec<NativeAddr>)>,
) -> Result<(), EngineError> {
    let used: BTreeSet<&str> = stack
        .resources
        .values()
        .map(|r| r.target.as_str())
        .collect();
    for target in used {
        let Some(provider) = providers.get(target) else {
            continue;
        };
        let specs = provider
            .expand_target()
            .map_err(|e| EngineError::ProviderSetup {
                target: target.to_string(),
                message: e.to_report(),
            })?;
        if specs.is_empty() {
            continue;
        }
        let resource = NativeAddr::target_resource(target);
        let mut addrs = Vec::with_capacity(specs.len());
        for spec in specs {
            let addr = NativeAddr::new(resource.clone(), spec.local.clone());
            addrs.push(addr.clone());
            natives.push((
                addr.clone(),
                DesiredNative {
                    addr,
                    kind: Kind::Target,
                    target: target.to_string(),
                    spec,
                    protect: false,
                },
            ));
        }
        by_resource.push((resource, addrs));
    }
    Ok(())
}

/// Fill in dependencies: intra-expansion, resource-level, and native references.
fn link(stack: &Stack, desired: &mut Desired) -> Result<(), EngineError> {
    let Desired { natives, graph, .. } = desired;
    // Nodes are numbered in address order. Addresses sort by resource first, so the natives
    // of each resource are one run of numbers: dependencies resolve to numbers without a
    // search of the graph per edge (a large stack has as many edges as natives).
    *graph = Dag::with_sorted_nodes(natives.keys().cloned());
    let mut runs: HashMap<&str, Range<usize>> = HashMap::with_capacity(natives.len());
    for (i, addr) in natives.keys().enumerate() {
        runs.entry(addr.resource.as_str())
            .and_modify(|r| r.end = i + 1)
            .or_insert(i..i + 1);
    }
    let run = |resource: &str| runs.get(resource).cloned().unwrap_or(0..0);
    // The number of a native, if it exists.
    let locals: Vec<&str> = natives.keys().map(|a| a.local.as_str()).collect();
    let find = |resource: &str, local: &str| run(resource).find(|i| locals[*i] == local);
    let mut edges: Vec<(usize, usize)> = Vec::new();
    // The natives of each target come before every other native of that target.
    let target_runs: HashMap<&str, Range<usize>> = natives
        .values()
        .filter(|n| n.addr.is_target_native())
        .map(|n| (n.target.as_str(), run(&n.addr.resource)))
        .collect();
    let mut res: Option<(&str, Option<&crate::spec::Resource>)> = None;
    for (id, (addr, n)) in natives.iter().enumerate() {
        if !addr.is_target_native()
            && let Some(first) = target_runs.get(n.target.as_str())
        {
            edges.extend(first.clone().map(|dep| (dep, id)));
        }
        for local in &n.spec.depends_on {
            let Some(dep) = find(&addr.resource, local) else {
                let dep = NativeAddr::new(addr.resource.clone(), local.clone());
                return Err(EngineError::Expand {
                    resource: addr.resource.clone(),
                    location: String::new(),
                    message: format!(
                        "native `{addr}` depends on `{dep}`, which the expansion does not contain"
                    ),
                });
            };
            edges.push((dep, id));
        }
        // One lookup per resource, not per native: its natives come one after another.
        let this = match res {
            Some((name, r)) if name == addr.resource => r,
            _ => {
                let r = stack.resources.get(&addr.resource);
                res = Some((addr.resource.as_str(), r));
                r
            }
        };
        for dep_res in this.into_iter().flat_map(|r| &r.depends_on) {
            edges.extend(run(dep_res).map(|dep| (dep, id)));
        }
        let mut bad: Option<String> = None;
        for v in n.spec.inputs.values() {
            refs::visit_refs(v, &mut |r| match r {
                Ref::Native {
                    resource, local, ..
                } => match find(resource, local) {
                    Some(dep) => edges.push((dep, id)),
                    None => {
                        let dep = NativeAddr::new(resource.clone(), local.clone());
                        bad = Some(format!(
                            "`{addr}` refers to `{r}`, but no native `{dep}` exists"
                        ));
                    }
                },
                Ref::Resource { name, .. } => edges.extend(run(name).map(|dep| (dep, id))),
                Ref::Var(_) => {}
            })?;
        }
        if let Some(b) = bad {
            return Err(EngineError::Reference(b));
        }
    }
    for (dep, id) in edges {
        graph.add_edge_ids(dep, id);
    }
    graph
        .topo_order_ids()
        .map_err(|c| EngineError::Cycle(Dag::cycle_to_string(&c)))?;
    Ok(())
}

/// Read access to native states by address, whoever holds them (a map of owned states
/// while applying, states borrowed from the stores while planning).
pub trait StateView {
    /// The state of `addr`, if it exists.
    fn state(&self, addr: &NativeAddr) -> Option<&NativeState>;
}

impl StateView for BTreeMap<NativeAddr, NativeState> {
    fn state(&self, addr: &NativeAddr) -> Option<&NativeState> {
        self.get(addr)
    }
}

/// What is known about native values while planning or applying.
pub struct Known<'a> {
    /// Current (refreshed or just-applied) states by address.
    pub states: &'a dyn StateView,
    /// Natives whose values are only known after apply.
    pub pending: &'a BTreeSet<NativeAddr>,
    /// Natives of each abstract resource.
    pub by_resource: &'a BTreeMap<String, Vec<NativeAddr>>,
    /// Kind and target of each abstract resource.
    pub resource_info: &'a BTreeMap<String, (Kind, String)>,
    /// Providers by target.
    pub providers: &'a BTreeMap<String, Arc<dyn Provider>>,
}

impl Known<'_> {
    /// The abstract attributes of a resource, or `None` if any native is still pending.
    pub fn resource_outputs(&self, name: &str) -> Option<Attrs> {
        let addrs = self.by_resource.get(name)?;
        if addrs.iter().any(|a| self.pending.contains(a)) {
            return None;
        }
        let states: Vec<&NativeState> = addrs.iter().filter_map(|a| self.states.state(a)).collect();
        if states.len() != addrs.len() {
            return None;
        }
        let (kind, target) = self.resource_info.get(name)?;
        let provider = self.providers.get(target)?;
        Some(provider.outputs(*kind, &states))
    }

    /// Look up one reference.
    pub fn lookup(&self, r: &Ref) -> Result<Lookup, EngineError> {
        match r {
            Ref::Var(name) => Err(EngineError::Reference(format!(
                "variable reference `{r}` was not substituted (unknown variable `{name}`)"
            ))),
            Ref::Resource { name, attr } => {
                if !self.by_resource.contains_key(name) {
                    return Err(EngineError::Reference(format!(
                        "`{r}` refers to resource `{name}`, which is not in the stack"
                    )));
                }
                match self.resource_outputs(name) {
                    None => Ok(Lookup::Unknown),
                    Some(outputs) => {
                        let attr = attr.as_deref().unwrap_or("id");
                        Ok(Lookup::Known(
                            outputs.get(attr).cloned().unwrap_or(Value::Null),
                        ))
                    }
                }
            }
            Ref::Native {
                resource,
                local,
                attr,
            } => {
                let addr = NativeAddr::new(resource.clone(), local.clone());
                if self.pending.contains(&addr) {
                    return Ok(Lookup::Unknown);
                }
                match self.states.state(&addr) {
                    None => Ok(Lookup::Unknown),
                    Some(s) => Ok(Lookup::Known(
                        s.outputs
                            .get(attr)
                            .or_else(|| s.inputs.get(attr))
                            .cloned()
                            .unwrap_or(Value::Null),
                    )),
                }
            }
        }
    }

    /// [`Known::resolve_attrs`], borrowing `inputs` when they hold no reference (most
    /// natives of a large stack: a no-op plan then copies none of them).
    pub fn resolve_attrs_cow<'i>(&self, inputs: &'i Attrs) -> Result<Cow<'i, Attrs>, EngineError> {
        if inputs.values().any(may_hold_refs) {
            self.resolve_attrs(inputs).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(inputs))
        }
    }

    /// Resolve every reference in a set of inputs.
    pub fn resolve_attrs(&self, inputs: &Attrs) -> Result<Attrs, EngineError> {
        let mut out = Attrs::with_capacity(inputs.len());
        for (k, v) in inputs {
            out.insert(k.clone(), refs::resolve(v, &mut |r| self.lookup(r))?);
        }
        Ok(out)
    }

    /// Resolve a single value (stack outputs).
    pub fn resolve_value(&self, v: &Value) -> Result<Value, EngineError> {
        refs::resolve(v, &mut |r| self.lookup(r))
    }
}

/// Whether `v` holds a string containing `${`: a reference, or the escape `$${` that
/// resolution rewrites. A value without one resolves to itself.
fn may_hold_refs(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(may_hold_refs),
        Value::Object(o) => o.values().any(may_hold_refs),
        _ => false,
    }
}

/// Kind and target of every abstract resource of the stack, and of every target's own
/// natives (`@<target>`, see [`Provider::expand_target`]).
pub fn resource_info(stack: &Stack) -> BTreeMap<String, (Kind, String)> {
    let targets = stack.targets.keys().map(|t| {
        (
            NativeAddr::target_resource(t),
            (Kind::Target, t.to_string()),
        )
    });
    stack
        .resources
        .iter()
        .map(|(n, r)| (n.clone(), (r.kind, r.target.clone())))
        .chain(targets)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fake;

    /// A provider with one target-wide native (`group`, as an Azure resource group) and
    /// one native per resource.
    fn grouped() -> Fake {
        Fake {
            natives: vec![NativeSpec::new("thing", "grouped_thing", Attrs::new())],
            target_natives: vec![NativeSpec::new("group", "grouped_group", Attrs::new())],
            ..Fake::default()
        }
    }

    fn stack() -> Stack {
        let yaml = "stack: s\ndefault_target: main\ntargets:\n  main:\n    provider: local\n  spare:\n    provider: local\nresources:\n  a:\n    kind: queue\n    target: main\n  b:\n    kind: storage\n    target: main\n";
        crate::spec::load_str(
            std::path::Path::new("overcast.yaml"),
            yaml,
            &BTreeMap::new(),
        )
        .expect("valid spec")
    }

    #[test]
    fn a_targets_own_natives_come_before_everything_of_that_target() {
        let stack = stack();
        let providers: BTreeMap<String, Arc<dyn Provider>> = ["main", "spare"]
            .into_iter()
            .map(|t| (t.to_string(), Arc::new(grouped()) as Arc<dyn Provider>))
            .collect();
        let desired = expand(&stack, &providers).expect("expands");
        let group = NativeAddr::new("@main", "group");
        let g = desired
            .natives
            .get(&group)
            .expect("the target's native is desired");
        assert_eq!(g.kind, Kind::Target);
        assert_eq!(g.target, "main");
        for r in ["a", "b"] {
            let thing = NativeAddr::new(r, "thing");
            assert!(
                desired.deps_of(&thing).any(|d| *d == group),
                "`{thing}` must wait for the target's group"
            );
        }
        assert!(
            !desired
                .natives
                .contains_key(&NativeAddr::new("@spare", "group")),
            "a target no resource uses gets no natives"
        );
        assert_eq!(desired.by_resource.get("@main"), Some(&vec![group.clone()]));
        let info = resource_info(&stack);
        assert_eq!(info.get("@main"), Some(&(Kind::Target, "main".to_string())));
    }
}
