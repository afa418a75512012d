//! `overcast init`: every template renders into a directory a user can apply.
//!
//! Besides the files themselves, the rendered specs are checked against the abstract
//! model of `overcast_core` (kinds, typed properties, reference attributes), so a template
//! that the spec loader would reject fails here too.
//!
//! `examples/<template>/` are committed renderings of the templates; regenerate them with
//! `OVERCAST_REGENERATE_EXAMPLES=1 cargo test --test init`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use overcast::commands::init::{self, InitOptions};
use overcast_core::kinds::{Kind, Properties};
use overcast_core::refs::{Ref, find_refs};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn names() -> Vec<String> {
    init::list_templates().into_iter().map(|t| t.name).collect()
}

/// Every file under `dir`, relative, with `/` separators, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap();
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    out
}

/// Check a spec file against the abstract model: stack name, targets, each resource's
/// kind and typed properties, and every `${...}` reference (declared variable, declared
/// resource, attribute the kind exposes). Returns the parsed document.
fn check_spec(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    let doc: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    let ctx = path.display();

    let stack = doc["stack"]
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: no stack name"));
    assert_eq!(
        init::sanitize_stack_name(stack),
        stack,
        "{ctx}: invalid stack name"
    );

    let targets = doc["targets"]
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: no targets"));
    for (name, t) in targets {
        let provider = t["provider"]
            .as_str()
            .unwrap_or_else(|| panic!("{ctx}: target {name} has no provider"));
        assert!(
            init::targets().any(|t| t == provider),
            "{ctx}: target {name}: provider {provider}"
        );
    }
    match doc.get("default_target").and_then(Value::as_str) {
        Some(d) => assert!(
            targets.contains_key(d),
            "{ctx}: default_target {d} is not declared"
        ),
        None => assert_eq!(
            targets.len(),
            1,
            "{ctx}: several targets need a default_target"
        ),
    }

    let variables: BTreeSet<String> = doc
        .get("variables")
        .and_then(Value::as_object)
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    let resources = doc["resources"]
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: no resources"));
    let mut kinds = BTreeMap::new();
    for (name, r) in resources {
        let kind: Kind = r["kind"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap_or_else(|e| panic!("{ctx}: {name}: {e}"));
        kinds.insert(name.clone(), kind);
    }

    let check_refs = |where_: &str, v: &Value| {
        let mut strings = Vec::new();
        collect_strings(v, &mut strings);
        for s in strings {
            let refs = find_refs(&s).unwrap_or_else(|e| panic!("{ctx}: {where_}: {e}"));
            for (_, r) in refs {
                match r {
                    Ref::Var(v) => assert!(
                        variables.contains(&v),
                        "{ctx}: {where_}: undeclared variable {v}"
                    ),
                    Ref::Resource { name, attr } => {
                        let kind = kinds
                            .get(&name)
                            .unwrap_or_else(|| panic!("{ctx}: {where_}: no resource {name}"));
                        if let Some(a) = attr {
                            assert!(
                                kind.output(&a).is_some(),
                                "{ctx}: {where_}: {kind} has no attribute {a}"
                            );
                        }
                    }
                    Ref::Native { .. } => {
                        panic!("{ctx}: {where_}: native references are for providers")
                    }
                }
            }
        }
    };

    for (name, r) in resources {
        let mut props = r.as_object().unwrap().clone();
        props.remove("kind");
        if let Some(t) = props.remove("target") {
            let t = t.as_str().unwrap();
            assert!(
                targets.contains_key(t),
                "{ctx}: {name}: target {t} is not declared"
            );
        }
        for dep in props
            .remove("depends_on")
            .and_then(|d| d.as_array().cloned())
            .unwrap_or_default()
        {
            assert!(
                kinds.contains_key(dep.as_str().unwrap()),
                "{ctx}: {name}: depends on unknown {dep}"
            );
        }
        props.remove("protect");
        let props = Value::Object(props);
        check_refs(name, &props);
        let typed = Properties::from_value(kinds[name], props)
            .unwrap_or_else(|e| panic!("{ctx}: {name}: {e}"));
        let dir = path.parent().unwrap();
        match typed {
            Properties::Storage(s) => {
                if let Some(c) = s.content {
                    assert!(
                        dir.join(&c).is_dir(),
                        "{ctx}: {name}: content dir {c} missing"
                    );
                }
            }
            Properties::Function(f) => {
                let module = f.handler.split('.').next().unwrap();
                let file = dir.join(&f.source).join(format!("{module}.py"));
                assert!(
                    file.is_file(),
                    "{ctx}: {name}: handler file {} missing",
                    file.display()
                );
                assert!(
                    fs::read_to_string(&file)
                        .unwrap()
                        .contains("def handler(event, context)"),
                    "{ctx}: {name}: no handler in {}",
                    file.display()
                );
            }
            _ => {}
        }
    }
    if let Some(outputs) = doc.get("outputs") {
        check_refs("outputs", outputs);
    }
    doc
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

#[test]
fn lists_the_reference_architectures() {
    let names = names();
    for expected in [
        "event-driven",
        "queue-worker",
        "serverless-api",
        "static-site",
        "three-tier-web",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for t in init::list_templates() {
        assert!(
            !t.description.is_empty() && !t.description.contains('\n'),
            "{}: {:?}",
            t.name,
            t.description
        );
    }
}

#[test]
fn every_template_renders_a_complete_stack() {
    let tmp = tempfile::tempdir().unwrap();
    for name in names() {
        let dir = tmp.path().join(format!("My_{name}"));
        let written = init::init(&name, &dir, None, false).unwrap();
        let expected_stack = format!("my-{name}");

        let on_disk = files_under(&dir);
        assert!(
            on_disk.contains(&"overcast.yaml".to_string()),
            "{name}: {on_disk:?}"
        );
        assert!(
            on_disk
                .iter()
                .all(|f| !f.ends_with(".tera") && f != "template.toml"),
            "{name}: {on_disk:?}"
        );
        let mut reported: Vec<String> = written
            .iter()
            .map(|p| {
                p.strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        reported.sort();
        assert_eq!(
            reported, on_disk,
            "{name}: returned paths differ from the files written"
        );

        let spec = fs::read_to_string(dir.join("overcast.yaml")).unwrap();
        assert!(
            spec.contains(&format!("stack: {expected_stack}\n")),
            "{name}: stack name not substituted"
        );
        for tag in ["{{", "{%", "{#"] {
            assert!(
                !spec.contains(tag),
                "{name}: tera syntax `{tag}` left in overcast.yaml"
            );
        }
        let source = fs::read_to_string(
            repo()
                .join("templates")
                .join(&name)
                .join("overcast.yaml.tera"),
        )
        .unwrap();
        assert_eq!(
            spec.matches("${").count(),
            source.matches("${").count(),
            "{name}: a `${{...}}` reference was lost"
        );

        let doc = check_spec(&dir.join("overcast.yaml"));
        assert_eq!(doc["stack"], expected_stack.as_str());
        assert!(
            doc.get("default_target").is_none(),
            "{name}: local-only stacks need no default_target"
        );
    }
}

#[test]
fn explicit_stack_name_and_cloud_target() {
    let tmp = tempfile::tempdir().unwrap();
    for name in names() {
        for target in ["aws", "azure", "gcp"] {
            let dir = tmp.path().join(&name).join(target);
            let opts = InitOptions {
                stack_name: Some("shop"),
                target,
                force: false,
            };
            init::init_with(&name, &dir, &opts).unwrap();
            let doc = check_spec(&dir.join("overcast.yaml"));
            assert_eq!(doc["stack"], "shop");
            assert_eq!(doc["default_target"], target, "{name}");
            assert_eq!(doc["targets"][target]["provider"], target, "{name}");
            assert_eq!(
                doc["targets"]["local"]["provider"], "local",
                "{name}: local must stay declared"
            );
        }
    }
    let err = init::init_with(
        "static-site",
        &tmp.path().join("x"),
        &InitOptions {
            target: "mars",
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("mars") && err.contains("aws"), "{err}");
}

#[test]
fn static_site_index_carries_the_stack_name() {
    let tmp = tempfile::tempdir().unwrap();
    init::init("static-site", tmp.path(), Some("docs-site"), false).unwrap();
    let index = fs::read_to_string(tmp.path().join("public/index.html")).unwrap();
    assert!(index.contains("<title>docs-site</title>"), "{index}");
}

#[test]
fn refuses_to_overwrite_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("site");
    init::init("static-site", &dir, None, false).unwrap();
    let spec = dir.join("overcast.yaml");
    fs::write(&spec, "# mine\n").unwrap();
    let css = dir.join("public/style.css");
    fs::remove_file(&css).unwrap();

    let err = init::init("static-site", &dir, None, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("overcast.yaml") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&spec).unwrap(),
        "# mine\n",
        "an existing file was overwritten"
    );
    assert!(!css.exists(), "a refused init must write nothing");

    init::init("static-site", &dir, None, true).unwrap();
    assert!(fs::read_to_string(&spec).unwrap().contains("stack: site"));
    assert!(css.exists());
}

#[test]
fn unknown_template_suggests_and_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let err = init::init("statc-site", tmp.path(), None, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown template `statc-site`"), "{err}");
    assert!(err.contains("did you mean `static-site`"), "{err}");
    for name in names() {
        assert!(err.contains(&name), "{err}");
    }
    let err = init::init("kubernetes", tmp.path(), None, false)
        .unwrap_err()
        .to_string();
    assert!(!err.contains("did you mean"), "{err}");
    assert!(files_under(tmp.path()).is_empty());
}

#[test]
fn invalid_stack_name_is_refused_with_a_suggestion() {
    let tmp = tempfile::tempdir().unwrap();
    let err = init::init("static-site", tmp.path(), Some("My Shop"), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid stack name `My Shop`") && err.contains("my-shop"),
        "{err}"
    );
}

/// `examples/<template>/` are the templates rendered with the template's name as the
/// stack name; they must not drift from the templates.
#[test]
fn examples_match_the_templates() {
    let regenerate = std::env::var_os("OVERCAST_REGENERATE_EXAMPLES").is_some();
    let tmp = tempfile::tempdir().unwrap();
    for name in names() {
        let example = repo().join("examples").join(&name);
        if regenerate {
            init::init(&name, &example, Some(&name), true).unwrap();
        }
        let fresh = tmp.path().join(&name);
        init::init(&name, &fresh, Some(&name), false).unwrap();
        let files = files_under(&fresh);
        assert_eq!(
            files_under(&example),
            files,
            "examples/{name}: files differ from the template's"
        );
        for f in files {
            assert_eq!(
                fs::read(example.join(&f)).unwrap(),
                fs::read(fresh.join(&f)).unwrap(),
                "examples/{name}/{f} differs from the template: run OVERCAST_REGENERATE_EXAMPLES=1 cargo test --test init"
            );
        }
    }
}

#[test]
fn hand_written_examples_fit_the_model() {
    for example in ["quickstart", "multi-cloud"] {
        check_spec(&repo().join("examples").join(example).join("overcast.yaml"));
    }
}

/// The spec loader accepts every example and every template rendered for every target.
#[test]
fn spec_loader_accepts_examples_and_templates() {
    let no_vars = BTreeMap::new();
    let mut specs: Vec<PathBuf> = fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path().join("overcast.yaml"))
        .filter(|p| p.is_file())
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    for name in names() {
        for target in init::targets() {
            let dir = tmp.path().join(&name).join(target);
            let opts = InitOptions {
                target,
                ..Default::default()
            };
            init::init_with(&name, &dir, &opts).unwrap();
            specs.push(dir.join("overcast.yaml"));
        }
    }
    assert!(specs.len() >= 2 + 4 * names().len(), "{specs:?}");
    for spec in specs {
        if let Err(e) = overcast::spec::load(&spec, &no_vars) {
            panic!("{} does not load:\n{e}", spec.display());
        }
    }
}
