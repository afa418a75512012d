//! Tidy tests: the invariants of ARCHITECTURE.md that reading the source tree can check,
//! checked (as rust-analyzer's tidy tests do), so that they hold by test and not only by
//! review.
//!
//! - **The engine knows no cloud**: nothing under `src/` outside the provider registry
//!   (`src/registry.rs`, and `src/engine.rs` where `build_providers` lives until the
//!   registry replaces it) names a provider crate (`overcast_aws::`), a provider
//!   (`"aws"`) or a native type (`"aws_s3_bucket"`, `"local_dir"`) in code. Comments and
//!   prose may mention clouds: only crate paths and whole string literals count.
//! - **Only `src/state` writes state files**: outside `src/state` no code names the state
//!   directory or a state file (`join("state")`, `".journal"`), and nothing in `src/`
//!   writes a file under the working directory that holds the state (`work_dir`).
//! - **Providers know no other provider**: a provider crate's Cargo.toml depends on no
//!   other provider crate (only on `overcast-core`) nor on the engine.
//! - **Providers never touch state**: code under `providers/` names no state type
//!   (`StateStore`, ...), no engine path (`overcast::`) and no state file.
//!
//! Test code (`#[cfg(test)]` items and the modules they declare, `#[test]` functions) is
//! exempt from the first two rules: fixtures need real provider names.
//!
//! The scanner reads Rust with a small lexer (comments, strings, raw strings, chars and
//! lifetimes), and Cargo.toml by lines: enough for these rules and no new dependency.
//! Every rule is shown to fail by the scanner tests at the end of this file.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------
// The rules' parameters.

/// Files under `src/` that build providers, and so may name them.
const REGISTRY_FILES: &[&str] = &["src/registry.rs", "src/engine.rs"];

/// Clouds named as providers by the rules even in a tree that has no crate for them (the
/// scanner's own tests build trees with only some providers).
const PLANNED_CLOUDS: &[&str] = &["azure", "gcp"];

/// The crate of the provider contract, which every provider and the engine may use.
const CORE_CRATE: &str = "core";

/// State types a provider must not name.
const STATE_TYPES: &[&str] = &[
    "StateStore",
    "StateBackend",
    "StateLocation",
    "LocalFileBackend",
    "LocalDir",
];

/// Calls that write, create, move or delete files, by their last path segment.
const FILE_WRITES: &[&str] = &[
    "write",
    "create",
    "create_new",
    "create_dir",
    "create_dir_all",
    "rename",
    "copy",
    "hard_link",
    "remove_file",
    "remove_dir",
    "remove_dir_all",
    "set_len",
    "write_atomic",
];

/// Suffixes of the state files (see `src/state/local/paths.rs`).
const STATE_FILE_SUFFIXES: &[&str] = &[".journal", ".json.backup", ".json.tmp"];

/// Violations that the tree has today, waiting for a fix (issue 8: "Nothing under src/
/// matches on a provider name or a native type name except where providers are built").
/// Each is matched by rule, file and token, so that it survives edits that move lines;
/// an entry that matches nothing any more fails `known_violations_are_still_there`, so
/// the list can only shrink. Do not add to it: fix the code.
const KNOWN_VIOLATIONS: &[Known] = &[];

// ---------------------------------------------------------------------------------------
// The tests over the real tree.

#[test]
fn engine_knows_no_cloud() {
    let tree = Tree::read(&repo_root());
    assert_clean(Rule::EngineKnowsNoCloud, check_engine_knows_no_cloud(&tree));
}

#[test]
fn only_state_writes_state_files() {
    let tree = Tree::read(&repo_root());
    assert_clean(
        Rule::OnlyStateWritesState,
        check_only_state_writes_state(&tree),
    );
}

#[test]
fn providers_know_no_other_provider() {
    let tree = Tree::read(&repo_root());
    assert_clean(
        Rule::ProvidersKnowNoOtherProvider,
        check_providers_know_no_other_provider(&tree),
    );
}

#[test]
fn providers_never_touch_state() {
    let tree = Tree::read(&repo_root());
    assert_clean(
        Rule::ProvidersNeverTouchState,
        check_providers_never_touch_state(&tree),
    );
}

