//! Golden tests of spec error messages: every `tests/fixtures/spec/invalid/<case>.yaml`
//! must fail to load with exactly the text in `<case>.expected`.
//!
//! `OVERCAST_BLESS=1 cargo test --test spec_errors` rewrites the `.expected` files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use overcast::spec::{load, load_str};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec")
}

#[test]
fn invalid_specs_render_the_expected_errors() {
    let dir = fixtures().join("invalid");
    let bless = std::env::var_os("OVERCAST_BLESS").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 14,
        "expected at least 14 cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let file_name = case.file_name().expect("file name");
        let text = std::fs::read_to_string(case).expect("fixture readable");
        let rendered = match load_str(Path::new(file_name), &text, &BTreeMap::new()) {
            Ok(_) => "(loaded without error)\n".to_string(),
            Err(e) => format!("{e}\n"),
        };
        let expected_path = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &rendered).expect("write .expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if rendered != expected {
            failures.push(format!(
                "--- {} (expected)\n{expected}+++ (actual)\n{rendered}",
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (OVERCAST_BLESS=1 to update):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_full_valid_spec_loads() {
    let stack = match load(&fixtures().join("valid/full.yaml"), &BTreeMap::new()) {
        Ok(s) => s,
        Err(e) => panic!("full.yaml should load:\n{e}"),
    };
    assert_eq!(stack.name, "shop");
    assert_eq!(stack.resources.len(), 6);
}

#[test]
fn a_missing_file_suggests_init() {
    let err = load(Path::new("/nonexistent/overcast.yaml"), &BTreeMap::new()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/nonexistent/overcast.yaml"), "{text}");
    assert!(text.contains("overcast init"), "{text}");
}
