//! The validation pipeline: YAML tree → top level → variables → targets → resources
//! (kind, properties, kind rules, references) → outputs → cycles → [`Stack`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use overcast_core::ProviderKind;
use overcast_core::kinds::Kind;

use super::cycles::find_cycles;
use super::diag::{Diags, join};
use super::error::{SpecErrors, did_you_mean, one_of};
use super::model::{Output, Resource, Stack, Target, Variable};
use super::refs_check::{self, RefUse};
use super::vars::{self, VarSources};
use super::yaml::{self, Key, Node, Pos, Yaml};
use super::{props, semantic};

const TOP_KEYS: [&str; 6] = [
    "stack",
    "default_target",
    "targets",
    "variables",
    "resources",
    "outputs",
];
const OUTPUT_KEYS: [&str; 3] = ["value", "sensitive", "description"];

fn valid_name(s: &str, max_rest: usize, extra: &[char]) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.chars().count() <= max_rest + 1
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

/// Entries of an optional mapping section; reports a section that is not a mapping.
fn section<'a>(root: &'a Node, name: &str, d: &mut Diags) -> &'a [(Key, Node)] {
    match root.get(name) {
        None => &[],
        Some(n) => match &n.value {
            Yaml::Map(m) => m,
            Yaml::Null => &[],
            _ => {
                d.push(d.at(
                    n.pos,
                    name,
                    format!("`{name}` must be a mapping, found {}", n.describe()),
                ));
                &[]
            }
        },
    }
}