#[test]
fn known_violations_are_still_there() {
    let tree = Tree::read(&repo_root());
    let all = check_all(&tree);
    let stale: Vec<&Known> = KNOWN_VIOLATIONS
        .iter()
        .filter(|k| !all.iter().any(|v| k.matches(v)))
        .collect();
    assert!(
        stale.is_empty(),
        "these known violations are fixed: remove them from KNOWN_VIOLATIONS in tests/tidy.rs \
         so that they cannot come back:\n{}",
        stale
            .iter()
            .map(|k| format!("  {} {} ({})", k.file, k.token, k.why))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_scanner_sees_the_tree() {
    // A scanner that read nothing would pass every rule.
    let tree = Tree::read(&repo_root());
    let has = |rel: &str| tree.sources.iter().any(|f| f.rel == rel);
    assert!(has("src/lib.rs") && has("src/state/store.rs"));
    assert!(tree.providers.contains("local") && tree.providers.contains("core"));
    assert!(
        tree.manifests
            .iter()
            .any(|m| m.rel == "providers/local/Cargo.toml")
    );
    let state = tree
        .sources
        .iter()
        .find(|f| f.rel == "src/state/local/paths.rs")
        .expect("the local backend's paths");
    assert!(
        state.tokens.iter().any(|t| t.is_str("state")),
        "the state directory is named in src/state"
    );
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn assert_clean(rule: Rule, violations: Vec<Violation>) {
    let new: Vec<String> = violations
        .iter()
        .filter(|v| !KNOWN_VIOLATIONS.iter().any(|k| k.matches(v)))
        .map(ToString::to_string)
        .collect();
    assert!(
        new.is_empty(),
        "{} violation(s) of \"{}\":\n{}",
        new.len(),
        rule.invariant(),
        new.join("\n")
    );
}

fn check_all(tree: &Tree) -> Vec<Violation> {
    let mut all = check_engine_knows_no_cloud(tree);
    all.extend(check_only_state_writes_state(tree));
    all.extend(check_providers_know_no_other_provider(tree));
    all.extend(check_providers_never_touch_state(tree));
    all
}

// ---------------------------------------------------------------------------------------
// Violations.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    EngineKnowsNoCloud,
    OnlyStateWritesState,
    ProvidersKnowNoOtherProvider,
    ProvidersNeverTouchState,
}

impl Rule {
    /// The invariant as ARCHITECTURE.md states it.
    fn invariant(self) -> &'static str {
        match self {
            Rule::EngineKnowsNoCloud => "The engine knows no cloud.",
            Rule::OnlyStateWritesState => "Only `src/state` writes state files",
            Rule::ProvidersKnowNoOtherProvider | Rule::ProvidersNeverTouchState => {
                "Providers know no other provider and never touch state."
            }
        }
    }

    /// What to do instead.
    fn hint(self) -> &'static str {
        match self {
            Rule::EngineKnowsNoCloud => {
                "reach clouds through `overcast_core::Provider`; only the provider registry \
                 (src/registry.rs) names providers, their crates and their native types"
            }
            Rule::OnlyStateWritesState => {
                "go through `crate::state` (`StateStore`, `state::list_targets`): only \
                 src/state knows where state lives and writes it"
            }
            Rule::ProvidersKnowNoOtherProvider => {
                "providers share code only through overcast-core; move what both need there"
            }
            Rule::ProvidersNeverTouchState => {
                "a provider returns what it did and the engine records it; drop the \
                 reference to the engine and its state"
            }
        }
    }
}

/// One place that breaks a rule.
#[derive(Debug, Clone)]
struct Violation {
    rule: Rule,
    /// Relative to the repository root, with `/`.
    file: String,
    line: usize,
    /// The offending token as written (`"aws"`, `overcast_aws`, `overcast-aws`).
    token: String,
    /// What the code does, in words.
    what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}. This breaks the ARCHITECTURE.md invariant \"{}\": {}.",
            self.file,
            self.line,
            self.what,
            self.rule.invariant(),
            self.rule.hint()
        )
    }
}

/// A violation the tree is known to have (see [`KNOWN_VIOLATIONS`]).
struct Known {
    rule: Rule,
    file: &'static str,
    token: &'static str,
    why: &'static str,
}

impl Known {
    fn matches(&self, v: &Violation) -> bool {
        self.rule == v.rule && self.file == v.file && self.token == v.token
    }
}

// ---------------------------------------------------------------------------------------
// The rules.

/// Rule (a): under `src/`, outside the registry and test code, no provider crate path, no
/// provider name and no native type name as a whole string literal.
fn check_engine_knows_no_cloud(tree: &Tree) -> Vec<Violation> {
    let clouds = tree.clouds();
    let mut out = Vec::new();
    for file in tree.engine_sources() {
        if REGISTRY_FILES.contains(&file.rel.as_str()) || file.is_test {
            continue;
        }
        for t in &file.tokens {
            let what = match &t.kind {
                TokenKind::Ident => {
                    let provider = t
                        .text
                        .strip_prefix("overcast_")
                        .filter(|p| *p != CORE_CRATE && clouds.contains(*p));
                    provider.map(|p| format!("uses the `{p}` provider's crate (`{}`)", t.text))
                }
                TokenKind::Str(s) if clouds.contains(s.as_str()) => {
                    Some(format!("names the provider `{s}` in a string literal"))
                }
                TokenKind::Str(s) => native_type_cloud(s, &clouds)
                    .map(|cloud| format!("names the native type `{s}` of the `{cloud}` provider")),
                _ => None,
            };
            if let Some(what) = what {
                out.push(file.violation(Rule::EngineKnowsNoCloud, t, what));
            }
        }
    }
    out
}

