//! Spec errors: what went wrong, where, and how to fix it, rendered rustc-style.

use std::fmt;
use std::path::Path;

use super::model::Location;

/// One problem found in a spec file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render(None))]
pub struct SpecError {
    /// Where the problem is. `line == 0` means the file as a whole (e.g. it cannot be read).
    pub location: Location,
    /// Dotted path of the offending field, e.g. `resources.web.size` (empty for the file).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What would have been accepted.
    pub expected: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Width of the underline in characters (at least 1 is drawn).
    pub width: u64,
}

impl SpecError {
    /// A new error without `expected` or `hint`.
    pub fn new(
        location: Location,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> SpecError {
        SpecError {
            location,
            path: path.into(),
            message: message.into(),
            expected: None,
            hint: None,
            width: 1,
        }
    }

    /// Set what would have been accepted.
    pub fn expected(mut self, expected: impl Into<String>) -> SpecError {
        self.expected = Some(expected.into());
        self
    }

    /// Set how to fix it.
    pub fn hint(mut self, hint: impl Into<String>) -> SpecError {
        self.hint = Some(hint.into());
        self
    }

    /// Set the hint only when there is one (e.g. a did-you-mean that found nothing).
    pub fn maybe_hint(mut self, hint: Option<String>) -> SpecError {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Render the error; with the file's text, the offending line is shown and underlined.
    pub fn render(&self, source: Option<&str>) -> String {
        let loc = &self.location;
        let line_text = source.and_then(|s| {
            let idx = usize::try_from(loc.line).ok()?.checked_sub(1)?;
            s.lines().nth(idx)
        });
        let gutter = if loc.line == 0 {
            1
        } else {
            loc.line.to_string().len()
        };
        let pad = " ".repeat(gutter);
        let mut out = format!("error: {}\n", self.message);
        if loc.line == 0 {
            out.push_str(&format!("{pad}--> {}\n", loc.file.display()));
        } else {
            out.push_str(&format!("{pad}--> {loc}\n"));
        }
        if let Some(text) = line_text {
            let col = usize::try_from(loc.column.saturating_sub(1)).unwrap_or(0);
            let width = usize::try_from(self.width.max(1)).unwrap_or(1);
            let shown = Excerpt::new(text, col, width);
            out.push_str(&format!("{pad} |\n"));
            out.push_str(&format!("{} | {}\n", loc.line, shown.text));
            out.push_str(&format!(
                "{pad} | {}{}\n",
                " ".repeat(shown.column),
                "^".repeat(shown.width)
            ));
        }
        if !self.path.is_empty() {
            out.push_str(&format!("{pad} = field: {}\n", self.path));
        }
        if let Some(e) = &self.expected {
            out.push_str(&format!("{pad} = expected: {e}\n"));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("{pad} = hint: {h}\n"));
        }
        out.truncate(out.trim_end().len());
        out
    }
}

/// At most this many characters of a source line are shown; a longer line is cut to a
/// window around the error, marked with `...` at each cut end (as rustc does), so a
/// 20,000-character line does not flood the terminal.
const MAX_SHOWN: usize = 100;
/// Characters shown before the error's column when the line is cut.
const SHOWN_BEFORE: usize = 40;

/// The part of a source line shown under an error, and where the caret goes in it.
#[derive(Debug, PartialEq, Eq)]
struct Excerpt {
    /// The shown text (tabs as single spaces, so the caret lines up).
    text: String,
    /// 0-based column of the caret in `text`.
    column: usize,
    /// Length of the underline (at least 1, never past the shown text).
    width: usize,
}

impl Excerpt {
    /// The excerpt of `line` around the 0-based character column `col`.
    fn new(line: &str, col: usize, width: usize) -> Excerpt {
        let chars: Vec<char> = line
            .trim_end_matches('\r')
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let len = chars.len();
        let (start, end) = if len <= MAX_SHOWN {
            (0, len)
        } else {
            let start = col.saturating_sub(SHOWN_BEFORE).min(len - MAX_SHOWN);
            (start, start + MAX_SHOWN)
        };
        let mut text = String::new();
        let mut column = col.saturating_sub(start);
        if start > 0 {
            text.push_str("...");
            column += 3;
        }
        text.extend(&chars[start..end]);
        let avail = end.saturating_sub(col.max(start)).max(1);
        if end < len {
            text.push_str("...");
        }
        Excerpt {
            text,
            column,
            width: width.max(1).min(avail),
        }
    }
}

/// Every problem found in a spec file (never empty), sorted by position.
#[derive(Debug, Clone)]
pub struct SpecErrors {
    /// The errors, sorted by line and column.
    pub errors: Vec<SpecError>,
    /// The file's text, to show offending lines (absent when the file could not be read).
    source: Option<String>,
}

impl SpecErrors {
    /// Wrap errors (sorted here) with the text they point into.
    pub(crate) fn new(mut errors: Vec<SpecError>, source: Option<String>) -> SpecErrors {
        errors.sort_by_key(|e| (e.location.line, e.location.column));
        errors.dedup();
        SpecErrors { errors, source }
    }

