//! `overcast nuke`: the command around [`crate::nuke`]: where it acts (a spec's target, or
//! a provider and its location flags), the account guard (block- and allow-lists, names
//! containing `prod`, typing the account id), the dry run and its saved list, the real
//! run and its report.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use overcast_core::discovery::{AccountIdentity, DiscoveredResource, DiscoveryFilter};
use overcast_core::{Provider, ProviderKind};
use serde_json::json;

use super::{Ctx, load_stack};
use crate::call::{CallLayer, RetryPolicy};
use crate::cli::NukeArgs;
use crate::nuke::config::{self, NukeConfig};
use crate::nuke::delete::{DeleteReport, Deleter};
use crate::nuke::select::{Filters, Protections, TagMatch, Verdict, judge, parse_duration};
use crate::nuke::{Inventory, add_store, managed_index, table};
use crate::registry::{self, LocationFlags};
use crate::state::StateStore;
use crate::ui::OutputMode;

/// Where the nuke acts.
struct Scope {
    provider_name: String,
    target: String,
    provider: Arc<dyn Provider>,
    protections: Protections,
}

/// `overcast nuke`
pub async fn run(ctx: &Ctx, args: &NukeArgs) -> anyhow::Result<i32> {
    if args.no_dry_run && args.out.is_some() {
        bail!(
            "--out saves a dry run's list; run without --no-dry-run to save one, then delete it with --no-dry-run --from FILE"
        );
    }
    let filtered = !args.types.is_empty()
        || !args.tags.is_empty()
        || args.name_regex.is_some()
        || args.older_than.is_some()
        || args.stack.is_some()
        || !args.preset.is_empty();
    if args.from.is_some() && filtered {
        bail!(
            "--from FILE deletes exactly the list it saved: drop --type, --tag, --name-regex, --older-than, --stack and --preset (exclusions and protections still apply)"
        );
    }
    let config = match &args.config {
        Some(f) => NukeConfig::load(f)?,
        None => NukeConfig::default(),
    };
    let mut filters = filters(args)?;
    for name in &args.preset {
        let Some(p) = config.presets.get(name) else {
            let known: Vec<&str> = config.presets.keys().map(String::as_str).collect();
            bail!(
                "--preset {name}: no such preset{}; presets: {}",
                config
                    .file
                    .as_ref()
                    .map(|f| format!(" in {}", f.display()))
                    .unwrap_or_else(|| " (no --config given)".into()),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        };
        config::merge(&mut filters, p);
    }
    let mut scope = scope(ctx, args)?;
    scope.protections.rules = config.protect.clone();
    scope.protections.include_managed = args.include_managed;
    let known_types = scope.provider.discoverable_types();
    for t in filters.types.iter().chain(&filters.exclude_types) {
        if !known_types.contains(t) {
            bail!(
                "type `{t}` is not a type provider `{}` can list; types: {}",
                scope.provider_name,
                known_types.join(", ")
            );
        }
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    let calls = CallLayer::new(
        RetryPolicy::default(),
        ctx.reporter.clone(),
        ctx.global.parallelism as usize,
        cancel.clone(),
    );
    let provider = scope.provider.clone();
    let account = calls
        .account(&scope.target, &*provider)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot tell which {} account this is, so nothing is nuked: {}",
                scope.provider_name,
                e.to_report()
            )
        })?;
    let guard = guard(&config, &account);
    let found = discover(&calls, &scope, &filters).await?;
    let now = jiff::Timestamp::now();
    let inventory = match &args.from {
        None => Inventory::build(
            &scope.provider_name,
            account.clone(),
            found,
            &filters,
            &scope.protections,
            now,
        ),
        Some(file) => from_saved(ctx, file, &scope, &filters, &account, found, now)?,
    };
    if !args.no_dry_run {
        if let Err(why) = &guard {
            ctx.reporter.event(crate::ui::Event::Warn(&format!(
                "a real run would be refused: {why}"
            )));
        }
        if let Some(out) = &args.out {
            inventory.save(out)?;
        }
        if ctx.mode == OutputMode::Json {
            let mut v = serde_json::to_value(&inventory)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("dry_run".into(), json!(true));
                o.insert("summary".into(), json!(inventory.summary()));
            }
            ctx.emit_json(&v);
        } else {
            ctx.say(&inventory.render());
            let saved = args
                .out
                .as_ref()
                .map(|f| {
                    format!(
                        " Saved to {}: `--no-dry-run --from {}` deletes exactly that list.",
                        f.display(),
                        f.display()
                    )
                })
                .unwrap_or_default();
            ctx.say(&format!(
                "Dry run: nothing was deleted.{saved} Run again with --no-dry-run to delete."
            ));
        }
        return Ok(0);
    }
    guard.map_err(|why| anyhow::anyhow!("refusing to nuke: {why}"))?;
    if inventory.delete.is_empty() {
        report(ctx, &inventory, &DeleteReport::default());
        return Ok(0);
    }
    if !args.yes {
        if ctx.mode != OutputMode::Json {
            ctx.say(&inventory.render());
        }
        confirm_account(ctx, &account, inventory.delete.len())?;
    }
    let deleter = Deleter {
        target: scope.target.clone(),
        provider,
        calls: calls.clone(),
        reporter: ctx.reporter.clone(),
        parallelism: ctx.global.parallelism as usize,
    };
    let on_ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    let selected: Vec<DiscoveredResource> = inventory
        .delete
        .iter()
        .map(|e| e.resource.clone())
        .collect();
    let result = deleter.run(&selected).await;
    on_ctrl_c.abort();
    ctx.reporter.finish();
    let result = result?;
    report(ctx, &inventory, &result);
    Ok(if result.is_complete() { 0 } else { 1 })
}

