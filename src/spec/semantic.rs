//! Rules per kind that the property types alone cannot express.

use std::collections::BTreeMap;
use std::path::Path;

use overcast_core::catalog::schedule::{self, Schedule};
use overcast_core::kinds::{FUNCTION_RUNTIMES, Kind, Properties, TriggerType};

use super::diag::{Diags, join};
use super::error::{did_you_mean, one_of};
use super::yaml::{Key, Node, Pos};

/// Everything a kind rule needs to know about the resource and its stack.
pub(crate) struct Ctx<'a> {
    /// The resource's key (for problems that belong to no single property).
    pub key: &'a Key,
    /// Its properties as written (after variable substitution), for positions.
    pub props: &'a Node,
    /// `resources.NAME`.
    pub path: &'a str,
    /// Directory of the spec file (relative paths resolve against it).
    pub dir: &'a Path,
    /// Kind of every declared resource (`None`: invalid kind, already reported).
    pub kinds: &'a BTreeMap<String, Option<Kind>>,
}

impl Ctx<'_> {
    /// Position of a property's value (or of the resource key if absent).
    fn pos(&self, field: &str) -> Pos {
        let mut n = self.props;
        for part in field.split('.') {
            match part.split_once('[') {
                Some((name, idx)) => {
                    let i: usize = idx.trim_end_matches(']').parse().unwrap_or(0);
                    match n.get(name).and_then(|x| match &x.value {
                        super::yaml::Yaml::Seq(items) => items.get(i),
                        _ => None,
                    }) {
                        Some(x) => n = x,
                        None => return self.key.pos,
                    }
                }
                None => match n.get(part) {
                    Some(x) => n = x,
                    None => return self.key.pos,
                },
            }
        }
        n.pos
    }

    /// Position of a property's key (for "remove this").
    fn key_pos(&self, field: &str) -> Pos {
        self.props.entry(field).map_or(self.key.pos, |(k, _)| k.pos)
    }

    fn field(&self, f: &str) -> String {
        join(self.path, f)
    }
}

/// The resource named by a string that is exactly `${name}`, or `None`.
fn whole_ref(s: &str) -> Option<String> {
    overcast_core::refs::whole_resource_ref(s).map(str::to_string)
}

