//! `to_abstract` for a Cloud SQL instance: the database it most likely was.

use overcast_core::catalog::{Cloud, Size, catalog};
use overcast_core::kinds::DbEngine;
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Value, json};

/// A primary instance (a read replica is part of its primary's database).
pub fn is_primary(state: &NativeState) -> bool {
    state
        .inputs
        .get("master")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
}

/// The database an instance was: engine and version, size from its tier, storage and
/// backups.
pub fn database(state: &NativeState) -> AbstractView {
    let i = &state.inputs;
    let mut props = serde_json::Map::new();
    let mut approximations = Vec::new();
    let version = i
        .get("database_version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let engine = if version.starts_with("MYSQL") {
        DbEngine::Mysql
    } else {
        DbEngine::Postgres
    };
    props.insert(
        "engine".into(),
        serde_json::to_value(engine).unwrap_or(Value::Null),
    );
    match catalog().version_of_native(Cloud::Gcp, engine, version) {
        Some(v) => {
            props.insert("version".into(), json!(v));
        }
        None => approximations.push((
            "version".to_string(),
            format!("Cloud SQL version `{version}` is not in the catalog: the default used"),
        )),
    }
    if let Some(tier) = i.get("tier").and_then(Value::as_str) {
        // The size whose tier it is; else the nearest by vCPUs and memory.
        let exact = Size::ALL
            .into_iter()
            .find(|s| catalog().db_class(Cloud::Gcp, *s).name == tier);
        match exact.or_else(|| {
            catalog()
                .size_of_db_class(Cloud::Gcp, tier)
                .map(|n| n.value)
        }) {
            Some(size) => {
                props.insert(
                    "size".into(),
                    serde_json::to_value(size).unwrap_or(Value::Null),
                );
            }
            None => approximations.push((
                "size".to_string(),
                format!("Cloud SQL tier `{tier}` is not in the catalog: small used"),
            )),
        }
    }
    if let Some(d) = i.get("disk_gb").and_then(Value::as_u64) {
        props.insert("storage_gb".into(), json!(d));
    }
    if let Some(r) = i.get("backup_retention").and_then(Value::as_u64) {
        props.insert("backup_retention_days".into(), json!(r));
    }
    AbstractView {
        kind: Kind::Database,
        properties: props,
        approximations,
    }
}
