//! The Cloud SQL Admin v1 resources this provider sends and reads, as typed serde models.
//!
//! Field names follow Google's discovery document (`sqladmin.v1.json`): camelCase, and an
//! `int64` travels as a JSON string (`"dataDiskSizeGb": "20"`), read back from a string or
//! a number. Every field is optional and left out of a request when unset, so a request
//! never carries an output-only field (`state`, `ipAddresses`, `selfLink`, ...) or a value
//! this provider did not choose. Fields Google adds that are not modelled here are ignored
//! on read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `int64` fields: a decimal string on the wire, a number in Rust.
mod int64 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Text(String),
        Number(i64),
    }

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_str(&n.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Wire>::deserialize(d)? {
            None => Ok(None),
            Some(Wire::Number(n)) => Ok(Some(n)),
            Some(Wire::Text(t)) => t
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("`{t}` is not an int64"))),
        }
    }
}

/// A Cloud SQL instance (`sql#instance`): a primary, or a read replica when
/// `masterInstanceName` is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInstance {
    /// The instance's name, unique in the project (and reserved for a while after a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The project; output only in practice (the URL names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The region, e.g. `europe-west1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The engine and major version, e.g. `POSTGRES_16`, `MYSQL_8_0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_version: Option<String>,
    /// The user settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// The primary of a read replica (its name, or `project:name` as Google answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_instance_name: Option<String>,
    /// Output only: `CLOUD_SQL_INSTANCE`, `READ_REPLICA_INSTANCE`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Output only: `RUNNABLE`, `PENDING_CREATE`, `FAILED`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Output only: the addresses of the instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<IpMapping>,
    /// Output only: `project:region:name`, what connectors take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// Output only: the zone the instance runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gce_zone: Option<String>,
    /// Output only (opaque: never parsed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    /// Output only: `sql#instance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Output only: when it was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// Output only: the names of a primary's read replicas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_names: Vec<String>,
}

impl DatabaseInstance {
    /// The primary's name of a read replica; `None` for a primary. Google answers
    /// `project:name`, a request sends the bare name: both give the name.
    pub fn master(&self) -> Option<&str> {
        self.master_instance_name
            .as_deref()
            .filter(|m| !m.is_empty())
            .map(|m| m.rsplit(':').next().unwrap_or(m))
    }

    /// The owner labels (`settings.userLabels`).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.settings
            .as_ref()
            .and_then(|s| s.user_labels.clone())
            .unwrap_or_default()
    }

    /// The address of type `PRIMARY` (the public one), if any.
    pub fn primary_address(&self) -> Option<&str> {
        self.ip_addresses
            .iter()
            .find(|ip| ip.kind.as_deref() == Some("PRIMARY"))
            .and_then(|ip| ip.ip_address.as_deref())
    }
}

/// An instance's settings (`sql#settings`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The machine tier, e.g. `db-g1-small`, `db-custom-2-7680`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// `ENTERPRISE` or `ENTERPRISE_PLUS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// The data disk's size in GB (`int64`: a string on the wire).
    #[serde(default, with = "int64", skip_serializing_if = "Option::is_none")]
    pub data_disk_size_gb: Option<i64>,
    /// Backups and point-in-time recovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_configuration: Option<BackupConfiguration>,
    /// Whether Cloud SQL refuses to delete the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_protection_enabled: Option<bool>,
    /// The user labels (the owner labels live here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_labels: Option<BTreeMap<String, String>>,
    /// The settings' version: a patch that carries it fails with 412 when the settings
    /// changed since it was read (`int64`: a string on the wire).
    #[serde(default, with = "int64", skip_serializing_if = "Option::is_none")]
    pub settings_version: Option<i64>,
    /// `ZONAL` or `REGIONAL` (high availability).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_type: Option<String>,
    /// `ALWAYS`, `NEVER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_policy: Option<String>,
    /// Output only: `sql#settings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// An instance's backup configuration (`sql#backupConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupConfiguration {
    /// Whether automated backups are taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How many backups are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_retention_settings: Option<BackupRetentionSettings>,
    /// Point-in-time recovery (PostgreSQL; MySQL uses `binaryLogEnabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_in_time_recovery_enabled: Option<bool>,
    /// Binary logging (MySQL's point-in-time recovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_log_enabled: Option<bool>,
    /// The start of the daily backup window, `HH:MM` in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Output only: `sql#backupConfiguration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// How many automated backups are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRetentionSettings {
    /// `COUNT`: `retainedBackups` counts backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_unit: Option<String>,
    /// The number of backups kept (`int32`: a number on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained_backups: Option<i32>,
}

