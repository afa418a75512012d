//! `overcast init`: write a starting stack from one of the built-in templates.
//!
//! The templates live in `templates/<name>/` of the source tree and are embedded in the
//! binary at build time (see [`TEMPLATES`]), so `overcast init` works from any directory
//! with nothing but the binary. Each template holds a `template.toml` (name and one-line
//! description, not written out), an `overcast.yaml.tera` and whatever files the stack
//! needs. Files ending in `.tera` are rendered with [tera](https://keats.github.io/tera/)
//! and written without the suffix; every other file is copied byte for byte.
//!
//! Template variables: `stack_name` (the stack's name) and `target` (`local`, `aws`,
//! `azure` or `gcp`: the target the stack defaults to; `local` is always declared).
//! The spec's own `${...}` references pass through tera untouched.
//!
//! ```no_run
//! use std::path::Path;
//! use overcast::commands::init;
//!
//! for t in init::list_templates() {
//!     println!("{:<16} {}", t.name, t.description);
//! }
//! let written = init::init("static-site", Path::new("my-site"), None, false)?;
//! println!("wrote {} files", written.len());
//! # Ok::<(), anyhow::Error>(())
//! ```

use overcast_core::ProviderKind;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// A built-in template, as listed by `overcast init --list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    /// The name passed to `overcast init`, e.g. `static-site`.
    pub name: String,
    /// One line saying what the stack contains.
    pub description: String,
}

/// Targets a template can default to: one per provider, named after it.
pub fn targets() -> impl Iterator<Item = &'static str> {
    ProviderKind::ALL.into_iter().map(ProviderKind::as_str)
}

/// The descriptor file of a template: read for [`list_templates`], never written out.
const DESCRIPTOR: &str = "template.toml";

/// One embedded template: its directory name and its files (path relative to the
/// template directory, with `/` separators, and contents).
struct Template {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
}

/// `(path, include_str!("../../templates/<template>/<path>"))`.
macro_rules! embed {
    ($template:literal, $path:literal) => {
        (
            $path,
            include_str!(concat!("../../templates/", $template, "/", $path)),
        )
    };
}

/// Every template, embedded. Keep in step with `templates/`: a unit test fails when a
/// file there is missing here (or the other way round).
const TEMPLATES: &[Template] = &[
    Template {
        name: "event-driven",
        files: &[
            embed!("event-driven", "template.toml"),
            embed!("event-driven", "overcast.yaml.tera"),
            embed!("event-driven", "functions/ingest/main.py"),
            embed!("event-driven", "functions/process/main.py"),
        ],
    },
    Template {
        name: "queue-worker",
        files: &[
            embed!("queue-worker", "template.toml"),
            embed!("queue-worker", "overcast.yaml.tera"),
        ],
    },
    Template {
        name: "serverless-api",
        files: &[
            embed!("serverless-api", "template.toml"),
            embed!("serverless-api", "overcast.yaml.tera"),
            embed!("serverless-api", "api/handler.py"),
        ],
    },
    Template {
        name: "static-site",
        files: &[
            embed!("static-site", "template.toml"),
            embed!("static-site", "overcast.yaml.tera"),
            embed!("static-site", "public/index.html.tera"),
            embed!("static-site", "public/style.css"),
            embed!("static-site", "public/404.html"),
        ],
    },
    Template {
        name: "three-tier-web",
        files: &[
            embed!("three-tier-web", "template.toml"),
            embed!("three-tier-web", "overcast.yaml.tera"),
            embed!("three-tier-web", "public/index.html"),
            embed!("three-tier-web", "public/style.css"),
        ],
    },
];

impl Template {
    fn info(&self) -> TemplateInfo {
        let descriptor = self
            .files
            .iter()
            .find(|(p, _)| *p == DESCRIPTOR)
            .map(|(_, c)| *c)
            .unwrap_or("");
        TemplateInfo {
            name: toml_string(descriptor, "name").unwrap_or_else(|| self.name.to_string()),
            description: toml_string(descriptor, "description").unwrap_or_default(),
        }
    }
}

/// The value of a top-level `key = "value"` line of a (flat, hand-written) TOML file.
fn toml_string(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        if k.trim() != key {
            return None;
        }
        let v = v.trim();
        let v = v.strip_prefix('"')?.strip_suffix('"')?;
        Some(v.replace("\\\"", "\"").replace("\\\\", "\\"))
    })
}

