//! `overcast invoke NAME --payload JSON`: run a deployed function.

use anyhow::{Context, bail};

use super::{Ctx, function_resource, load_stack, open_session};
use crate::session::StateAccess;

/// `overcast invoke`
pub async fn run(ctx: &Ctx, name: &str, payload: &str) -> anyhow::Result<i32> {
    let payload: serde_json::Value = serde_json::from_str(payload)
        .with_context(|| format!("--payload is not valid JSON: {payload}"))?;
    let stack = load_stack(&ctx.global)?;
    let res = function_resource(&stack, name)?.clone();
    let session = open_session(ctx, stack, StateAccess::ReadOnly)?;
    let states = session.all_states();
    let Some(state) = states
        .values()
        .find(|s| s.addr.resource == name && s.kind == overcast_core::Kind::Function)
    else {
        bail!("function `{name}` is not deployed yet: run `overcast apply` first");
    };
    let provider = session
        .providers
        .get(&res.target)
        .context("no provider for the function's target")?;
    let result = session
        .calls
        .invoke(&res.target, &**provider, state, &payload)
        .await
        .map_err(|e| match &e.hint {
            Some(h) => anyhow::anyhow!("invoking `{name}` failed: {}\n  hint: {h}", e.message),
            None => anyhow::anyhow!("invoking `{name}` failed: {}", e.message),
        })?;
    crate::outln!("{}", serde_json::to_string_pretty(&result)?);
    Ok(0)
}