/// `aws_s3_bucket` and `local_dir` are native types of `aws` and `local`: the provider's
/// name, `_`, then lowercase words.
fn native_type_cloud<'a>(s: &str, clouds: &BTreeSet<&'a str>) -> Option<&'a str> {
    let (prefix, rest) = s.split_once('_')?;
    let cloud = clouds.get(prefix)?;
    let snake = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    snake.then_some(*cloud)
}

/// Rule (b): outside `src/state`, nothing names the state directory or a state file, and
/// nothing in `src/` writes a file under the working directory (where state lives).
fn check_only_state_writes_state(tree: &Tree) -> Vec<Violation> {
    let mut out = Vec::new();
    for file in &tree.sources {
        let in_state = file.rel.starts_with("src/state/");
        let in_scope = file.rel.starts_with("src/") || file.rel.starts_with("providers/");
        if in_state || !in_scope || file.is_test {
            continue;
        }
        for (i, t) in file.tokens.iter().enumerate() {
            if let Some(what) = names_state_location(&file.tokens, i) {
                out.push(file.violation(Rule::OnlyStateWritesState, t, what));
            }
        }
        if !file.rel.starts_with("src/") {
            continue;
        }
        for (i, t) in file.tokens.iter().enumerate() {
            let Some(args) = file_write_args(&file.tokens, i) else {
                continue;
            };
            let under_work_dir = args.iter().any(|a| {
                a.is_ident("work_dir")
                    || matches!(&a.kind, TokenKind::Str(s) if s.contains(".overcast"))
            });
            if under_work_dir {
                let what = format!(
                    "writes a file under the working directory `.overcast/` (`{}`), where state lives",
                    t.text
                );
                out.push(file.violation(Rule::OnlyStateWritesState, t, what));
            }
        }
    }
    out
}

/// Whether token `i` names where state is kept: `"state"` as a path component
/// (`join("state")`, `Path::new("state")`), a path through `.overcast/state`, or a state
/// file's suffix.
fn names_state_location(tokens: &[Token], i: usize) -> Option<String> {
    let TokenKind::Str(s) = &tokens[i].kind else {
        return None;
    };
    let path_arg = i >= 2
        && tokens[i - 1].is_punct('(')
        && ["join", "push", "new", "from"]
            .iter()
            .any(|f| tokens[i - 2].is_ident(f));
    let component = path_arg && (s == "state" || s.starts_with("state/"));
    let through = s.contains(".overcast/state") || s.contains(".overcast\\state");
    let suffix = STATE_FILE_SUFFIXES.iter().find(|x| s.ends_with(*x));
    if component || through {
        Some(format!("names the state directory (`\"{s}\"`)"))
    } else {
        suffix.map(|x| format!("names a state file (`\"{s}\"`, a `{x}` file)"))
    }
}

/// When token `i` calls a file-writing function (`fs::write(`, `File::create(`,
/// `.rename(`...), the tokens of its arguments.
fn file_write_args(tokens: &[Token], i: usize) -> Option<&[Token]> {
    let t = &tokens[i];
    if !FILE_WRITES.iter().any(|f| t.is_ident(f)) || !tokens.get(i + 1)?.is_punct('(') {
        return None;
    }
    // A path call or a method call, not the definition of a function of that name.
    let prev = tokens.get(i.checked_sub(1)?)?;
    if !(prev.is_punct(':') || prev.is_punct('.')) {
        return None;
    }
    let mut depth = 0usize;
    for (j, a) in tokens.iter().enumerate().skip(i + 1) {
        if a.is_punct('(') {
            depth += 1;
        } else if a.is_punct(')') {
            depth -= 1;
            if depth == 0 {
                return Some(&tokens[i + 2..j]);
            }
        }
    }
    None
}

/// Rule (c): a provider crate depends on no other provider crate and not on the engine.
fn check_providers_know_no_other_provider(tree: &Tree) -> Vec<Violation> {
    let clouds = tree.clouds();
    let mut out = Vec::new();
    for manifest in &tree.manifests {
        let Some(own) = manifest.provider() else {
            continue;
        };
        for dep in manifest_dependencies(&manifest.text) {
            // `overcast-<provider>`, or `overcast` (the engine) as "".
            let other = match dep.name.strip_prefix("overcast-") {
                Some(p) if clouds.contains(p) => p,
                Some(_) => continue,
                None if dep.name == "overcast" => "",
                None => continue,
            };
            if other == own {
                continue;
            }
            let what = if other.is_empty() {
                format!(
                    "the `{own}` provider depends on the engine crate `overcast` (in [{}])",
                    dep.section
                )
            } else {
                format!(
                    "the `{own}` provider depends on the `{other}` provider (`{}` in [{}])",
                    dep.name, dep.section
                )
            };
            out.push(Violation {
                rule: Rule::ProvidersKnowNoOtherProvider,
                file: manifest.rel.clone(),
                line: dep.line,
                token: dep.name.clone(),
                what,
            });
        }
    }
    out
}

