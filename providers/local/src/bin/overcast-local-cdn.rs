//! Runs the local CDN server: `overcast-local-cdn [__local-cdn-serve] <config.json>`.
//! The `overcast` binary does the same through its hidden `__local-cdn-serve` subcommand;
//! this binary serves the crate's tests and embedders without the overcast binary.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != overcast_local::CDN_SERVE_SUBCOMMAND)
        .collect();
    let [config] = args.as_slice() else {
        eprintln!(
            "usage: overcast-local-cdn [{}] <config.json>",
            overcast_local::CDN_SERVE_SUBCOMMAND
        );
        return ExitCode::from(2);
    };
    match overcast_local::run_cdn_server(&PathBuf::from(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("overcast local cdn: {e}");
            ExitCode::FAILURE
        }
    }
}
