//! overcast: one abstract stack spec, planned and applied onto AWS, Azure, GCP or the
//! embedded local cloud.
//!
//! The pipeline: [`spec`] parses and validates a stack file; [`engine`] expands each
//! resource through its target's provider into native resources and builds the
//! [`graph`]; [`plan`] refreshes live state and diffs it; [`executor`] walks the plan's DAG;
//! every provider call goes through [`call`];
//! [`state`] is the only module that writes state files. [`ui`] renders progress and plans.

/// `println!` that never panics. With stdout closed early (`overcast ... | head`) the
/// std macro panics; a command must instead go on (an apply keeps recording its results)
/// and only its output is lost.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that never panics; see [`outln!`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, $($arg)*);
        let _ = stdout.flush();
    }};
}

mod attrs;
pub mod call;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod executor;
pub mod graph;
pub mod nuke;
pub mod plan;
pub mod registry;
pub mod session;
pub mod spec;
pub mod state;
#[cfg(test)]
mod testing;
pub mod ui;
