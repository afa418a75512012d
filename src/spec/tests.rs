//! Unit tests of the spec module: valid specs → model, variables, and robustness.

use std::collections::BTreeMap;
use std::path::Path;

use overcast_core::kinds::{Kind, Properties};
use serde_json::json;

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn load_ok(text: &str) -> Stack {
    match load_with_env(Path::new("overcast.yaml"), text, &BTreeMap::new(), &no_env) {
        Ok(s) => s,
        Err(e) => panic!("spec should load:\n{e}"),
    }
}

fn load_err(text: &str) -> SpecErrors {
    match load_with_env(Path::new("overcast.yaml"), text, &BTreeMap::new(), &no_env) {
        Ok(_) => panic!("spec should not load"),
        Err(e) => e,
    }
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const SMALL: &str = "\
stack: shop
resources:
  jobs:
    kind: queue
  web:
    kind: compute
    size: micro
    startup: run ${jobs.url}
outputs:
  web: ${web.address}
";

#[test]
fn minimal_spec_gets_the_implicit_local_target_and_defaults() {
    let s = load_ok(SMALL);
    assert_eq!(s.name, "shop");
    assert_eq!(s.default_target, "local");
    assert_eq!(
        s.targets["local"].provider,
        overcast_core::ProviderKind::Local
    );
    assert_eq!(s.dir, Path::new("."));
    let web = &s.resources["web"];
    assert_eq!(web.kind, Kind::Compute);
    assert_eq!(web.target, "local");
    assert_eq!(web.depends_on, ["jobs"]);
    assert_eq!(web.referenced.get("jobs"), Some(&Kind::Queue));
    assert_eq!((web.location.line, web.location.column), (5, 3));
    let Properties::Compute(p) = &web.properties else {
        panic!("compute expected")
    };
    assert_eq!(p.count, 1);
    assert_eq!(p.image, "ubuntu-24.04");
    assert_eq!(p.startup.as_deref(), Some("run ${jobs.url}"));
    assert_eq!(s.outputs["web"].value, json!("${web.address}"));
    assert!(!s.outputs["web"].sensitive);
}

#[test]
fn the_full_fixture_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/valid/full.yaml");
    let s = match load(&path, &BTreeMap::new()) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let kinds: Vec<Kind> = s.resources.values().map(|r| r.kind).collect();
    for k in Kind::ALL {
        assert!(kinds.contains(&k), "{k} missing");
    }
    assert_eq!(s.resources["db"].target, "cloud");
    assert!(s.resources["db"].protect);
    assert_eq!(s.resources["cdn"].depends_on, ["site", "web"]);
    assert_eq!(s.resources["worker"].depends_on, ["db", "jobs"]);
    assert_eq!(s.targets["cloud"].settings["region"], json!("eu-west-1"));
    // A database version written as a YAML number is the string the struct wants.
    let Properties::Database(db) = &s.resources["db"].properties else {
        panic!()
    };
    assert_eq!(db.version.as_deref(), Some("16"));
    assert!(
        s.outputs["db"].sensitive,
        "references a sensitive attribute"
    );
    assert!(!s.outputs["url"].sensitive);
    assert_eq!(s.outputs["stage"].value, json!("dev"));
}

const VARS: &str = "\
stack: shop
variables:
  n: { type: number, default: 1 }
  env: { default: dev }
  secret: { sensitive: true, default: hunter2 }
  on: { type: bool, default: false }
resources:
  web:
    kind: compute
    size: small
    count: ${var.n}
    startup: echo ${var.env}-${var.n} $${literal}
  files:
    kind: storage
    public: ${var.on}
outputs:
  pw: pass=${var.secret}
";

