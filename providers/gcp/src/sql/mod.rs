//! Cloud SQL: the `gcp_sql_instance` (a primary or a read replica), `gcp_sql_database`
//! and `gcp_sql_user` natives, and the `database` kind's expansion into them.
//!
//! Every mutation of Cloud SQL answers an operation, awaited through
//! [`overcast_core::poll::poll_until`]. Cloud SQL's insert takes no request id: a create
//! retried after a lost answer meets 409 and adopts the instance of its deterministic
//! name when it carries the request's owner labels.

pub mod abstracts;
pub mod client;
mod expand;
pub(crate) mod handlers;
pub mod models;
pub mod outputs;

use std::collections::BTreeMap;

use overcast_core::native::{CreateRequest, LiveStatus, Observed, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::poll::{Poll, PollPolicy, poll_until};
use overcast_core::{Attrs, ErrorClass, ProviderError};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use crate::config::Clients;
use crate::labels;
use models::{
    BackupConfiguration, BackupRetentionSettings, Database, DatabaseInstance, Operation, Settings,
    User,
};

pub use expand::expand;

/// The secrets a user's create needs: its password, recorded in the write-ahead intent.
pub fn generate_secrets() -> Attrs {
    let password: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let mut s = Attrs::new();
    s.insert("password".into(), json!(password));
    s
}

fn str_of<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::invalid(format!("input `{key}` missing or not a string")))
}

fn u64_of(inputs: &Attrs, key: &str) -> u64 {
    inputs.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// Wait for a Cloud SQL operation to be DONE; its errors become a typed error.
async fn wait(
    c: &Clients,
    ctx: &OpContext,
    what: &str,
    op: &Operation,
) -> Result<(), ProviderError> {
    let Some(name) = op.name.as_deref().filter(|n| !n.is_empty()) else {
        return Err(ProviderError::fatal(format!(
            "{what}: Cloud SQL answered no operation name"
        )));
    };
    poll_until(ctx, what, PollPolicy::default(), || async {
        let op = c.sql.get_operation(&c.project, name).await?;
        if !op.is_done() {
            let status = op.status.as_deref().unwrap_or("pending");
            return Ok(Poll::pending(status.to_ascii_lowercase()));
        }
        let errors = op.error_messages();
        if errors.is_empty() {
            Ok(Poll::Ready(()))
        } else {
            Err(ProviderError::new(
                ErrorClass::Fatal,
                format!("{what} failed: {}", errors.join("; ")),
            ))
        }
    })
    .await
}

// ---- instances -----------------------------------------------------------------------

/// The instance's settings from the native's inputs (what create and patch set).
fn settings(inputs: &Attrs, replica: bool) -> Result<Settings, ProviderError> {
    let backups = !replica && inputs.get("backups").and_then(Value::as_bool) == Some(true);
    let mut backup = BackupConfiguration {
        enabled: Some(backups),
        ..BackupConfiguration::default()
    };
    if backups {
        let retained = u64_of(inputs, "backup_retention");
        let retained = i32::try_from(retained).map_err(|_| {
            ProviderError::invalid(format!(
                "input `backup_retention` ({retained}) is more backups than Cloud SQL keeps"
            ))
            .with_hint("lower `backup_retention_days`")
        })?;
        backup.backup_retention_settings = Some(BackupRetentionSettings {
            retention_unit: Some("COUNT".into()),
            retained_backups: Some(retained),
        });
        // Point-in-time recovery needs binary logs on MySQL; PostgreSQL takes the flag.
        if inputs
            .get("database_version")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("POSTGRES"))
        {
            backup.point_in_time_recovery_enabled = Some(false);
        }
    }
    let disk = u64_of(inputs, "disk_gb");
    let disk = i64::try_from(disk)
        .map_err(|_| ProviderError::invalid(format!("input `disk_gb` ({disk}) is too large")))?;
    Ok(Settings {
        tier: inputs
            .get("tier")
            .and_then(Value::as_str)
            .map(str::to_string),
        edition: Some("ENTERPRISE".into()),
        data_disk_size_gb: Some(disk),
        backup_configuration: Some(backup),
        deletion_protection_enabled: Some(false),
        ..Settings::default()
    })
}

