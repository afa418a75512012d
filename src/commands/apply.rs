//! `overcast apply [PLAN]` and `overcast destroy`.

use anyhow::{Context, bail};
use serde_json::json;

use super::plan::{make_plan, show_plan};
use super::{
    Ctx, compute_outputs, confirm, load_stack, load_stack_with, open_session, parse_vars,
    spec_digest,
};
use crate::cli::{ApplyArgs, DestroyArgs};
use crate::executor::ApplyReport;
use crate::plan::{PLAN_FORMAT, Plan};
use crate::session::{Session, StateAccess};
use crate::ui::render;

/// `overcast apply`
pub async fn run(ctx: &Ctx, args: &ApplyArgs) -> anyhow::Result<i32> {
    if let Some(file) = &args.plan_file {
        return apply_saved(ctx, file).await;
    }
    let options = Converge {
        destroy: false,
        refresh: !args.no_refresh,
        override_protect: args.override_protect,
        auto_approve: args.auto_approve,
    };
    converge(ctx, options).await
}

/// `overcast destroy`
pub async fn destroy(ctx: &Ctx, args: &DestroyArgs) -> anyhow::Result<i32> {
    let options = Converge {
        destroy: true,
        refresh: !args.no_refresh,
        override_protect: args.override_protect,
        auto_approve: args.auto_approve,
    };
    converge(ctx, options).await
}

/// What `apply` and `destroy` ask of [`converge`].
struct Converge {
    destroy: bool,
    refresh: bool,
    override_protect: bool,
    auto_approve: bool,
}

/// Plan (the stack, or its destruction), show the plan, confirm, apply it, report.
async fn converge(ctx: &Ctx, o: Converge) -> anyhow::Result<i32> {
    let (verb, holder) = if o.destroy {
        ("Destroy", "destroy")
    } else {
        ("Apply", "apply")
    };
    let stack = load_stack(&ctx.global)?;
    let vars = parse_vars(&ctx.global.vars)?;
    let mut session = open_session(ctx, stack, StateAccess::Lock(holder))?;
    let plan = make_plan(
        &mut session,
        &vars,
        o.destroy,
        o.refresh,
        o.override_protect,
    )
    .await?;
    ctx.reporter.finish();
    show_plan(ctx, &session, &plan);
    if !plan.has_changes() {
        return finish(ctx, &mut session, ApplyReport::default(), verb);
    }
    let question = if o.destroy {
        format!(
            "Do you really want to destroy every resource of stack `{}`?",
            plan.stack
        )
    } else {
        "Do you want to perform these actions?".to_string()
    };
    if !confirm(ctx, &question, o.auto_approve)? {
        ctx.say(&format!("{verb} cancelled."));
        return Ok(1);
    }
    let report = session.execute(&plan).await?;
    finish(ctx, &mut session, report, verb)
}

/// Apply a plan saved with `plan --out`, exactly, if nothing changed since.
async fn apply_saved(ctx: &Ctx, file: &std::path::Path) -> anyhow::Result<i32> {
    let text =
        std::fs::read(file).with_context(|| format!("reading the plan {}", file.display()))?;
    let plan: Plan = serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not an overcast plan file (make one with `overcast plan --out FILE`)",
            file.display()
        )
    })?;
    if plan.format != PLAN_FORMAT {
        bail!(
            "{} has plan format {}, this overcast reads format {PLAN_FORMAT}: make the plan again",
            file.display(),
            plan.format
        );
    }
    let spec_file = std::path::PathBuf::from(&plan.spec_file);
    if spec_digest(&spec_file, &plan.vars)? != plan.spec_digest {
        bail!(
            "{} changed since the plan {} was made: run `overcast plan --out {}` again",
            spec_file.display(),
            file.display(),
            file.display()
        );
    }
    let stack = load_stack_with(&spec_file, &plan.vars)?;
    let mut session = open_session(ctx, stack, StateAccess::Lock("apply"))?;
    for (target, store) in &session.stores {
        let now = (store.serial(), store.lineage());
        match plan.states.get(target) {
            Some(v) if v.serial == now.0 && v.lineage == now.1 => {}
            Some(v) => bail!(
                "the state of target `{target}` changed since the plan was made (serial {} -> {}): \
                 the plan may no longer be right. Run `overcast plan --out {}` again",
                v.serial,
                now.0,
                file.display()
            ),
            None if store.resources().is_empty() && store.serial() == 0 => {}
            None => bail!(
                "target `{target}` has state the plan did not see: run `overcast plan --out {}` again",
                file.display()
            ),
        }
    }
    show_plan(ctx, &session, &plan);
    let report = session.execute(&plan).await?;
    finish(
        ctx,
        &mut session,
        report,
        if plan.destroy { "Destroy" } else { "Apply" },
    )
}

/// Save outputs and state, print the report and outputs, pick the exit code.
fn finish(
    ctx: &Ctx,
    session: &mut Session,
    report: ApplyReport,
    verb: &str,
) -> anyhow::Result<i32> {
    let outputs = compute_outputs(session);
    if let Some(t) = session.outputs_target().map(str::to_string)
        && let Some(store) = session.stores.get_mut(&t)
    {
        store
            .set_outputs(outputs.clone())
            .context("saving outputs")?;
    }
    session.close()?;
    ctx.reporter.finish();
    ctx.say(&render::report(&report, verb));
    if !outputs.is_empty() && verb == "Apply" {
        ctx.say(&super::output::render_outputs(&outputs));
    }
    ctx.emit_json(&json!({"type": "result", "complete": report.is_complete(), "report": report, "outputs": super::output::masked(&outputs)}));
    Ok(if report.is_complete() {
        0
    } else if report.interrupted && report.failed.is_empty() {
        130
    } else {
        1
    })
}