#[test]
fn variables_prefer_cli_then_env_then_default() {
    let env = |name: &str| match name {
        "n" => Some("3".to_string()),
        "env" => Some("from-env".to_string()),
        _ => None,
    };
    let s = load_with_env(Path::new("o.yaml"), VARS, &vars(&[("n", "5")]), &env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.variables["n"].value, json!(5));
    assert_eq!(s.variables["env"].value, json!("from-env"));
    assert_eq!(s.variables["secret"].value, json!("hunter2"));
    let s = load_with_env(Path::new("o.yaml"), VARS, &BTreeMap::new(), &env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.variables["n"].value, json!(3));
    let s = load_ok(VARS);
    assert_eq!(s.variables["n"].value, json!(1));
    assert_eq!(s.variables["env"].value, json!("dev"));
}

#[test]
fn whole_references_keep_their_type_and_others_interpolate() {
    let s = load_with_env(
        Path::new("o.yaml"),
        VARS,
        &vars(&[("n", "4"), ("on", "true")]),
        &no_env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let Properties::Compute(p) = &s.resources["web"].properties else {
        panic!()
    };
    assert_eq!(p.count, 4);
    assert_eq!(p.startup.as_deref(), Some("echo dev-4 $${literal}"));
    let Properties::Storage(st) = &s.resources["files"].properties else {
        panic!()
    };
    assert!(st.public);
    assert_eq!(s.outputs["pw"].value, json!("pass=hunter2"));
    assert!(s.outputs["pw"].sensitive, "uses a sensitive variable");
    assert!(s.variables["secret"].sensitive);
}

#[test]
fn bad_cli_values_and_missing_values_name_the_variable() {
    let e = load_with_env(Path::new("o.yaml"), VARS, &vars(&[("n", "many")]), &no_env).unwrap_err();
    assert_eq!(e.len(), 1, "{e}");
    assert!(
        e.errors[0].message.contains("`n`") && e.errors[0].message.contains("not a number"),
        "{e}"
    );
    let e = load_err("stack: s\nvariables:\n  region: {}\nresources: {}\n");
    assert!(e.errors[0].message.contains("has no value"), "{e}");
    assert_eq!(e.errors[0].location.line, 3);
}

#[test]
fn several_targets_need_a_default() {
    let text = "stack: s\ntargets:\n  a: { provider: local }\n  b: { provider: aws, region: x }\nresources: {}\n";
    let e = load_err(text);
    assert!(e.errors[0].message.contains("default_target"), "{e}");
    let one = load_ok("stack: s\ntargets:\n  only: { provider: gcp, project: p }\n");
    assert_eq!(one.default_target, "only");
}

#[test]
fn compute_needs_size_or_cpu_and_memory() {
    let e =
        load_err("stack: s\nresources:\n  w:\n    kind: compute\n    size: small\n    cpu: 2\n");
    assert!(e.errors[0].message.contains("cannot both be set"), "{e}");
    let e = load_err("stack: s\nresources:\n  w:\n    kind: compute\n    cpu: 2\n");
    assert!(e.errors[0].message.contains("needs `memory_gb`"), "{e}");
    load_ok("stack: s\nresources:\n  w:\n    kind: compute\n    cpu: 2\n    memory_gb: 4\n");
}

#[test]
fn function_trigger_rules() {
    let base = "stack: s\nresources:\n  q:\n    kind: storage\n  f:\n    kind: function\n    runtime: nodejs20\n    handler: index.handler\n    source: .\n";
    let e = load_err(&format!(
        "{base}    trigger: {{ type: queue, source: \"${{q}}\" }}\n"
    ));
    assert!(
        e.errors[0]
            .message
            .contains("a storage resource, but must be a queue resource"),
        "{e}"
    );
    let e = load_err(&format!("{base}    trigger: {{ type: schedule }}\n"));
    assert!(e.errors[0].message.contains("needs `schedule`"), "{e}");
    let e = load_err(&format!(
        "{base}    trigger: {{ type: http, schedule: rate(1 minute) }}\n"
    ));
    assert!(e.errors[0].message.contains("takes no `schedule`"), "{e}");
    load_ok(&format!(
        "{base}    trigger: {{ type: storage, source: \"${{q}}\" }}\n"
    ));
    let e = load_err(&base.replace("nodejs20", "python2"));
    assert!(
        e.errors[0].message.contains("unsupported function runtime"),
        "{e}"
    );
}

#[test]
fn lifecycle_transition_needs_both_fields_and_replicas_are_bounded() {
    let e = load_err(
        "stack: s\nresources:\n  b:\n    kind: storage\n    lifecycle:\n      - to_class: archive\n",
    );
    assert!(
        e.errors[0]
            .message
            .contains("needs `transition_after_days`"),
        "{e}"
    );
    assert_eq!(e.errors[0].location.line, 6);
    let e = load_err("stack: s\nresources:\n  d:\n    kind: database\n    read_replicas: 16\n");
    assert_eq!(e.errors[0].location.line, 5, "{e}");
}

#[test]
fn all_independent_errors_are_reported_sorted() {
    let text = "stack: s\nresources:\n  a:\n    kind: computer\n  b:\n    kind: storage\n    versionning: true\n  c:\n    kind: queue\n    ordered: maybe\n";
    let e = load_err(text);
    let lines: Vec<u64> = e.iter().map(|e| e.location.line).collect();
    assert_eq!(lines, [4, 7, 10], "{e}");
}

#[test]
fn outputs_reference_sensitive_attributes_and_native_refs_are_refused() {
    let e = load_err(
        "stack: s\nresources:\n  d:\n    kind: database\noutputs:\n  x: ${d.main.password}\n",
    );
    assert!(e.errors[0].message.contains("native"), "{e}");
    let s =
        load_ok("stack: s\nresources:\n  d:\n    kind: database\noutputs:\n  x: ${d.password}\n");
    assert!(s.outputs["x"].sensitive);
}

#[test]
fn json_schema_is_a_2020_12_schema_for_the_whole_file() {
    let s = json_schema();
    assert_eq!(
        s["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(s["required"], json!(["stack"]));
    let compute = &s["properties"]["resources"]["additionalProperties"]["allOf"][0]["then"];
    assert!(compute["properties"].get("size").is_some());
    assert!(compute["properties"].get("depends_on").is_some());
}

/// Fuzz-ish: no prefix of a valid spec (cut at any byte boundary that is a char
/// boundary) may panic; each either loads or reports errors.
#[test]
fn truncated_specs_never_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec/valid/full.yaml");
    let full = std::fs::read_to_string(&path).unwrap_or_else(|_| VARS.to_string());
    for text in [full.as_str(), VARS, SMALL] {
        for cut in 0..=text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let prefix = &text[..cut];
            let result = std::panic::catch_unwind(|| {
                let _ = load_with_env(&path, prefix, &BTreeMap::new(), &no_env)
                    .map_err(|e| e.to_string());
            });
            assert!(
                result.is_ok(),
                "panicked on a prefix of {} bytes:\n{prefix}",
                cut
            );
        }
    }
    // A few hostile shapes.
    for text in [
        "[",
        "- a\n- b",
        "stack: [",
        "a: *nope",
        "{{{{",
        "resources:\n  x: [1, {kind: cdn}]",
        &"[".repeat(500),
    ] {
        let _ = load_with_env(Path::new("f.yaml"), text, &BTreeMap::new(), &no_env);
    }
}

#[test]
fn a_misspelled_local_setting_is_an_error_with_a_suggestion() {
    let e = load_err(
        "stack: s\ntargets:\n  local:\n    provider: local\n    latncy_ms: 5\nresources: {}\n",
    );
    let e = &e.errors[0];
    assert_eq!((e.location.line, e.location.column), (5, 5));
    assert_eq!(e.path, "targets.local.latncy_ms");
    assert!(e.message.contains("unknown setting `latncy_ms`"), "{e}");
    assert_eq!(e.hint.as_deref(), Some("did you mean `latency_ms`?"));
}

#[test]
fn local_settings_are_typed_and_ranged() {
    for (setting, message, expected) in [
        (
            "error_rate: 2",
            "`error_rate` is out of range",
            "a number from 0 to 1",
        ),
        (
            "rate_limit: 0",
            "`rate_limit` is out of range",
            "a positive number",
        ),
        (
            "latency_ms: fast",
            "wrong type for `latency_ms`",
            "a non-negative integer",
        ),
        ("noop: maybe", "wrong type for `noop`", "true or false"),
        (
            "helper_exe: ''",
            "`helper_exe` is empty",
            "a non-empty string",
        ),
    ] {
        let text = format!(
            "stack: s\ntargets:\n  local:\n    provider: local\n    {setting}\nresources: {{}}\n"
        );
        let errs = load_err(&text);
        let e = &errs.errors[0];
        assert_eq!(e.location.line, 5, "{setting}: {e}");
        assert!(e.message.contains(message), "{setting}: {e}");
        assert_eq!(e.expected.as_deref(), Some(expected), "{setting}: {e}");
    }
    let s = load_ok(
        "stack: s\ntargets:\n  local:\n    provider: local\n    rate_limit: 50\n    error_rate: 0.1\nresources: {}\n",
    );
    assert_eq!(s.targets["local"].settings["rate_limit"], json!(50));
}

#[test]
fn variables_in_settings_keep_their_type_and_literal_dollars() {
    let text = "stack: s\nvariables:\n  lat:\n    type: number\n    default: 7\n  exe:\n    type: string\n    default: /opt/${x}/cdn\ntargets:\n  local:\n    provider: local\n    latency_ms: ${var.lat}\n    helper_exe: ${var.exe}\nresources: {}\n";
    let s = load_ok(text);
    let settings = &s.targets["local"].settings;
    assert_eq!(settings["latency_ms"], json!(7));
    // The provider gets the text the user meant, not the spec's escape.
    assert_eq!(settings["helper_exe"], json!("/opt/${x}/cdn"));
    // A variable of the wrong type is reported at the setting.
    let e = load_err(&text.replace(
        "type: number\n    default: 7",
        "type: string\n    default: slow",
    ));
    assert_eq!(e.errors[0].path, "targets.local.latency_ms");
}

#[test]
fn a_setting_cannot_reference_a_resource() {
    let e = load_err(
        "stack: s\ntargets:\n  local:\n    provider: local\n    helper_exe: ${web.address}\nresources:\n  web:\n    kind: compute\n",
    );
    assert_eq!(e.errors[0].path, "targets.local.helper_exe");
    assert!(
        e.errors[0].message.contains("cannot reference a resource"),
        "{e}"
    );
}

#[test]
fn an_unknown_provider_suggests_the_closest() {
    let e = load_err("stack: s\ntargets:\n  main:\n    provider: lcoal\nresources: {}\n");
    let e = &e.errors[0];
    assert_eq!((e.location.line, e.location.column), (4, 15));
    assert_eq!(e.path, "targets.main.provider");
    assert_eq!(e.hint.as_deref(), Some("did you mean `local`?"));
}

#[cfg(feature = "aws")]
#[test]
fn a_misspelled_aws_setting_is_an_error_with_a_suggestion() {
    let e = load_err(
        "stack: s\ntargets:\n  cloud:\n    provider: aws\n    region: eu-west-1\n    endpoint_ur: http://127.0.0.1:5000\nresources: {}\n",
    );
    let e = &e.errors[0];
    assert_eq!((e.location.line, e.location.column), (6, 5));
    assert_eq!(e.path, "targets.cloud.endpoint_ur");
    assert_eq!(e.hint.as_deref(), Some("did you mean `endpoint_url`?"));
    // An empty endpoint (a variable defaulting to "") still means "not set".
    let s = load_ok(
        "stack: s\ntargets:\n  cloud:\n    provider: aws\n    region: eu-west-1\n    endpoint_url: ''\nresources: {}\n",
    );
    assert_eq!(
        s.targets["cloud"].provider,
        overcast_core::ProviderKind::Aws
    );
}
