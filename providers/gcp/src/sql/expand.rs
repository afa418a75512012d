//! The `database` kind on GCP: a Cloud SQL instance, its read replicas (instances with
//! `masterInstanceName`), the spec's database and its administrator user.

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::kinds::DatabaseProps;
use overcast_core::{NativeSpec, ProviderError};
use serde_json::json;

use crate::expand::{Ctx, attrs, types};

/// Cloud SQL instance names: `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`.
const NAME_MAX: usize = 63;

/// Expand a database resource into its natives.
pub fn expand(
    ctx: &Ctx<'_>,
    name: &str,
    p: &DatabaseProps,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let cat = catalog();
    let version = match &p.version {
        Some(v) => v.clone(),
        None => cat.default_version(p.engine).to_string(),
    };
    let native_version = cat
        .engine_version(p.engine, &version)
        .map(|v| v.native(Cloud::Gcp).to_string())
        .ok_or_else(|| {
            let known: Vec<&str> = cat
                .engine_versions(p.engine)
                .map(|v| v.version.as_str())
                .collect();
            ProviderError::invalid(format!(
                "database `{name}`: Cloud SQL has no {} version `{version}`",
                overcast_core::catalog::engine_name(p.engine)
            ))
            .with_hint(format!("use one of: {}", known.join(", ")))
        })?;
    let tier = cat.db_class(Cloud::Gcp, p.size).name.clone();
    // Cloud SQL keeps a deleted instance's name for up to a week: an engine or version
    // change (a replacement) must create the new instance under another name, so the
    // name carries the version (`postgres-16`).
    let suffix = native_version.to_ascii_lowercase().replace('_', "-");
    let instance = ctx.name(name, &suffix, NAME_MAX);
    let mut out = vec![
        NativeSpec::new(
            "instance",
            types::SQL_INSTANCE,
            attrs(json!({
                "name": instance,
                "region": ctx.region,
                "database_version": native_version,
                "tier": tier,
                "disk_gb": p.storage_gb,
                "backups": p.backup_retention_days > 0,
                "backup_retention": p.backup_retention_days,
                "master": null,
            })),
        )
        // Cloud SQL cannot rename or move an instance, nor change its engine or major
        // version in place: a new instance (the data is not copied).
        .force_new(&["name", "region", "database_version", "master"]),
        NativeSpec::new(
            "database",
            types::SQL_DATABASE,
            attrs(json!({
                "instance": format!("${{{name}.instance.name}}"),
                "name": p.database_name,
            })),
        )
        .after("instance")
        .force_new(&["instance", "name"]),
        NativeSpec::new(
            "user",
            types::SQL_USER,
            attrs(json!({
                "instance": format!("${{{name}.instance.name}}"),
                "name": p.username,
            })),
        )
        // One operation at a time per instance: after the database.
        .after("database")
        .force_new(&["instance", "name"])
        .sensitive(&["password"]),
    ];
    for i in 0..p.read_replicas {
        out.push(
            NativeSpec::new(
                format!("replica[{i}]"),
                types::SQL_INSTANCE,
                attrs(json!({
                    "name": ctx.name(name, &format!("replica{i}-{suffix}"), NAME_MAX),
                    "region": ctx.region,
                    "database_version": native_version,
                    "tier": tier,
                    "disk_gb": p.storage_gb,
                    "master": format!("${{{name}.instance.name}}"),
                })),
            )
            .after("user")
            .force_new(&["name", "region", "database_version", "master"]),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::{Kind, Properties};

    fn run(props: serde_json::Value) -> Result<Vec<NativeSpec>, ProviderError> {
        let Properties::Database(p) =
            Properties::from_value(Kind::Database, props).expect("properties")
        else {
            unreachable!("a database's properties")
        };
        expand(
            &Ctx {
                stack: "shop",
                target: "gcp",
                region: "europe-west1",
                zone: None,
            },
            "db",
            &p,
        )
    }

    #[test]
    fn a_database_is_an_instance_a_database_a_user_and_its_replicas() {
        let n = run(json!({"version": "16", "size": "micro", "read_replicas": 2})).expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(
            locals,
            ["instance", "database", "user", "replica[0]", "replica[1]"]
        );
        let i = &n[0].inputs;
        assert_eq!(i["database_version"], "POSTGRES_16");
        assert_eq!(i["tier"], "db-g1-small");
        assert_eq!(i["backups"], true);
        assert_eq!(i["region"], "europe-west1");
        // A version change is a new instance under a new name (Cloud SQL reserves a
        // deleted instance's name).
        assert!(
            i["name"]
                .as_str()
                .is_some_and(|s| s.contains("postgres-16"))
        );
        assert!(n[0].force_new.iter().any(|f| f == "database_version"));
        assert_eq!(n[3].inputs["master"], "${db.instance.name}");
        assert_eq!(n[2].sensitive, ["password"]);
        let other = run(json!({"version": "15"})).expect("expand");
        assert_ne!(other[0].inputs["name"], i["name"]);
    }

    #[test]
    fn an_unknown_version_is_refused_with_the_known_ones() {
        let e = run(json!({"engine": "mysql", "version": "5.1"})).unwrap_err();
        assert!(
            e.message.contains("no mysql version `5.1`"),
            "{}",
            e.message
        );
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("8.0")),
            "{:?}",
            e.hint
        );
    }
}
