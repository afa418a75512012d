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
pub mod outputs;

use std::collections::BTreeMap;

use overcast_core::native::{CreateRequest, LiveStatus, Observed};
use overcast_core::op::OpContext;
use overcast_core::poll::{Poll, PollPolicy, poll_until};
use overcast_core::{Attrs, ErrorClass, ProviderError};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use crate::config::Clients;
use crate::labels;

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
async fn wait(c: &Clients, ctx: &OpContext, what: &str, op: &Value) -> Result<(), ProviderError> {
    let Some(name) = op["name"].as_str() else {
        return Err(ProviderError::fatal(format!(
            "{what}: Cloud SQL answered no operation name"
        )));
    };
    let path = format!("operations/{name}");
    poll_until(ctx, what, PollPolicy::default(), || async {
        let op = c
            .sql
            .get("get Cloud SQL operation", &c.project, &path)
            .await?;
        match op["status"].as_str() {
            Some("DONE") => match op["error"]["errors"].as_array() {
                Some(errs) if !errs.is_empty() => {
                    let msg: Vec<String> = errs
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e["code"].as_str().unwrap_or("error"),
                                e["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    Err(ProviderError::new(
                        ErrorClass::Fatal,
                        format!("{what} failed: {}", msg.join("; ")),
                    ))
                }
                _ => Ok(Poll::Ready(())),
            },
            Some(s) => Ok(Poll::pending(s.to_ascii_lowercase())),
            None => Ok(Poll::pending("pending")),
        }
    })
    .await
}

// ---- instances -----------------------------------------------------------------------

/// The instance body's settings from the native's inputs (what create and patch set).
fn settings(inputs: &Attrs, replica: bool) -> Value {
    let backups = !replica && inputs.get("backups").and_then(Value::as_bool) == Some(true);
    let mut backup = json!({"enabled": backups});
    if backups {
        backup["backupRetentionSettings"] = json!({"retentionUnit": "COUNT", "retainedBackups": u64_of(inputs, "backup_retention")});
        // Point-in-time recovery needs binary logs on MySQL; PostgreSQL takes the flag.
        if inputs
            .get("database_version")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("POSTGRES"))
        {
            backup["pointInTimeRecoveryEnabled"] = json!(false);
        }
    }
    json!({
        "tier": inputs.get("tier").cloned().unwrap_or(Value::Null),
        "edition": "ENTERPRISE",
        "dataDiskSizeGb": u64_of(inputs, "disk_gb").to_string(),
        "backupConfiguration": backup,
        "deletionProtectionEnabled": false,
    })
}