/// The lifecycle of an instance from its `state`.
fn status_of(state: &str) -> LiveStatus {
    match state {
        "RUNNABLE" => LiveStatus::Ready,
        "PENDING_CREATE" | "MAINTENANCE" | "PENDING_UPDATE" => {
            LiveStatus::Provisioning(state.to_ascii_lowercase())
        }
        "PENDING_DELETE" => LiveStatus::Deleting,
        "FAILED" | "SUSPENDED" => {
            LiveStatus::Failed(format!("Cloud SQL reports the instance {state}"))
        }
        other => LiveStatus::Provisioning(other.to_ascii_lowercase()),
    }
}

/// The port of an engine's `databaseVersion`.
fn port_of(version: &str) -> u16 {
    if version.starts_with("POSTGRES") {
        5432
    } else {
        3306
    }
}

fn observe_instance(inst: &DatabaseInstance) -> Observed {
    let name = inst.name.clone().unwrap_or_default();
    let version = inst.database_version.as_deref().unwrap_or_default();
    let s = inst.settings.clone().unwrap_or_default();
    let backup = s.backup_configuration.clone().unwrap_or_default();
    let backups = backup.enabled.unwrap_or(false);
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert("region".into(), json!(inst.region));
    inputs.insert("database_version".into(), json!(version));
    inputs.insert("tier".into(), json!(s.tier));
    inputs.insert(
        "disk_gb".into(),
        json!(s.data_disk_size_gb.map_or(0, |d| d.max(0))),
    );
    let replica = inst.master();
    inputs.insert("master".into(), json!(replica));
    if replica.is_none() {
        inputs.insert("backups".into(), json!(backups));
        let retained = backup
            .backup_retention_settings
            .and_then(|r| r.retained_backups)
            .map_or(0, |r| r.max(0));
        inputs.insert(
            "backup_retention".into(),
            json!(if backups { retained } else { 0 }),
        );
    }
    let engine = if version.starts_with("POSTGRES") {
        "postgres"
    } else {
        "mysql"
    };
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("endpoint".into(), json!(inst.primary_address()));
    outputs.insert("port".into(), json!(port_of(version)));
    outputs.insert("engine".into(), json!(engine));
    outputs.insert("connection_name".into(), json!(inst.connection_name));
    let state = inst.state.as_deref().unwrap_or("UNKNOWN");
    Observed::new(name, inputs, outputs).with_status(status_of(state))
}

/// The instance `name` (a not-found error when it is gone), with its labels.
pub async fn read_instance(
    c: &Clients,
    name: &str,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let inst = c.sql.get_instance(&c.project, name).await?;
    Ok((observe_instance(&inst), inst.labels()))
}

/// The instance body of a create: name, region, version, settings with the owner labels,
/// and the primary of a read replica.
fn instance_body(
    default_region: &str,
    inputs: &Attrs,
    owner: &OwnerTags,
    name: &str,
) -> Result<DatabaseInstance, ProviderError> {
    let master = inputs
        .get("master")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty());
    let mut s = settings(inputs, master.is_some())?;
    s.user_labels = Some(labels::owner_labels(owner).into_iter().collect());
    let region = inputs
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or(default_region);
    Ok(DatabaseInstance {
        name: Some(name.to_string()),
        region: Some(region.to_string()),
        database_version: Some(str_of(inputs, "database_version")?.to_string()),
        settings: Some(s),
        master_instance_name: master.map(str::to_string),
        ..DatabaseInstance::default()
    })
}

