//! Diff: compare the desired natives with the live view and decide, per native and per
//! attribute, create / update in place / replace / delete / no-op.

use std::collections::{BTreeMap, BTreeSet};

use overcast_core::{NativeAddr, NativeState};
use serde_json::Value;

use crate::engine::{EngineError, Known};
use crate::plan::refresh::Live;
use crate::plan::{Action, AttrChange, Change};
use crate::session::Session;

/// Why a diff could not produce a plan.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// References could not be resolved.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The plan would destroy or replace protected resources.
    #[error(
        "the plan would {} protected resource(s):\n{}\n  hint: if this is really intended, set `protect: false` on the resource \
         (or pass --override-protect for this run)",
        verbs(.0), list(.0)
    )]
    Protected(Vec<(NativeAddr, Action, String)>),
}

fn verbs(v: &[(NativeAddr, Action, String)]) -> &'static str {
    let replace = v.iter().any(|x| x.1 == Action::Replace);
    let delete = v.iter().any(|x| x.1 == Action::Delete);
    match (replace, delete) {
        (true, true) => "replace or destroy",
        (true, false) => "replace",
        _ => "destroy",
    }
}

/// What the plan would do to a protected native, as a verb (`destroy`, `replace`).
fn verb(action: Action) -> &'static str {
    match action {
        Action::Replace => "replace",
        Action::Delete => "destroy",
        // Only replacements and deletions are refused; say what it is all the same.
        other => other.past(),
    }
}

