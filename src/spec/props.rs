//! A resource's properties: checked against its kind's schema (for precise locations),
//! then deserialized into the typed structs of `overcast_core`.

use overcast_core::kinds::{Kind, Properties};
use serde_json::Value;

use super::check::Checker;
use super::diag::Diags;
use super::schema::kind_schema;
use super::yaml::{Key, Node, Yaml};

/// Type the properties of resource `key` (its entries minus the common keys).
/// Returns `None` after reporting when they do not fit the kind.
pub(crate) fn typed(
    kind: Kind,
    key: &Key,
    props: &mut Node,
    path: &str,
    d: &mut Diags,
) -> Option<Properties> {
    let schema = kind_schema(kind);
    let defs = schema.get("$defs").and_then(Value::as_object);
    let ok = Checker {
        defs,
        d,
        noun: "property",
    }
    .check(
        props,
        schema,
        path,
        &key.name,
        key.pos,
        &format!("for a {kind} resource"),
    );
    if !ok {
        return None;
    }
    match Properties::from_value(kind, props.to_json()) {
        Ok(p) => Some(p),
        Err(e) => {
            // The schema cannot express everything serde checks (e.g. the duration
            // syntax); find the value serde quotes to point at it.
            let msg = e.to_string();
            let quoted = msg.split('"').nth(1).map(str::to_string);
            let found = quoted.as_deref().and_then(|q| find_string(props, q, path));
            let (pos, p) = found.unwrap_or((key.pos, path.to_string()));
            // serde says "invalid value: string \"4x\", expected a duration ... at line 1";
            // keep the "expected" part, drop serde_json's position in its own JSON.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let err = match (quoted, msg.split_once(", expected ")) {
                (Some(q), Some((_, expected))) if p != path => {
                    let field = p.rsplit('.').next().unwrap_or(&p);
                    d.at(pos, &p, format!("invalid value `{q}` for `{field}`"))
                        .expected(expected.to_string())
                }
                _ => d.at(pos, &p, format!("invalid {kind} properties: {msg}")),
            };
            d.push(err);
            None
        }
    }
}

fn find_string(n: &Node, s: &str, path: &str) -> Option<(super::yaml::Pos, String)> {
    match &n.value {
        Yaml::String(x) if x == s => Some((n.pos, path.to_string())),
        Yaml::Seq(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_string(x, s, &format!("{path}[{i}]"))),
        Yaml::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| find_string(v, s, &super::diag::join(path, &k.name))),
        _ => None,
    }
}
