//! overcast: one abstract stack spec, planned and applied onto AWS, Azure, GCP or the
//! embedded local cloud.
//!
//! The pipeline: [`spec`] parses and validates a stack file; [`engine`] expands each
//! resource through its target's provider into native resources and builds the
//! [`graph`]; [`plan`] refreshes live state and diffs it; [`apply`] walks the plan's DAG;
//! [`state`] is the only module that writes state files. [`ui`] renders progress and plans.

pub mod apply;
mod attrs;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod graph;
pub mod plan;
pub mod retry;
pub mod session;
pub mod spec;
pub mod state;
pub mod ui;
