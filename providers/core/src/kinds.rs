//! The abstract model: the six kinds of resource a stack can declare, their typed
//! properties (the single source of truth for parsing, validation and the JSON Schema),
//! and the attributes each kind exposes to references (`${name.attribute}`).
//!
//! String-typed properties may hold references (`${other.attribute}`, `${var.name}`):
//! the engine resolves them; providers see resolved values at apply time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalog::Size;

/// One of the six abstract kinds of resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Virtual machines or processes.
    Compute,
    /// An object store (bucket).
    Storage,
    /// A relational database.
    Database,
    /// A message queue.
    Queue,
    /// A serverless function.
    Function,
    /// A caching content delivery endpoint in front of an origin.
    Cdn,
    /// Not a kind a spec can name: the natives a provider creates for a whole target (an
    /// Azure resource group, a GCP network, the local cloud's root directory), under the
    /// address `@<target>.<local>` (see [`crate::provider::Provider::expand_target`]).
    #[schemars(skip)]
    Target,
}

/// An attribute that a kind exposes to references and outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputAttr {
    /// The attribute's name, as written after the dot in `${name.attr}`.
    pub name: &'static str,
    /// Sensitive attributes are masked in every rendering.
    pub sensitive: bool,
    /// One line for documentation and error hints.
    pub doc: &'static str,
}

const fn attr(name: &'static str, doc: &'static str) -> OutputAttr {
    OutputAttr {
        name,
        sensitive: false,
        doc,
    }
}
const fn secret(name: &'static str, doc: &'static str) -> OutputAttr {
    OutputAttr {
        name,
        sensitive: true,
        doc,
    }
}

const COMPUTE_OUT: &[OutputAttr] = &[
    attr("id", "provider id of the first instance"),
    attr("name", "name of the resource"),
    attr("address", "address (IP or host) of the first instance"),
    attr("addresses", "addresses of all instances, comma separated"),
    attr(
        "url",
        "http URL of the first instance's first port, if it declares ports",
    ),
];
const STORAGE_OUT: &[OutputAttr] = &[
    attr("id", "provider id of the bucket"),
    attr("name", "bucket / container name"),
    attr("url", "URL of the bucket"),
];
const DATABASE_OUT: &[OutputAttr] = &[
    attr("id", "provider id of the database instance"),
    attr("name", "database name"),
    attr("endpoint", "host (or file path) to connect to"),
    attr("port", "port to connect to (empty for file databases)"),
    attr(
        "engine",
        "engine actually deployed (postgres, mysql, sqlite)",
    ),
    attr("username", "administrator user name"),
    secret("password", "generated administrator password"),
    secret(
        "connection_string",
        "URL with credentials, ready for a client",
    ),
];
const QUEUE_OUT: &[OutputAttr] = &[
    attr("id", "provider id of the queue"),
    attr("name", "queue name"),
    attr("url", "URL (or path) of the queue"),
];
const FUNCTION_OUT: &[OutputAttr] = &[
    attr("id", "provider id of the function"),
    attr("name", "function name"),
    attr("url", "invoke URL when the trigger is http"),
];
const CDN_OUT: &[OutputAttr] = &[
    attr("id", "provider id of the distribution"),
    attr("domain", "host name that serves the content"),
    attr("url", "URL that serves the content"),
];

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 6] = [
        Kind::Compute,
        Kind::Storage,
        Kind::Database,
        Kind::Queue,
        Kind::Function,
        Kind::Cdn,
    ];

    /// The kind's name as written in a spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Compute => "compute",
            Kind::Storage => "storage",
            Kind::Database => "database",
            Kind::Queue => "queue",
            Kind::Function => "function",
            Kind::Cdn => "cdn",
            Kind::Target => "target",
        }
    }

    /// The attributes this kind exposes to `${name.attr}` references.
    pub fn outputs(self) -> &'static [OutputAttr] {
        match self {
            Kind::Compute => COMPUTE_OUT,
            Kind::Storage => STORAGE_OUT,
            Kind::Database => DATABASE_OUT,
            Kind::Queue => QUEUE_OUT,
            Kind::Function => FUNCTION_OUT,
            Kind::Cdn => CDN_OUT,
            Kind::Target => &[],
        }
    }

    /// Look up one exposed attribute by name.
    pub fn output(self, name: &str) -> Option<&'static OutputAttr> {
        self.outputs().iter().find(|a| a.name == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that names no kind.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown kind `{0}`: expected one of compute, storage, database, queue, function, cdn")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// A duration written as whole seconds (`30`) or with a unit (`30s`, `5m`, `4h`, `7d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Seconds(#[schemars(with = "DurationSchema")] pub u64);

/// Schema stand-in: an integer of seconds or a string such as `30s`, `5m`, `4h`, `7d`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum DurationSchema {
    Seconds(u64),
    WithUnit(#[schemars(regex(pattern = r"^[0-9]+(s|m|h|d)?$"))] String),
}

impl Seconds {
    /// Parse `30`, `30s`, `5m`, `4h` or `7d`.
    pub fn parse(s: &str) -> Option<Seconds> {
        let s = s.trim();
        let (digits, mult) = match s.char_indices().last()? {
            (i, 's') => (&s[..i], 1),
            (i, 'm') => (&s[..i], 60),
            (i, 'h') => (&s[..i], 3600),
            (i, 'd') => (&s[..i], 86_400),
            _ => (s, 1),
        };
        let n: u64 = digits.parse().ok()?;
        n.checked_mul(mult).map(Seconds)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration: whole seconds or a number with s, m, h or d (e.g. 30s, 5m, 4d)",
                )
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                u64::try_from(v)
                    .map(Seconds)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Seconds, E> {
                Seconds::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
fn one() -> u32 {
    1
}
fn is_one(v: &u32) -> bool {
    *v == 1
}

/// Properties of a `compute` resource: one or more machines running a startup script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComputeProps {
    /// Operating system image: a catalog name (`ubuntu-24.04`, `debian-12`, ...) or a
    /// provider-native image id.
    #[serde(default = "default_image")]
    pub image: String,
    /// Abstract machine size; mutually exclusive with `cpu`/`memory_gb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
    /// Explicit virtual CPUs (with `memory_gb`), instead of `size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Explicit memory in GiB (with `cpu`), instead of `size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_gb: Option<f64>,
    /// How many identical instances to run.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    #[schemars(range(min = 1, max = 1000))]
    pub count: u32,
    /// Shell script run at boot (user data on clouds, the supervised process on local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<String>,
    /// TCP ports opened to the world (security group / firewall / NSG rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
}

fn default_image() -> String {
    "ubuntu-24.04".to_string()
}

/// Storage class of objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StorageClass {
    /// Frequently accessed data.
    #[default]
    Standard,
    /// Infrequently accessed data (cheaper storage, retrieval fee).
    Infrequent,
    /// Archive (hours to retrieve).
    Archive,
}

/// One lifecycle rule of a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRule {
    /// Only objects whose key starts with this prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Move objects to `to_class` after this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_after_days: Option<u32>,
    /// Class to move objects to (with `transition_after_days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_class: Option<StorageClass>,
    /// Delete objects after this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_after_days: Option<u32>,
}