/// The command line's filters.
fn filters(args: &NukeArgs) -> anyhow::Result<Filters> {
    let tags = |list: &[String], flag: &str| -> anyhow::Result<Vec<TagMatch>> {
        list.iter()
            .map(|t| TagMatch::parse(t, flag).map_err(anyhow::Error::msg))
            .collect()
    };
    Ok(Filters {
        types: args.types.iter().cloned().collect(),
        exclude_types: args.exclude_types.iter().cloned().collect(),
        tags: tags(&args.tags, "--tag")?,
        exclude_tags: tags(&args.exclude_tags, "--exclude-tag")?,
        name_regex: args
            .name_regex
            .as_deref()
            .map(|r| config::regex(r, "--name-regex"))
            .transpose()
            .map_err(anyhow::Error::msg)?,
        older_than: args
            .older_than
            .as_deref()
            .map(|d| parse_duration(d).map_err(|e| anyhow::anyhow!("--older-than {e}")))
            .transpose()?,
        stack: args.stack.clone(),
    })
}

/// The provider and what state protects, from `--target` (a spec's) or `--provider`.
fn scope(ctx: &Ctx, args: &NukeArgs) -> anyhow::Result<Scope> {
    let location_flags = args.region.is_some()
        || args.project.is_some()
        || args.subscription.is_some()
        || args.resource_group.is_some()
        || args.endpoint.is_some()
        || !args.settings.is_empty();
    let mut protections = Protections {
        managed: managed_index(&args.state_dirs)?,
        ..Protections::default()
    };
    if let Some(target) = &args.target {
        if location_flags {
            bail!(
                "--target {target} takes its provider and settings from {}; drop the location flags or use --provider instead",
                ctx.global.file.display()
            );
        }
        let stack = load_stack(&ctx.global)?;
        let Some(t) = stack.targets.get(target) else {
            let names: Vec<&str> = stack.targets.keys().map(String::as_str).collect();
            bail!(
                "no target `{target}` in {}; targets: {}",
                stack.file.display(),
                names.join(", ")
            );
        };
        let provider = registry::build(&stack, t)?;
        // The spec's own state (every target's) is protected, as any state file.
        let work_dir = crate::engine::work_dir(&stack);
        for name in stack.targets.keys() {
            if let Ok(store) = StateStore::open_read_only(&work_dir, &stack.name, name) {
                let label = format!("{}.{name} (this spec)", stack.name);
                add_store(&mut protections.managed, &store, &stack.name, &label);
            }
        }
        return Ok(Scope {
            provider_name: t.provider.to_string(),
            target: target.clone(),
            provider,
            protections,
        });
    }
    let Some(name) = &args.provider else {
        bail!(
            "say what to nuke: --target NAME (a target of {}) or --provider local|aws|azure|gcp with its location flags",
            ctx.global.file.display()
        );
    };
    let kind: ProviderKind = name
        .parse()
        .map_err(|e| anyhow::anyhow!("--provider: {e}"))?;
    let flags = LocationFlags {
        region: args.region.clone(),
        project: args.project.clone(),
        subscription: args.subscription.clone(),
        resource_group: args.resource_group.clone(),
        endpoint: args.endpoint.clone(),
    };
    let (target, mut settings) =
        registry::standalone_settings(kind, &flags).map_err(anyhow::Error::msg)?;
    for s in &args.settings {
        let Some((k, v)) = s.split_once('=') else {
            bail!(
                "--setting `{s}`: expected KEY=VALUE, e.g. --setting compute_endpoint=http://127.0.0.1:9090"
            );
        };
        // Numbers, booleans, lists and maps written as JSON (`50`, `true`, `["a"]`) as a
        // spec would hold them; anything else a string.
        let value = serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .filter(|v| !v.is_string() && !v.is_null())
            .unwrap_or_else(|| json!(v));
        settings.insert(k.trim().to_string(), value);
    }
    let work_dir = std::env::current_dir()
        .context("the current directory")?
        .join(".overcast");
    let provider = registry::build_standalone(kind, &target, settings, &work_dir)?;
    Ok(Scope {
        provider_name: kind.to_string(),
        target,
        provider,
        protections,
    })
}

