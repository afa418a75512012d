//! `overcast discover`: what a target's cloud holds, independently of state. Each resource
//! is marked against the stack's state: `in state`, `not in state` (tagged for this stack
//! but unknown to its state: left by a lost state file or a crashed tool), or `other` (not
//! this stack's). Teardown and migration start from this list.

use std::collections::BTreeSet;

use anyhow::{Context, bail};

use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use serde_json::json;

use super::{Ctx, load_stack, open_session};
use crate::cli::DiscoverArgs;
use crate::session::StateAccess;

/// Where a discovered resource stands against the stack's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    InState,
    NotInState,
    Other,
}

impl Standing {
    fn label(self) -> &'static str {
        match self {
            Standing::InState => "in state",
            Standing::NotInState => "not in state",
            Standing::Other => "other",
        }
    }
}

/// The filter the arguments ask for: this stack's resources on the target unless `--all`,
/// narrowed by every `--tag` and `--type`.
fn filter(
    args: &DiscoverArgs,
    owner_filter: &DiscoveryFilter,
    known_types: &[String],
) -> anyhow::Result<DiscoveryFilter> {
    let mut f = if args.all {
        DiscoveryFilter::default()
    } else {
        owner_filter.clone()
    };
    for t in &args.tags {
        let (k, v) = match t.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (t.as_str(), None),
        };
        if k.trim().is_empty() {
            bail!("--tag `{t}`: the key is empty; expected KEY or KEY=VALUE");
        }
        f.tags.push((k.trim().to_string(), v));
    }
    for t in &args.types {
        if !known_types.contains(t) {
            bail!(
                "--type `{t}` is not a type this target can list; types: {}",
                known_types.join(", ")
            );
        }
        f.types.push(t.clone());
    }
    Ok(f)
}

/// Where a resource stands, by the owner its provider decoded from its labels.
fn standing(r: &DiscoveredResource, stack: &str, in_state: &BTreeSet<String>) -> Standing {
    match &r.owner {
        Some(o) if o.stack == stack && in_state.contains(&o.resource) => Standing::InState,
        Some(o) if o.stack == stack => Standing::NotInState,
        _ => Standing::Other,
    }
}

/// `overcast discover`
pub async fn run(ctx: &Ctx, args: &DiscoverArgs) -> anyhow::Result<i32> {
    let stack = load_stack(&ctx.global)?;
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| stack.default_target.clone());
    if !stack.targets.contains_key(&target) {
        let names: Vec<&str> = stack.targets.keys().map(String::as_str).collect();
        bail!(
            "no target `{target}` in {}; targets: {}",
            stack.file.display(),
            names.join(", ")
        );
    }
    let stack_name = stack.name.clone();
    let session = open_session(ctx, stack, StateAccess::ReadOnly)?;
    let provider = session
        .providers
        .get(&target)
        .context("no provider for the target")?;
    let owner_filter = provider.owner_filter(&stack_name, Some(&target));
    let filter = filter(args, &owner_filter, &provider.discoverable_types())?;
    let found = session
        .calls
        .discover(&target, &**provider, &filter)
        .await
        .map_err(|e| match &e.hint {
            Some(h) => {
                anyhow::anyhow!("discovery on `{target}` failed: {}\n  hint: {h}", e.message)
            }
            None => anyhow::anyhow!("discovery on `{target}` failed: {}", e.message),
        })?;
    let in_state: BTreeSet<String> = session
        .stores
        .get(&target)
        .map(|s| s.resources().keys().map(|a| a.to_string()).collect())
        .unwrap_or_default();
    let rows: Vec<(Standing, &DiscoveredResource)> = found
        .iter()
        .map(|r| (standing(r, &stack_name, &in_state), r))
        .collect();

    if ctx.global.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(s, r)| {
                json!({"type": r.resource_type, "id": r.id, "uid": r.arn,
                       "tags": r.tags, "standing": s.label()})
            })
            .collect();
        crate::outln!("{}", json!({"target": target, "resources": list}));
        return Ok(0);
    }
    if rows.is_empty() {
        ctx.say(&format!(
            "Nothing found on `{target}`{}.",
            if args.all {
                String::new()
            } else {
                format!(" tagged for stack `{stack_name}` (use --all to list everything)")
            }
        ));
        return Ok(0);
    }
    // The listing is the command's result: no progress bar or phase line may be drawn
    // into it (a provider call layer reports phases such as `refresh` while it works).
    ctx.reporter.finish();
    ctx.say(&listing(&rows, &target, &stack_name));
    Ok(0)
}