/// Move the entries of the mapping section `name` out of `root` (nothing when absent or
/// not a mapping: [`section`] reports that).
fn take_map(root: &mut Node, name: &str) -> Vec<(Key, Node)> {
    let Yaml::Map(entries) = &mut root.value else {
        return Vec::new();
    };
    match entries.iter_mut().find(|(k, _)| k.name == name) {
        Some((_, node)) => match &mut node.value {
            Yaml::Map(m) => std::mem::take(m),
            _ => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// A resource after the first pass.
struct Draft {
    key: Key,
    kind: Option<Kind>,
    node: Node,
    explicit: Vec<String>,
    /// Resources its values refer to (for the cycle check), once the second pass read it.
    implicit: Option<Vec<String>>,
    /// Uses a declared variable that has no value (reported): its properties cannot be typed.
    unresolved: bool,
}

/// Validate the text of a spec file.
pub(crate) fn validate(file: &Path, text: &str, src: &VarSources<'_>) -> Result<Stack, SpecErrors> {
    let mut d = Diags::new(file.to_path_buf());
    let fail = |d: Diags| SpecErrors::new(d.errors, Some(text.to_string()));
    let parsed = yaml::parse(text);
    for e in &parsed.errors {
        let err = d
            .at(e.pos, "", e.message.clone())
            .maybe_hint(e.hint.clone());
        d.push(err);
    }
    let Some(mut root) = parsed.root else {
        if d.count() == 0 {
            let pos = Pos {
                line: 1,
                column: 1,
                width: 1,
            };
            d.push(
                d.at(pos, "", "the spec file is empty")
                    .hint("start with `stack: NAME`, or run `overcast init`"),
            );
        }
        return Err(fail(d));
    };
    if root.as_map().is_none() {
        d.push(
            d.at(
                root.pos,
                "",
                format!(
                    "the spec must be a mapping with `stack:` and `resources:`, found {}",
                    root.describe()
                ),
            )
            .hint("start with `stack: NAME`, or run `overcast init`"),
        );
        return Err(fail(d));
    }
    // A syntax error stops everything; duplicate keys do not (the first one was kept).
    let root_pos = Pos {
        line: root.pos.line,
        column: root.pos.column,
        width: 1,
    };
    for (k, _) in root.as_map().unwrap_or_default() {
        if !TOP_KEYS.contains(&k.name.as_str()) {
            d.push(
                d.at(
                    k.pos,
                    &k.name,
                    format!("unknown top-level key `{}`", k.name),
                )
                .expected(one_of(TOP_KEYS))
                .maybe_hint(did_you_mean(&k.name, TOP_KEYS)),
            );
        }
    }

    let name = stack_name(&root, root_pos, &mut d);
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };

    let variables = vars::declare(root.entry("variables"), root_pos, src, &mut d);
    let declared: BTreeSet<String> = section(&root, "variables", &mut Diags::new(PathBuf::new()))
        .iter()
        .map(|(k, _)| k.name.clone())
        .collect();
    let mut subst = |n: &mut Node, path: &str, d: &mut Diags| {
        let mut used = BTreeSet::new();
        if !n.may_hold_refs() {
            // Nothing to substitute or report (most resources of a large stack).
            return used;
        }
        vars::substitute(n, &variables, &declared, path, &mut used, d);
        used
    };

    // Targets.
    let mut targets = BTreeMap::new();
    for (k, node) in section(&root, "targets", &mut d) {
        let path = join("targets", &k.name);
        let mut node = node.clone();
        let used = subst(&mut node, &path, &mut d);
        // A declared variable without a value was reported: its settings cannot be typed.
        let unresolved = used.iter().any(|v| !variables.contains_key(v));
        if let Some(t) = target(k, node, &path, unresolved, &mut d) {
            targets.insert(k.name.clone(), t);
        }
    }
    let declared_targets: Vec<String> = section(&root, "targets", &mut Diags::new(PathBuf::new()))
        .iter()
        .map(|(k, _)| k.name.clone())
        .collect();
    // A spec without targets runs on the embedded local cloud, under a target named after it.
    let implicit = ProviderKind::Local;
    if declared_targets.is_empty() {
        let location = d.loc(root_pos);
        targets.insert(
            implicit.as_str().to_string(),
            Target {
                name: implicit.as_str().to_string(),
                provider: implicit,
                settings: Default::default(),
                location,
            },
        );
    }
    let target_names: Vec<String> = if declared_targets.is_empty() {
        vec![implicit.as_str().to_string()]
    } else {
        declared_targets.clone()
    };
    let default_target = default_target(&root, root_pos, &target_names, &mut d);

    // Resources, first pass: names and kinds (references need every kind). The section is
    // moved out of the tree: every resource is consumed by the passes below.
    section(&root, "resources", &mut d);
    let entries = take_map(&mut root, "resources");
    // Sized up front: growing vectors of 100,000 large entries copied them over and over.
    let mut drafts: Vec<Draft> = Vec::with_capacity(entries.len());
    for (k, mut node) in entries {
        let path = join("resources", &k.name);
        if !valid_name(&k.name, 62, &['_', '-']) {
            d.push(
                d.at(k.pos, &path, format!("invalid resource name `{}`", k.name))
                    .expected("a lowercase letter, then lowercase letters, digits, `_` or `-` (at most 63)"),
            );
        }
        if node.as_map().is_none() {
            d.push(
                d.at(
                    node.pos,
                    &path,
                    format!(
                        "a resource is a mapping with `kind:` and its properties, found {}",
                        node.describe()
                    ),
                )
                .expected("kind: compute | storage | database | queue | function | cdn"),
            );
            drafts.push(Draft {
                key: k,
                kind: None,
                node,
                explicit: Vec::new(),
                implicit: None,
                unresolved: false,
            });
            continue;
        }
        let used = subst(&mut node, &path, &mut d);
        let unresolved = used.iter().any(|v| !variables.contains_key(v));
        let kind = resource_kind(&k, &node, &path, &mut d);
        drafts.push(Draft {
            key: k,
            kind,
            node,
            explicit: Vec::new(),
            implicit: None,
            unresolved,
        });
    }
    // Every declared resource: its kind for references, and the set `depends_on` entries
    // are looked up in.
    let kinds: BTreeMap<String, Option<Kind>> = drafts
        .iter()
        .map(|r| (r.key.name.clone(), r.kind))
        .collect();

    // Resources, second pass.
    let mut resources = Vec::with_capacity(drafts.len());
    for r in &mut drafts {
        let Some(kind) = r.kind else { continue };
        let path = join("resources", &r.key.name);
        let mut target = default_target.clone().unwrap_or_default();
        let mut protect = false;
        let entries = match std::mem::replace(&mut r.node.value, Yaml::Null) {
            Yaml::Map(m) => m,
            _ => Vec::new(), // a resource without a mapping has no kind
        };
        let mut prop_entries = Vec::with_capacity(entries.len());
        // References in the common keys count for the cycle check only.
        let mut common_uses = RefUse::default();
        for (k, v) in entries {
            let p = || join(&path, &k.name);
            if k.name != "kind" && !matches!(k.name.as_str(), "target" | "protect" | "depends_on") {
                prop_entries.push((k, v));
                continue;
            }
            if v.may_hold_refs() {
                let mut ignored = Diags::new(PathBuf::new());
                refs_check::check(
                    &v,
                    "",
                    Some(&r.key.name),
                    &kinds,
                    &mut common_uses,
                    &mut ignored,
                );
            }
            match k.name.as_str() {
                "target" => match v.as_str() {
                    Some(t) if target_names.iter().any(|n| n == t) => target = t.to_string(),
                    _ => {
                        let shown = v
                            .as_str()
                            .map_or_else(|| v.describe(), |s| format!("`{s}`"));
                        d.push(
                            d.at(v.pos, &p(), format!("target {shown} is not declared"))
                                .expected(one_of(target_names.iter().map(String::as_str)))
                                .maybe_hint(v.as_str().and_then(|s| {
                                    did_you_mean(s, target_names.iter().map(String::as_str))
                                }))
                                .maybe_hint(if declared_targets.is_empty() {
                                    Some(
                                        "declare it under `targets:` with its `provider`"
                                            .to_string(),
                                    )
                                } else {
                                    None
                                }),
                        );
                    }
                },
                "protect" => match v.value {
                    Yaml::Bool(b) => protect = b,
                    _ => d.push(
                        d.at(
                            v.pos,
                            &p(),
                            format!("wrong type for `protect`: found {}", v.describe()),
                        )
                        .expected("true or false"),
                    ),
                },
                "depends_on" => r.explicit = depends_on(&r.key.name, &v, &p, &kinds, &mut d),
                _ => {} // kind
            }
        }
        let mut props_node = Node {
            pos: r.node.pos,
            value: Yaml::Map(prop_entries),
        };
        let mut uses = RefUse::default();
        refs_check::check(
            &props_node,
            &path,
            Some(&r.key.name),
            &kinds,
            &mut uses,
            &mut d,
        );
        let mut implicit: BTreeSet<&String> = uses.referenced.keys().collect();
        implicit.extend(common_uses.referenced.keys());
        r.implicit = Some(implicit.into_iter().cloned().collect());
        if r.unresolved {
            continue;
        }
        let Some(properties) = props::typed(kind, &r.key, &mut props_node, &path, &mut d) else {
            continue;
        };
        let ctx = semantic::Ctx {
            key: &r.key,
            props: &props_node,
            path: &path,
            dir: &dir,
            kinds: &kinds,
        };
        semantic::check(&ctx, &properties, &mut d);
        let mut depends_on: Vec<String> = r
            .explicit
            .iter()
            .cloned()
            .chain(uses.referenced.keys().cloned())
            .filter(|n| *n != r.key.name)
            .collect();
        depends_on.sort();
        depends_on.dedup();
        resources.push((
            r.key.name.clone(),
            Resource {
                name: r.key.name.clone(),
                kind,
                target,
                depends_on,
                protect,
                properties,
                referenced: uses.referenced,
                location: d.loc(r.key.pos),
            },
        ));
    }
    // Names are unique (the YAML pass keeps the first of duplicate keys): one sorted build.
    let resources: BTreeMap<String, Resource> = resources.into_iter().collect();

    // Cycles, over explicit and implicit dependencies of every resource.
    for r in drafts.iter_mut().filter(|r| r.implicit.is_none()) {
        // Not read by the second pass (its kind is invalid): find its references now.
        let mut uses = RefUse::default();
        refs_check::check(
            &r.node,
            "",
            Some(&r.key.name),
            &kinds,
            &mut uses,
            &mut Diags::new(PathBuf::new()),
        );
        r.implicit = Some(uses.referenced.into_keys().collect());
    }
    let order: Vec<&str> = drafts.iter().map(|r| r.key.name.as_str()).collect();
    let graph: Vec<Vec<&str>> = drafts
        .iter()
        .map(|r| {
            r.explicit
                .iter()
                .chain(r.implicit.iter().flatten())
                .map(String::as_str)
                .collect()
        })
        .collect();
    for cycle in find_cycles(&order, &graph) {
        let Some(first) = drafts.iter().find(|r| Some(&r.key.name) == cycle.first()) else {
            continue;
        };
        d.push(
            d.at(
                first.key.pos,
                &join("resources", &first.key.name),
                format!("dependency cycle: {}", cycle.join(" -> ")),
            )
            .hint("remove one `depends_on` entry or reference in the cycle"),
        );
    }
    let outputs = outputs(&root, &variables, &kinds, &mut subst, &mut d);

    if d.count() > 0 {
        return Err(fail(d));
    }
    Ok(Stack {
        name: name.unwrap_or_default(),
        file: file.to_path_buf(),
        dir,
        default_target: default_target.unwrap_or_default(),
        targets,
        variables,
        resources,
        outputs,
    })
}

fn stack_name(root: &Node, root_pos: Pos, d: &mut Diags) -> Option<String> {
    let Some((k, v)) = root.entry("stack") else {
        d.push(
            d.at(root_pos, "stack", "missing `stack:`, the stack's name")
                .hint("add `stack: my-stack` at the top"),
        );
        return None;
    };
    match v.as_str() {
        Some(s) if valid_name(s, 39, &['-']) => Some(s.to_string()),
        _ => {
            let shown = v
                .as_str()
                .map_or_else(|| v.describe(), |s| format!("`{s}`"));
            let pos = if v.value == Yaml::Null { k.pos } else { v.pos };
            d.push(
                d.at(pos, "stack", format!("invalid stack name {shown}"))
                    .expected(
                        "a lowercase letter, then lowercase letters, digits or `-` (at most 40)",
                    ),
            );
            None
        }
    }
}

fn target(k: &Key, node: Node, path: &str, unresolved: bool, d: &mut Diags) -> Option<Target> {
    let providers = ProviderKind::ALL.map(ProviderKind::as_str);
    if !valid_name(&k.name, 62, &['_', '-']) {
        d.push(
            d.at(k.pos, path, format!("invalid target name `{}`", k.name))
                .expected("a lowercase letter, then lowercase letters, digits, `_` or `-`"),
        );
    }
    let Yaml::Map(entries) = node.value else {
        d.push(
            d.at(
                node.pos,
                path,
                format!(
                    "a target is a mapping with `provider:` and its settings, found {}",
                    node.describe()
                ),
            )
            .expected("provider: local | aws | azure | gcp"),
        );
        return None;
    };
    let (provider_entry, settings): (Vec<_>, Vec<_>) =
        entries.into_iter().partition(|(k, _)| k.name == "provider");
    let provider = match provider_entry.first() {
        None => {
            d.push(
                d.at(
                    k.pos,
                    &join(path, "provider"),
                    format!("target `{}` has no `provider`", k.name),
                )
                .expected(one_of(providers)),
            );
            return None;
        }
        Some((_, p)) => match p.as_str().map(ProviderKind::from_str) {
            Some(Ok(kind)) => kind,
            other => {
                let shown = p
                    .as_str()
                    .map_or_else(|| p.describe(), |s| format!("`{s}`"));
                let hint = match other {
                    Some(Err(e)) => e.suggestion.map(|s| format!("did you mean `{s}`?")),
                    _ => None,
                };
                d.push(
                    d.at(
                        p.pos,
                        &join(path, "provider"),
                        format!("unknown provider {shown}"),
                    )
                    .expected(one_of(providers))
                    .maybe_hint(hint),
                );
                return None;
            }
        },
    };
    let mut settings = Node {
        pos: node.pos,
        value: Yaml::Map(settings),
    };
    let settings = if unresolved {
        serde_json::Map::new()
    } else {
        super::settings::typed(provider, k, &mut settings, path, d)?
    };
    Some(Target {
        name: k.name.clone(),
        provider,
        settings,
        location: d.loc(k.pos),
    })
}

fn default_target(root: &Node, root_pos: Pos, targets: &[String], d: &mut Diags) -> Option<String> {
    let names = || targets.iter().map(String::as_str);
    match root.get("default_target") {
        Some(v) => match v.as_str() {
            Some(s) if targets.iter().any(|t| t == s) => Some(s.to_string()),
            s => {
                let shown = s.map_or_else(|| v.describe(), |s| format!("`{s}`"));
                d.push(
                    d.at(
                        v.pos,
                        "default_target",
                        format!("default target {shown} is not declared"),
                    )
                    .expected(one_of(names()))
                    .maybe_hint(s.and_then(|s| did_you_mean(s, names()))),
                );
                None
            }
        },
        None if targets.len() == 1 => targets.first().cloned(),
        None => {
            let pos = root.entry("targets").map_or(root_pos, |(k, _)| k.pos);
            d.push(
                d.at(
                    pos,
                    "default_target",
                    "several targets are declared but no `default_target`",
                )
                .expected(one_of(names()))
                .hint("add `default_target: NAME` at the top level"),
            );
            None
        }
    }
}

fn resource_kind(k: &Key, node: &Node, path: &str, d: &mut Diags) -> Option<Kind> {
    let kinds = Kind::ALL.map(Kind::as_str);
    let Some(v) = node.get("kind") else {
        d.push(
            d.at(
                k.pos,
                &join(path, "kind"),
                format!("resource `{}` has no `kind`", k.name),
            )
            .expected(one_of(kinds)),
        );
        return None;
    };
    let Some(s) = v.as_str() else {
        d.push(
            d.at(
                v.pos,
                &join(path, "kind"),
                format!("wrong type for `kind`: found {}", v.describe()),
            )
            .expected(one_of(kinds)),
        );
        return None;
    };
    match Kind::from_str(s) {
        Ok(kind) => Some(kind),
        Err(_) => {
            d.push(
                d.at(v.pos, &join(path, "kind"), format!("unknown kind `{s}`"))
                    .expected(one_of(kinds))
                    .maybe_hint(did_you_mean(s, kinds)),
            );
            None
        }
    }
}

/// The resources a `depends_on` list names. `path` gives the list's path, built only for
/// messages (most lists are valid, and a large stack has tens of thousands of them).
fn depends_on(
    this: &str,
    v: &Node,
    path: &dyn Fn() -> String,
    names: &BTreeMap<String, Option<Kind>>,
    d: &mut Diags,
) -> Vec<String> {
    let Yaml::Seq(items) = &v.value else {
        d.push(
            d.at(
                v.pos,
                &path(),
                format!(
                    "`depends_on` must be a list of resource names, found {}",
                    v.describe()
                ),
            )
            .expected("[name, ...]"),
        );
        return Vec::new();
    };
    let names_list = || names.keys().map(String::as_str);
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let p = || format!("{}[{i}]", path());
        match item.as_str() {
            Some(s) if s == this => d.push(
                d.at(
                    item.pos,
                    &p(),
                    format!("resource `{this}` cannot depend on itself"),
                )
                .hint("remove it from `depends_on`"),
            ),
            Some(s) if names.contains_key(s) => out.push(s.to_string()),
            Some(s) => d.push(
                d.at(
                    item.pos,
                    &p(),
                    format!("`depends_on` names `{s}`, which is not a declared resource"),
                )
                .expected(one_of(names_list()))
                .maybe_hint(did_you_mean(s, names_list())),
            ),
            None => d.push(d.at(
                item.pos,
                &p(),
                format!(
                    "`depends_on` entries are resource names, found {}",
                    item.describe()
                ),
            )),
        }
    }
    out
}

fn outputs(
    root: &Node,
    variables: &BTreeMap<String, Variable>,
    kinds: &BTreeMap<String, Option<Kind>>,
    subst: &mut dyn FnMut(&mut Node, &str, &mut Diags) -> BTreeSet<String>,
    d: &mut Diags,
) -> BTreeMap<String, Output> {
    let mut out = BTreeMap::new();
    for (k, node) in section(root, "outputs", d) {
        let path = join("outputs", &k.name);
        let (mut value, sensitive, description) = match &node.value {
            Yaml::Map(entries) => {
                for (f, _) in entries {
                    if !OUTPUT_KEYS.contains(&f.name.as_str()) {
                        d.push(
                            d.at(
                                f.pos,
                                &join(&path, &f.name),
                                format!("unknown key `{}` in an output", f.name),
                            )
                            .expected(one_of(OUTPUT_KEYS))
                            .maybe_hint(did_you_mean(&f.name, OUTPUT_KEYS)),
                        );
                    }
                }
                let Some(value) = node.get("value") else {
                    d.push(
                        d.at(k.pos, &join(&path, "value"), format!("output `{}` has no `value`", k.name))
                            .hint("write `NAME: ${resource.attribute}`, or give `value:` in the long form"),
                    );
                    continue;
                };
                let sensitive = match node.get("sensitive") {
                    None => false,
                    Some(s) => match s.value {
                        Yaml::Bool(b) => b,
                        _ => {
                            d.push(
                                d.at(
                                    s.pos,
                                    &join(&path, "sensitive"),
                                    "`sensitive` must be true or false",
                                )
                                .expected("true or false"),
                            );
                            false
                        }
                    },
                };
                let description = node
                    .get("description")
                    .and_then(|n| n.as_str().map(str::to_string));
                (value.clone(), sensitive, description)
            }
            _ => (node.clone(), false, None),
        };
        let value_path = if node.as_map().is_some() {
            join(&path, "value")
        } else {
            path.clone()
        };
        let used = subst(&mut value, &value_path, d);
        let mut uses = RefUse::default();
        refs_check::check(&value, &value_path, None, kinds, &mut uses, d);
        let var_sensitive = used
            .iter()
            .any(|v| variables.get(v).is_some_and(|v| v.sensitive));
        out.insert(
            k.name.clone(),
            Output {
                name: k.name.clone(),
                value: value.to_json(),
                sensitive: sensitive || uses.sensitive || var_sensitive,
                description,
                location: d.loc(k.pos),
            },
        );
    }
    out
}