/// Everything the provider lists (of the asked types), linked.
async fn discover(
    calls: &CallLayer,
    scope: &Scope,
    filters: &Filters,
) -> anyhow::Result<Vec<DiscoveredResource>> {
    let filter = DiscoveryFilter {
        tags: Vec::new(),
        types: filters.types.iter().cloned().collect(),
    };
    let provider = &*scope.provider;
    let mut found = calls
        .discover(&scope.target, provider, &filter)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "discovery on {} failed: {}",
                scope.provider_name,
                e.to_report()
            )
        })?;
    calls
        .link_discovered(&scope.target, provider, &mut found)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "finding which {} resource uses which failed: {}",
                scope.provider_name,
                e.to_report()
            )
        })?;
    Ok(found)
}

/// Whether this account may be nuked for real: `Err(why)` when not.
fn guard(config: &NukeConfig, account: &AccountIdentity) -> Result<(), String> {
    let (id, name) = (account.id.as_str(), account.name.as_deref());
    let shown = match name {
        Some(n) => format!("{} {id} ({n})", account.kind),
        None => format!("{} {id}", account.kind),
    };
    let file = config
        .file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "the config".into());
    if config.blocks(id, name) {
        return Err(format!("{shown} is on the block-list of {file}"));
    }
    if !config.allow.is_empty() && !config.allows_explicitly(id, name) {
        return Err(format!(
            "{shown} is not on the allow-list of {file}\n  hint: add `{id}` to `allow:` if it is a lab account"
        ));
    }
    if name.is_some_and(|n| n.to_lowercase().contains("prod"))
        && !config.allows_explicitly(id, name)
    {
        return Err(format!(
            "{shown}: its name contains `prod`\n  hint: if it really is a lab account, name `{id}` under `allow:` in a --config file"
        ));
    }
    Ok(())
}

/// Ask the user to type the account id.
fn confirm_account(ctx: &Ctx, account: &AccountIdentity, count: usize) -> anyhow::Result<()> {
    if ctx.mode == OutputMode::Json || !std::io::stdin().is_terminal() {
        bail!(
            "refusing to delete without confirmation: nobody can type the {} id on this terminal\n  hint: pass --yes",
            account.kind
        );
    }
    let mut answer = String::new();
    ctx.reporter.suspend(&mut || {
        eprint!(
            "\nThis deletes {count} resource(s) for good. Type the {} id ({}) to go on: ",
            account.kind, account.id
        );
        let _ = std::io::stderr().flush();
        let _ = std::io::stdin().lock().read_line(&mut answer);
    });
    if answer.trim() != account.id {
        bail!(
            "the {} id typed does not match: nothing was deleted",
            account.kind
        );
    }
    Ok(())
}

