//! References inside string values: `${var.name}`, `${resource}`, `${resource.attr}` and,
//! inside a provider's own expansion, `${resource.local.attr}`.
//!
//! A string that is exactly one reference takes the referenced value with its JSON type;
//! a string with text around references becomes a string. A value that is not known yet
//! (a resource not yet created) makes the whole string [`UNKNOWN`].

use std::ops::Range;

use serde_json::Value;

/// Marker for a value only known after apply. Renderers print `(known after apply)`.
pub const UNKNOWN: &str = "\u{1f}(known after apply)\u{1f}";

/// Whether a value is (or contains) the unknown marker.
pub fn is_unknown(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(UNKNOWN),
        Value::Array(a) => a.iter().any(is_unknown),
        Value::Object(o) => o.values().any(is_unknown),
        _ => false,
    }
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ref {
    /// `${var.name}`
    Var(String),
    /// `${name}` (attr `None`) or `${name.attr}`.
    Resource {
        /// Logical resource name.
        name: String,
        /// Attribute, if any.
        attr: Option<String>,
    },
    /// `${name.local.attr}`: an attribute of one native resource (used by providers).
    Native {
        /// Logical resource name.
        resource: String,
        /// Local name in the expansion (may contain `[i]`).
        local: String,
        /// Attribute.
        attr: String,
    },
}

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ref::Var(n) => write!(f, "${{var.{n}}}"),
            Ref::Resource { name, attr: None } => write!(f, "${{{name}}}"),
            Ref::Resource {
                name,
                attr: Some(a),
            } => write!(f, "${{{name}.{a}}}"),
            Ref::Native {
                resource,
                local,
                attr,
            } => write!(f, "${{{resource}.{local}.{attr}}}"),
        }
    }
}

/// A malformed reference and where it is in the string (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RefError {
    /// What is wrong.
    pub message: String,
    /// Byte range of the offending text in the string.
    pub span: Range<usize>,
}

fn valid_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_local(s: &str) -> bool {
    let base = s.split('[').next().unwrap_or(s);
    valid_ident(base)
}

fn parse_ref(body: &str, span: Range<usize>) -> Result<Ref, RefError> {
    let parts: Vec<&str> = body.trim().split('.').collect();
    let err = |m: String| RefError {
        message: m,
        span: span.clone(),
    };
    match parts.as_slice() {
        ["var", name] if valid_ident(name) => Ok(Ref::Var(name.to_string())),
        ["var"] | ["var", ..] => Err(err(format!(
            "`${{{body}}}`: a variable reference is `${{var.NAME}}`"
        ))),
        [name] if valid_ident(name) => Ok(Ref::Resource {
            name: name.to_string(),
            attr: None,
        }),
        [name, attr] if valid_ident(name) && valid_ident(attr) => Ok(Ref::Resource {
            name: name.to_string(),
            attr: Some(attr.to_string()),
        }),
        [res, local, attr] if valid_ident(res) && valid_local(local) && valid_ident(attr) => {
            Ok(Ref::Native {
                resource: res.to_string(),
                local: local.to_string(),
                attr: attr.to_string(),
            })
        }
        _ => Err(err(format!(
            "`${{{body}}}` is not a reference: expected `${{var.NAME}}`, `${{RESOURCE}}` or `${{RESOURCE.ATTRIBUTE}}`"
        ))),
    }
}

/// Every reference in `s`, with its byte range (including `${` and `}`). `$${` escapes a
/// literal `${`.
pub fn find_refs(s: &str) -> Result<Vec<(Range<usize>, Ref)>, RefError> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'$' {
            i += 2;
            continue;
        }
        if bytes[i] == b'$' && bytes[i + 1] == b'{' {
            let start = i;
            let Some(rel_end) = s[i + 2..].find('}') else {
                return Err(RefError {
                    message: "unclosed `${`: add the closing `}`".to_string(),
                    span: start..s.len(),
                });
            };
            let end = i + 2 + rel_end + 1;
            let r = parse_ref(&s[i + 2..end - 1], start..end)?;
            out.push((start..end, r));
            i = end;
            continue;
        }
        i += 1;
    }
    Ok(out)
}

/// If `s` is exactly one whole-resource reference (`${name}`), the resource's name.
/// Providers use it to see what a property such as a CDN origin or a trigger source points
/// at, and the spec validator to require it.
pub fn whole_resource_ref(s: &str) -> Option<&str> {
    let refs = find_refs(s).ok()?;
    match refs.as_slice() {
        [(span, Ref::Resource { name, attr: None })] if *span == (0..s.len()) => {
            // The name is the text between `${` and `}`, trimmed as the parser trims it.
            let inner = s.get(2..s.len() - 1)?.trim();
            (inner == name).then_some(inner)
        }
        _ => None,
    }
}

