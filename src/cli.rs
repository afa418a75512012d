//! The command line: a clap derive tree. Commands are plain async functions in
//! [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Deploy one abstract stack onto AWS, Azure, GCP or the embedded local cloud.
#[derive(Debug, Parser)]
#[command(name = "overcast", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parse the process's arguments. Unlike clap's own handling of a global repeatable
    /// option, `--var` values given both before and after the command are all kept:
    /// `overcast --var a=1 apply --var b=2` sets both (clap keeps only the command's).
    pub fn parse_args() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let mut cli = Cli::parse_from(&args);
        cli.global.vars = every_var(&args);
        cli
    }
}

/// Every `--var` value on a command line, in order, up to a `--` separator. Called after
/// clap accepted the line, so each `--var` is known to carry a value.
fn every_var(args: &[std::ffi::OsString]) -> Vec<String> {
    let mut vars = Vec::new();
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = it.next() {
        if arg == "--" {
            break;
        }
        if arg == "--var" {
            if let Some(v) = it.next() {
                vars.push(v.into_owned());
            }
        } else if let Some(v) = arg.strip_prefix("--var=") {
            vars.push(v.to_string());
        }
    }
    vars
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The stack spec file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "overcast.yaml",
        env = "OVERCAST_FILE"
    )]
    pub file: PathBuf,
    /// Set a variable: `--var name=value` (repeatable). Also `OVERCAST_VAR_<name>`.
    #[arg(long = "var", global = true, value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Machine output: NDJSON progress events and JSON results on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No colors (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Provider operations in flight at once (refresh, apply, destroy); one operation may
    /// make a few API calls at once (an S3 bucket's refresh reads three settings together).
    #[arg(long, global = true, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub parallelism: u16,
    /// Log verbosity for diagnostics (`-v` info, `-vv` debug); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec and its expansion without touching state or clouds.
    Validate,
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Carry out a plan (made now, or saved with `plan --out`).
    Apply(ApplyArgs),
    /// Destroy everything the stack owns, in reverse dependency order.
    Destroy(DestroyArgs),
    /// Print the stack's outputs (all, or one by name).
    Output(OutputArgs),
    /// Inspect or repair state.
    #[command(subcommand)]
    State(StateCommand),
    /// Invoke a function resource with a JSON payload.
    Invoke(InvokeArgs),
    /// List what a target's cloud holds, in or out of state (this stack's, or everything).
    Discover(DiscoverArgs),
    /// Empty an account, subscription, project or local target: discover everything,
    /// filter, and (with `--no-dry-run`) delete along the dependency graph.
    Nuke(Box<NukeArgs>),
    /// Write a starting stack from a template.
    Init(InitArgs),
    /// Print the JSON Schema of the spec, with each provider's target settings (for editors).
    Schema,
    /// Internal: serve a local CDN endpoint (started by the local cloud).
    #[command(name = "__local-cdn-serve", hide = true)]
    LocalCdnServe {
        /// The endpoint's configuration file.
        config: PathBuf,
    },
}

/// `overcast plan`
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Save the plan to this file; `overcast apply FILE` applies exactly it.
    #[arg(long = "out", short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan the destruction of everything in state.
    #[arg(long)]
    pub destroy: bool,
    /// Skip reading live state; diff against state as recorded.
    #[arg(long)]
    pub no_refresh: bool,
    /// Allow destroying or replacing protected resources.
    #[arg(long)]
    pub override_protect: bool,
}

/// `overcast apply`
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: applied exactly, refused if state changed since.
    pub plan_file: Option<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub auto_approve: bool,
    /// Skip reading live state before planning.
    #[arg(long)]
    pub no_refresh: bool,
    /// Allow destroying or replacing protected resources.
    #[arg(long)]
    pub override_protect: bool,
}

/// `overcast destroy`
#[derive(Debug, Clone, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub auto_approve: bool,
    /// Skip reading live state first: delete what state records (deleting a resource that
    /// is already gone succeeds). Saves a read per resource on large teardowns.
    #[arg(long)]
    pub no_refresh: bool,
    /// Allow destroying protected resources.
    #[arg(long)]
    pub override_protect: bool,
}

/// `overcast output`
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// One output by name (printed raw, even when sensitive).
    pub name: Option<String>,
}

/// `overcast state ...`
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the native resources in state.
    List,
    /// Show one native resource's recorded attributes (secrets masked).
    Show {
        /// Native address, e.g. `site.bucket`.
        addr: String,
    },
    /// Forget native resources without destroying them.
    Rm {
        /// Native addresses (or abstract resource names: all their natives).
        #[arg(required = true)]
        addrs: Vec<String>,
        /// Target whose state to edit (default: wherever the address is found).
        #[arg(long)]
        target: Option<String>,
    },
    /// Release a lock left by an operation that cannot finish (use with care).
    Unlock {
        /// The lock id printed in the "state is locked" message.
        id: String,
        /// Target whose lock to release (default: the stack's default target).
        #[arg(long)]
        target: Option<String>,
    },
}

