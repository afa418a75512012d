//! Reading what `overcast --json nuke` printed: its result document (after the NDJSON
//! events) and the ARNs of one of its lists.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Run;

/// The result document of a `--json` nuke: the last line that carries `dry_run`.
pub fn result(r: &Run) -> Value {
    r.stdout()
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("dry_run").is_some())
        .unwrap_or_else(|| panic!("no result document:\n{}", r.all()))
}

/// The ARNs of the result's list `list` (`delete`, `keep`, `deleted`, `failed`, ...).
pub fn arns(v: &Value, list: &str) -> BTreeSet<String> {
    in_order(v, list).into_iter().collect()
}

/// The ARNs of the result's list `list`, in its order (`deleted`: as they went).
pub fn in_order(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no `{list}` in {v}"))
        .iter()
        .map(|e| e["arn"].as_str().expect("arn").to_string())
        .collect()
}

/// A list as a set.
pub fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}