fn labels_of(inst: &Value) -> BTreeMap<String, String> {
    inst["settings"]["userLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
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

fn observe_instance(inst: &Value) -> Observed {
    let name = inst["name"].as_str().unwrap_or_default().to_string();
    let version = inst["databaseVersion"].as_str().unwrap_or_default();
    let s = &inst["settings"];
    let backup = &s["backupConfiguration"];
    let backups = backup["enabled"].as_bool().unwrap_or(false);
    let mut inputs = Attrs::new();
    inputs.insert("name".into(), json!(name));
    inputs.insert("region".into(), inst["region"].clone());
    inputs.insert("database_version".into(), json!(version));
    inputs.insert("tier".into(), s["tier"].clone());
    let disk: u64 = s["dataDiskSizeGb"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .or_else(|| s["dataDiskSizeGb"].as_u64())
        .unwrap_or(0);
    inputs.insert("disk_gb".into(), json!(disk));
    let replica = inst["masterInstanceName"]
        .as_str()
        .filter(|m| !m.is_empty());
    inputs.insert("master".into(), json!(replica));
    if replica.is_none() {
        inputs.insert("backups".into(), json!(backups));
        inputs.insert(
            "backup_retention".into(),
            json!(if backups {
                backup["backupRetentionSettings"]["retainedBackups"]
                    .as_u64()
                    .unwrap_or(0)
            } else {
                0
            }),
        );
    }
    let endpoint = inst["ipAddresses"]
        .as_array()
        .and_then(|a| a.iter().find(|ip| ip["type"] == "PRIMARY"))
        .map(|ip| ip["ipAddress"].clone())
        .unwrap_or(Value::Null);
    let engine = if version.starts_with("POSTGRES") {
        "postgres"
    } else {
        "mysql"
    };
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(name));
    outputs.insert("endpoint".into(), endpoint);
    outputs.insert("port".into(), json!(port_of(version)));
    outputs.insert("engine".into(), json!(engine));
    outputs.insert("connection_name".into(), inst["connectionName"].clone());
    let state = inst["state"].as_str().unwrap_or("UNKNOWN");
    Observed::new(name, inputs, outputs).with_status(status_of(state))
}

/// The instance `name` (a not-found error when it is gone), with its labels.
pub async fn read_instance(
    c: &Clients,
    name: &str,
) -> Result<(Observed, BTreeMap<String, String>), ProviderError> {
    let inst = c
        .sql
        .get(
            "get Cloud SQL instance",
            &c.project,
            &format!("instances/{name}"),
        )
        .await?;
    Ok((observe_instance(&inst), labels_of(&inst)))
}

/// Create the instance (or the read replica of `master`) and wait for it to be RUNNABLE.
/// 409 on a name: ours (labels) is adopted, anyone else's or a recently deleted one's is
/// a conflict that says names cannot be reused for a while.
pub async fn create_instance(
    c: &Clients,
    ctx: &OpContext,
    req: &CreateRequest,
) -> Result<Observed, ProviderError> {
    let inputs = &req.inputs;
    let name = str_of(inputs, "name")?;
    let master = inputs
        .get("master")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty());
    let mut s = settings(inputs, master.is_some());
    s["userLabels"] = json!(labels::owner_labels(&req.owner));
    let mut body = json!({
        "name": name,
        "region": inputs.get("region").cloned().unwrap_or(json!(c.region)),
        "databaseVersion": str_of(inputs, "database_version")?,
        "settings": s,
    });
    if let Some(m) = master {
        body["masterInstanceName"] = json!(m);
    }
    let what = format!("Cloud SQL instance `{name}` to be created");
    match c
        .sql
        .post("insert Cloud SQL instance", &c.project, "instances", &body)
        .await
    {
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

/// Bring the instance to `inputs` by one patch (tier, disk growth, backups), awaited.
/// Cloud SQL cannot shrink a disk: refused, the plan replaces the instance instead.
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
        return Err(ProviderError::new(
            ErrorClass::Precondition,
            format!(
                "Cloud SQL instance `{name}`: its disk cannot shrink from {have} GB to {want} GB"
            ),
        )
        .with_hint("keep `storage_gb` at least as large, or replace the database (a new instance, its data not copied)"));
    }
    let replica = inputs
        .get("master")
        .and_then(Value::as_str)
        .is_some_and(|m| !m.is_empty());
    let path = format!("instances/{name}");
    // `settingsVersion` guards the patch: a change made since the read fails with 412,
    // and is retried once on a fresh read.
    let mut attempt = 0;
    let op = loop {
        let raw = c
            .sql
            .get("get Cloud SQL instance", &c.project, &path)
            .await?;
        let mut body = json!({"settings": settings(inputs, replica)});
        body["settings"]["settingsVersion"] = raw["settings"]["settingsVersion"].clone();
        match c
            .sql
            .patch("patch Cloud SQL instance", &c.project, &path, &body)
            .await
        {
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

/// Delete the instance and wait; gone already counts as deleted. A primary with read
/// replicas is refused by Cloud SQL: the message says to delete the replicas first.
pub async fn delete_instance(
    c: &Clients,
    ctx: &OpContext,
    name: &str,
) -> Result<(), ProviderError> {
    let op = match c
        .sql
        .delete_query(
            "delete Cloud SQL instance",
            &c.project,
            &format!("instances/{name}"),
            &[],
        )
        .await
    {
        Ok(op) => op,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) if e.message.contains("read replicas") => {
            return Err(e.with_hint(
                "delete the read replicas first (lower `read_replicas`, apply, then destroy)",
            ));
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

/// Every instance of the project, with its labels.
pub async fn list_instances(
    c: &Clients,
) -> Result<Vec<(String, BTreeMap<String, String>)>, ProviderError> {
    Ok(c.sql
        .list_all("list Cloud SQL instances", &c.project, "instances")
        .await?
        .iter()
        .filter_map(|i| Some((i["name"].as_str()?.to_string(), labels_of(i))))
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
    c.sql
        .get(
            "get Cloud SQL database",
            &c.project,
            &format!("instances/{instance}/databases/{name}"),
        )
        .await?;
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
    let body = json!({"name": name, "instance": instance, "project": c.project});
    match c
        .sql
        .post(
            "insert Cloud SQL database",
            &c.project,
            &format!("instances/{instance}/databases"),
            &body,
        )
        .await
    {
        Ok(op) => wait(c, ctx, &format!("database `{name}` on `{instance}`"), &op).await?,
        Err(e) if e.class == ErrorClass::Conflict && e.message.contains("already exists") => {}
        Err(e) => return Err(e),
    }
    read_database(c, &format!("{instance}/{name}")).await
}

/// Delete the database; gone counts as deleted.
pub async fn delete_database(c: &Clients, ctx: &OpContext, id: &str) -> Result<(), ProviderError> {
    let (instance, name) = split_id(id)?;
    match c
        .sql
        .delete_query(
            "delete Cloud SQL database",
            &c.project,
            &format!("instances/{instance}/databases/{name}"),
            &[],
        )
        .await
    {
        Ok(op) => wait(c, ctx, &format!("database `{name}` to be deleted"), &op).await,
        Err(e) if e.class == ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The host part of a user on this instance: `%` on MySQL, none on PostgreSQL.
fn host_query(version_mysql: bool) -> Vec<(&'static str, &'static str)> {
    if version_mysql {
        vec![("host", "%")]
    } else {
        Vec::new()
    }
}

async fn is_mysql(c: &Clients, instance: &str) -> Result<bool, ProviderError> {
    let inst = c
        .sql
        .get(
            "get Cloud SQL instance",
            &c.project,
            &format!("instances/{instance}"),
        )
        .await?;
    Ok(inst["databaseVersion"]
        .as_str()
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
    let q = host_query(is_mysql(c, instance).await?);
    c.sql
        .get_query(
            "get Cloud SQL user",
            &c.project,
            &format!("instances/{instance}/users/{name}"),
            &q,
        )
        .await?;
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
    let mysql = is_mysql(c, instance).await?;
    let mut body =
        json!({"name": name, "instance": instance, "project": c.project, "password": password});
    if mysql {
        body["host"] = json!("%");
    }
    let what = format!("user `{name}` on `{instance}`");
    match c
        .sql
        .post(
            "insert Cloud SQL user",
            &c.project,
            &format!("instances/{instance}/users"),
            &body,
        )
        .await
    {
        Ok(op) => wait(c, ctx, &what, &op).await?,
        Err(e) if e.class == ErrorClass::Conflict && e.message.contains("already exists") => {
            let mut q = vec![("name", name)];
            q.extend(host_query(mysql));
            let op = c
                .sql
                .put_query(
                    "update Cloud SQL user",
                    &c.project,
                    &format!("instances/{instance}/users"),
                    &q,
                    &body,
                )
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
    let mut q = vec![("name", name)];
    q.extend(host_query(mysql));
    match c
        .sql
        .delete_query(
            "delete Cloud SQL user",
            &c.project,
            &format!("instances/{instance}/users"),
            &q,
        )
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

    #[test]
    fn replicas_take_no_backups_and_disk_is_a_string() {
        let inputs: Attrs = serde_json::from_value(json!({
            "tier": "db-g1-small", "disk_gb": 20, "backups": true, "backup_retention": 7,
            "database_version": "POSTGRES_16"
        }))
        .expect("inputs");
        let s = settings(&inputs, false);
        assert_eq!(s["dataDiskSizeGb"], "20");
        assert_eq!(
            s["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"],
            7
        );
        assert_eq!(
            settings(&inputs, true)["backupConfiguration"]["enabled"],
            false
        );
    }
}
