//! The error collector shared by every validation pass: validation goes on after an
//! error so that one run reports every independent problem.

use std::path::PathBuf;

use super::error::SpecError;
use super::model::Location;
use super::yaml::Pos;

/// Collects errors for one spec file.
pub(crate) struct Diags {
    pub file: PathBuf,
    pub errors: Vec<SpecError>,
}

impl Diags {
    pub fn new(file: PathBuf) -> Diags {
        Diags {
            file,
            errors: Vec::new(),
        }
    }

    /// The location of `pos` in this file.
    pub fn loc(&self, pos: Pos) -> Location {
        Location {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
        }
    }

    /// A new error at `pos` (not yet recorded: add `expected`/`hint`, then [`Diags::push`]).
    pub fn at(&self, pos: Pos, path: &str, message: impl Into<String>) -> SpecError {
        let mut e = SpecError::new(self.loc(pos), path, message);
        e.width = pos.width;
        e
    }

    /// Record an error.
    pub fn push(&mut self, e: SpecError) {
        self.errors.push(e);
    }

    /// How many errors so far (to tell whether a pass found anything).
    pub fn count(&self) -> usize {
        self.errors.len()
    }
}

/// `parent.child`, or `child` at the top.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}
