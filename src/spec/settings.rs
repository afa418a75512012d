//! A target's settings (every key of `targets.<name>` besides `provider`): checked
//! against the settings schema of its provider, with the same schema checker as
//! resource properties, so a misspelled key or a value out of range is reported at its
//! line and column with what was expected.

use overcast_core::ProviderKind;
use overcast_core::refs::{self, Lookup, Ref, RefError, find_refs};
use serde_json::{Map, Value};

use super::check::Checker;
use super::diag::{Diags, join};
use super::yaml::{Key, Node, Yaml};
use crate::registry;

/// Check and type the settings of the target `key` (`settings` holds its entries minus
/// `provider`, variables already substituted). Returns `None` after reporting when they
/// do not fit the provider.
pub(crate) fn typed(
    provider: ProviderKind,
    key: &Key,
    settings: &mut Node,
    path: &str,
    d: &mut Diags,
) -> Option<Map<String, Value>> {
    let before = d.count();
    no_resource_refs(settings, path, d);
    // A provider this build leaves out has no schema here; the target fails later, when
    // its provider is built, with the reason and what to do.
    if let Some(schema) = registry::settings_schema(provider) {
        let defs = schema.get("$defs").and_then(Value::as_object);
        Checker {
            defs,
            d,
            noun: "setting",
        }
        .check(
            settings,
            schema,
            path,
            &key.name,
            key.pos,
            // "an aws target", "an azure target", "a gcp target".
            &format!(
                "for {} {provider} target",
                if provider.to_string().starts_with('a') {
                    "an"
                } else {
                    "a"
                }
            ),
        );
    }
    if d.count() > before {
        return None;
    }
    // `$${` is how a spec writes a literal `${` (and how a substituted variable's value
    // keeps one): providers get the text the user meant. No reference is left to resolve.
    let unescaped = refs::resolve(&settings.to_json(), &mut |_: &Ref| {
        Ok::<Lookup, RefError>(Lookup::Known(Value::Null))
    });
    match unescaped {
        Ok(Value::Object(m)) => Some(m),
        _ => Some(Map::new()),
    }
}

/// Settings are read when the provider is built, before any resource exists: a
/// reference to a resource can never be resolved there.
fn no_resource_refs(node: &Node, path: &str, d: &mut Diags) {
    match &node.value {
        Yaml::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                no_resource_refs(n, &format!("{path}[{i}]"), d);
            }
        }
        Yaml::Map(entries) => {
            for (k, n) in entries {
                no_resource_refs(n, &join(path, &k.name), d);
            }
        }
        Yaml::String(s) => {
            // Malformed references were reported by the variable pass.
            let Ok(found) = find_refs(s) else { return };
            if let Some((_, r)) = found.iter().find(|(_, r)| !matches!(r, Ref::Var(_))) {
                d.push(
                    d.at(
                        node.pos,
                        path,
                        format!("a target setting cannot reference a resource: `{r}`"),
                    )
                    .hint(
                        "target settings are read before any resource exists; use a \
                         `${var.NAME}` variable, or write `$${` for a literal `${`",
                    ),
                );
            }
        }
        _ => {}
    }
}
