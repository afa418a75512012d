//! Checks a YAML subtree against a schemars-generated JSON Schema, reporting each problem
//! at the offending key or value. Only the constructs schemars emits for the property
//! structs are understood (`$ref`, `anyOf`/`oneOf`, `const`/`enum`, `type`, ranges,
//! `properties`/`required`/`additionalProperties`, `items`); serde has the last word
//! afterwards (see `props`), this pass exists to say *where* and *what* precisely.

use serde_json::{Map, Value};

use super::diag::{Diags, join};
use super::error::{did_you_mean, one_of};
use super::yaml::{Node, Pos, Yaml};

/// A checker bound to one schema's `$defs`.
pub(crate) struct Checker<'s, 'd> {
    pub defs: Option<&'s Map<String, Value>>,
    pub d: &'d mut Diags,
    /// What a key of a checked mapping is called in messages: `property` for a
    /// resource's properties, `setting` for a target's settings.
    pub noun: &'static str,
}

fn deref<'s>(defs: Option<&'s Map<String, Value>>, mut schema: &'s Value) -> &'s Value {
    // Bounded: schemars never emits chains of references, but input-independent
    // loops must not hang either.
    for _ in 0..8 {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            Some(name) => match defs.and_then(|d| d.get(name)) {
                Some(s) => schema = s,
                None => return schema,
            },
            None => return schema,
        }
    }
    schema
}

fn branches(schema: &Value) -> Option<&Vec<Value>> {
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
}

fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn node_fits_type(node: &Node, t: &str) -> bool {
    match (&node.value, t) {
        (Yaml::Null, "null") | (Yaml::Bool(_), "boolean") | (Yaml::String(_), "string") => true,
        (Yaml::Number(_), "number") => true,
        (Yaml::Number(n), "integer") => n.is_i64() || n.is_u64(),
        (Yaml::Seq(_), "array") | (Yaml::Map(_), "object") => true,
        _ => false,
    }
}

