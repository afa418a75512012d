//! `overcast output [NAME]`: the stack's outputs as recorded by the last apply.

use anyhow::bail;
use serde_json::{Value, json};

use super::{Ctx, load_stack};
use crate::state::StateStore;
use crate::ui::render::MASK;

/// Outputs with sensitive values masked.
pub fn masked(outputs: &serde_json::Map<String, Value>) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in outputs {
        let sensitive = v.get("sensitive").and_then(Value::as_bool).unwrap_or(false);
        let value = if sensitive {
            json!(MASK)
        } else {
            v.get("value").cloned().unwrap_or(Value::Null)
        };
        m.insert(k.clone(), json!({"value": value, "sensitive": sensitive}));
    }
    Value::Object(m)
}

/// `name = value` lines, sensitive values masked.
pub fn render_outputs(outputs: &serde_json::Map<String, Value>) -> String {
    let mut s = String::from("\nOutputs:\n\n");
    for (k, v) in outputs {
        let sensitive = v.get("sensitive").and_then(Value::as_bool).unwrap_or(false);
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        let shown = if sensitive {
            MASK.to_string()
        } else {
            match value {
                Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            }
        };
        s.push_str(&format!("{k} = {shown}\n"));
    }
    s
}

/// `overcast output`
pub async fn run(ctx: &Ctx, name: Option<&str>) -> anyhow::Result<i32> {
    let stack = load_stack(&ctx.global)?;
    let work_dir = crate::engine::work_dir(&stack);
    // Apply records outputs in the default target's state, or in the first target's when
    // the default target holds no state (see `Session::outputs_target`).
    let targets = crate::state::list_targets(&work_dir, &stack.name);
    let target = if targets.contains(&stack.default_target) {
        stack.default_target.clone()
    } else {
        targets
            .first()
            .cloned()
            .unwrap_or_else(|| stack.default_target.clone())
    };
    let store = StateStore::open_read_only(&work_dir, &stack.name, &target)?;
    let outputs = store.outputs().clone();
    match name {
        Some(n) => {
            let Some(v) = outputs.get(n) else {
                let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
                bail!(
                    "no output `{n}` in state{}",
                    if names.is_empty() {
                        " (run `overcast apply` first)".to_string()
                    } else {
                        format!("; outputs: {}", names.join(", "))
                    }
                );
            };
            let value = v.get("value").cloned().unwrap_or(Value::Null);
            if ctx.global.json {
                crate::outln!("{value}");
            } else {
                match value {
                    Value::String(s) => crate::outln!("{s}"),
                    other => crate::outln!("{other}"),
                }
            }
        }
        None => {
            if ctx.global.json {
                crate::outln!("{}", masked(&outputs));
            } else if outputs.is_empty() {
                crate::outln!("No outputs recorded: run `overcast apply` first.");
            } else {
                crate::out!("{}", render_outputs(&outputs).trim_start());
            }
        }
    }
    Ok(0)
}
