//! The `overcast` binary: parse the command line, run one command, map the result to an
//! exit code. All logic lives in the library.

use std::process::ExitCode;

use overcast::cli::{Cli, Command};
use overcast::commands::{self, Ctx};
use overcast::ui::{self, OutputMode};

/// mimalloc rather than the system allocator: planning a large stack makes and drops
/// millions of small strings and maps, and with glibc's malloc a 100,000-resource plan
/// spent a third of its time in the allocator and held a fifth more memory (see the
/// `state_scale` bench, which uses the same allocator so that it measures the binary).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    if cli.global.no_color || std::env::var_os("NO_COLOR").is_some() {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    let level = match cli.global.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OVERCAST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .try_init();

    if let Command::LocalCdnServe { config } = &cli.command {
        return match overcast::registry::serve_local_cdn(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("overcast local cdn: {e}");
                ExitCode::FAILURE
            }
        };
    }

    let mode = OutputMode::detect(cli.global.json, cli.global.quiet);
    let ctx = Ctx {
        global: cli.global.clone(),
        mode,
        reporter: ui::reporter(mode),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate => commands::validate::run(&ctx).await,
            Command::Plan(a) => commands::plan::run(&ctx, a).await,
            Command::Apply(a) => commands::apply::run(&ctx, a).await,
            Command::Destroy(a) => commands::apply::destroy(&ctx, a).await,
            Command::Output(a) => commands::output::run(&ctx, a.name.as_deref()).await,
            Command::State(s) => commands::state::run(&ctx, s).await,
            Command::Invoke(a) => commands::invoke::run(&ctx, &a.name, &a.payload).await,
            Command::Discover(a) => commands::discover::run(&ctx, a).await,
            Command::Nuke(a) => commands::nuke::run(&ctx, a).await,
            Command::Init(a) => commands::init_cli(&ctx, a),
            Command::Schema => {
                overcast::outln!(
                    "{}",
                    serde_json::to_string_pretty(&overcast::spec::json_schema())
                        .unwrap_or_default()
                );
                Ok(0)
            }
            Command::LocalCdnServe { .. } => Ok(0),
        }
    });
    ctx.reporter.finish();
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            if ctx.mode == OutputMode::Json {
                overcast::outln!(
                    "{}",
                    serde_json::json!({"type": "error", "message": format!("{e:#}")})
                );
            }
            // Spec errors render themselves, rustc-style, each with its own `error:` line.
            if let Some(spec_errors) = e.downcast_ref::<overcast::spec::SpecErrors>() {
                eprintln!("{spec_errors}");
            } else {
                eprintln!("{} {e:#}", console::style("error:").red().bold());
            }
            ExitCode::FAILURE
        }
    }
}
