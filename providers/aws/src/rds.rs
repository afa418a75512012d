//! `aws_db_instance` (database) and `aws_db_read_replica`. The master password is
//! generated before the create ([`generate_secrets`]) and recorded in the create's
//! write-ahead intent, so an instance adopted after a crash keeps it; after that it lives
//! in the native's (sensitive) outputs and `read` carries it over, since RDS never returns
//! it. Only an instance adopted from an intent without a password (written by an older
//! overcast) gets a new one.

use overcast_core::native::LiveStatus;
use overcast_core::native::Observed;
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, OwnerTags, ProviderError};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use crate::config::Clients;
use crate::errors;
use crate::util::{i32_of, opt_s, s, wait_for};

fn generate_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// The secrets a DB instance's create needs: its master password.
pub fn generate_secrets() -> Attrs {
    let mut secrets = Attrs::new();
    secrets.insert("password".into(), json!(generate_password()));
    secrets
}

/// The master password recorded for this create, if the intent carried one.
fn recorded_password(secrets: &Attrs) -> Option<&str> {
    secrets.get("password").and_then(Value::as_str)
}

fn tags(owner: &OwnerTags) -> Vec<aws_sdk_rds::types::Tag> {
    owner
        .pairs()
        .iter()
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(*k).value(*v).build())
        .collect()
}

async fn describe(
    c: &Clients,
    id: &str,
) -> Result<Option<aws_sdk_rds::types::DbInstance>, ProviderError> {
    match c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .db_instances()
            .first()
            .filter(|d| d.db_instance_status() != Some("deleting"))
            .cloned()),
        Err(e) => errors::gone_as(errors::sdk("DescribeDBInstances", id, e), None),
    }
}

fn owned(d: &aws_sdk_rds::types::DbInstance, owner: &OwnerTags) -> bool {
    crate::util::owned_by(
        d.tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?))),
        owner,
    )
}

/// Create the DB instance with the master password of `secrets` (generated here only when
/// the caller recorded none).
pub async fn create(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
    secrets: &Attrs,
) -> Result<Observed, ProviderError> {
    if let Some(found) = adopt(c, inputs, owner, secrets).await? {
        return Ok(found);
    }
    let id = s(inputs, "identifier")?;
    let password = recorded_password(secrets)
        .map(str::to_string)
        .unwrap_or_else(generate_password);
    c.rds
        .create_db_instance()
        .db_instance_identifier(id)
        .engine(s(inputs, "engine")?)
        .set_engine_version(opt_s(inputs, "version").map(str::to_string))
        .db_instance_class(s(inputs, "instance_class")?)
        .allocated_storage(i32_of(inputs, "storage_gb")?)
        .backup_retention_period(i32_of(inputs, "backup_retention_days")?)
        .db_name(s(inputs, "database_name")?)
        .master_username(s(inputs, "username")?)
        .master_user_password(&password)
        .publicly_accessible(false)
        .set_tags(Some(tags(owner)))
        .send()
        .await
        .map_err(|e| errors::sdk("CreateDBInstance", id, e))?;
    let mut out = Attrs::new();
    out.insert("password".into(), json!(password));
    read(c, id, inputs, &out)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("DB instance `{id}` not visible yet")))
}

/// Change class, storage, backups and version in place (applied immediately).
pub async fn update(
    c: &Clients,
    id: &str,
    inputs: &Attrs,
    prior_out: &Attrs,
) -> Result<Observed, ProviderError> {
    let version = opt_s(inputs, "version").map(str::to_string);
    c.rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .db_instance_class(s(inputs, "instance_class")?)
        .allocated_storage(i32_of(inputs, "storage_gb")?)
        .backup_retention_period(i32_of(inputs, "backup_retention_days")?)
        .set_engine_version(version.clone())
        .set_allow_major_version_upgrade(version.map(|_| true))
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| errors::sdk("ModifyDBInstance", id, e))?;
    read(c, id, inputs, prior_out)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("DB instance `{id}` is gone")))
}

/// A version asked as a major (`16`) matches any minor of it (`16.4`).
fn version_as_asked(live: Option<&str>, asked: Option<&str>) -> Value {
    match (live, asked) {
        (_, None) => Value::Null,
        (Some(l), Some(a)) if l == a || l.starts_with(&format!("{a}.")) => json!(a),
        (l, _) => json!(l),
    }
}