/// Properties of a `storage` resource: an object bucket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageProps {
    /// Keep every version of every object.
    #[serde(default, skip_serializing_if = "is_default")]
    pub versioning: bool,
    /// Default storage class.
    #[serde(default, skip_serializing_if = "is_default")]
    pub class: StorageClass,
    /// Allow anonymous reads of objects.
    #[serde(default, skip_serializing_if = "is_default")]
    pub public: bool,
    /// Lifecycle rules (transition, expiry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<LifecycleRule>,
    /// Directory (relative to the spec file) whose files are uploaded as objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// Database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DbEngine {
    /// PostgreSQL.
    #[default]
    Postgres,
    /// MySQL.
    Mysql,
}

/// Properties of a `database` resource: a managed relational database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseProps {
    /// Engine.
    #[serde(default)]
    pub engine: DbEngine,
    /// Major version (e.g. `16` for PostgreSQL, `8.0` for MySQL); provider default if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Instance size.
    #[serde(default = "small")]
    pub size: Size,
    /// Allocated storage in GiB.
    #[serde(default = "twenty")]
    #[schemars(range(min = 5, max = 65536))]
    pub storage_gb: u32,
    /// Number of read replicas.
    #[serde(default, skip_serializing_if = "is_default")]
    #[schemars(range(max = 15))]
    pub read_replicas: u32,
    /// Days of automated backups kept (0 disables them).
    #[serde(default = "seven")]
    #[schemars(range(max = 35))]
    pub backup_retention_days: u32,
    /// Name of the database created inside the instance.
    #[serde(default = "default_db_name")]
    pub database_name: String,
    /// Administrator user name.
    #[serde(default = "default_db_user")]
    pub username: String,
}

fn small() -> Size {
    Size::Small
}
fn twenty() -> u32 {
    20
}
fn seven() -> u32 {
    7
}
fn default_db_name() -> String {
    "app".to_string()
}
fn default_db_user() -> String {
    "overcast".to_string()
}

/// Dead-letter policy of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    /// Move a message to the dead-letter queue after this many receives.
    #[schemars(range(min = 1, max = 1000))]
    pub max_receives: u32,
}

/// Properties of a `queue` resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueProps {
    /// Strict ordering and exactly-once processing (SQS FIFO, Service Bus sessions,
    /// Pub/Sub ordering keys). `fifo` is accepted as an alias.
    #[serde(default, alias = "fifo", skip_serializing_if = "is_default")]
    pub ordered: bool,
    /// How long a received message stays invisible to other consumers.
    #[serde(default = "thirty_s")]
    pub visibility_timeout: Seconds,
    /// How long an unconsumed message is kept.
    #[serde(default = "four_days")]
    pub retention: Seconds,
    /// Dead-letter queue policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<DeadLetter>,
}