/// Rule (d): code under `providers/` names no state type, no engine path and no state
/// file.
fn check_providers_never_touch_state(tree: &Tree) -> Vec<Violation> {
    let mut out = Vec::new();
    for file in tree
        .sources
        .iter()
        .filter(|f| f.rel.starts_with("providers/"))
    {
        for (i, t) in file.tokens.iter().enumerate() {
            let next_is_path = file.tokens.get(i + 1).is_some_and(|n| n.is_punct(':'));
            let what = if STATE_TYPES.iter().any(|s| t.is_ident(s)) {
                Some(format!("names the engine's state type `{}`", t.text))
            } else if t.is_ident("overcast") && next_is_path {
                Some("uses the engine crate (`overcast::`)".to_string())
            } else if t.is_ident("overcast")
                && file
                    .tokens
                    .get(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_ident("crate"))
            {
                Some("uses the engine crate (`extern crate overcast`)".to_string())
            } else {
                names_state_location(&file.tokens, i)
            };
            if let Some(what) = what {
                out.push(file.violation(Rule::ProvidersNeverTouchState, t, what));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The tree.

/// The files the rules read.
struct Tree {
    /// Every `.rs` file under `src/` and `providers/`.
    sources: Vec<SourceFile>,
    /// Every `Cargo.toml` under `providers/`.
    manifests: Vec<Manifest>,
    /// Provider crate directories under `providers/` (`core` included).
    providers: BTreeSet<String>,
}

impl Tree {
    fn read(root: &Path) -> Tree {
        let mut paths = Vec::new();
        for top in ["src", "providers"] {
            walk(&root.join(top), &mut paths);
        }
        let rel = |p: &Path| {
            p.strip_prefix(root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/")
        };
        let mut sources = Vec::new();
        let mut manifests = Vec::new();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "Cargo.toml" {
                let text = fs::read_to_string(&path).expect("read Cargo.toml");
                manifests.push(Manifest {
                    rel: rel(&path),
                    text,
                });
            } else if name.ends_with(".rs") {
                let text = fs::read_to_string(&path).expect("read a source file");
                sources.push(SourceFile::parse(rel(&path), &text));
            }
        }
        let providers = fs::read_dir(root.join("providers"))
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().join("Cargo.toml").is_file())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        let mut tree = Tree {
            sources,
            manifests,
            providers,
        };
        tree.mark_test_modules();
        tree
    }

    /// Provider names: the provider crates (but `core`) and the planned clouds.
    fn clouds(&self) -> BTreeSet<&str> {
        self.providers
            .iter()
            .map(String::as_str)
            .filter(|p| *p != CORE_CRATE)
            .chain(PLANNED_CLOUDS.iter().copied())
            .collect()
    }

    fn engine_sources(&self) -> impl Iterator<Item = &SourceFile> {
        self.sources.iter().filter(|f| f.rel.starts_with("src/"))
    }

    /// Files of modules declared `#[cfg(test)] mod name;` are test code, with everything
    /// below them.
    fn mark_test_modules(&mut self) {
        let mut test_prefixes = Vec::new();
        for file in &self.sources {
            let dir = module_dir(&file.rel);
            for m in &file.test_modules {
                test_prefixes.push(format!("{dir}{m}.rs"));
                test_prefixes.push(format!("{dir}{m}/"));
            }
        }
        for file in &mut self.sources {
            if test_prefixes
                .iter()
                .any(|p| file.rel.starts_with(p.as_str()))
            {
                file.is_test = true;
            }
        }
    }
}

/// Where the child modules of the module in `rel` live: `a/` for `a/mod.rs`, `a/lib.rs`
/// and `a/main.rs`; `a/b/` for `a/b.rs`.
fn module_dir(rel: &str) -> String {
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let stem = name.trim_end_matches(".rs");
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    if matches!(stem, "mod" | "lib" | "main") {
        prefix
    } else {
        format!("{prefix}{stem}/")
    }
}

/// Every file under `dir`, except build output.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "node_modules")
            {
                continue;
            }
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A Rust source file as the rules see it.
struct SourceFile {
    rel: String,
    /// Tokens outside comments and outside test items.
    tokens: Vec<Token>,
    /// Modules this file declares as `#[cfg(test)] mod name;`.
    test_modules: Vec<String>,
    /// The whole file is test code (`#![cfg(test)]`, or a test module's file).
    is_test: bool,
}

impl SourceFile {
    fn parse(rel: String, text: &str) -> SourceFile {
        let all = lex(text);
        let (tokens, test_modules, is_test) = strip_test_items(all);
        SourceFile {
            rel,
            tokens,
            test_modules,
            is_test,
        }
    }

    fn violation(&self, rule: Rule, t: &Token, what: String) -> Violation {
        Violation {
            rule,
            file: self.rel.clone(),
            line: t.line,
            token: t.source(),
            what,
        }
    }
}

/// A Cargo.toml.
struct Manifest {
    rel: String,
    text: String,
}

impl Manifest {
    /// The provider this manifest belongs to: `providers/<name>/Cargo.toml`.
    fn provider(&self) -> Option<&str> {
        let rest = self.rel.strip_prefix("providers/")?;
        rest.strip_suffix("/Cargo.toml")
            .filter(|p| !p.contains('/'))
    }
}

/// A dependency in a manifest.
struct Dependency {
    /// The crate depended on (the `package` of a renamed dependency).
    name: String,
    /// The section, e.g. `dependencies`, `dev-dependencies`.
    section: String,
    line: usize,
}

/// The dependencies of a Cargo.toml: keys of every `[*dependencies]` section, tables
/// `[*dependencies.<name>]`, with `package = "..."` renames resolved.
fn manifest_dependencies(text: &str) -> Vec<Dependency> {
    let mut deps = Vec::new();
    let mut section = String::new();
    // In a `[dependencies.<name>]` table: the index of its dependency.
    let mut table_dep: Option<usize> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim_matches(['[', ']']).trim();
            table_dep = None;
            section = header.to_string();
            if let Some((sect, name)) = split_dependency_table(header) {
                section = sect.to_string();
                deps.push(Dependency {
                    name: unquote(name).to_string(),
                    section: sect.to_string(),
                    line: idx + 1,
                });
                table_dep = Some(deps.len() - 1);
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        // `overcast-core.workspace = true` is a dependency on `overcast-core`.
        let key = unquote(key.trim().split('.').next().unwrap_or(""));
        let value = value.trim();
        if let Some(i) = table_dep {
            if key == "package" {
                deps[i].name = unquote(value).to_string();
            }
            continue;
        }
        if !section.ends_with("dependencies") {
            continue;
        }
        let package = value
            .split_once("package")
            .and_then(|(_, rest)| rest.split('"').nth(1));
        deps.push(Dependency {
            name: package.unwrap_or(key).to_string(),
            section: section.clone(),
            line: idx + 1,
        });
    }
    deps
}

/// `dependencies.foo` or `target.'cfg(unix)'.dev-dependencies.foo` as (section, name).
fn split_dependency_table(header: &str) -> Option<(&str, &str)> {
    ["dependencies.", "dev-dependencies.", "build-dependencies."]
        .iter()
        .find_map(|s| {
            let at = header.find(s)?;
            let before_ok = at == 0 || header[..at].ends_with('.');
            let name = &header[at + s.len()..];
            before_ok.then(|| (&header[..at + s.len() - 1], name))
        })
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(['"', '\''])
}

// ---------------------------------------------------------------------------------------
// A small Rust lexer: enough to tell code from comments and string literals.

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Ident,
    /// A string literal's content (escapes left as written).
    Str(String),
    Punct,
    /// A number, a char literal or a lifetime: nothing the rules look at.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    /// The text as written (for a string, with its quotes).
    text: String,
    line: usize,
}

impl Token {
    fn is_ident(&self, name: &str) -> bool {
        self.kind == TokenKind::Ident && self.text == name
    }

    fn is_punct(&self, c: char) -> bool {
        self.kind == TokenKind::Punct && self.text.len() == c.len_utf8() && self.text.starts_with(c)
    }

    fn is_str(&self, s: &str) -> bool {
        matches!(&self.kind, TokenKind::Str(x) if x == s)
    }

    /// How the token is quoted in a violation: strings with their quotes.
    fn source(&self) -> String {
        match &self.kind {
            TokenKind::Str(s) => format!("\"{s}\""),
            _ => self.text.clone(),
        }
    }
}

fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let count_lines =
        |from: usize, to: usize| chars[from..to].iter().filter(|c| **c == '\n').count();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let start_line = line;
        let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i.min(chars.len()));
            continue;
        }
        // Raw strings: r"..", r#".."#, br"..", cr#".."#.
        let raw_prefix = match (c, at(i + 1)) {
            ('r', '"' | '#') => Some(1),
            ('b' | 'c', 'r') if matches!(at(i + 2), '"' | '#') => Some(2),
            _ => None,
        };
        if let Some(p) = raw_prefix {
            let mut j = i + p;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) == '"' {
                let content_start = j + 1;
                let mut k = content_start;
                let end = loop {
                    if k >= chars.len() {
                        break k;
                    }
                    if chars[k] == '"' && (1..=hashes).all(|h| at(k + h) == '#') {
                        break k;
                    }
                    k += 1;
                };
                let content: String = chars[content_start..end.min(chars.len())].iter().collect();
                i = (end + 1 + hashes).min(chars.len());
                line += count_lines(start, i);
                tokens.push(Token {
                    kind: TokenKind::Str(content),
                    text: chars[start..i].iter().collect(),
                    line: start_line,
                });
                continue;
            }
            // `r#ident`: a raw identifier, lexed below as `r`, `#`, `ident`.
        }
        // Strings: "..", b"..", c"..".
        let str_prefix = match (c, at(i + 1)) {
            ('"', _) => Some(0),
            ('b' | 'c', '"') => Some(1),
            _ => None,
        };
        if let Some(p) = str_prefix {
            let content_start = i + p + 1;
            let mut k = content_start;
            while k < chars.len() && chars[k] != '"' {
                if chars[k] == '\\' {
                    k += 1;
                }
                k += 1;
            }
            let end = k.min(chars.len());
            let content: String = chars[content_start..end].iter().collect();
            i = (end + 1).min(chars.len());
            line += count_lines(start, i);
            tokens.push(Token {
                kind: TokenKind::Str(content),
                text: chars[start..i].iter().collect(),
                line: start_line,
            });
            continue;
        }
        // Char literals ('a', '\n', b'x') and lifetimes ('a).
        let quote = if c == '\'' {
            Some(i)
        } else if c == 'b' && at(i + 1) == '\'' {
            Some(i + 1)
        } else {
            None
        };
        if let Some(q) = quote {
            let char_lit = at(q + 1) == '\\' || at(q + 2) == '\'';
            if char_lit {
                let mut k = q + 1;
                if at(k) == '\\' {
                    k += 2;
                }
                while k < chars.len() && chars[k] != '\'' {
                    k += 1;
                }
                i = (k + 1).min(chars.len());
            } else {
                i = q + 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            tokens.push(Token {
                kind: TokenKind::Other,
                text: chars[start..i].iter().collect(),
                line: start_line,
            });
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token {
                kind: TokenKind::Ident,
                text: chars[start..i].iter().collect(),
                line: start_line,
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token {
                kind: TokenKind::Other,
                text: chars[start..i].iter().collect(),
                line: start_line,
            });
            continue;
        }
        tokens.push(Token {
            kind: TokenKind::Punct,
            text: c.to_string(),
            line: start_line,
        });
        i += 1;
    }
    tokens
}

