//! `variables:` — declaration, value resolution (`--var`, then `OVERCAST_VAR_<name>`, then
//! the default) and substitution of `${var.NAME}` into the tree before typed validation.

use std::collections::{BTreeMap, BTreeSet};

use overcast_core::refs::{Ref, find_refs};
use serde_json::Value;

use super::diag::{Diags, join};
use super::error::{did_you_mean, one_of};
use super::model::{VarType, Variable};
use super::yaml::{Key, Node, Pos, Yaml};

const VAR_KEYS: [&str; 4] = ["type", "default", "description", "sensitive"];

/// Where a variable's value comes from besides the spec: the CLI and the environment.
pub(crate) struct VarSources<'a> {
    /// `--var name=value`.
    pub cli: &'a BTreeMap<String, String>,
    /// Reads `OVERCAST_VAR_<name>` (injected so tests need not touch the process env).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

fn valid_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && s.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn type_name(ty: VarType) -> &'static str {
    match ty {
        VarType::String => "string",
        VarType::Number => "number",
        VarType::Bool => "bool",
    }
}

/// Convert a string given on the CLI or in the environment to the declared type.
fn convert(ty: VarType, raw: &str) -> Option<Value> {
    match ty {
        VarType::String => Some(Value::String(raw.to_string())),
        VarType::Number => {
            let t = raw.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Some(Value::from(i));
            }
            t.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        }
        VarType::Bool => match raw.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

/// A default written in the file, checked against the declared type. Scalars are
/// accepted for strings (`default: 8080` for a string variable means "8080").
fn typed_default(ty: VarType, n: &Node) -> Option<Value> {
    match (ty, &n.value) {
        (VarType::String, Yaml::String(s)) => Some(Value::String(s.clone())),
        (VarType::String, Yaml::Number(x)) => Some(Value::String(x.to_string())),
        (VarType::String, Yaml::Bool(b)) => Some(Value::String(b.to_string())),
        (VarType::Number, Yaml::Number(x)) => Some(Value::Number(x.clone())),
        (VarType::Bool, Yaml::Bool(b)) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// Read the `variables:` section and resolve every value.
pub(crate) fn declare(
    section: Option<&(Key, Node)>,
    root_pos: Pos,
    src: &VarSources<'_>,
    d: &mut Diags,
) -> BTreeMap<String, Variable> {
    let mut out = BTreeMap::new();
    let entries: &[(Key, Node)] = match section {
        None => &[],
        Some((_, n)) if n.value == Yaml::Null => &[],
        Some((_, n)) => match n.as_map() {
            Some(m) => m,
            None => {
                d.push(
                    d.at(
                        n.pos,
                        "variables",
                        format!("`variables` must be a mapping, found {}", n.describe()),
                    )
                    .expected("name: { type: string, default: ... }"),
                );
                &[]
            }
        },
    };
    for (key, decl) in entries {
        let path = join("variables", &key.name);
        if !valid_var_name(&key.name) {
            d.push(
                d.at(
                    key.pos,
                    &path,
                    format!("invalid variable name `{}`", key.name),
                )
                .expected("a letter or `_`, then letters, digits or `_` (at most 64)"),
            );
            continue;
        }
        if let Some(v) = declare_one(key, decl, &path, src, d) {
            out.insert(key.name.clone(), v);
        }
    }
    // A `--var` that names no declared variable is almost always a typo.
    for name in src.cli.keys() {
        if !out.contains_key(name) && !entries.iter().any(|(k, _)| &k.name == name) {
            let pos = section.map_or(root_pos, |(k, _)| k.pos);
            d.push(
                d.at(
                    pos,
                    "variables",
                    format!("`--var {name}=...` sets a variable that is not declared"),
                )
                .maybe_hint(
                    did_you_mean(name, entries.iter().map(|(k, _)| k.name.as_str())).or_else(
                        || {
                            Some(format!(
                                "declare it under `variables:` as `{name}: {{ type: string }}`"
                            ))
                        },
                    ),
                ),
            );
        }
    }
    out
}

fn declare_one(
    key: &Key,
    decl: &Node,
    path: &str,
    src: &VarSources<'_>,
    d: &mut Diags,
) -> Option<Variable> {
    let empty = Vec::new();
    let fields: &[(Key, Node)] = match &decl.value {
        Yaml::Map(m) => m,
        Yaml::Null => &empty,
        _ => {
            d.push(
                d.at(decl.pos, path, format!("a variable is declared as a mapping, found {}", decl.describe()))
                    .expected("{ type: string|number|bool, default: ..., description: ..., sensitive: false }"),
            );
            return None;
        }
    };
    let mut ok = true;
    for (k, _) in fields {
        if !VAR_KEYS.contains(&k.name.as_str()) {
            d.push(
                d.at(
                    k.pos,
                    &join(path, &k.name),
                    format!("unknown key `{}` in a variable", k.name),
                )
                .expected(one_of(VAR_KEYS))
                .maybe_hint(did_you_mean(&k.name, VAR_KEYS)),
            );
            ok = false;
        }
    }
    let get = |name: &str| fields.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
    let ty = match get("type").map(|n| (n, n.as_str())) {
        None => VarType::String,
        Some((_, Some("string"))) => VarType::String,
        Some((_, Some("number"))) => VarType::Number,
        Some((_, Some("bool"))) => VarType::Bool,
        Some((n, s)) => {
            let shown = s.map_or_else(|| n.describe(), |s| format!("`{s}`"));
            d.push(
                d.at(
                    n.pos,
                    &join(path, "type"),
                    format!("unknown variable type {shown}"),
                )
                .expected("one of string, number, bool")
                .maybe_hint(s.and_then(|s| did_you_mean(s, ["string", "number", "bool"]))),
            );
            return None;
        }
    };
    let description = match get("description") {
        None => None,
        Some(n) => match &n.value {
            Yaml::String(s) => Some(s.clone()),
            _ => {
                d.push(d.at(
                    n.pos,
                    &join(path, "description"),
                    "a description must be a string",
                ));
                None
            }
        },
    };
    let sensitive = match get("sensitive") {
        None => false,
        Some(n) => match n.value {
            Yaml::Bool(b) => b,
            _ => {
                d.push(
                    d.at(
                        n.pos,
                        &join(path, "sensitive"),
                        format!("`sensitive` must be true or false, found {}", n.describe()),
                    )
                    .expected("true or false"),
                );
                false
            }
        },
    };
    let default = match get("default") {
        None => None,
        Some(n) => match typed_default(ty, n) {
            Some(v) => Some(v),
            None => {
                d.push(
                    d.at(
                        n.pos,
                        &join(path, "default"),
                        format!(
                            "the default does not match the variable's type: found {}",
                            n.describe()
                        ),
                    )
                    .expected(format!("a {}", type_name(ty))),
                );
                ok = false;
                None
            }
        },
    };
    let name = &key.name;
    let from = |raw: &str, source: &str, d: &mut Diags| -> Option<Value> {
        let v = convert(ty, raw);
        if v.is_none() {
            d.push(
                d.at(
                    key.pos,
                    path,
                    format!(
                        "{source} gives variable `{name}` the value `{raw}`, which is not a {}",
                        type_name(ty)
                    ),
                )
                .expected(match ty {
                    VarType::Bool => "true or false".to_string(),
                    _ => format!("a {}", type_name(ty)),
                }),
            );
        }
        v
    };
    let value = if let Some(raw) = src.cli.get(name) {
        from(raw, "--var", d)
    } else if let Some(raw) = (src.env)(name) {
        from(
            &raw,
            &format!("environment variable OVERCAST_VAR_{name}"),
            d,
        )
    } else if default.is_some() {
        default
    } else {
        if ok {
            d.push(
                d.at(key.pos, path, format!("variable `{name}` has no value"))
                    .hint(format!(
                        "pass `--var {name}=VALUE`, set OVERCAST_VAR_{name}, or give it a `default`"
                    )),
            );
        }
        None
    };
    Some(Variable {
        name: name.clone(),
        ty,
        value: value?,
        sensitive,
        description,
        location: d.loc(key.pos),
    })
}

fn declared_list(declared: &BTreeSet<String>) -> String {
    if declared.is_empty() {
        "a declared variable (none are declared)".to_string()
    } else {
        format!(
            "a declared variable: {}",
            declared
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// A variable value spliced into text: a literal, so any `${` in it is escaped.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.replace("${", "$${"),
        other => other.to_string(),
    }
}

/// Replace `${var.NAME}` in every string under `node`. A string that is exactly one
/// variable reference takes the variable's typed value (so `count: ${var.n}` is a
/// number); otherwise the value is interpolated. Resource references are kept as they
/// are for the engine. Variables used are added to `used`.
pub(crate) fn substitute(
    node: &mut Node,
    vars: &BTreeMap<String, Variable>,
    declared: &BTreeSet<String>,
    path: &str,
    used: &mut BTreeSet<String>,
    d: &mut Diags,
) {
    match &mut node.value {
        Yaml::Seq(items) => {
            for (i, n) in items.iter_mut().enumerate() {
                substitute(n, vars, declared, &format!("{path}[{i}]"), used, d);
            }
        }
        Yaml::Map(entries) => {
            for (k, n) in entries.iter_mut() {
                substitute(n, vars, declared, &join(path, &k.name), used, d);
            }
        }
        Yaml::String(s) => {
            let refs = match find_refs(s) {
                Ok(r) => r,
                Err(e) => {
                    d.push(
                        d.at(
                            node.pos,
                            path,
                            format!("malformed reference: {}", e.message),
                        )
                        .expected("`${var.NAME}`, `${RESOURCE}` or `${RESOURCE.ATTRIBUTE}`")
                        .hint("write `$${` for a literal `${`"),
                    );
                    return;
                }
            };
            if !refs.iter().any(|(_, r)| matches!(r, Ref::Var(_))) {
                return;
            }
            let mut missing = false;
            for (_, r) in &refs {
                if let Ref::Var(name) = r {
                    used.insert(name.clone());
                    if !vars.contains_key(name) {
                        missing = true;
                        // Declared but unresolved variables were reported at their declaration.
                        if !declared.contains(name) {
                            d.push(
                                d.at(node.pos, path, format!("unknown variable `{name}`"))
                                    .expected(declared_list(declared))
                                    .maybe_hint(did_you_mean(name, declared.iter().map(String::as_str)).or_else(
                                        || Some(format!("declare it under `variables:` as `{name}: {{ type: string }}`")),
                                    )),
                            );
                        }
                    }
                }
            }
            if missing {
                return;
            }
            if let [(span, Ref::Var(name))] = refs.as_slice()
                && *span == (0..s.len())
                && let Some(v) = vars.get(name)
            {
                let mut v = v.value.clone();
                if let Value::String(t) = &mut v {
                    *t = t.replace("${", "$${");
                }
                *node = Node::from_scalar(node.pos, &v);
                return;
            }
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for (span, r) in &refs {
                out.push_str(s.get(last..span.start).unwrap_or_default());
                match r {
                    Ref::Var(name) => out.push_str(
                        &vars
                            .get(name)
                            .map(|v| as_text(&v.value))
                            .unwrap_or_default(),
                    ),
                    _ => out.push_str(s.get(span.clone()).unwrap_or_default()),
                }
                last = span.end;
            }
            out.push_str(s.get(last..).unwrap_or_default());
            *s = out;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_values_convert_to_the_declared_type() {
        assert_eq!(convert(VarType::Number, "3"), Some(Value::from(3)));
        assert_eq!(
            convert(VarType::Number, "2.5"),
            Some(serde_json::json!(2.5))
        );
        assert_eq!(convert(VarType::Number, "x"), None);
        assert_eq!(convert(VarType::Bool, "true"), Some(Value::Bool(true)));
        assert_eq!(convert(VarType::Bool, "yes"), None);
    }

    #[test]
    fn variable_names_are_identifiers() {
        assert!(valid_var_name("env_1"));
        assert!(!valid_var_name("1env"));
        assert!(!valid_var_name("a-b"));
    }
}