/// Read a DB instance; the password comes from the prior outputs.
pub async fn read(
    c: &Clients,
    id: &str,
    prior: &Attrs,
    prior_out: &Attrs,
) -> Result<Option<Observed>, ProviderError> {
    let Some(d) = describe(c, id).await? else {
        return Ok(None);
    };
    let engine = d.engine().unwrap_or_default().to_string();
    let username = d.master_username().unwrap_or_default().to_string();
    let db_name = d.db_name().unwrap_or_default().to_string();
    let host = d
        .endpoint()
        .and_then(|e| e.address())
        .unwrap_or_default()
        .to_string();
    let port = d
        .endpoint()
        .and_then(|e| e.port())
        .unwrap_or(if engine == "mysql" { 3306 } else { 5432 });
    let password = prior_out
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let scheme = if engine == "mysql" {
        "mysql"
    } else {
        "postgresql"
    };
    let mut inputs = Attrs::new();
    inputs.insert("identifier".into(), json!(id));
    inputs.insert("engine".into(), json!(engine));
    inputs.insert(
        "version".into(),
        version_as_asked(d.engine_version(), opt_s(prior, "version")),
    );
    inputs.insert("instance_class".into(), json!(d.db_instance_class()));
    inputs.insert("storage_gb".into(), json!(d.allocated_storage()));
    inputs.insert(
        "backup_retention_days".into(),
        json!(d.backup_retention_period()),
    );
    inputs.insert("database_name".into(), json!(db_name));
    inputs.insert("username".into(), json!(username));
    let mut outputs = Attrs::new();
    outputs.insert("name".into(), json!(db_name));
    outputs.insert("arn".into(), json!(d.db_instance_arn()));
    outputs.insert("endpoint".into(), json!(host));
    outputs.insert("port".into(), json!(port));
    outputs.insert("engine".into(), json!(engine));
    outputs.insert("username".into(), json!(username));
    outputs.insert("status".into(), json!(d.db_instance_status()));
    outputs.insert("password".into(), json!(password));
    outputs.insert(
        "connection_string".into(),
        json!(format!(
            "{scheme}://{username}:{password}@{host}:{port}/{db_name}"
        )),
    );
    let status = lifecycle(d.db_instance_status().unwrap_or("available"));
    Ok(Some(
        Observed::new(id.to_string(), inputs, outputs).with_status(status),
    ))
}

/// RDS's instance status as a lifecycle: what will not become usable on its own is failed.
fn lifecycle(status: &str) -> LiveStatus {
    match status {
        "available" | "storage-optimization" | "backing-up" | "maintenance" => LiveStatus::Ready,
        "deleting" => LiveStatus::Deleting,
        "failed"
        | "incompatible-network"
        | "incompatible-option-group"
        | "incompatible-parameters"
        | "incompatible-restore"
        | "inaccessible-encryption-credentials"
        | "restore-error"
        | "storage-full" => LiveStatus::Failed(format!("RDS status `{status}`")),
        other => LiveStatus::Provisioning(other.to_string()),
    }
}

/// The instance (or replica) of this identifier if it carries the owner tags. A primary
/// keeps the master password its create's intent recorded (`secrets`); only when there is
/// none is the password reset to a new one, since the old one is unknown.
pub async fn adopt(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
    secrets: &Attrs,
) -> Result<Option<Observed>, ProviderError> {
    let id = s(inputs, "identifier")?;
    if describe(c, id).await?.filter(|d| owned(d, owner)).is_none() {
        return Ok(None);
    }
    if inputs.contains_key("source") {
        return read_replica(c, id, inputs).await;
    }
    let password = match recorded_password(secrets) {
        Some(p) => p.to_string(),
        None => {
            let password = generate_password();
            c.rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .master_user_password(&password)
                .apply_immediately(true)
                .send()
                .await
                .map_err(|e| errors::sdk("ModifyDBInstance", id, e))?;
            password
        }
    };
    let mut out = Attrs::new();
    out.insert("password".into(), json!(password));
    read(c, id, inputs, &out).await
}

/// Create a read replica of the primary.
pub async fn create_replica(
    c: &Clients,
    inputs: &Attrs,
    owner: &OwnerTags,
) -> Result<Observed, ProviderError> {
    if let Some(found) = adopt(c, inputs, owner, &Attrs::new()).await? {
        return Ok(found);
    }
    let id = s(inputs, "identifier")?;
    c.rds
        .create_db_instance_read_replica()
        .db_instance_identifier(id)
        .source_db_instance_identifier(s(inputs, "source")?)
        .db_instance_class(s(inputs, "instance_class")?)
        .publicly_accessible(false)
        .set_tags(Some(tags(owner)))
        .send()
        .await
        .map_err(|e| errors::sdk("CreateDBInstanceReadReplica", id, e))?;
    read_replica(c, id, inputs)
        .await?
        .ok_or_else(|| ProviderError::retryable(format!("replica `{id}` not visible yet")))
}