/// The tokens without test items (an item under `#[cfg(test)]` or `#[test]`), the names of
/// modules declared as `#[cfg(test)] mod name;`, and whether the whole file is test code
/// (`#![cfg(test)]`).
fn strip_test_items(tokens: Vec<Token>) -> (Vec<Token>, Vec<String>, bool) {
    let mut kept = Vec::with_capacity(tokens.len());
    let mut test_modules = Vec::new();
    let mut whole_file = false;
    let mut i = 0;
    while i < tokens.len() {
        let Some((inner, attr_end, is_test)) = attribute_at(&tokens, i) else {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        };
        if !is_test {
            kept.extend_from_slice(&tokens[i..attr_end]);
            i = attr_end;
            continue;
        }
        if inner {
            whole_file = true;
            i = attr_end;
            continue;
        }
        // Skip the item: further attributes, then up to a `;` or a `{...}` at depth 0.
        let mut j = attr_end;
        while let Some((_, end, _)) = attribute_at(&tokens, j) {
            j = end;
        }
        let item_start = j;
        let mut depth = 0usize;
        while j < tokens.len() {
            let t = &tokens[j];
            if t.is_punct('(') || t.is_punct('[') {
                depth += 1;
            } else if t.is_punct(')') || t.is_punct(']') {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && t.is_punct(';') {
                let words: Vec<&str> = tokens[item_start..j]
                    .iter()
                    .filter(|t| t.kind == TokenKind::Ident)
                    .map(|t| t.text.as_str())
                    .collect();
                if let [.., "mod", name] = words.as_slice() {
                    test_modules.push(name.to_string());
                }
                j += 1;
                break;
            } else if depth == 0 && t.is_punct('{') {
                j = matching_brace(&tokens, j) + 1;
                break;
            }
            j += 1;
        }
        i = j;
    }
    (kept, test_modules, whole_file)
}

/// An attribute starting at `i` (`#[...]` or `#![...]`): whether it is inner, the index
/// after it, and whether it marks test code (`#[test]`, or `#[cfg(...)]` naming `test`
/// without `not`).
fn attribute_at(tokens: &[Token], i: usize) -> Option<(bool, usize, bool)> {
    if !tokens.get(i)?.is_punct('#') {
        return None;
    }
    let inner = tokens.get(i + 1)?.is_punct('!');
    let open = if inner { i + 2 } else { i + 1 };
    if !tokens.get(open)?.is_punct('[') {
        return None;
    }
    let mut depth = 0usize;
    let mut end = None;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct('[') {
            depth += 1;
        } else if t.is_punct(']') {
            depth -= 1;
            if depth == 0 {
                end = Some(j);
                break;
            }
        }
    }
    let end = end?;
    let body = &tokens[open + 1..end];
    let is_test = match body {
        [t] => t.is_ident("test"),
        [cfg, rest @ ..] if cfg.is_ident("cfg") => {
            rest.iter().any(|t| t.is_ident("test")) && !rest.iter().any(|t| t.is_ident("not"))
        }
        _ => false,
    };
    Some((inner, end + 1, is_test))
}