/// `overcast discover`
#[derive(Debug, Clone, Args)]
pub struct DiscoverArgs {
    /// The target whose account and region to list (default: the stack's default target).
    #[arg(long)]
    pub target: Option<String>,
    /// Every resource of the supported types, not only those tagged for this stack.
    #[arg(long)]
    pub all: bool,
    /// Only resources with this tag: `KEY` (any value) or `KEY=VALUE` (repeatable).
    #[arg(long = "tag", value_name = "KEY[=VALUE]")]
    pub tags: Vec<String>,
    /// Only resources of this type, e.g. `s3:bucket` (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
}

/// `overcast nuke`
#[derive(Debug, Clone, Default, Args)]
pub struct NukeArgs {
    /// A target of the spec (`-f`) to empty: its provider and settings; the spec's own state
    /// is then protected too. Without it, give `--provider`.
    #[arg(long, conflicts_with = "provider")]
    pub target: Option<String>,
    /// The cloud to empty when no spec is used: local, aws, azure or gcp.
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// Region (AWS, GCP), location (Azure), or the local target's name.
    #[arg(long)]
    pub region: Option<String>,
    /// GCP project.
    #[arg(long)]
    pub project: Option<String>,
    /// Azure subscription id.
    #[arg(long)]
    pub subscription: Option<String>,
    /// Azure resource group: only what it holds (and the group itself).
    #[arg(long)]
    pub resource_group: Option<String>,
    /// The API endpoint of an emulator (AWS `endpoint_url`, Azure `arm_endpoint`).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Any other target setting, as in a spec's target: `KEY=VALUE` (repeatable), e.g.
    /// `--setting compute_endpoint=http://127.0.0.1:9090`; numbers, booleans and JSON lists
    /// as in a spec (`--setting latency_ms=50`, `--setting 'fail_deletes=["db"]'`).
    #[arg(long = "setting", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
    /// Only resources of this type, e.g. `s3:bucket` (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Never resources of this type (repeatable).
    #[arg(long = "exclude-type", value_name = "TYPE")]
    pub exclude_types: Vec<String>,
    /// Only resources with this tag: `KEY` (any value) or `KEY=VALUE` (repeatable; all must
    /// match).
    #[arg(long = "tag", value_name = "KEY[=VALUE]")]
    pub tags: Vec<String>,
    /// Never resources with this tag (repeatable; any one excludes).
    #[arg(long = "exclude-tag", value_name = "KEY[=VALUE]")]
    pub exclude_tags: Vec<String>,
    /// Only resources whose name (or id, when it has no name) matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub name_regex: Option<String>,
    /// Only resources created longer ago than this (`24h`, `7d`, `90m`); resources whose
    /// creation time the cloud does not give are then kept.
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Only what the overcast stack NAME owns, by its owner labels.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// Standing rules (YAML): allowed and blocked accounts, protected resources, presets.
    #[arg(long, value_name = "FILE", env = "OVERCAST_NUKE_CONFIG")]
    pub config: Option<PathBuf>,
    /// A preset of the config file's `presets:` (repeatable): its filters are added.
    #[arg(long, value_name = "NAME")]
    pub preset: Vec<String>,
    /// A stack's `.overcast/` directory, whose state's resources are protected
    /// (repeatable).
    #[arg(long = "state-dir", value_name = "DIR")]
    pub state_dirs: Vec<PathBuf>,
    /// Delete resources that a known state file manages too.
    #[arg(long)]
    pub include_managed: bool,
    /// Delete for real (the default is a dry run that changes nothing).
    #[arg(long)]
    pub no_dry_run: bool,
    /// Do not ask for the account id to be typed.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Save the dry run's list to FILE (JSON), for a later `--no-dry-run --from FILE`.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Delete exactly the resources of a saved dry run (each checked to be still there and
    /// still unprotected).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

/// `overcast invoke`
#[derive(Debug, Clone, Args)]
pub struct InvokeArgs {
    /// The function resource's name.
    pub name: String,
    /// JSON event passed to the handler.
    #[arg(long, default_value = "{}")]
    pub payload: String,
}

/// `overcast init`
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Directory to write into (created if missing).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Template to start from.
    #[arg(long, short = 't', default_value = "three-tier-web")]
    pub template: String,
    /// Stack name (default: the directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
    /// List the templates and exit.
    #[arg(long)]
    pub list: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Cli {
        let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
        let mut cli = Cli::parse_from(&args);
        cli.global.vars = every_var(&args);
        cli
    }

    #[test]
    fn vars_before_and_after_the_command_are_all_kept() {
        let cli = parse("overcast --var a=1 apply --var b=2 --var=c=3 --auto-approve");
        assert_eq!(cli.global.vars, ["a=1", "b=2", "c=3"]);
        let cli = parse("overcast plan");
        assert!(cli.global.vars.is_empty());
    }
}