/// Create the instance (or the read replica of `master`) and wait for it to be RUNNABLE.
/// 409 on a name: ours (labels) is adopted, anyone else's or a recently deleted one's is
/// a conflict that says names cannot be reused for a while.
pub async fn create_instance(
    c: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
) -> Result<Observed, ProviderError> {
    let name = str_of(&req.inputs, "name")?;
    let body = instance_body(&c.region, &req.inputs, &req.owner, name)?;
    let what = format!("Cloud SQL instance `{name}` to be created");
    match c.sql.insert_instance(&c.project, &body).await {
        Ok(op) => wait(c, ctx, &what, &op).await?,
        // 409 also answers "another operation in progress": only a taken name adopts.
        Err(e) if e.class == ErrorClass::Conflict && e.message.contains("already exists") => {
            return match read_instance(c, name).await {
                Ok((_, l)) if labels::owned_by(&l, &req.owner) => {
                    wait_runnable(c, ctx, name).await?;
                    Ok(read_instance(c, name).await?.0)
                }
                Ok(_) => Err(ProviderError::new(
                    ErrorClass::Conflict,
                    format!("Cloud SQL instance `{name}` exists and is not this stack's: {}", e.message),
                )
                .with_hint("delete it, or rename this resource")),
                Err(found) if found.class != ErrorClass::NotFound => Err(found),
                Err(_) => Err(ProviderError::new(
                    ErrorClass::Conflict,
                    format!(
                        "Cloud SQL instance name `{name}` was used by an instance deleted recently: \
                         Cloud SQL keeps a deleted instance's name reserved for up to a week ({})",
                        e.message
                    ),
                )
                .with_hint("rename this resource, or wait until Cloud SQL releases the name")),
            };
        }
        Err(e) => return Err(e),
    }
    Ok(read_instance(c, name).await?.0)
}

/// Wait for an adopted instance (its create may still run) to be RUNNABLE.
async fn wait_runnable(c: &Clients, ctx: &OpContext, name: &str) -> Result<(), ProviderError> {
    let what = format!("Cloud SQL instance `{name}` to be runnable");
    poll_until(ctx, &what, PollPolicy::default(), || async {
        let (obs, _) = read_instance(c, name).await?;
        match obs.status {
            LiveStatus::Ready => Ok(Poll::Ready(())),
            LiveStatus::Failed(why) => Err(ProviderError::fatal(format!("{name}: {why}"))),
            LiveStatus::Provisioning(s) => Ok(Poll::pending(s)),
            LiveStatus::Deleting => Ok(Poll::pending("deleting")),
        }
    })
    .await
}

/// The refusal of a disk shrink: Cloud SQL only grows a data disk.
fn shrink_refused(name: &str, have: u64, want: u64) -> ProviderError {
    ProviderError::new(
        ErrorClass::Precondition,
        format!(
            "Cloud SQL instance `{name}`: `disk_gb` (the database's `storage_gb`) cannot shrink \
             from {have} GB to {want} GB: Cloud SQL only grows a data disk"
        ),
    )
    .with_hint(format!(
        "set the database's `storage_gb` back to {have} or more; for a smaller disk, create a \
         new database resource (a new instance; its data is not copied) and move the data"
    ))
}

/// Bring the instance to `inputs` by one patch (tier, disk growth, backups), awaited.
/// Cloud SQL cannot shrink a disk: refused, naming the field and what to do.
pub async fn update_instance(
    c: &Clients,
    ctx: &OpContext,
    name: &str,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let (current, _) = read_instance(c, name).await?;
    let have = u64_of(&current.inputs, "disk_gb");
    let want = u64_of(inputs, "disk_gb");
    if want < have {
        return Err(shrink_refused(name, have, want));
    }
    let replica = inputs
        .get("master")
        .and_then(Value::as_str)
        .is_some_and(|m| !m.is_empty());
    // `settingsVersion` guards the patch: a change made since the read fails with 412,
    // and is retried once on a fresh read.
    let mut attempt = 0;
    let op = loop {
        let live = c.sql.get_instance(&c.project, name).await?;
        let mut s = settings(inputs, replica)?;
        s.settings_version = live.settings.and_then(|s| s.settings_version);
        let body = DatabaseInstance {
            settings: Some(s),
            ..DatabaseInstance::default()
        };
        match c.sql.patch_instance(&c.project, name, &body).await {
            Err(e) if e.class == ErrorClass::Precondition && attempt == 0 => attempt += 1,
            other => break other?,
        }
    };
    wait(
        c,
        ctx,
        &format!("Cloud SQL instance `{name}` to be updated"),
        &op,
    )
    .await?;
    Ok(read_instance(c, name).await?.0)
}

/// Cloud SQL's message when a primary with read replicas is deleted (HTTP 400,
/// `errorReplicationMasterInvalidOperation`).
const REPLICATION_MASTER: &str = "not valid for a replication master instance";

