//! `overcast plan`, and the planning shared by apply and destroy.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::json;

use super::{Ctx, load_stack, open_session, parse_vars, secrets, spec_digest};
use crate::cli::PlanArgs;
use crate::plan::diff::{DiffOptions, diff};
use crate::plan::refresh::{recover_intents, refresh};
use crate::plan::{PLAN_FORMAT, Plan, StateVersion};
use crate::session::{Session, StateAccess};
use crate::ui::render;

/// Recover interrupted work, refresh, diff: the plan of this session.
pub async fn make_plan(
    session: &mut Session,
    vars: &BTreeMap<String, String>,
    destroy: bool,
    read_live: bool,
    override_protect: bool,
) -> anyhow::Result<Plan> {
    preflight(session).await?;
    recover_intents(session).await?;
    session.close()?;
    let live = refresh(session, read_live).await?;
    let changes = diff(
        session,
        &live,
        DiffOptions {
            destroy,
            override_protect,
        },
    )?;
    let spec_file =
        std::path::absolute(&session.stack.file).unwrap_or_else(|_| session.stack.file.clone());
    Ok(Plan {
        format: PLAN_FORMAT,
        stack: session.stack.name.clone(),
        spec_digest: spec_digest(&session.stack.file, vars)?,
        spec_file: spec_file.display().to_string(),
        vars: vars.clone(),
        destroy,
        states: session
            .stores
            .iter()
            .map(|(t, s)| {
                (
                    t.clone(),
                    StateVersion {
                        serial: s.serial(),
                        lineage: s.lineage().to_string(),
                    },
                )
            })
            .collect(),
        changes,
    })
}

/// Check every involved target's credentials and reachability before reading or changing
/// anything, so a missing credential is one clear error up front.
pub async fn preflight(session: &Session) -> anyhow::Result<()> {
    for target in session.stores.keys() {
        if let Some(p) = session.providers.get(target) {
            // Through the call layer like every other call: a throttled identity check
            // must not fail the command.
            let checked = session.calls.preflight(target, &**p).await;
            checked.map_err(|e| {
                let hint = e
                    .hint
                    .as_ref()
                    .map(|h| format!("\n  hint: {h}"))
                    .unwrap_or_default();
                anyhow::anyhow!(
                    "target `{target}` ({}) is not usable: {}{hint}",
                    p.name(),
                    e.message
                )
            })?;
        }
    }
    Ok(())
}

/// Print a plan in the current output mode.
pub fn show_plan(ctx: &Ctx, session: &Session, plan: &Plan) {
    let secrets = secrets(session);
    ctx.say(&render::plan(plan, &secrets));
    if ctx.mode == crate::ui::OutputMode::Json {
        let plan_json = serde_json::to_value(plan).unwrap_or_default();
        ctx.emit_json(
            &json!({"type": "plan", "summary": plan.summary(), "plan": secrets.mask(&plan_json)}),
        );
    }
}

/// `overcast plan`
pub async fn run(ctx: &Ctx, args: &PlanArgs) -> anyhow::Result<i32> {
    let stack = load_stack(&ctx.global)?;
    let vars = parse_vars(&ctx.global.vars)?;
    let mut session = open_session(ctx, stack, StateAccess::Lock("plan"))?;
    let plan = make_plan(
        &mut session,
        &vars,
        args.destroy,
        !args.no_refresh,
        args.override_protect,
    )
    .await?;
    ctx.reporter.finish();
    show_plan(ctx, &session, &plan);
    if let Some(out) = &args.out {
        let text = serde_json::to_vec_pretty(&plan).context("serializing the plan")?;
        crate::state::write_atomic(out, &text)
            .with_context(|| format!("saving the plan to {}", out.display()))?;
        ctx.say(&format!(
            "Saved the plan to {}. Apply exactly it with `overcast apply {}`.",
            out.display(),
            out.display()
        ));
    }
    session.close()?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    })
}