/// Change a replica's class in place.
pub async fn update_replica(
    c: &Clients,
    id: &str,
    inputs: &Attrs,
) -> Result<Observed, ProviderError> {
    c.rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .db_instance_class(s(inputs, "instance_class")?)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| errors::sdk("ModifyDBInstance", id, e))?;
    read_replica(c, id, inputs)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("replica `{id}` is gone")))
}

/// Read a replica.
pub async fn read_replica(
    c: &Clients,
    id: &str,
    prior: &Attrs,
) -> Result<Option<Observed>, ProviderError> {
    let Some(d) = describe(c, id).await? else {
        return Ok(None);
    };
    // The source comes back as an identifier in the same region (an ARN across regions).
    let source = d
        .read_replica_source_db_instance_identifier()
        .map(|s| s.rsplit(':').next().unwrap_or(s));
    let mut inputs = Attrs::new();
    inputs.insert(
        "index".into(),
        prior.get("index").cloned().unwrap_or(Value::Null),
    );
    inputs.insert("identifier".into(), json!(id));
    inputs.insert("source".into(), json!(source));
    inputs.insert("instance_class".into(), json!(d.db_instance_class()));
    let mut outputs = Attrs::new();
    outputs.insert("arn".into(), json!(d.db_instance_arn()));
    outputs.insert(
        "endpoint".into(),
        json!(d.endpoint().and_then(|e| e.address())),
    );
    outputs.insert("port".into(), json!(d.endpoint().and_then(|e| e.port())));
    Ok(Some(Observed::new(id.to_string(), inputs, outputs)))
}

/// Delete an instance or replica without a final snapshot (the stack owns it; keeping
/// data is what `backup_retention_days` and snapshots taken by hand are for). A primary
/// that still has read replicas is a conflict naming them (AWS refuses it; an emulator
/// may not). A replica is waited for until it is gone, so its primary can go next.
pub async fn delete(ctx: &OpContext, c: &Clients, id: &str) -> Result<(), ProviderError> {
    let Some(d) = describe_one(c, id).await? else {
        return Ok(());
    };
    let replicas = d.read_replica_db_instance_identifiers();
    if !replicas.is_empty() {
        return Err(ProviderError::new(
            ErrorClass::Conflict,
            format!(
                "DB instance `{id}` still has read replicas: {}",
                replicas.join(", ")
            ),
        ));
    }
    let is_replica = d.read_replica_source_db_instance_identifier().is_some();
    let deleting = d.db_instance_status() == Some("deleting");
    if !deleting
        && let Err(e) = c
            .rds
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(true)
            .delete_automated_backups(true)
            .send()
            .await
    {
        return errors::gone_is_ok(errors::sdk("DeleteDBInstance", id, e));
    }
    if !is_replica {
        return Ok(());
    }
    wait_for(
        ctx,
        &format!("read replica `{id}` to be deleted"),
        "deleting",
        || async { Ok(describe_one(c, id).await?.is_none().then_some(())) },
    )
    .await
}

/// One DB instance; `None` when it does not exist.
async fn describe_one(
    c: &Clients,
    id: &str,
) -> Result<Option<aws_sdk_rds::types::DbInstance>, ProviderError> {
    match c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_instances().first().cloned()),
        Err(e) => errors::gone_as(errors::sdk("DescribeDBInstances", id, e), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rds_statuses_become_lifecycles() {
        assert_eq!(lifecycle("available"), LiveStatus::Ready);
        assert_eq!(
            lifecycle("creating"),
            LiveStatus::Provisioning("creating".into())
        );
        assert!(matches!(
            lifecycle("incompatible-parameters"),
            LiveStatus::Failed(_)
        ));
        assert_eq!(lifecycle("deleting"), LiveStatus::Deleting);
    }

    #[test]
    fn major_versions_match_their_minors() {
        assert_eq!(version_as_asked(Some("16.4"), Some("16")), json!("16"));
        assert_eq!(version_as_asked(Some("16.4"), None), Value::Null);
        assert_eq!(version_as_asked(Some("15.2"), Some("16")), json!("15.2"));
        assert_eq!(version_as_asked(Some("8.0.35"), Some("8.0")), json!("8.0"));
    }
}