/// Check `${name}` points at a resource of one of `allowed` kinds. Missing resources are
/// left to the reference check.
fn check_ref_kind(
    c: &Ctx<'_>,
    field: &str,
    value: &str,
    allowed: &[Kind],
    what: &str,
    d: &mut Diags,
) {
    let Some(name) = whole_ref(value) else {
        d.push(
            d.at(
                c.pos(field),
                &c.field(field),
                format!("`{field}` must be a reference to {what}, found `{value}`"),
            )
            .expected("`${RESOURCE}`"),
        );
        return;
    };
    if let Some(Some(kind)) = c.kinds.get(&name)
        && !allowed.contains(kind)
    {
        let wanted: Vec<&str> = allowed.iter().map(|k| k.as_str()).collect();
        let candidates: Vec<&str> = c
            .kinds
            .iter()
            .filter(|(_, k)| k.is_some_and(|k| allowed.contains(&k)))
            .map(|(n, _)| n.as_str())
            .collect();
        let hint = if candidates.is_empty() {
            format!("declare a {} resource and refer to it", wanted.join(" or "))
        } else {
            format!(
                "refer to {}",
                candidates
                    .iter()
                    .map(|n| format!("`${{{n}}}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        d.push(
            d.at(
                c.pos(field),
                &c.field(field),
                format!("`{field}` refers to `{name}`, a {kind} resource, but must be {what}"),
            )
            .expected(format!("a reference to a {} resource", wanted.join(" or ")))
            .hint(hint),
        );
    }
}

fn check_dir(c: &Ctx<'_>, field: &str, value: &str, what: &str, d: &mut Diags) {
    if value.contains("${") {
        return; // known only at apply time
    }
    let p = c.dir.join(value);
    if !p.is_dir() {
        let why = if p.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        let hint = if c.dir == Path::new(".") {
            "create the directory next to the spec file, or fix the path".to_string()
        } else {
            format!("create `{}`, or fix the path", p.display())
        };
        d.push(
            d.at(
                c.pos(field),
                &c.field(field),
                format!("{what} `{value}` {why}"),
            )
            .expected("a directory, relative to the spec file")
            .hint(hint),
        );
    }
}

/// A trigger's schedule must parse in the neutral syntax (or be an EventBridge expression,
/// accepted for compatibility): a bad one is reported here, at its position, rather than
/// by a cloud at apply time.
fn check_schedule(c: &Ctx<'_>, value: &str, d: &mut Diags) {
    if value.contains("${") {
        return; // known only at apply time
    }
    if let Err(e) = Schedule::parse(value) {
        d.push(
            d.at(
                c.pos("trigger.schedule"),
                &c.field("trigger.schedule"),
                format!("invalid schedule: {}", e.message),
            )
            .expected(e.expected),
        );
    }
}

/// Apply the rules of the resource's kind.
pub(crate) fn check(c: &Ctx<'_>, props: &Properties, d: &mut Diags) {
    match props {
        Properties::Compute(p) => {
            let explicit = p.cpu.is_some() || p.memory_gb.is_some();
            if p.size.is_some() && explicit {
                let f = if p.cpu.is_some() { "cpu" } else { "memory_gb" };
                d.push(
                    d.at(
                        c.key_pos(f),
                        &c.field(f),
                        format!("`size` and `{f}` cannot both be set"),
                    )
                    .hint("give either `size`, or `cpu` and `memory_gb` together"),
                );
            } else if explicit && (p.cpu.is_none() || p.memory_gb.is_none()) {
                let (has, missing) = if p.cpu.is_some() {
                    ("cpu", "memory_gb")
                } else {
                    ("memory_gb", "cpu")
                };
                d.push(
                    d.at(
                        c.key_pos(has),
                        &c.field(missing),
                        format!("`{has}` needs `{missing}` too"),
                    )
                    .hint("give `cpu` and `memory_gb` together, or a `size` instead"),
                );
            } else if !explicit && p.size.is_none() {
                d.push(
                    d.at(
                        c.key.pos,
                        &c.field("size"),
                        "a compute resource needs a `size` (or `cpu` and `memory_gb`)",
                    )
                    .expected("`size`: one of nano, micro, small, medium, large, xlarge")
                    .hint("add `size: small`"),
                );
            }
            if p.count < 1 {
                d.push(d.at(
                    c.pos("count"),
                    &c.field("count"),
                    "`count` must be at least 1",
                ));
            }
        }
        Properties::Storage(p) => {
            for (i, rule) in p.lifecycle.iter().enumerate() {
                let f = format!("lifecycle[{i}]");
                if rule.to_class.is_some() != rule.transition_after_days.is_some() {
                    let (has, missing) = if rule.to_class.is_some() {
                        ("to_class", "transition_after_days")
                    } else {
                        ("transition_after_days", "to_class")
                    };
                    d.push(
                        d.at(c.pos(&format!("{f}.{has}")), &c.field(&format!("{f}.{missing}")), format!("`{has}` needs `{missing}` in the same lifecycle rule"))
                            .hint("a transition moves objects to `to_class` after `transition_after_days` days"),
                    );
                }
            }
            if let Some(content) = &p.content {
                check_dir(c, "content", content, "storage content directory", d);
            }
        }
        Properties::Database(p) => {
            if p.read_replicas > 15 {
                d.push(
                    d.at(
                        c.pos("read_replicas"),
                        &c.field("read_replicas"),
                        "a database has at most 15 read replicas",
                    )
                    .expected("an integer from 0 to 15"),
                );
            }
        }
        Properties::Queue(_) => {}
        Properties::Function(p) => {
            if !FUNCTION_RUNTIMES.contains(&p.runtime.as_str()) {
                d.push(
                    d.at(
                        c.pos("runtime"),
                        &c.field("runtime"),
                        format!("unsupported function runtime `{}`", p.runtime),
                    )
                    .expected(one_of(FUNCTION_RUNTIMES.iter().copied()))
                    .maybe_hint(did_you_mean(&p.runtime, FUNCTION_RUNTIMES.iter().copied())),
                );
            }
            check_dir(c, "source", &p.source, "function source directory", d);
            if let Some(t) = &p.trigger {
                let ty = match t.kind {
                    TriggerType::Http => "http",
                    TriggerType::Queue => "queue",
                    TriggerType::Schedule => "schedule",
                    TriggerType::Storage => "storage",
                };
                let forbid = |field: &str, d: &mut Diags| {
                    d.push(
                        d.at(
                            c.key_pos("trigger"),
                            &c.field(&format!("trigger.{field}")),
                            format!("a {ty} trigger takes no `{field}`"),
                        )
                        .hint(format!("remove `{field}` from the trigger")),
                    );
                };
                let need = |field: &str, expected: &str, d: &mut Diags| {
                    d.push(
                        d.at(
                            c.pos("trigger"),
                            &c.field(&format!("trigger.{field}")),
                            format!("a {ty} trigger needs `{field}`"),
                        )
                        .expected(expected.to_string()),
                    );
                };
                match t.kind {
                    TriggerType::Http => {
                        if t.source.is_some() {
                            forbid("source", d);
                        }
                        if t.schedule.is_some() {
                            forbid("schedule", d);
                        }
                    }
                    TriggerType::Schedule => {
                        match &t.schedule {
                            None => need("schedule", schedule::EXAMPLES, d),
                            Some(s) => check_schedule(c, s, d),
                        }
                        if t.source.is_some() {
                            forbid("source", d);
                        }
                    }
                    TriggerType::Queue | TriggerType::Storage => {
                        let kind = if t.kind == TriggerType::Queue {
                            Kind::Queue
                        } else {
                            Kind::Storage
                        };
                        match &t.source {
                            None => need(
                                "source",
                                &format!("a reference to a {kind} resource: `${{NAME}}`"),
                                d,
                            ),
                            Some(s) => check_ref_kind(
                                c,
                                "trigger.source",
                                s,
                                &[kind],
                                &format!("a {kind} resource"),
                                d,
                            ),
                        }
                        if t.schedule.is_some() {
                            forbid("schedule", d);
                        }
                    }
                }
            }
        }
        Properties::Cdn(p) => {
            check_ref_kind(
                c,
                "origin",
                &p.origin,
                &[Kind::Storage, Kind::Compute],
                "a storage or compute resource",
                d,
            );
        }
    }
}