/// Enumerated values of a schema (`enum`, `const`, or `oneOf` of consts), if it is one.
fn enum_values(defs: Option<&Map<String, Value>>, schema: &Value) -> Option<Vec<Value>> {
    let schema = deref(defs, schema);
    if let Some(c) = schema.get("const") {
        return Some(vec![c.clone()]);
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        return Some(e.clone());
    }
    let mut out = Vec::new();
    for b in branches(schema)? {
        out.extend(enum_values(defs, b)?);
    }
    Some(out)
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn range_text(schema: &Value, noun: &str) -> String {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let bare = noun.trim_start_matches("an ").trim_start_matches("a ");
    if schema.get("exclusiveMinimum").and_then(Value::as_f64) == Some(0.0) {
        return format!("a positive {bare}");
    }
    match (min, max) {
        (Some(a), Some(b)) => format!("{noun} from {a} to {b}"),
        (Some(0.0), None) => format!("a non-negative {bare}"),
        (Some(a), None) => format!("{noun} of at least {a}"),
        (None, Some(b)) => format!("{noun} up to {b}"),
        (None, None) => noun.to_string(),
    }
}

/// Whether `x` is within the schema's `minimum`, `exclusiveMinimum` and `maximum`.
fn in_range(schema: &Value, x: f64) -> bool {
    let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
    bound("minimum").is_none_or(|m| x >= m)
        && bound("exclusiveMinimum").is_none_or(|m| x > m)
        && bound("maximum").is_none_or(|m| x <= m)
}

/// Whether `s` is at least the schema's `minLength` characters long.
fn long_enough(schema: &Value, s: &str) -> bool {
    schema
        .get("minLength")
        .and_then(Value::as_u64)
        .is_none_or(|m| s.chars().count() as u64 >= m)
}

/// What a schema accepts, in words, for `expected:` lines.
pub(crate) fn describe(defs: Option<&Map<String, Value>>, schema: &Value) -> String {
    let schema = deref(defs, schema);
    if let Some(vals) = enum_values(defs, schema) {
        let shown: Vec<String> = vals.iter().map(show).collect();
        return one_of(shown.iter().map(String::as_str));
    }
    if let Some(bs) = branches(schema) {
        let parts: Vec<String> = bs
            .iter()
            .filter(|b| types(deref(defs, b)) != ["null"])
            .map(|b| describe(defs, b))
            .collect();
        return parts.join(" or ");
    }
    let ts: Vec<&str> = types(schema).into_iter().filter(|t| *t != "null").collect();
    let parts: Vec<String> = ts
        .iter()
        .map(|t| match *t {
            "integer" => range_text(schema, "an integer"),
            "number" => range_text(schema, "a number"),
            "string" if schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0 => {
                "a non-empty string".to_string()
            }
            "string" => "a string".to_string(),
            "boolean" => "true or false".to_string(),
            "array" => match schema.get("items") {
                Some(i) => format!("a list of: {}", describe(defs, i)),
                None => "a list".to_string(),
            },
            "object" => "a mapping".to_string(),
            other => other.to_string(),
        })
        .collect();
    if parts.is_empty() {
        "anything".to_string()
    } else {
        parts.join(" or ")
    }
}

impl Checker<'_, '_> {
    /// Whether `node` satisfies `schema` (no reporting, no coercion).
    fn fits(&self, node: &Node, schema: &Value) -> bool {
        let schema = deref(self.defs, schema);
        if let Some(bs) = branches(schema) {
            return bs.iter().any(|b| self.fits(node, b));
        }
        if let Some(c) = schema.get("const") {
            return node.to_json() == *c;
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            return e.contains(&node.to_json());
        }
        let ts = types(schema);
        let coercible =
            ts.contains(&"string") && matches!(node.value, Yaml::Number(_) | Yaml::Bool(_));
        if !ts.is_empty() && !coercible && !ts.iter().any(|t| node_fits_type(node, t)) {
            return false;
        }
        match &node.value {
            Yaml::Number(n) => coercible || in_range(schema, n.as_f64().unwrap_or(0.0)),
            Yaml::String(s) => long_enough(schema, s),
            Yaml::Seq(items) => schema
                .get("items")
                .is_none_or(|i| items.iter().all(|n| self.fits(n, i))),
            Yaml::Map(entries) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let extra = schema.get("additionalProperties");
                let required_ok =
                    schema
                        .get("required")
                        .and_then(Value::as_array)
                        .is_none_or(|r| {
                            r.iter()
                                .filter_map(Value::as_str)
                                .all(|k| entries.iter().any(|(e, _)| e.name == k))
                        });
                required_ok
                    && entries
                        .iter()
                        .all(|(k, v)| match props.and_then(|p| p.get(&k.name)) {
                            Some(s) => self.fits(v, s),
                            None => match extra {
                                Some(Value::Bool(false)) => false,
                                Some(s @ Value::Object(_)) => self.fits(v, s),
                                _ => true,
                            },
                        })
            }
            _ => true,
        }
    }

    /// Check `node` against `schema`, reporting every problem. `name` is the field's
    /// name for messages, `key_pos` where a missing required field is reported, and
    /// `owner` how to name the mapping in an "unknown property" message.
    /// Returns whether no error was found.
    pub fn check(
        &mut self,
        node: &mut Node,
        schema: &Value,
        path: &str,
        name: &str,
        key_pos: Pos,
        owner: &str,
    ) -> bool {
        let defs = self.defs;
        let schema = deref(defs, schema);
        if let Some(bs) = branches(schema) {
            if let Some(b) = bs.iter().find(|b| self.fits(node, b)) {
                // Run the fitting branch for its coercions (numbers written for strings).
                return self.check(node, b, path, name, key_pos, owner);
            }
            let non_null: Vec<&Value> = bs
                .iter()
                .filter(|b| types(deref(defs, b)) != ["null"])
                .collect();
            if enum_values(defs, schema).is_none()
                && let [only] = non_null.as_slice()
            {
                return self.check(node, only, path, name, key_pos, owner);
            }
            return self.bad_value(node, schema, path, name);
        }
        if schema.get("const").is_some() || schema.get("enum").is_some() {
            return self.fits(node, schema) || self.bad_value(node, schema, path, name);
        }
        let ts = types(schema);
        if !ts.is_empty() && !ts.iter().any(|t| node_fits_type(node, t)) {
            if ts.contains(&"string") {
                // `version: 16` means "16": YAML typed it, the user meant text.
                let text = match &node.value {
                    Yaml::Number(n) => Some(n.to_string()),
                    Yaml::Bool(b) => Some(b.to_string()),
                    _ => None,
                };
                if let Some(text) = text {
                    node.value = Yaml::String(text);
                    return true;
                }
            }
            let e = self
                .d
                .at(
                    node.pos,
                    path,
                    format!("wrong type for `{name}`: found {}", node.describe()),
                )
                .expected(describe(defs, schema));
            self.d.push(e);
            return false;
        }
        match &mut node.value {
            Yaml::String(s) if !long_enough(schema, s) => {
                let e = self
                    .d
                    .at(node.pos, path, format!("`{name}` is empty"))
                    .expected(describe(defs, schema));
                self.d.push(e);
                false
            }
            Yaml::Number(n) => {
                if !in_range(schema, n.as_f64().unwrap_or(0.0)) {
                    let e = self
                        .d
                        .at(node.pos, path, format!("`{name}` is out of range: {n}"))
                        .expected(describe(defs, schema));
                    self.d.push(e);
                    return false;
                }
                true
            }
            Yaml::Seq(items) => {
                let Some(item_schema) = schema.get("items") else {
                    return true;
                };
                let mut ok = true;
                for (i, n) in items.iter_mut().enumerate() {
                    let p = format!("{path}[{i}]");
                    let pos = n.pos;
                    ok &= self.check(n, item_schema, &p, &format!("{name}[{i}]"), pos, owner);
                }
                ok
            }
            Yaml::Map(entries) => self.check_map(entries, schema, path, key_pos, owner),
            _ => true,
        }
    }

    fn check_map(
        &mut self,
        entries: &mut [(super::yaml::Key, Node)],
        schema: &Value,
        path: &str,
        key_pos: Pos,
        owner: &str,
    ) -> bool {
        let defs = self.defs;
        let props = schema.get("properties").and_then(Value::as_object);
        let names: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let extra = schema.get("additionalProperties");
        let mut ok = true;
        for (k, v) in entries.iter_mut() {
            let p = join(path, &k.name);
            match props.and_then(|ps| ps.get(&k.name)) {
                Some(s) => ok &= self.check(v, s, &p, &k.name, k.pos, &format!("in `{}`", k.name)),
                None => match extra {
                    Some(Value::Bool(false)) => {
                        let e = self
                            .d
                            .at(
                                k.pos,
                                &p,
                                format!("unknown {} `{}` {owner}", self.noun, k.name),
                            )
                            .expected(one_of(names.iter().copied()))
                            .maybe_hint(did_you_mean(&k.name, names.iter().copied()));
                        self.d.push(e);
                        ok = false;
                    }
                    Some(s @ Value::Object(_)) => {
                        ok &= self.check(v, s, &p, &k.name, k.pos, &format!("in `{}`", k.name));
                    }
                    _ => {}
                },
            }
        }
        for req in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !entries.iter().any(|(k, _)| k.name == req) {
                let what = props.and_then(|p| p.get(req)).map(|s| describe(defs, s));
                let mut e = self.d.at(
                    key_pos,
                    &join(path, req),
                    format!("missing required {} `{req}` {owner}", self.noun),
                );
                if let Some(w) = what {
                    e = e.expected(format!("`{req}`: {w}"));
                }
                self.d.push(e);
                ok = false;
            }
        }
        ok
    }

    fn bad_value(&mut self, node: &Node, schema: &Value, path: &str, name: &str) -> bool {
        let defs = self.defs;
        let shown = match &node.value {
            Yaml::String(s) => format!("`{s}`"),
            Yaml::Number(_) | Yaml::Bool(_) | Yaml::Null => format!("`{}`", node.to_json()),
            _ => node.describe(),
        };
        let hint = match (&node.value, enum_values(defs, schema)) {
            (Yaml::String(s), Some(vals)) => {
                let names: Vec<String> = vals.iter().map(show).collect();
                did_you_mean(s, names.iter().map(String::as_str))
            }
            _ => None,
        };
        let e = self
            .d
            .at(
                node.pos,
                path,
                format!("invalid value {shown} for `{name}`"),
            )
            .expected(describe(defs, schema))
            .maybe_hint(hint);
        self.d.push(e);
        false
    }
}