/// The index of the `}` matching the `{` at `open` (the last token if unbalanced).
fn matching_brace(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, t) in tokens.iter().enumerate().skip(open) {
        if t.is_punct('{') {
            depth += 1;
        } else if t.is_punct('}') {
            depth -= 1;
            if depth == 0 {
                return j;
            }
        }
    }
    tokens.len().saturating_sub(1)
}

// ---------------------------------------------------------------------------------------
// The scanner's own tests: each rule fails on a planted violation, and passes what it
// must let through.

mod scanner {
    use super::*;

    /// A tree in a temporary directory with `files` (path, content) and providers
    /// `core`, `local` and `aws`.
    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut all: Vec<(&str, &str)> = vec![
            ("src/lib.rs", "pub mod engine;\n"),
            (
                "providers/core/Cargo.toml",
                "[package]\nname = \"overcast-core\"\n",
            ),
            (
                "providers/local/Cargo.toml",
                "[package]\nname = \"overcast-local\"\n[dependencies]\novercast-core.workspace = true\n",
            ),
            (
                "providers/aws/Cargo.toml",
                "[package]\nname = \"overcast-aws\"\n[dependencies]\novercast-core = { path = \"../core\" }\n",
            ),
        ];
        all.extend_from_slice(files);
        for (path, content) in all {
            let path = dir.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let tree = Tree::read(dir.path());
        (dir, tree)
    }