fn thirty_s() -> Seconds {
    Seconds(30)
}
fn four_days() -> Seconds {
    Seconds(4 * 86_400)
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    /// An HTTPS endpoint (function URL, HTTP trigger).
    Http,
    /// Messages arriving on a queue resource (`source`).
    Queue,
    /// A schedule (`schedule`: `every 5m` or five-field cron, see [`Trigger::schedule`]).
    Schedule,
    /// Objects written to a storage resource (`source`).
    Storage,
}

/// A function's trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Trigger type.
    #[serde(rename = "type")]
    pub kind: TriggerType,
    /// The queue or storage resource, as a reference: `${jobs}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For `schedule`, in UTC: `every 5m`, `every 2h`, `every 1d` (minutes dividing an
    /// hour, hours dividing a day), or five-field cron `minute hour day-of-month month
    /// day-of-week` such as `0 12 * * MON-FRI`. The same schedule runs on every cloud; see
    /// [`crate::catalog::schedule`]. EventBridge's `rate(5 minutes)` and
    /// `cron(0 12 * * ? *)` are still accepted: AWS takes them as written, the other clouds
    /// their neutral equivalent when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// Properties of a `function` resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionProps {
    /// Runtime: `python3.11`..`python3.13`, `nodejs18`..`nodejs22`.
    pub runtime: String,
    /// Entry point: `module.function` (Python) or `file.export` (Node.js).
    pub handler: String,
    /// Directory with the function's code, relative to the spec file.
    pub source: String,
    /// Memory in MiB.
    #[serde(default = "default_memory")]
    #[schemars(range(min = 128, max = 10240))]
    pub memory: u32,
    /// Maximum run time of one invocation.
    #[serde(default = "thirty_s")]
    pub timeout: Seconds,
    /// Environment variables (values may hold references).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// What invokes the function; none means invoke only by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
}

fn default_memory() -> u32 {
    128
}

/// Properties of a `cdn` resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CdnProps {
    /// The origin: a reference to a storage or compute resource, `${site}`.
    pub origin: String,
    /// How long edge caches keep a response.
    #[serde(default = "one_hour")]
    pub cache_ttl: Seconds,
    /// Object served for `/`.
    #[serde(default = "index_html")]
    pub default_object: String,
}

fn one_hour() -> Seconds {
    Seconds(3600)
}
fn index_html() -> String {
    "index.html".to_string()
}

/// Runtimes a function may declare.
pub const FUNCTION_RUNTIMES: &[&str] = &[
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18",
    "nodejs20",
    "nodejs22",
];

/// The typed properties of one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Properties {
    /// See [`ComputeProps`].
    Compute(ComputeProps),
    /// See [`StorageProps`].
    Storage(StorageProps),
    /// See [`DatabaseProps`].
    Database(DatabaseProps),
    /// See [`QueueProps`].
    Queue(QueueProps),
    /// See [`FunctionProps`].
    Function(FunctionProps),
    /// See [`CdnProps`].
    Cdn(CdnProps),
}

impl Properties {
    /// The kind these properties belong to.
    pub fn kind(&self) -> Kind {
        match self {
            Properties::Compute(_) => Kind::Compute,
            Properties::Storage(_) => Kind::Storage,
            Properties::Database(_) => Kind::Database,
            Properties::Queue(_) => Kind::Queue,
            Properties::Function(_) => Kind::Function,
            Properties::Cdn(_) => Kind::Cdn,
        }
    }

    /// Deserialize the properties of a resource of `kind` from a JSON value.
    pub fn from_value(kind: Kind, v: serde_json::Value) -> Result<Properties, serde_json::Error> {
        Ok(match kind {
            Kind::Compute => Properties::Compute(serde_json::from_value(v)?),
            Kind::Storage => Properties::Storage(serde_json::from_value(v)?),
            Kind::Database => Properties::Database(serde_json::from_value(v)?),
            Kind::Queue => Properties::Queue(serde_json::from_value(v)?),
            Kind::Function => Properties::Function(serde_json::from_value(v)?),
            Kind::Cdn => Properties::Cdn(serde_json::from_value(v)?),
            Kind::Target => {
                return Err(serde::de::Error::custom(
                    "a target's own natives have no properties",
                ));
            }
        })
    }

    /// The properties as a JSON object (defaults filled in).
    pub fn to_value(&self) -> serde_json::Value {
        // Serializing plain data structs into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(Seconds::parse("30"), Some(Seconds(30)));
        assert_eq!(Seconds::parse("5m"), Some(Seconds(300)));
        assert_eq!(Seconds::parse("4d"), Some(Seconds(345_600)));
        assert_eq!(Seconds::parse("4x"), None);
        assert_eq!(Seconds::parse(""), None);
    }

    #[test]
    fn properties_fill_defaults_and_reject_unknown_fields() {
        let p = Properties::from_value(Kind::Queue, serde_json::json!({"fifo": true})).unwrap();
        let Properties::Queue(q) = p else {
            panic!("queue expected")
        };
        assert!(q.ordered);
        assert_eq!(q.visibility_timeout, Seconds(30));
        let err = Properties::from_value(Kind::Storage, serde_json::json!({"versionning": true}))
            .unwrap_err();
        assert!(err.to_string().contains("versionning"), "{err}");
    }
}
