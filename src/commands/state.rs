//! `overcast state list|show|rm|unlock`.

use anyhow::{Context, bail};
use overcast_core::NativeAddr;
use serde_json::{Value, json};

use super::{Ctx, load_stack};
use crate::cli::StateCommand;
use crate::state::{self, StateStore};
use crate::ui::render::{MASK, Secrets};

/// `overcast state ...`
pub async fn run(ctx: &Ctx, cmd: &StateCommand) -> anyhow::Result<i32> {
    let stack = load_stack(&ctx.global)?;
    let work_dir = crate::engine::work_dir(&stack);
    let targets = state::list_targets(&work_dir, &stack.name);
    match cmd {
        StateCommand::List => {
            let mut rows = Vec::new();
            for t in &targets {
                let store = StateStore::open_read_only(&work_dir, &stack.name, t)?;
                for (addr, st) in store.resources() {
                    rows.push(json!({"addr": addr.to_string(), "target": t, "type": st.type_name, "id": st.id, "kind": st.kind}));
                    if !ctx.global.json {
                        crate::outln!("{addr:<40} {:<16} {t:<10} {}", st.type_name, st.id);
                    }
                }
                for addr in store.intents().keys() {
                    if !ctx.global.json {
                        crate::outln!(
                            "{addr:<40} (pending: an interrupted create; the next plan or apply recovers it)"
                        );
                    }
                }
            }
            if ctx.global.json {
                crate::outln!("{}", Value::Array(rows));
            } else if targets.is_empty() {
                crate::outln!("No state for stack `{}` yet.", stack.name);
            }
            Ok(0)
        }
        StateCommand::Show { addr } => {
            let wanted: NativeAddr = addr.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let stores: Vec<(String, StateStore)> = targets
                .iter()
                .map(|t| {
                    StateStore::open_read_only(&work_dir, &stack.name, t).map(|s| (t.clone(), s))
                })
                .collect::<Result<_, _>>()?;
            // Secrets are masked by value, so an input that embeds one (a connection
            // string in a function's env) is masked too.
            let mut secrets = Secrets::default();
            for (_, store) in &stores {
                secrets.add_recorded(store.resources().values());
            }
            for v in stack.variables.values().filter(|v| v.sensitive) {
                secrets.add(&v.value);
            }
            for (t, store) in &stores {
                if let Some(st) = store.resources().get(&wanted) {
                    let mut v = secrets.mask(&serde_json::to_value(st)?);
                    if let Some(outs) = v.get_mut("outputs").and_then(Value::as_object_mut) {
                        for name in &st.sensitive {
                            if let Some(x) = outs.get_mut(name) {
                                *x = json!(MASK);
                            }
                        }
                    }
                    v["target"] = json!(t);
                    crate::outln!("{}", serde_json::to_string_pretty(&v)?);
                    return Ok(0);
                }
            }
            bail!(
                "`{addr}` is not in the state of stack `{}` (see `overcast state list`)",
                stack.name
            )
        }
        StateCommand::Rm { addrs, target } => {
            let mut removed = 0;
            for t in targets
                .iter()
                .filter(|t| target.as_ref().is_none_or(|x| x == *t))
            {
                let (mut store, _) = StateStore::open(&work_dir, &stack.name, t, "state rm")?;
                let matching: Vec<NativeAddr> = store
                    .resources()
                    .keys()
                    .filter(|a| {
                        addrs
                            .iter()
                            .any(|w| *w == a.to_string() || *w == a.resource)
                    })
                    .cloned()
                    .collect();
                for a in matching {
                    store.remove(&a).with_context(|| format!("removing {a}"))?;
                    crate::outln!(
                        "Removed {a} from the state of target `{t}` (the resource itself still exists)."
                    );
                    removed += 1;
                }
                store.compact()?;
            }
            if removed == 0 {
                bail!(
                    "nothing in state matches {}: see `overcast state list`",
                    addrs.join(", ")
                );
            }
            Ok(0)
        }
        StateCommand::Unlock { id, target } => {
            let t = target
                .clone()
                .unwrap_or_else(|| stack.default_target.clone());
            state::force_unlock(&work_dir, &stack.name, &t, id)?;
            crate::outln!("Released the lock `{id}` of target `{t}`.");
            Ok(0)
        }
    }
}
