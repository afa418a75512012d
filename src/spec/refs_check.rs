//! Resource references (`${name}`, `${name.attr}`) in properties and outputs: the
//! resource must exist, the attribute must be one its kind exposes.

use std::collections::BTreeMap;

use overcast_core::kinds::Kind;
use overcast_core::refs::{Ref, find_refs};

use super::diag::{Diags, join};
use super::error::{did_you_mean, one_of};
use super::yaml::{Node, Yaml};

/// What the references under one node amount to.
#[derive(Default)]
pub(crate) struct RefUse {
    /// Referenced resources (valid ones) and their kinds.
    pub referenced: BTreeMap<String, Kind>,
    /// Whether a sensitive attribute is referenced.
    pub sensitive: bool,
}

/// Check every reference under `node`. `this` is the referencing resource, if any.
/// `kinds` maps every declared resource to its kind (`None` when its kind is invalid).
pub(crate) fn check(
    node: &Node,
    path: &str,
    this: Option<&str>,
    kinds: &BTreeMap<String, Option<Kind>>,
    out: &mut RefUse,
    d: &mut Diags,
) {
    // Most subtrees hold no reference: skip them without building their paths.
    if node.may_hold_refs() {
        walk(node, path, this, kinds, out, d);
    }
}

fn walk(
    node: &Node,
    path: &str,
    this: Option<&str>,
    kinds: &BTreeMap<String, Option<Kind>>,
    out: &mut RefUse,
    d: &mut Diags,
) {
    match &node.value {
        Yaml::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                walk(n, &format!("{path}[{i}]"), this, kinds, out, d);
            }
        }
        Yaml::Map(entries) => {
            for (k, n) in entries {
                walk(n, &join(path, &k.name), this, kinds, out, d);
            }
        }
        Yaml::String(s) => {
            // Malformed references were reported during variable substitution.
            let Ok(refs) = find_refs(s) else { return };
            for (_, r) in refs {
                one(&r, node, path, this, kinds, out, d);
            }
        }
        _ => {}
    }
}

fn one(
    r: &Ref,
    node: &Node,
    path: &str,
    this: Option<&str>,
    kinds: &BTreeMap<String, Option<Kind>>,
    out: &mut RefUse,
    d: &mut Diags,
) {
    let names = || kinds.keys().map(String::as_str);
    match r {
        Ref::Var(_) => {} // substituted or reported already
        Ref::Native { resource, attr, .. } => d.push(
            d.at(
                node.pos,
                path,
                format!("`{r}` refers to a provider's native resource, which a spec cannot do"),
            )
            .expected("`${RESOURCE}` or `${RESOURCE.ATTRIBUTE}`")
            .hint(format!(
                "refer to the abstract resource's attribute, e.g. `${{{resource}.{attr}}}`"
            )),
        ),
        Ref::Resource { name, attr } => {
            if Some(name.as_str()) == this {
                d.push(
                    d.at(
                        node.pos,
                        path,
                        format!("resource `{name}` refers to itself"),
                    )
                    .hint("a resource cannot use its own attributes; remove the reference"),
                );
                return;
            }
            let Some(kind) = kinds.get(name) else {
                d.push(
                    d.at(
                        node.pos,
                        path,
                        format!("`{r}` refers to resource `{name}`, which is not declared"),
                    )
                    .expected(format!("a resource: {}", one_of(names())))
                    .maybe_hint(did_you_mean(name, names())),
                );
                return;
            };
            // A resource whose kind is invalid was reported; its attributes are unknown.
            let Some(kind) = *kind else { return };
            if let Some(a) = attr {
                match kind.output(a) {
                    Some(o) => out.sensitive |= o.sensitive,
                    None => {
                        let attrs: Vec<&str> = kind.outputs().iter().map(|o| o.name).collect();
                        d.push(
                            d.at(
                                node.pos,
                                path,
                                format!("`{r}`: a {kind} resource has no attribute `{a}`"),
                            )
                            .expected(one_of(attrs.iter().copied()))
                            .maybe_hint(did_you_mean(a, attrs.iter().copied())),
                        );
                        return;
                    }
                }
            }
            out.referenced.insert(name.clone(), kind);
        }
    }
}