fn list(v: &[(NativeAddr, Action, String)]) -> String {
    v.iter()
        .map(|(a, act, why)| format!("  - {a}: {} ({why})", verb(*act)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Options of a diff.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Plan the destruction of everything in state.
    pub destroy: bool,
    /// Allow destroying or replacing protected resources.
    pub override_protect: bool,
}

/// Compute one change per native: every desired native and every native in state.
pub fn diff(
    session: &Session,
    live: &Live<'_>,
    opts: DiffOptions,
) -> Result<Vec<Change>, DiffError> {
    let mut changes = Vec::with_capacity(session.desired.natives.len());
    let mut protected = Vec::new();
    let desired = &session.desired;
    if !opts.destroy {
        let order = desired
            .graph
            .topo_order_ids()
            .map_err(|c| EngineError::Cycle(crate::graph::Dag::cycle_to_string(&c)))?;
        // The desired native and the live state of every graph node, by node number: found
        // in one walk over the sorted maps rather than by a search of each map per native
        // (searches of 100,000 string-keyed entries were most of a large no-op diff).
        let nodes: Vec<&NativeAddr> = desired.graph.numbered().map(|(k, _)| k).collect();
        let natives = by_node(&desired.graph, join_sorted(&nodes, desired.natives.iter()));
        let found = by_node(
            &desired.graph,
            join_sorted(&nodes, live.states.iter().map(|(a, f)| (*a, f))),
        );
        let mut pending: BTreeSet<NativeAddr> = BTreeSet::new();
        for id in order {
            let Some(d) = natives[id] else {
                continue;
            };
            let addr = desired.graph.key(id);
            let known = Known {
                states: live,
                pending: &pending,
                by_resource: &desired.by_resource,
                resource_info: &session.resource_info,
                providers: &session.providers,
            };
            let resolved = known.resolve_attrs_cow(&d.spec.inputs)?;
            let prior = found[id].map(|f| &*f.state);
            let prior_target = found[id].map(|f| f.target);
            let mut action = Action::NoOp;
            let attrs: Vec<AttrChange>;
            let mut reason = None;
            let mut moved_from = None;
            match prior {
                None => {
                    action = Action::Create;
                    attrs = resolved
                        .iter()
                        .map(|(k, v)| AttrChange {
                            name: k.clone(),
                            before: None,
                            after: Some(v.clone()),
                            forces_replacement: false,
                        })
                        .collect();
                    if live.gone.contains_key(addr) {
                        reason = Some("deleted outside overcast; it will be created again".into());
                    }
                }
                Some(prior) => {
                    attrs = attr_changes(&prior.inputs, &resolved, &d.spec.force_new);
                    let moved = prior_target.is_some_and(|t| t != d.target);
                    let retyped = prior.type_name != d.spec.type_name;
                    if moved || retyped {
                        action = Action::Replace;
                        moved_from = prior_target.map(str::to_string);
                        reason = Some(if moved {
                            format!(
                                "moves from target `{}` to `{}`",
                                prior_target.unwrap_or("?"),
                                d.target
                            )
                        } else {
                            format!(
                                "native type changes from `{}` to `{}`",
                                prior.type_name, d.spec.type_name
                            )
                        });
                    } else if let Some(why) = live.failed.get(addr) {
                        // A resource its cloud reports as failed will not become usable:
                        // replacing it is the only way forward.
                        action = Action::Replace;
                        reason = Some(format!("the cloud reports it failed: {why}"));
                    } else if attrs.iter().any(|a| a.forces_replacement) {
                        action = Action::Replace;
                    } else if !attrs.is_empty() {
                        action = Action::Update;
                    }
                    if action != Action::NoOp && live.drifted.contains(addr) && reason.is_none() {
                        reason = Some("the live resource differs from the last apply".into());
                    }
                }
            }
            // A no-op carries no copies of its spec and state: nothing will run for it, and
            // a 100,000-resource no-op plan would otherwise hold both twice over.
            let noop = action == Action::NoOp;
            let change = Change {
                addr: addr.clone(),
                kind: d.kind,
                target: d.target.clone(),
                prior_target: moved_from,
                type_name: d.spec.type_name.clone(),
                action,
                attrs,
                desired: (!noop).then(|| Box::new(d.spec.clone())),
                depends_on: if noop {
                    Vec::new()
                } else {
                    desired.deps_of(addr).cloned().collect()
                },
                prior: if noop {
                    None
                } else {
                    prior.cloned().map(Box::new)
                },
                protect: d.protect,
                reason,
            };
            if change.action == Action::Replace
                && (d.protect || prior.is_some_and(|p| p.protect))
                && !opts.override_protect
            {
                let why = forcing(&change);
                protected.push((addr.clone(), Action::Replace, why));
            }
            if matches!(change.action, Action::Create | Action::Replace) {
                pending.insert(addr.clone());
            }
            changes.push(change);
        }
    }
    // Everything in state that is not desired (or everything, when destroying).
    let mut to_delete: BTreeMap<&NativeAddr, (&NativeState, bool)> = BTreeMap::new();
    let states: Vec<&NativeAddr> = live.states.keys().copied().collect();
    let wanted = join_sorted(&states, desired.natives.iter());
    for ((a, f), wanted) in live.states.iter().zip(wanted) {
        if opts.destroy || wanted.is_none() {
            to_delete.insert(*a, (&*f.state, false));
        }
    }
    for (a, (_, s)) in &live.gone {
        if opts.destroy || !desired.natives.contains_key(*a) {
            to_delete.insert(*a, (*s, true));
        }
    }
    for (addr, (st, gone)) in to_delete {
        if st.protect && !opts.override_protect && !gone {
            protected.push((
                addr.clone(),
                Action::Delete,
                "resource is protected".to_string(),
            ));
        }
        changes.push(Change {
            addr: addr.clone(),
            kind: st.kind,
            target: live.target(addr).map(str::to_string).unwrap_or_default(),
            prior_target: None,
            type_name: st.type_name.clone(),
            action: Action::Delete,
            attrs: st
                .inputs
                .iter()
                .map(|(k, v)| AttrChange {
                    name: k.clone(),
                    before: Some(v.clone()),
                    after: None,
                    forces_replacement: false,
                })
                .collect(),
            desired: None,
            depends_on: st.depends_on.clone(),
            prior: Some(Box::new(st.clone())),
            protect: st.protect,
            reason: gone
                .then(|| "already deleted outside overcast; only removed from state".to_string()),
        });
    }
    if !protected.is_empty() {
        return Err(DiffError::Protected(protected));
    }
    Ok(changes)
}

/// For each of `keys` (ascending), the value `map` (ascending, by the same keys) has under
/// it: one walk over both.
fn join_sorted<'k, 'm, K: Ord + 'm, V>(
    keys: &[&'k K],
    map: impl Iterator<Item = (&'m K, V)>,
) -> Vec<Option<V>> {
    let mut map = map.peekable();
    keys.iter()
        .map(|k| {
            loop {
                // One comparison per step: addresses compare as two strings.
                match map.peek().map(|(m, _)| (*m).cmp(*k)) {
                    Some(std::cmp::Ordering::Less) => {
                        map.next();
                    }
                    Some(std::cmp::Ordering::Equal) => break map.next().map(|(_, v)| v),
                    Some(std::cmp::Ordering::Greater) | None => break None,
                }
            }
        })
        .collect()
}

/// Values listed in key order, re-indexed by graph node number.
fn by_node<V: Copy>(
    graph: &crate::graph::Dag<NativeAddr>,
    in_key_order: Vec<Option<V>>,
) -> Vec<Option<V>> {
    let mut out = vec![None; graph.len()];
    for ((_, id), v) in graph.numbered().zip(in_key_order) {
        out[id] = v;
    }
    out
}

fn forcing(c: &Change) -> String {
    if let Some(r) = &c.reason {
        return r.clone();
    }
    let names: Vec<&str> = c
        .attrs
        .iter()
        .filter(|a| a.forces_replacement)
        .map(|a| a.name.as_str())
        .collect();
    format!("{} cannot change in place", names.join(", "))
}

/// Whether two attribute maps are equal, checked entry by entry in order first: inputs
/// recorded from the same expansion keep its order, and comparing in step needs no hashing.
fn same_attrs(a: &overcast_core::Attrs, b: &overcast_core::Attrs) -> bool {
    a.len() == b.len() && (a.iter().zip(b).all(|(x, y)| x == y) || a == b)
}

/// Per-attribute differences between the live inputs and the resolved desired ones.
fn attr_changes(
    before: &overcast_core::Attrs,
    after: &overcast_core::Attrs,
    force_new: &[String],
) -> Vec<AttrChange> {
    if same_attrs(before, after) {
        // The common case of a large no-op plan: no key set to build.
        return Vec::new();
    }
    let mut keys: BTreeSet<&String> = before.keys().collect();
    keys.extend(after.keys());
    let mut out = Vec::new();
    for k in keys {
        let b = before.get(k).filter(|v| !v.is_null());
        let a = after.get(k).filter(|v| !v.is_null());
        if b == a {
            continue;
        }
        out.push(AttrChange {
            name: k.clone(),
            before: b.cloned(),
            after: a.cloned().or(Some(Value::Null)).filter(|v| !v.is_null()),
            forces_replacement: force_new.iter().any(|f| f == k),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_protect_message_names_each_action_in_full() {
        let e = DiffError::Protected(vec![
            (
                NativeAddr::new("db", "db"),
                Action::Delete,
                "protected".into(),
            ),
            (
                NativeAddr::new("web", "instance[0]"),
                Action::Replace,
                "image".into(),
            ),
        ]);
        let text = e.to_string();
        assert!(text.contains("  - db.db: destroy (protected)"), "{text}");
        assert!(
            text.contains("  - web.instance[0]: replace (image)"),
            "{text}"
        );
        assert!(
            text.starts_with("the plan would replace or destroy protected"),
            "{text}"
        );
    }

    #[test]
    fn join_sorted_finds_every_key_in_one_walk() {
        let keys = [&1, &3, &4, &9];
        let map: BTreeMap<i32, &str> = [(1, "a"), (2, "b"), (4, "d"), (8, "h")].into();
        assert_eq!(
            join_sorted(&keys, map.iter()),
            [Some(&"a"), None, Some(&"d"), None]
        );
    }

    #[test]
    fn attribute_diff_marks_forcing_attributes_and_ignores_nulls() {
        let before = json!({"engine": "postgres", "size": "small", "gone": null})
            .as_object()
            .cloned()
            .unwrap();
        let after = json!({"engine": "mysql", "size": "small", "new": 1})
            .as_object()
            .cloned()
            .unwrap();
        let c = attr_changes(&before, &after, &["engine".to_string()]);
        assert_eq!(c.len(), 2);
        assert!(c.iter().any(|a| a.name == "engine" && a.forces_replacement));
        assert!(
            c.iter()
                .any(|a| a.name == "new" && a.before.is_none() && !a.forces_replacement)
        );
    }
}

#[cfg(test)]
mod failed_tests {
    use std::sync::Arc;

    use overcast_core::NativeState;

    use super::*;
    use crate::call::RetryPolicy;
    use crate::plan::refresh::{Found, LiveState};
    use crate::session::{SessionOptions, StateAccess};

    #[test]
    fn a_native_its_cloud_reports_failed_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("overcast.yaml");
        std::fs::write(
            &file,
            "stack: s\ntargets:\n  main:\n    provider: local\n    noop: true\nresources:\n  q:\n    kind: queue\n",
        )
        .expect("write spec");
        let stack = crate::spec::load(&file, &Default::default()).expect("valid spec");
        let session = Session::open(
            stack,
            SessionOptions {
                access: StateAccess::ReadOnly,
                parallelism: 4,
                policy: RetryPolicy::default(),
                reporter: Arc::new(crate::ui::QuietReporter),
                cancel: Default::default(),
            },
        )
        .expect("session");
        let addr = NativeAddr::new("q", "queue");
        let d = session.desired.natives.get(&addr).expect("desired");
        let mut st = NativeState::new(addr.clone(), d.kind, d.spec.type_name.clone(), "id");
        st.inputs = d.spec.inputs.clone();
        let mut live = Live::default();
        live.states.insert(
            &addr,
            Found {
                target: "main",
                state: LiveState::Recorded(&st),
            },
        );
        let action = |live: &Live<'_>| {
            let changes = diff(&session, live, DiffOptions::default()).expect("diff");
            let c = changes
                .into_iter()
                .find(|c| c.addr == addr)
                .expect("change");
            (c.action, c.reason)
        };
        assert_eq!(
            action(&live).0,
            Action::NoOp,
            "a ready resource is left alone"
        );
        live.failed
            .insert(&addr, "RDS status `incompatible-parameters`".into());
        let (act, reason) = action(&live);
        assert_eq!(act, Action::Replace);
        assert!(
            reason
                .unwrap_or_default()
                .contains("incompatible-parameters")
        );
    }
}