/// One address of an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpMapping {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// `PRIMARY` (public), `PRIVATE` or `OUTGOING`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// When an address being replaced stops answering (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_retire: Option<String>,
}

/// A database of an instance (`sql#database`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    /// The database's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The instance's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The character set (MySQL), e.g. `utf8mb4`; `UTF8` on PostgreSQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// The collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// Output only (opaque).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    /// Output only: `sql#database`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A database user of an instance (`sql#user`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The host it may connect from (MySQL: `%` for any); none on PostgreSQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The instance's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The password: sent on insert and update, never answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `BUILT_IN`, `CLOUD_IAM_USER`, ...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// Output only: `sql#user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Debug without the password.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("instance", &self.instance)
            .field("project", &self.project)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("user_type", &self.user_type)
            .finish()
    }
}

/// A long-running operation (`sql#operation`), answered by every mutation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// The operation's id, polled at `operations/{name}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `PENDING`, `RUNNING` or `DONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `CREATE`, `UPDATE`, `DELETE`, `CREATE_DATABASE`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    /// The errors of a DONE operation that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OperationErrors>,
    /// The instance the operation is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// Its project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_project: Option<String>,
    /// Opaque link to the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_link: Option<String>,
    /// Who started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// RFC 3339 times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Opaque link to the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    /// `sql#operation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Operation {
    /// Whether the operation has finished (successfully or not).
    pub fn is_done(&self) -> bool {
        self.status.as_deref() == Some("DONE")
    }

    /// The errors of a finished operation, `code: message` each; empty when it succeeded.
    pub fn error_messages(&self) -> Vec<String> {
        self.error
            .iter()
            .flat_map(|e| &e.errors)
            .map(|e| {
                format!(
                    "{}: {}",
                    e.code.as_deref().unwrap_or("error"),
                    e.message.as_deref().unwrap_or("")
                )
            })
            .collect()
    }
}

/// The errors of an operation (`sql#operationErrors`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationErrors {
    /// Each error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<OperationError>,
    /// `sql#operationErrors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One error of an operation (`sql#operationError`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationError {
    /// The error's code, e.g. `INTERNAL_ERROR`, `QUOTA_EXCEEDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `sql#operationError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One page of `instances.list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstancesListResponse {
    /// The instances of the page.
    #[serde(default)]
    pub items: Vec<DatabaseInstance>,
    /// The next page's token; none (or empty) on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `databases.list` (one page: Cloud SQL does not paginate databases).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabasesListResponse {
    /// The databases.
    #[serde(default)]
    pub items: Vec<Database>,
}

/// One page of `users.list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersListResponse {
    /// The users of the page.
    #[serde(default)]
    pub items: Vec<User>,
    /// The next page's token; none (or empty) on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// A list response: its items and the next page's token.