/// The built-in templates, sorted by name.
pub fn list_templates() -> Vec<TemplateInfo> {
    let mut out: Vec<TemplateInfo> = TEMPLATES.iter().map(Template::info).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Options of [`init_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitOptions<'a> {
    /// The stack's name; `None` derives it from the directory's name.
    pub stack_name: Option<&'a str>,
    /// The target the stack defaults to: one of [`targets`]. `local` is always declared
    /// too, so the stack can be tried without an account.
    pub target: &'a str,
    /// Overwrite files that already exist.
    pub force: bool,
}

impl Default for InitOptions<'_> {
    fn default() -> Self {
        InitOptions {
            stack_name: None,
            target: ProviderKind::Local.as_str(),
            force: false,
        }
    }
}

/// Write the template `template` into `dir` (created if missing) for the `local` target,
/// and return the paths of the files written.
///
/// The stack is named `stack_name`, or else after `dir` (see [`stack_name_from_dir`]).
/// Existing files are left alone, and nothing is written, unless `force` is set.
pub fn init(
    template: &str,
    dir: &Path,
    stack_name: Option<&str>,
    force: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    init_with(
        template,
        dir,
        &InitOptions {
            stack_name,
            target: ProviderKind::Local.as_str(),
            force,
        },
    )
}

/// [`init`] with every option, including the default target.
pub fn init_with(
    template: &str,
    dir: &Path,
    opts: &InitOptions<'_>,
) -> anyhow::Result<Vec<PathBuf>> {
    let tpl = find_template(template)?;
    if !targets().any(|t| t == opts.target) {
        bail!(
            "unknown target `{}`: expected one of {}",
            opts.target,
            targets().collect::<Vec<_>>().join(", ")
        );
    }
    let stack_name = match opts.stack_name {
        Some(name) => {
            check_stack_name(name)?;
            name.to_string()
        }
        None => stack_name_from_dir(dir),
    };

    let mut context = tera::Context::new();
    context.insert("stack_name", &stack_name);
    context.insert("target", opts.target);

    // Render everything first: a broken template or an existing file writes nothing.
    let mut outputs = Vec::with_capacity(tpl.files.len());
    for (rel, contents) in tpl.files.iter().filter(|(p, _)| *p != DESCRIPTOR) {
        let (rel, text) = match rel.strip_suffix(".tera") {
            Some(stripped) => {
                let text = tera::Tera::one_off(contents, &context, false).map_err(|e| {
                    anyhow::anyhow!("template {}/{rel}: {}", tpl.name, error_chain(&e))
                })?;
                (stripped, text)
            }
            None => (*rel, (*contents).to_string()),
        };
        let path = rel
            .split('/')
            .fold(dir.to_path_buf(), |p, part| p.join(part));
        outputs.push((path, text));
    }

    if !opts.force {
        let existing: Vec<String> = outputs
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| p.display().to_string())
            .collect();
        match existing.as_slice() {
            [] => {}
            [one] => {
                bail!("refusing to overwrite existing file {one}; pass --force to overwrite it")
            }
            many => bail!(
                "refusing to overwrite {} existing files ({}); pass --force to overwrite them",
                many.len(),
                many.join(", ")
            ),
        }
    }

    let mut written = Vec::with_capacity(outputs.len());
    for (path, text) in outputs {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create directory {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn find_template(name: &str) -> anyhow::Result<&'static Template> {
    if let Some(t) = TEMPLATES.iter().find(|t| t.name == name) {
        return Ok(t);
    }
    let names: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
    let best = names
        .iter()
        .map(|n| (strsim::jaro_winkler(name, n), *n))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = best
        .map(|(_, n)| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    bail!(
        "unknown template `{name}`{hint}; available templates: {}",
        names.join(", ")
    )
}

/// A tera error with its causes: tera puts the useful part (line, column, what was
/// expected) in the source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

fn check_stack_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let ok = name.len() <= 40
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        bail!(
            "invalid stack name `{name}`: it must start with a lowercase letter and hold only \
             lowercase letters, digits and `-` (at most 40 characters), e.g. `{}`",
            sanitize_stack_name(name)
        );
    }
    Ok(())
}

/// The default stack name for a directory: its file name (the current directory's, for
/// `.`), made a valid stack name by [`sanitize_stack_name`].
pub fn stack_name_from_dir(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            let abs = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                std::env::current_dir().ok()?.join(dir)
            };
            // `..`, `.` and friends: ask the file system what they are.
            let abs = abs.canonicalize().unwrap_or(abs);
            abs.file_name().map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    sanitize_stack_name(&name)
}

/// Make `raw` a valid stack name (`[a-z][a-z0-9-]{0,39}`): lowercase it, turn every other
/// character into `-` (collapsing runs), drop leading characters that are not letters and
/// trailing dashes, and cut at 40 characters. Falls back to `stack` when nothing is left.
pub fn sanitize_stack_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if out.is_empty() && !c.is_ascii_lowercase() {
            continue;
        }
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out.truncate(40);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "stack".to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under `templates/<name>/` on disk is embedded, and nothing else is.
    #[test]
    fn embedded_table_matches_the_templates_directory() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk = Vec::new();
        for entry in fs::read_dir(&root).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let mut stack = vec![entry.path()];
                while let Some(d) = stack.pop() {
                    for f in fs::read_dir(&d).unwrap() {
                        let p = f.unwrap().path();
                        if p.is_dir() {
                            stack.push(p);
                        } else {
                            let rel = p.strip_prefix(entry.path()).unwrap();
                            let rel: Vec<String> = rel
                                .components()
                                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                                .collect();
                            on_disk.push(format!("{name}/{}", rel.join("/")));
                        }
                    }
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = TEMPLATES
            .iter()
            .flat_map(|t| t.files.iter().map(move |(p, _)| format!("{}/{p}", t.name)))
            .collect();
        embedded.sort();
        assert_eq!(
            embedded, on_disk,
            "update TEMPLATES in src/commands/init.rs to match templates/"
        );
    }

    #[test]
    fn every_template_has_a_descriptor_naming_it() {
        for t in TEMPLATES {
            let info = t.info();
            assert_eq!(info.name, t.name);
            assert!(
                !info.description.is_empty(),
                "{} has no description",
                t.name
            );
        }
    }

    #[test]
    fn stack_names_are_sanitized() {
        assert_eq!(sanitize_stack_name("My Shop_2"), "my-shop-2");
        assert_eq!(sanitize_stack_name("42-things"), "things");
        assert_eq!(sanitize_stack_name("--"), "stack");
        assert_eq!(sanitize_stack_name("Ünïcode"), "n-code");
        assert_eq!(sanitize_stack_name(&"a".repeat(50)).len(), 40);
        assert_eq!(
            sanitize_stack_name(&format!("{}-b", "a".repeat(39))),
            "a".repeat(39)
        );
        assert_eq!(stack_name_from_dir(Path::new("/tmp/Web.App")), "web-app");
    }
}