/// The inventory of a saved dry run, checked against what exists now: exactly its
/// resources that are still there and still unprotected, nothing else.
fn from_saved(
    ctx: &Ctx,
    file: &std::path::Path,
    scope: &Scope,
    exclusions: &Filters,
    account: &AccountIdentity,
    found: Vec<DiscoveredResource>,
    now: jiff::Timestamp,
) -> anyhow::Result<Inventory> {
    let saved = Inventory::load(file)?;
    if saved.provider != scope.provider_name || saved.account.id != account.id {
        bail!(
            "{}: saved for {} {} {}, but this run acts on {} {} {}: nothing is deleted",
            file.display(),
            saved.provider,
            saved.account.kind,
            saved.account.id,
            scope.provider_name,
            account.kind,
            account.id
        );
    }
    let listed: std::collections::BTreeSet<&str> = saved
        .delete
        .iter()
        .map(|e| e.resource.arn.as_str())
        .collect();
    let now_there: std::collections::BTreeSet<String> =
        found.iter().map(|r| r.arn.clone()).collect();
    let gone: Vec<&str> = listed
        .iter()
        .copied()
        .filter(|a| !now_there.contains(*a))
        .collect();
    if !gone.is_empty() {
        ctx.reporter.event(crate::ui::Event::Note(&format!(
            "{} resource(s) of {} are gone since the dry run: {}",
            gone.len(),
            file.display(),
            gone.join(", ")
        )));
    }
    // Protections and this run's exclusions are judged again on today's tags and state;
    // the saved filters are not (the list is the filter; the command refused new ones).
    let still: Vec<DiscoveredResource> = found
        .into_iter()
        .filter(|r| listed.contains(r.arn.as_str()))
        .collect();
    let mut inv = Inventory::build(
        &scope.provider_name,
        account.clone(),
        Vec::new(),
        &Filters::default(),
        &scope.protections,
        now,
    );
    for r in still {
        let verdict = judge(&r, exclusions, &scope.protections, now);
        let matched = saved
            .delete
            .iter()
            .find(|e| e.resource.arn == r.arn)
            .map(|e| e.verdict.clone());
        let verdict = match (verdict, matched) {
            (Verdict::Delete { .. }, Some(v)) => v,
            (v, _) => v,
        };
        let age_secs = crate::nuke::select::age(&r, now).map(|d| d.as_secs());
        let entry = crate::nuke::Entry {
            resource: r,
            verdict,
            age_secs,
        };
        match entry.verdict {
            Verdict::Delete { .. } => inv.delete.push(entry),
            _ => inv.keep.push(entry),
        }
    }
    Ok(inv)
}

/// The final report, as a table or JSON.
fn report(ctx: &Ctx, inventory: &Inventory, r: &DeleteReport) {
    if ctx.mode == OutputMode::Json {
        ctx.emit_json(&json!({
            "dry_run": false,
            "provider": inventory.provider,
            "account": inventory.account,
            "deleted": r.deleted,
            "failed": r.failed,
            "skipped": r.skipped,
            "kept": inventory.keep,
            "rounds": r.rounds,
            "interrupted": r.interrupted,
            "complete": r.is_complete(),
        }));
        return;
    }
    let mut out = String::new();
    let left: Vec<Vec<String>> = r
        .failed
        .iter()
        .map(|o| ("failed", o))
        .chain(r.skipped.iter().map(|o| ("skipped", o)))
        .map(|(s, o)| {
            vec![
                o.resource_type.clone(),
                o.id.clone(),
                s.to_string(),
                o.why.clone(),
            ]
        })
        .collect();
    if !left.is_empty() {
        out.push_str("Left:\n");
        out.push_str(&table(&["TYPE", "ID", "STATE", "WHY"], left.into_iter()));
        out.push('\n');
    }
    out.push_str(&format!(
        "Nuke: {} deleted, {} failed, {} skipped, {} kept, {} left ({} round(s){}).",
        r.deleted.len(),
        r.failed.len(),
        r.skipped.len(),
        inventory.keep.len(),
        r.failed.len() + r.skipped.len(),
        r.rounds,
        if r.interrupted { ", interrupted" } else { "" }
    ));
    ctx.say(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str, name: Option<&str>) -> AccountIdentity {
        let a = AccountIdentity::new("account", id);
        match name {
            Some(n) => a.with_name(n),
            None => a,
        }
    }

    #[test]
    fn the_guard_refuses_blocked_unlisted_and_prod_accounts() {
        let none = NukeConfig::default();
        assert!(guard(&none, &acct("111", Some("lab"))).is_ok());
        let e = guard(&none, &acct("111", Some("acme-Prod"))).expect_err("prod");
        assert!(e.contains("prod"), "{e}");
        let c = NukeConfig::parse("allow: [\"111\"]\nblock: [\"999\"]\n").expect("config");
        assert!(
            guard(&c, &acct("111", Some("acme-prod"))).is_ok(),
            "named explicitly"
        );
        assert!(
            guard(&c, &acct("222", None))
                .expect_err("unlisted")
                .contains("allow-list")
        );
        assert!(
            guard(&c, &acct("999", None))
                .expect_err("blocked")
                .contains("block-list")
        );
    }
}