    /// The spec file could not be read.
    pub(crate) fn unreadable(path: &Path, err: &std::io::Error) -> SpecErrors {
        let location = Location {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
        };
        let e = if err.kind() == std::io::ErrorKind::NotFound {
            SpecError::new(
                location,
                "",
                format!("spec file `{}` not found", path.display()),
            )
            .hint("run `overcast init` to create one, or pass its path with --file")
        } else {
            SpecError::new(
                location,
                "",
                format!("cannot read spec file `{}`: {err}", path.display()),
            )
        };
        SpecErrors {
            errors: vec![e],
            source: None,
        }
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Always false: a `SpecErrors` holds at least one error.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Iterate over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, SpecError> {
        self.errors.iter()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rendered: Vec<String> = self
            .errors
            .iter()
            .map(|e| e.render(self.source.as_deref()))
            .collect();
        f.write_str(&rendered.join("\n\n"))
    }
}

impl std::error::Error for SpecErrors {}

/// The closest candidate to a misspelled name, as a hint.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let max = if name.chars().count() <= 3 {
        1
    } else {
        (name.chars().count() / 3).max(2)
    };
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= max && *c != name)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// `one of a, b, c` for an `expected:` line.
pub(crate) fn one_of<'a>(candidates: impl IntoIterator<Item = &'a str>) -> String {
    let v: Vec<&str> = candidates.into_iter().collect();
    match v.len() {
        0 => "nothing (none declared)".to_string(),
        1 => v[0].to_string(),
        _ => format!("one of {}", v.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let loc = Location {
            file: "overcast.yaml".into(),
            line: 12,
            column: 5,
        };
        let mut e = SpecError::new(
            loc,
            "resources.web.sise",
            "unknown property `sise` for a compute resource",
        )
        .expected("one of image, size")
        .hint("did you mean `size`?");
        e.width = 4;
        let src = format!("{}    sise: small\n", "\n".repeat(11));
        let want = "error: unknown property `sise` for a compute resource
  --> overcast.yaml:12:5
   |
12 |     sise: small
   |     ^^^^
   = field: resources.web.sise
   = expected: one of image, size
   = hint: did you mean `size`?";
        assert_eq!(e.render(Some(&src)), want);
    }

    #[test]
    fn a_very_long_line_is_cut_to_a_window_around_the_column() {
        let line = format!("{}sise: small{}", "x".repeat(20_000), "y".repeat(20_000));
        let loc = Location {
            file: "overcast.yaml".into(),
            line: 1,
            column: 20_001,
        };
        let mut e = SpecError::new(loc, "resources.web.sise", "unknown property `sise`");
        e.width = 4;
        let out = e.render(Some(&line));
        assert!(out.len() < 400, "{} characters:\n{out}", out.len());
        let lines: Vec<&str> = out.lines().collect();
        let (shown, carets) = (lines[3], lines[4]);
        assert!(
            shown.starts_with("1 | ...") && shown.ends_with("..."),
            "{shown}"
        );
        // The caret still points at `sise`.
        let at = carets.find('^').expect("a caret");
        assert_eq!(&shown[at..at + 4], "sise", "{out}");
        assert_eq!(carets.trim_start_matches([' ', '|']).trim_end(), "^^^^");
    }

    #[test]
    fn excerpts_cut_only_the_ends_that_are_long() {
        let short = Excerpt::new("  size: small", 2, 4);
        assert_eq!(
            (short.text.as_str(), short.column, short.width),
            ("  size: small", 2, 4)
        );
        let line = format!("sise: {}", "z".repeat(500));
        let head = Excerpt::new(&line, 0, 4);
        assert!(!head.text.starts_with("...") && head.text.ends_with("..."));
        assert_eq!((head.column, head.width), (0, 4));
        let tail = Excerpt::new(&line, 505, 50);
        assert!(tail.text.starts_with("...") && !tail.text.ends_with("..."));
        assert_eq!(tail.text.chars().count(), MAX_SHOWN + 3);
        assert_eq!(tail.width, 1, "the underline stops at the end of the line");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("sise", ["size", "image"]),
            Some("did you mean `size`?".into())
        );
        assert_eq!(did_you_mean("zzzzzz", ["size", "image"]), None);
    }
}