/// A delete refused because read replicas still use the primary: a conflict (the replicas
/// go first, then the primary can) that names them, read from the primary.
async fn primary_in_use(c: &Clients, name: &str, e: ProviderError) -> ProviderError {
    let replicas = match c.sql.get_instance(&c.project, name).await {
        Ok(i) if !i.replica_names.is_empty() => i.replica_names.join(", "),
        _ => "its read replicas".to_string(),
    };
    ProviderError::new(
        ErrorClass::Conflict,
        format!(
            "Cloud SQL instance `{name}` is in use by {replicas}: {}",
            e.message
        ),
    )
    .with_hint("delete the read replicas first (lower `read_replicas`, apply, then destroy)")
}

/// Delete the instance and wait; gone already counts as deleted. A primary that still
/// has read replicas is refused by Cloud SQL: a [`ErrorClass::Conflict`] naming them.
pub async fn delete_instance(
    c: &Clients,
    ctx: &OpContext,
    name: &str,
) -> Result<(), ProviderError> {
    let op = match c.sql.delete_instance(&c.project, name).await {
        Ok(op) => op,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) if e.message.contains(REPLICATION_MASTER) => {
            return Err(primary_in_use(c, name, e).await);
        }
        Err(e) => return Err(e),
    };
    wait(
        c,
        ctx,
        &format!("Cloud SQL instance `{name}` to be deleted"),
        &op,
    )
    .await
}

/// Every instance of the project, as Cloud SQL lists it (labels in `settings.userLabels`,
/// a replica's primary in `masterInstanceName`).
pub async fn list_instances(c: &Clients) -> Result<Vec<DatabaseInstance>, ProviderError> {
    Ok(c.sql
        .list_instances(&c.project)
        .await?
        .into_iter()
        .filter(|i| i.name.is_some())
        .collect())
}

// ---- databases and users -------------------------------------------------------------

/// A database or user id: `instance/name`.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once('/').ok_or_else(|| {
        ProviderError::invalid(format!("Cloud SQL id `{id}` is not `instance/name`"))
    })
}

fn child_observed(instance: &str, name: &str, secrets: Option<&Value>) -> Observed {
    let mut inputs = Attrs::new();
    inputs.insert("instance".into(), json!(instance));
    inputs.insert("name".into(), json!(name));
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    if let Some(p) = secrets {
        outputs.insert("password".into(), p.clone());
    }
    Observed::new(format!("{instance}/{name}"), inputs, outputs)
}

/// The database `instance/name` (a not-found error when it is gone).
pub async fn read_database(c: &Clients, id: &str) -> Result<Observed, ProviderError> {
    let (instance, name) = split_id(id)?;
    c.sql.get_database(&c.project, instance, name).await?;
    Ok(child_observed(instance, name, None))
}

/// Create the database; one that exists already (a retried create) is adopted: a
/// database has no labels, it belongs to the instance that is ours.
pub async fn create_database(
    c: &Clients,
    ctx: &OpContext,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    let instance = str_of(inputs, "instance")?;
    let name = str_of(inputs, "name")?;
    let body = Database {
        name: Some(name.to_string()),
        instance: Some(instance.to_string()),
        project: Some(c.project.clone()),
        ..Database::default()
    };
    match c.sql.insert_database(&c.project, instance, &body).await {
        Ok(op) => wait(c, ctx, &format!("database `{name}` on `{instance}`"), &op).await?,
        Err(e) if e.class == ErrorClass::Conflict && e.message.contains("already exists") => {}
        Err(e) => return Err(e),
    }
    read_database(c, &format!("{instance}/{name}")).await
}

