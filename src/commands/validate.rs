//! `overcast validate`: the spec and its expansion, no state, no cloud.

use serde_json::json;

use super::{Ctx, load_stack};
use crate::{engine, registry};

/// Validate the spec and expand it through the providers.
pub async fn run(ctx: &Ctx) -> anyhow::Result<i32> {
    let stack = load_stack(&ctx.global)?;
    let providers = registry::build_providers(&stack)?;
    let desired = engine::expand(&stack, &providers)?;
    let targets: Vec<&str> = stack.targets.keys().map(String::as_str).collect();
    ctx.say(&format!(
        "{} is valid: stack `{}`, {} resource(s) expanding to {} native resource(s) on target(s) {}.",
        stack.file.display(),
        stack.name,
        stack.resources.len(),
        desired.natives.len(),
        targets.join(", ")
    ));
    ctx.emit_json(&json!({"type": "valid", "stack": stack.name, "resources": stack.resources.len(), "natives": desired.natives.len()}));
    Ok(0)
}