    fn found(violations: &[Violation]) -> Vec<String> {
        violations
            .iter()
            .map(|v| format!("{}:{} {}", v.file, v.line, v.token))
            .collect()
    }

    #[test]
    fn lexer_tells_code_from_comments_and_strings() {
        let tokens = lex(concat!(
            "// aws in a comment\n",
            "/* nested /* aws */ still comment */ let a = \"aws\";\n",
            "let b = r#\"local_dir \"quoted\"\"#; let c = '\"'; fn f<'a>(x: &'a str) {}\n",
            "let d = \"multi\nline\"; let e = b\"aws_x\"; let f = '\\''; let g = r#type;\n",
            "/// doc mentions overcast_aws::AwsProvider\n",
            "let h = \"esc \\\" aws\";",
        ));
        let strs: Vec<(String, usize)> = tokens
            .iter()
            .filter_map(|t| match &t.kind {
                TokenKind::Str(s) => Some((s.clone(), t.line)),
                _ => None,
            })
            .collect();
        assert_eq!(
            strs,
            [
                ("aws".to_string(), 2),
                ("local_dir \"quoted\"".to_string(), 3),
                ("multi\nline".to_string(), 4),
                ("aws_x".to_string(), 5),
                ("esc \\\" aws".to_string(), 7),
            ]
        );
        assert!(!tokens.iter().any(|t| t.is_ident("overcast_aws")));
        assert!(tokens.iter().any(|t| t.is_ident("type") && t.line == 5));
    }

