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
            let mut listed = Vec::new();
            let mut pending = Vec::new();
            for t in &targets {
                let store = StateStore::open_read_only(&work_dir, &stack.name, t)?;
                for (addr, st) in store.resources() {
                    rows.push(json!({"addr": addr.to_string(), "target": t, "type": st.type_name, "id": st.id, "kind": st.kind}));
                    listed.push([
                        addr.to_string(),
                        st.type_name.clone(),
                        t.clone(),
                        st.id.clone(),
                    ]);
                }
                pending.extend(store.intents().keys().map(|a| a.to_string()));
            }
            if ctx.global.json {
                crate::outln!("{}", Value::Array(rows));
            } else if targets.is_empty() {
                crate::outln!("No state for stack `{}` yet.", stack.name);
            } else if listed.is_empty() && pending.is_empty() {
                crate::outln!("The state of stack `{}` holds no resources.", stack.name);
            } else {
                crate::out!("{}", list_table(&listed, &pending));
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

/// The `state list` table: a header and one row per native, every column as wide as its
/// widest cell (addresses and native type names vary from 6 to 40 characters), then the
/// interrupted creates that the next plan or apply recovers.
fn list_table(rows: &[[String; 4]], pending: &[String]) -> String {
    const HEADER: [&str; 4] = ["ADDRESS", "TYPE", "TARGET", "ID"];
    let mut widths = HEADER.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let text = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        );
        format!("{}\n", text.trim_end())
    };
    let mut out = line(HEADER);
    for row in rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    for addr in pending {
        out.push_str(&format!(
            "{addr:<w$}  (pending: an interrupted create; the next plan or apply recovers it)\n",
            w = widths[0]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_list_columns_line_up_whatever_the_lengths() {
        let row = |a: &str, ty: &str, t: &str, id: &str| {
            [a.to_string(), ty.to_string(), t.to_string(), id.to_string()]
        };
        let rows = [
            row("db.db", "local_sqlite", "local", "db"),
            row(
                "worker-with-a-long-name.event_source_mapping",
                "aws_lambda_event_source_mapping",
                "production-eu",
                "1f2e",
            ),
        ];
        let text = list_table(&rows, &["jobs.queue".to_string()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        // Each column starts at the same offset on every line.
        for (col, cells) in [
            (
                1,
                ["TYPE", "local_sqlite", "aws_lambda_event_source_mapping"],
            ),
            (2, ["TARGET", "local", "production-eu"]),
            (3, ["ID", "db", "1f2e"]),
        ] {
            let starts: Vec<Option<usize>> = lines[..3]
                .iter()
                .zip(cells)
                .map(|(l, c)| {
                    // The cell, as a whole word (`local` is not the start of `local_sqlite`).
                    let pat = format!("  {c}");
                    l.match_indices(&pat)
                        .map(|(i, _)| i + 2)
                        .find(|i| l[i + c.len()..].is_empty() || l[i + c.len()..].starts_with(' '))
                })
                .collect();
            assert!(
                starts.iter().all(|s| s.is_some() && *s == starts[0]),
                "column {col} is not aligned:\n{text}"
            );
        }
        assert!(lines[3].starts_with("jobs.queue  "), "{text}");
        assert!(lines[3].contains("(pending"), "{text}");
    }
}
