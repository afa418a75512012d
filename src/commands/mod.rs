//! Command implementations: one plain async function per CLI command, sharing the
//! helpers below (loading the spec, opening a session, confirming, computing outputs).

pub mod apply;
pub mod discover;
pub mod init;
pub mod invoke;
pub mod nuke;
pub mod output;
pub mod plan;
pub mod state;
pub mod validate;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use overcast_core::kinds::Kind;
use serde_json::{Value, json};

use crate::call::RetryPolicy;
use crate::cli::Global;
use crate::engine::Known;
use crate::session::{Session, SessionOptions, StateAccess};
use crate::spec::{self, Stack};
use crate::ui::render::Secrets;
use crate::ui::{OutputMode, Reporter};

/// What every command gets: the global options and the reporter.
#[derive(Clone)]
pub struct Ctx {
    /// Global options.
    pub global: Global,
    /// Output mode.
    pub mode: OutputMode,
    /// Progress and messages.
    pub reporter: Arc<dyn Reporter>,
}

impl Ctx {
    /// Print a result line on stdout (human modes only).
    pub fn say(&self, s: &str) {
        if matches!(self.mode, OutputMode::Interactive | OutputMode::Plain) {
            self.reporter.suspend(&mut || {
                let mut out = std::io::stdout().lock();
                let _ = write!(out, "{s}");
                if !s.ends_with('\n') {
                    let _ = writeln!(out);
                }
                let _ = out.flush();
            });
        }
    }

    /// Print one JSON document on stdout (`--json` mode only).
    pub fn emit_json(&self, v: &Value) {
        if self.mode == OutputMode::Json {
            crate::outln!("{v}");
        }
    }
}

/// `--var name=value` pairs.
pub fn parse_vars(list: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in list {
        let Some((k, v)) = item.split_once('=') else {
            bail!("--var `{item}`: expected NAME=VALUE, e.g. --var env=prod");
        };
        if k.trim().is_empty() {
            bail!("--var `{item}`: the variable name is empty");
        }
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// Load and validate the spec named by `-f`.
pub fn load_stack(global: &Global) -> anyhow::Result<Stack> {
    let vars = parse_vars(&global.vars)?;
    load_stack_with(&global.file, &vars)
}

/// Load and validate a spec with the given variables.
pub fn load_stack_with(
    file: &std::path::Path,
    vars: &BTreeMap<String, String>,
) -> anyhow::Result<Stack> {
    Ok(spec::load(file, vars)?)
}

/// Open a session on the stack.
pub fn open_session(ctx: &Ctx, stack: Stack, access: StateAccess) -> anyhow::Result<Session> {
    Session::open(
        stack,
        SessionOptions {
            access,
            parallelism: ctx.global.parallelism as usize,
            policy: RetryPolicy::default(),
            cancel: tokio_util::sync::CancellationToken::new(),
            reporter: ctx.reporter.clone(),
        },
    )
}

/// Every secret the session knows: sensitive variables, sensitive native outputs, and
/// sensitive abstract attributes.
pub fn secrets(session: &Session) -> Secrets {
    let mut s = Secrets::default();
    for v in session.stack.variables.values().filter(|v| v.sensitive) {
        s.add(&v.value);
    }
    let states = session.all_states();
    s.add_recorded(states.values());
    let pending = Default::default();
    let known = known(session, &states, &pending);
    for (name, (kind, _)) in &session.resource_info {
        if let Some(outs) = known.resource_outputs(name) {
            for attr in kind.outputs().iter().filter(|a| a.sensitive) {
                if let Some(v) = outs.get(attr.name) {
                    s.add(v);
                }
            }
        }
    }
    s
}

fn known<'a>(
    session: &'a Session,
    states: &'a BTreeMap<overcast_core::NativeAddr, overcast_core::NativeState>,
    pending: &'a std::collections::BTreeSet<overcast_core::NativeAddr>,
) -> Known<'a> {
    Known {
        states,
        pending,
        by_resource: &session.desired.by_resource,
        resource_info: &session.resource_info,
        providers: &session.providers,
    }
}

/// The stack's outputs computed from current state: `{name: {value, sensitive}}`.
pub fn compute_outputs(session: &Session) -> serde_json::Map<String, Value> {
    let states = session.all_states();
    let pending = Default::default();
    let known = known(session, &states, &pending);
    let mut out = serde_json::Map::new();
    for (name, o) in &session.stack.outputs {
        let value = match known.resolve_value(&o.value) {
            Ok(v) if !overcast_core::refs::is_unknown(&v) => v,
            _ => Value::Null,
        };
        out.insert(
            name.clone(),
            json!({"value": value, "sensitive": o.sensitive}),
        );
    }
    out
}

/// Ask for confirmation; refuse when nobody can answer.
pub fn confirm(ctx: &Ctx, question: &str, auto_approve: bool) -> anyhow::Result<bool> {
    if auto_approve {
        return Ok(true);
    }
    if ctx.mode == OutputMode::Json || !std::io::stdin().is_terminal() {
        bail!(
            "refusing to continue without confirmation: nobody can answer on this terminal.\n  hint: pass --auto-approve"
        );
    }
    let mut answer = String::new();
    ctx.reporter.suspend(&mut || {
        eprint!("\n{question}\n  Only 'yes' will be accepted: ");
        let _ = std::io::stderr().flush();
        let _ = std::io::stdin().lock().read_line(&mut answer);
    });
    Ok(answer.trim() == "yes")
}

/// SHA-256 of the spec file's bytes and the variables, to tie a saved plan to its input.
pub fn spec_digest(
    file: &std::path::Path,
    vars: &BTreeMap<String, String>,
) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut h = Sha256::new();
    h.update(&bytes);
    for (k, v) in vars {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The function resource named `name`, or an error saying what exists.
pub fn function_resource<'a>(
    stack: &'a Stack,
    name: &str,
) -> anyhow::Result<&'a crate::spec::Resource> {
    match stack.resources.get(name) {
        Some(r) if r.kind == Kind::Function => Ok(r),
        Some(r) => bail!("`{name}` is a {} resource, not a function", r.kind),
        None => {
            let fns: Vec<&str> = stack
                .resources
                .values()
                .filter(|r| r.kind == Kind::Function)
                .map(|r| r.name.as_str())
                .collect();
            bail!(
                "no resource `{name}` in {}; functions: {}",
                stack.file.display(),
                if fns.is_empty() {
                    "none".to_string()
                } else {
                    fns.join(", ")
                }
            )
        }
    }
}

/// `overcast init`
pub fn init_cli(ctx: &Ctx, args: &crate::cli::InitArgs) -> anyhow::Result<i32> {
    if args.list {
        for t in init::list_templates() {
            crate::outln!("{:<16} {}", t.name, t.description);
        }
        return Ok(0);
    }
    let written = init::init(&args.template, &args.dir, args.name.as_deref(), args.force)?;
    for f in &written {
        ctx.say(&format!("  wrote {}", f.display()));
    }
    ctx.say(&format!(
        "\nA `{}` stack is ready in {}. Next: `cd {} && overcast plan`, then `overcast apply`.",
        args.template,
        args.dir.display(),
        args.dir.display()
    ));
    Ok(0)
}