/// Call `f` on every reference in every string inside `v`.
pub fn visit_refs(v: &Value, f: &mut dyn FnMut(&Ref)) -> Result<(), RefError> {
    match v {
        Value::String(s) => {
            for (_, r) in find_refs(s)? {
                f(&r);
            }
        }
        Value::Array(a) => {
            for x in a {
                visit_refs(x, f)?;
            }
        }
        Value::Object(o) => {
            for x in o.values() {
                visit_refs(x, f)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The answer of a lookup during resolution.
pub enum Lookup {
    /// The value is known.
    Known(Value),
    /// The value exists but is only known after apply.
    Unknown,
}

/// Replace every reference in `v` through `lookup`. Returns the error of the first
/// reference the lookup rejects.
pub fn resolve<E>(v: &Value, lookup: &mut dyn FnMut(&Ref) -> Result<Lookup, E>) -> Result<Value, E>
where
    E: From<RefError>,
{
    Ok(match v {
        Value::String(s) => resolve_str(s, lookup)?,
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve(x, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut m = serde_json::Map::with_capacity(o.len());
            for (k, x) in o {
                m.insert(k.clone(), resolve(x, lookup)?);
            }
            Value::Object(m)
        }
        other => other.clone(),
    })
}

fn resolve_str<E: From<RefError>>(
    s: &str,
    lookup: &mut dyn FnMut(&Ref) -> Result<Lookup, E>,
) -> Result<Value, E> {
    let refs = find_refs(s)?;
    if refs.is_empty() {
        return Ok(Value::String(s.replace("$${", "${")));
    }
    if refs.len() == 1 && refs[0].0 == (0..s.len()) {
        return Ok(match lookup(&refs[0].1)? {
            Lookup::Known(v) => v,
            Lookup::Unknown => Value::String(UNKNOWN.to_string()),
        });
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (span, r) in refs {
        out.push_str(&s[last..span.start].replace("$${", "${"));
        match lookup(&r)? {
            Lookup::Known(Value::String(v)) => out.push_str(&v),
            Lookup::Known(Value::Null) => {}
            Lookup::Known(v) => out.push_str(&v.to_string()),
            Lookup::Unknown => return Ok(Value::String(UNKNOWN.to_string())),
        }
        last = span.end;
    }
    out.push_str(&s[last..].replace("$${", "${"));
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_all_reference_forms() {
        let refs: Vec<Ref> = find_refs("${var.x}-${db}-${db.endpoint}-${api.role.arn}")
            .unwrap()
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert_eq!(refs[0], Ref::Var("x".into()));
        assert_eq!(
            refs[1],
            Ref::Resource {
                name: "db".into(),
                attr: None
            }
        );
        assert_eq!(
            refs[2],
            Ref::Resource {
                name: "db".into(),
                attr: Some("endpoint".into())
            }
        );
        assert_eq!(
            refs[3],
            Ref::Native {
                resource: "api".into(),
                local: "role".into(),
                attr: "arn".into()
            }
        );
    }

    #[test]
    fn recognizes_whole_resource_references_only() {
        assert_eq!(whole_resource_ref("${site}"), Some("site"));
        assert_eq!(whole_resource_ref("${site.url}"), None);
        assert_eq!(whole_resource_ref("x${site}"), None);
        assert_eq!(whole_resource_ref("site"), None);
    }

    #[test]
    fn rejects_malformed_references_with_their_span() {
        let e = find_refs("abc ${db.").unwrap_err();
        assert_eq!(e.span, 4..9);
        let e = find_refs("x ${a b}").unwrap_err();
        assert!(e.message.contains("not a reference"));
        assert!(find_refs("$${literal}").unwrap().is_empty());
    }

    #[test]
    fn whole_references_keep_type_and_partial_ones_interpolate() {
        let mut lookup = |r: &Ref| -> Result<Lookup, RefError> {
            Ok(match r {
                Ref::Var(_) => Lookup::Known(json!(5432)),
                _ => Lookup::Unknown,
            })
        };
        assert_eq!(
            resolve(&json!("${var.p}"), &mut lookup).unwrap(),
            json!(5432)
        );
        assert_eq!(
            resolve(&json!("port=${var.p}"), &mut lookup).unwrap(),
            json!("port=5432")
        );
        assert!(is_unknown(
            &resolve(&json!({"a": ["x${db.url}"]}), &mut lookup).unwrap()
        ));
        assert_eq!(
            resolve(&json!("$${keep}"), &mut lookup).unwrap(),
            json!("${keep}")
        );
    }
}
