//! The stack spec (`overcast.yaml`): parse, validate, resolve variables.
//!
//! [`load`] / [`load_str`] turn a spec file into a validated [`Stack`] or into
//! [`SpecErrors`], every independent problem found in one pass, each with its file,
//! line and column, the field's path, what was expected and a hint. [`json_schema`]
//! describes the file for editors.

mod check;
mod cycles;
mod diag;
mod error;
pub mod model;
mod props;
mod refs_check;
mod schema;
mod semantic;
mod settings;
mod validate;
mod vars;
mod yaml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

pub use error::{SpecError, SpecErrors};
pub use model::*;
pub use schema::json_schema;

/// Load and validate the spec file at `path`.
///
/// `vars` are the `--var name=value` pairs of the command line; a variable takes its
/// value from them, else from the environment variable `OVERCAST_VAR_<name>`, else from
/// its `default`.
pub fn load(path: &Path, vars: &BTreeMap<String, String>) -> Result<Stack, SpecErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecErrors::unreadable(path, &e))?;
    load_str(path, &text, vars)
}

/// Validate a spec held in memory, as if read from `file_name` (used in messages;
/// relative directories in the spec resolve against its parent).
pub fn load_str(
    file_name: &Path,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<Stack, SpecErrors> {
    let env = |name: &str| std::env::var(format!("OVERCAST_VAR_{name}")).ok();
    load_with_env(file_name, text, vars, &env)
}

/// [`load_str`] with the environment lookup injected (tests must not mutate the
/// process environment, which other threads read).
pub(crate) fn load_with_env(
    file_name: &Path,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Stack, SpecErrors> {
    validate::validate(file_name, text, &vars::VarSources { cli: vars, env })
}