/// Delete the database; gone counts as deleted.
pub async fn delete_database(c: &Clients, ctx: &OpContext, id: &str) -> Result<(), ProviderError> {
    let (instance, name) = split_id(id)?;
    match c.sql.delete_database(&c.project, instance, name).await {
        Ok(op) => wait(c, ctx, &format!("database `{name}` to be deleted"), &op).await,
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The host part of a user on this instance: `%` on MySQL, none on PostgreSQL.
fn host_of(mysql: bool) -> Option<&'static str> {
    mysql.then_some("%")
}

async fn is_mysql(c: &Clients, instance: &str) -> Result<bool, ProviderError> {
    let inst = c.sql.get_instance(&c.project, instance).await?;
    Ok(inst
        .database_version
        .as_deref()
        .is_some_and(|v| v.starts_with("MYSQL")))
}

/// The user `instance/name`; its password is the one recorded in state (Cloud SQL never
/// returns it).
pub async fn read_user(
    c: &Clients,
    id: &str,
    password: Option<&Value>,
) -> Result<Observed, ProviderError> {
    let (instance, name) = split_id(id)?;
    let host = host_of(is_mysql(c, instance).await?);
    c.sql.get_user(&c.project, instance, name, host).await?;
    Ok(child_observed(instance, name, password))
}

/// Create the user with the password of the create's intent (so a retried or adopted
/// create keeps it); one that exists already gets its password set to it.
pub async fn create_user(
    c: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
) -> Result<Observed, ProviderError> {
    let inputs = &req.inputs;
    let instance = str_of(inputs, "instance")?;
    let name = str_of(inputs, "name")?;
    let password = req.secrets.get("password").cloned().ok_or_else(|| {
        ProviderError::fatal(format!(
            "Cloud SQL user `{name}`: the create carries no generated password"
        ))
    })?;
    let Some(secret) = password.as_str() else {
        return Err(ProviderError::fatal(format!(
            "Cloud SQL user `{name}`: the generated password is not a string"
        )));
    };
    let host = host_of(is_mysql(c, instance).await?);
    let body = User {
        name: Some(name.to_string()),
        instance: Some(instance.to_string()),
        project: Some(c.project.clone()),
        password: Some(secret.to_string()),
        host: host.map(str::to_string),
        ..User::default()
    };
    let what = format!("user `{name}` on `{instance}`");
    match c.sql.insert_user(&c.project, instance, &body).await {
        Ok(op) => wait(c, ctx, &what, &op).await?,
        Err(e) if e.class == ErrorClass::Conflict && e.message.contains("already exists") => {
            let op = c
                .sql
                .update_user(&c.project, instance, name, host, &body)
                .await?;
            wait(c, ctx, &what, &op).await?;
        }
        Err(e) => return Err(e),
    }
    read_user(c, &format!("{instance}/{name}"), Some(&password)).await
}

/// Delete the user; gone counts as deleted.
pub async fn delete_user(c: &Clients, ctx: &OpContext, id: &str) -> Result<(), ProviderError> {
    let (instance, name) = split_id(id)?;
    let mysql = match is_mysql(c, instance).await {
        Ok(m) => m,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    match c
        .sql
        .delete_user(&c.project, instance, name, host_of(mysql))
        .await
    {
        Ok(op) => wait(c, ctx, &format!("user `{name}` to be deleted"), &op).await,
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_to_lifecycles() {
        assert_eq!(status_of("RUNNABLE"), LiveStatus::Ready);
        assert!(matches!(
            status_of("PENDING_CREATE"),
            LiveStatus::Provisioning(_)
        ));
        assert!(matches!(status_of("FAILED"), LiveStatus::Failed(_)));
        assert!(matches!(status_of("SUSPENDED"), LiveStatus::Failed(_)));
        assert_eq!(status_of("PENDING_DELETE"), LiveStatus::Deleting);
    }

    fn owner() -> OwnerTags {
        OwnerTags {
            stack: "shop".into(),
            target: "gcp".into(),
            resource: "db.instance".into(),
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        k.sort_unstable();
        k
    }

    #[test]
    fn an_insert_body_has_exactly_the_fields_overcast_sets() {
        let inputs: Attrs = serde_json::from_value(json!({
            "name": "shop-gcp-db-postgres-16", "region": "europe-west1",
            "database_version": "POSTGRES_16", "tier": "db-g1-small", "disk_gb": 20,
            "backups": true, "backup_retention": 7, "master": null
        }))
        .expect("inputs");
        let body = serde_json::to_value(
            instance_body("us-central1", &inputs, &owner(), "shop-gcp-db-postgres-16")
                .expect("body"),
        )
        .expect("serialize");
        // No output-only field (state, ipAddresses, selfLink, kind, ...), no unset one.
        assert_eq!(
            keys(&body),
            ["databaseVersion", "name", "region", "settings"]
        );
        let s = &body["settings"];
        assert_eq!(
            keys(s),
            [
                "backupConfiguration",
                "dataDiskSizeGb",
                "deletionProtectionEnabled",
                "edition",
                "tier",
                "userLabels"
            ]
        );
        assert_eq!(s["dataDiskSizeGb"], "20");
        assert_eq!(
            keys(&s["backupConfiguration"]),
            [
                "backupRetentionSettings",
                "enabled",
                "pointInTimeRecoveryEnabled"
            ]
        );
        assert_eq!(
            s["backupConfiguration"]["backupRetentionSettings"],
            json!({"retentionUnit": "COUNT", "retainedBackups": 7})
        );
        let labels = s["userLabels"].as_object().expect("labels");
        assert!(!labels.is_empty());
        assert!(labels.values().all(Value::is_string));

        // A read replica names its primary and takes no backups; the region defaults.
        let mut replica = inputs.clone();
        replica.insert("master".into(), json!("shop-gcp-db-postgres-16"));
        replica.remove("region");
        let body = serde_json::to_value(
            instance_body("us-central1", &replica, &owner(), "r").expect("body"),
        )
        .expect("serialize");
        assert_eq!(
            keys(&body),
            [
                "databaseVersion",
                "masterInstanceName",
                "name",
                "region",
                "settings"
            ]
        );
        assert_eq!(body["region"], "us-central1");
        assert_eq!(
            body["settings"]["backupConfiguration"],
            json!({"enabled": false})
        );
    }

    #[test]
    fn an_observed_instance_reads_google_s_answer() {
        let inst: DatabaseInstance = serde_json::from_value(json!({
            "kind": "sql#instance",
            "state": "RUNNABLE",
            "databaseVersion": "MYSQL_8_0",
            "settings": {
                "kind": "sql#settings", "settingsVersion": "3", "tier": "db-n1-standard-1",
                "dataDiskSizeGb": "50", "userLabels": {"k": "v"},
                "backupConfiguration": {"enabled": true, "binaryLogEnabled": true,
                    "backupRetentionSettings": {"retentionUnit": "COUNT", "retainedBackups": 5}}
            },
            "masterInstanceName": "my-project:primary",
            "ipAddresses": [{"type": "OUTGOING", "ipAddress": "34.1.1.1"},
                            {"type": "PRIMARY", "ipAddress": "34.2.2.2"}],
            "connectionName": "my-project:europe-west1:replica",
            "name": "replica", "region": "europe-west1"
        }))
        .expect("an instance");
        let o = observe_instance(&inst);
        assert_eq!(o.status, LiveStatus::Ready);
        assert_eq!(o.inputs["disk_gb"], 50);
        assert_eq!(o.inputs["master"], "primary");
        assert!(
            !o.inputs.contains_key("backups"),
            "a replica has no backups"
        );
        assert_eq!(o.outputs["endpoint"], "34.2.2.2");
        assert_eq!(o.outputs["port"], 3306);
        assert_eq!(o.outputs["engine"], "mysql");
        assert_eq!(inst.labels()["k"], "v");
    }

    #[test]
    fn a_disk_shrink_is_refused_naming_the_instance_the_field_and_what_to_do() {
        let e = shrink_refused("shop-gcp-db-postgres-16", 50, 20);
        assert_eq!(e.class, ErrorClass::Precondition);
        for part in [
            "`shop-gcp-db-postgres-16`",
            "`storage_gb`",
            "cannot shrink",
            "50 GB",
            "20 GB",
        ] {
            assert!(e.message.contains(part), "{part}: {}", e.message);
        }
        let hint = e.hint.expect("a hint");
        assert!(hint.contains("`storage_gb` back to 50"), "{hint}");
    }

    #[test]
    fn replicas_take_no_backups_and_disk_is_a_string() {
        let inputs: Attrs = serde_json::from_value(json!({
            "tier": "db-g1-small", "disk_gb": 20, "backups": true, "backup_retention": 7,
            "database_version": "POSTGRES_16"
        }))
        .expect("inputs");
        let s =
            serde_json::to_value(settings(&inputs, false).expect("settings")).expect("serialize");
        assert_eq!(s["dataDiskSizeGb"], "20");
        assert_eq!(
            s["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"],
            7
        );
        let r =
            serde_json::to_value(settings(&inputs, true).expect("settings")).expect("serialize");
        assert_eq!(r["backupConfiguration"]["enabled"], false);
    }
}