/// The table of discovered resources and a summary line, as one block that ends with a
/// newline (so nothing printed after it lands on its last line).
fn listing(rows: &[(Standing, &DiscoveredResource)], target: &str, stack_name: &str) -> String {
    let width = |f: &dyn Fn(&DiscoveredResource) -> usize| {
        rows.iter().map(|(_, r)| f(r)).max().unwrap_or(0)
    };
    let (wt, wi) = (
        width(&|r| r.resource_type.chars().count()).max(4),
        width(&|r| r.id.chars().count()).max(2),
    );
    let mut out = format!(
        "{:<wt$}  {:<wi$}  {:<12}  RESOURCE\n",
        "TYPE", "ID", "STANDING"
    );
    for (s, r) in rows {
        // The address its provider decoded from its labels, whatever the cloud's encoding.
        let resource = r.owner.as_ref().map_or("-", |o| o.resource.as_str());
        out.push_str(&format!(
            "{:<wt$}  {:<wi$}  {:<12}  {resource}\n",
            r.resource_type,
            r.id,
            s.label()
        ));
    }
    let orphans = rows
        .iter()
        .filter(|(s, _)| *s == Standing::NotInState)
        .count();
    out.push_str(&format!("\n{} resource(s) on `{target}`", rows.len()));
    if orphans > 0 {
        out.push_str(&format!(
            "; {orphans} tagged for `{stack_name}` but not in its state (left by a lost state or an interrupted tool)"
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use overcast_core::OwnerTags;

    use super::*;

    fn args(all: bool, tags: &[&str], types: &[&str]) -> DiscoverArgs {
        DiscoverArgs {
            target: None,
            all,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            types: types.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_filter_is_this_stack_unless_all_and_checks_types() {
        let known = vec!["s3:bucket".to_string()];
        let f = filter(
            &args(false, &["team=a", "env"], &[]),
            &DiscoveryFilter::stack("web", Some("aws")),
            &known,
        )
        .expect("filter");
        assert_eq!(f.tags.len(), 4);
        assert!(f.tags.contains(&("env".into(), None)));
        let f = filter(
            &args(true, &[], &["s3:bucket"]),
            &DiscoveryFilter::stack("web", Some("aws")),
            &known,
        )
        .expect("filter");
        assert!(f.tags.is_empty() && f.types == ["s3:bucket"]);
        let e = filter(
            &args(true, &[], &["s3:bukket"]),
            &DiscoveryFilter::stack("web", Some("aws")),
            &known,
        )
        .expect_err("bad type");
        assert!(e.to_string().contains("s3:bucket"), "{e}");
        assert!(
            filter(
                &args(true, &["=x"], &[]),
                &DiscoveryFilter::stack("web", Some("aws")),
                &known
            )
            .is_err()
        );
    }

    #[test]
    fn the_listing_is_a_block_that_ends_its_last_line() {
        let r = |id: &str, res: &str| {
            let mut r = DiscoveredResource::new(id, "local_queue", id, BTreeMap::new());
            r.owner = Some(OwnerTags {
                stack: "disco".to_string(),
                target: "local".to_string(),
                resource: res.to_string(),
            });
            r
        };
        let (a, b) = (r("q1", "jobs.queue"), r("q22", "old.queue"));
        let rows = [(Standing::InState, &a), (Standing::NotInState, &b)];
        let text = listing(&rows, "local", "disco");
        assert!(
            text.ends_with("(left by a lost state or an interrupted tool)\n"),
            "{text:?}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[0].starts_with("TYPE") && lines[3].is_empty(),
            "{text}"
        );
        assert!(
            lines[4].starts_with("2 resource(s) on `local`; 1 tagged"),
            "{text}"
        );
        // The STANDING column starts at one offset on every row.
        let at: Vec<Option<usize>> = lines[..3]
            .iter()
            .map(|l| {
                l.find("STANDING")
                    .or_else(|| l.find("not in state"))
                    .or_else(|| l.find("in state"))
            })
            .collect();
        assert!(at.iter().all(|x| *x == at[0]), "{text}");
    }

    #[test]
    fn standing_compares_tags_with_state() {
        let r = |stack: &str, res: &str| {
            let mut r = DiscoveredResource::new("arn", "s3:bucket", "b", BTreeMap::new());
            r.owner = Some(OwnerTags {
                stack: stack.to_string(),
                target: "aws".to_string(),
                resource: res.to_string(),
            });
            r
        };
        let state = BTreeSet::from(["site.bucket".to_string()]);
        assert_eq!(
            standing(&r("web", "site.bucket"), "web", &state),
            Standing::InState
        );
        assert_eq!(
            standing(&r("web", "old.bucket"), "web", &state),
            Standing::NotInState
        );
        assert_eq!(
            standing(&r("api", "site.bucket"), "web", &state),
            Standing::Other
        );
    }
}