pub trait Page {
    /// The item type.
    type Item;
    /// Take the items and the next page's token (`None` on the last page).
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

impl Page for InstancesListResponse {
    type Item = DatabaseInstance;
    fn into_parts(self) -> (Vec<DatabaseInstance>, Option<String>) {
        (self.items, self.next_page_token.filter(|t| !t.is_empty()))
    }
}

impl Page for UsersListResponse {
    type Item = User;
    fn into_parts(self) -> (Vec<User>, Option<String>) {
        (self.items, self.next_page_token.filter(|t| !t.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Answers in the shape of Google's reference (cloud.google.com/sql/docs/*/admin-api/rest/v1):
    // int64 as strings, output-only fields present, fields this provider does not model too.

    #[test]
    fn an_instance_answer_deserializes() {
        let inst: DatabaseInstance = serde_json::from_value(json!({
            "kind": "sql#instance",
            "state": "RUNNABLE",
            "databaseVersion": "POSTGRES_16",
            "settings": {
                "authorizedGaeApplications": [],
                "tier": "db-custom-2-7680",
                "kind": "sql#settings",
                "availabilityType": "ZONAL",
                "pricingPlan": "PER_USE",
                "replicationType": "SYNCHRONOUS",
                "activationPolicy": "ALWAYS",
                "ipConfiguration": {"authorizedNetworks": [], "ipv4Enabled": true},
                "locationPreference": {"zone": "europe-west1-b", "kind": "sql#locationPreference"},
                "dataDiskType": "PD_SSD",
                "backupConfiguration": {
                    "startTime": "23:00",
                    "kind": "sql#backupConfiguration",
                    "backupRetentionSettings": {"retentionUnit": "COUNT", "retainedBackups": 7},
                    "enabled": true,
                    "transactionLogRetentionDays": 7,
                    "backupTier": "STANDARD"
                },
                "settingsVersion": "4",
                "storageAutoResizeLimit": "0",
                "storageAutoResize": true,
                "dataDiskSizeGb": "20",
                "deletionProtectionEnabled": false,
                "edition": "ENTERPRISE",
                "userLabels": {"overcast-stack": "shop"}
            },
            "etag": "5f2d3c1a",
            "ipAddresses": [
                {"type": "PRIMARY", "ipAddress": "34.76.10.20"},
                {"type": "OUTGOING", "ipAddress": "34.76.10.21"}
            ],
            "serverCaCert": {"kind": "sql#sslCert", "certSerialNumber": "0"},
            "instanceType": "CLOUD_SQL_INSTANCE",
            "project": "my-project",
            "serviceAccountEmailAddress": "p123@gcp-sa-cloud-sql.iam.gserviceaccount.com",
            "backendType": "SECOND_GEN",
            "selfLink": "https://sqladmin.googleapis.com/v1/projects/my-project/instances/db",
            "connectionName": "my-project:europe-west1:db",
            "name": "db",
            "region": "europe-west1",
            "gceZone": "europe-west1-b",
            "createTime": "2026-11-30T10:00:00.000Z"
        }))
        .expect("an instance");
        let s = inst.settings.as_ref().expect("settings");
        assert_eq!(s.data_disk_size_gb, Some(20));
        assert_eq!(s.settings_version, Some(4));
        let b = s.backup_configuration.as_ref().expect("backups");
        assert_eq!(b.enabled, Some(true));
        assert_eq!(
            b.backup_retention_settings
                .as_ref()
                .and_then(|r| r.retained_backups),
            Some(7)
        );
        assert_eq!(inst.primary_address(), Some("34.76.10.20"));
        assert_eq!(inst.master(), None);
        assert_eq!(inst.labels()["overcast-stack"], "shop");
        assert_eq!(inst.state.as_deref(), Some("RUNNABLE"));
    }

    #[test]
    fn int64_reads_a_string_or_a_number_and_writes_a_string() {
        let s: Settings = serde_json::from_value(json!({"dataDiskSizeGb": 10})).expect("number");
        assert_eq!(s.data_disk_size_gb, Some(10));
        let s: Settings = serde_json::from_value(json!({"settingsVersion": null})).expect("null");
        assert_eq!(s.settings_version, None);
        assert!(serde_json::from_value::<Settings>(json!({"dataDiskSizeGb": "ten"})).is_err());
        let patch = DatabaseInstance {
            settings: Some(Settings {
                settings_version: Some(12),
                ..Settings::default()
            }),
            ..DatabaseInstance::default()
        };
        assert_eq!(
            serde_json::to_value(&patch).expect("serialize"),
            json!({"settings": {"settingsVersion": "12"}})
        );
        assert_eq!(
            serde_json::to_value(DatabaseInstance::default()).expect("serialize"),
            json!({})
        );
    }

    #[test]
    fn operations_deserialize_running_done_and_failed() {
        let running: Operation = serde_json::from_value(json!({
            "kind": "sql#operation",
            "targetLink": "https://sqladmin.googleapis.com/v1/projects/my-project/instances/db",
            "status": "RUNNING",
            "user": "someone@example.com",
            "insertTime": "2026-11-30T10:00:00.100Z",
            "startTime": "2026-11-30T10:00:00.200Z",
            "operationType": "CREATE",
            "name": "8f1e2d3c-0000-4000-8000-000000000001",
            "targetId": "db",
            "selfLink": "https://sqladmin.googleapis.com/v1/projects/my-project/operations/8f1e",
            "targetProject": "my-project"
        }))
        .expect("an operation");
        assert!(!running.is_done());
        assert_eq!(
            running.name.as_deref(),
            Some("8f1e2d3c-0000-4000-8000-000000000001")
        );
        assert!(running.error_messages().is_empty());

        let failed: Operation = serde_json::from_value(json!({
            "kind": "sql#operation",
            "status": "DONE",
            "operationType": "UPDATE",
            "name": "op-2",
            "endTime": "2026-11-30T10:05:00Z",
            "error": {
                "kind": "sql#operationErrors",
                "errors": [{"kind": "sql#operationError", "code": "INVALID_REQUEST",
                            "message": "Invalid request: disk size cannot be decreased."}]
            }
        }))
        .expect("a failed operation");
        assert!(failed.is_done());
        assert_eq!(
            failed.error_messages(),
            ["INVALID_REQUEST: Invalid request: disk size cannot be decreased."]
        );
        // An empty answer reads as an operation without a name (reported by the waiter).
        let empty: Operation = serde_json::from_str("{}").expect("empty");
        assert_eq!(empty.name, None);
    }

    #[test]
    fn list_responses_carry_the_next_page_token() {
        let page: InstancesListResponse = serde_json::from_value(json!({
            "kind": "sql#instancesList",
            "items": [{"kind": "sql#instance", "name": "a"}, {"kind": "sql#instance", "name": "b"}],
            "nextPageToken": "Cg1hYmM"
        }))
        .expect("a page");
        let (items, next) = page.into_parts();
        assert_eq!(items.len(), 2);
        assert_eq!(next.as_deref(), Some("Cg1hYmM"));
        let last: InstancesListResponse =
            serde_json::from_value(json!({"kind": "sql#instancesList", "nextPageToken": ""}))
                .expect("the last page");
        assert_eq!(last.into_parts(), (Vec::new(), None));
        let empty: InstancesListResponse =
            serde_json::from_value(json!({"kind": "sql#instancesList"})).expect("no instances");
        assert!(empty.items.is_empty());

        let users: UsersListResponse = serde_json::from_value(json!({
            "kind": "sql#usersList",
            "items": [{"kind": "sql#user", "name": "app", "host": "%", "instance": "db",
                       "project": "my-project", "etag": "x", "type": "BUILT_IN"}]
        }))
        .expect("users");
        let (users, next) = users.into_parts();
        assert_eq!(next, None);
        assert_eq!(users[0].host.as_deref(), Some("%"));
        assert_eq!(users[0].user_type.as_deref(), Some("BUILT_IN"));

        let dbs: DatabasesListResponse = serde_json::from_value(json!({
            "kind": "sql#databasesList",
            "items": [{"kind": "sql#database", "charset": "UTF8", "collation": "en_US.UTF8",
                       "etag": "y", "name": "app", "instance": "db",
                       "selfLink": "https://sqladmin.googleapis.com/v1/x", "project": "my-project"}]
        }))
        .expect("databases");
        assert_eq!(dbs.items[0].charset.as_deref(), Some("UTF8"));
    }

    #[test]
    fn a_user_body_sends_its_password_and_debug_hides_it() {
        let u = User {
            name: Some("app".into()),
            instance: Some("db".into()),
            project: Some("p".into()),
            password: Some("s3cret".into()),
            ..User::default()
        };
        let v = serde_json::to_value(&u).expect("serialize");
        assert_eq!(
            v,
            json!({"name": "app", "instance": "db", "project": "p", "password": "s3cret"})
        );
        assert!(!format!("{u:?}").contains("s3cret"));
    }
}