    #[test]
    fn test_items_and_modules_are_left_out() {
        let file = SourceFile::parse(
            "src/x.rs".into(),
            concat!(
                "fn real() -> &'static str { \"kept\" }\n",
                "#[cfg(test)]\nmod tests { fn t() { let _ = \"aws\"; } }\n",
                "#[cfg(test)]\nmod more;\n",
                "#[test]\nfn lone() { let _ = \"gcp\"; }\n",
                "#[cfg(not(test))]\nfn shipped() { let _ = \"azure\"; }\n",
            ),
        );
        let strs: Vec<&str> = file
            .tokens
            .iter()
            .filter_map(|t| match &t.kind {
                TokenKind::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(strs, ["kept", "azure"]);
        assert_eq!(file.test_modules, ["more"]);
        assert_eq!(module_dir("src/x.rs"), "src/x/");
        assert_eq!(module_dir("src/state/mod.rs"), "src/state/");
        assert_eq!(module_dir("src/lib.rs"), "src/");
    }

    #[test]
    fn rule_a_catches_crate_paths_provider_names_and_native_types() {
        let (_dir, tree) = tree(&[
            (
                "src/plan/x.rs",
                concat!(
                    "//! Mentions aws, azure, `aws_s3_bucket` and overcast_aws:: in docs.\n",
                    "use overcast_aws::AwsProvider;\n",
                    "fn f(t: &str) -> bool { t == \"aws_s3_bucket\" }\n",
                    "fn g() -> &'static str { \"gcp\" }\n",
                    "fn h() { bail!(\"no such type local_dir on aws\"); let _ = \"local_dir\"; }\n",
                    "fn ok() { let _ = (\"awsome\", \"aws-like\", \"local-ish\", overcast_core::Kind::Cdn); }\n",
                ),
            ),
            (
                "src/engine.rs",
                "fn build() { let _ = (\"aws\", overcast_local::new()); }\n",
            ),
            (
                "src/registry.rs",
                "fn build() { let _ = \"aws_s3_bucket\"; }\n",
            ),
            ("src/spec/mod.rs", "#[cfg(test)]\nmod tests;\n"),
            ("src/spec/tests.rs", "fn t() { let _ = \"aws\"; }\n"),
        ]);
        let v = check_engine_knows_no_cloud(&tree);
        assert_eq!(
            found(&v),
            [
                "src/plan/x.rs:2 overcast_aws",
                "src/plan/x.rs:3 \"aws_s3_bucket\"",
                "src/plan/x.rs:4 \"gcp\"",
                "src/plan/x.rs:5 \"local_dir\"",
            ]
        );
        let msg = v[0].to_string();
        assert!(
            msg.starts_with("src/plan/x.rs:2: uses the `aws` provider's crate"),
            "{msg}"
        );
        assert!(msg.contains("\"The engine knows no cloud.\""), "{msg}");
    }

    #[test]
    fn rule_b_catches_the_state_directory_and_writes_under_the_work_dir() {
        let (_dir, tree) = tree(&[
            (
                "src/commands/x.rs",
                concat!(
                    "fn a(w: &Path) { let d = w.join(\"state\"); }\n",
                    "fn b(session: &Session) { std::fs::write(session.work_dir.join(\"x.json\"), b\"\").ok(); }\n",
                    "fn c() { let _ = \"shop.prod.journal\"; }\n",
                    "fn d(out: &Path) { std::fs::write(out, b\"plan\").ok(); }\n",
                    "fn e() { println!(\"state\"); let s = \"the state of target\"; }\n",
                ),
            ),
            (
                "src/state/paths.rs",
                "fn dir(w: &Path) -> PathBuf { w.join(\"state\") }\n",
            ),
            (
                "providers/local/src/x.rs",
                "fn f(ctx: &Ctx) { std::fs::write(ctx.work_dir.join(\"local/db\"), b\"\").ok(); let _ = Path::new(\".overcast/state\"); }\n",
            ),
        ]);
        let v = check_only_state_writes_state(&tree);
        assert_eq!(
            found(&v),
            [
                "src/commands/x.rs:1 \"state\"",
                "src/commands/x.rs:3 \"shop.prod.journal\"",
                "src/commands/x.rs:2 write",
                "providers/local/src/x.rs:1 \".overcast/state\"",
            ]
        );
        assert!(
            v[0].to_string()
                .contains("Only `src/state` writes state files")
        );
    }

    #[test]
    fn rule_c_catches_a_provider_depending_on_another() {
        let (_dir, tree) = tree(&[
            (
                "providers/gcp/Cargo.toml",
                concat!(
                    "[package]\nname = \"overcast-gcp\"\n",
                    "[dependencies]\novercast-core.workspace = true\n",
                    "[dev-dependencies]\nlocal = { package = \"overcast-local\", path = \"../local\" }\n",
                    "[target.'cfg(unix)'.dependencies.overcast-aws]\npath = \"../aws\"\n",
                    "[build-dependencies]\novercast = { path = \"../..\" }\n",
                ),
            ),
            ("providers/gcp/src/lib.rs", ""),
        ]);
        let v = check_providers_know_no_other_provider(&tree);
        assert_eq!(
            found(&v),
            [
                "providers/gcp/Cargo.toml:6 overcast-local",
                "providers/gcp/Cargo.toml:7 overcast-aws",
                "providers/gcp/Cargo.toml:10 overcast",
            ]
        );
        assert!(
            v[0].to_string()
                .contains("the `gcp` provider depends on the `local` provider")
        );
    }

    #[test]
    fn rule_d_catches_providers_touching_state() {
        let (_dir, tree) = tree(&[(
            "providers/local/src/x.rs",
            concat!(
                "use overcast::state::StateStore;\n",
                "fn f(s: &mut StateStore) {}\n",
                "fn g() { let _ = \"shop.prod.json.backup\"; }\n",
                "// StateStore in a comment is fine\n",
                "fn h(state: &str) -> &str { state }\n",
            ),
        )]);
        let v = check_providers_never_touch_state(&tree);
        assert_eq!(
            found(&v),
            [
                "providers/local/src/x.rs:1 overcast",
                "providers/local/src/x.rs:1 StateStore",
                "providers/local/src/x.rs:2 StateStore",
                "providers/local/src/x.rs:3 \"shop.prod.json.backup\"",
            ]
        );
        assert!(v[0].to_string().contains("never touch state"));
    }

    #[test]
    fn known_violations_match_by_rule_file_and_token() {
        let v = Violation {
            rule: Rule::EngineKnowsNoCloud,
            file: "src/spec/validate.rs".into(),
            line: 13,
            token: "\"local\"".into(),
            what: String::new(),
        };
        let known = Known {
            rule: Rule::EngineKnowsNoCloud,
            file: "src/spec/validate.rs",
            token: "\"local\"",
            why: "an example",
        };
        assert!(known.matches(&v));
        let elsewhere = Violation {
            file: "src/apply.rs".into(),
            ..v.clone()
        };
        assert!(!known.matches(&elsewhere));
    }
}
