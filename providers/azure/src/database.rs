//! The `database` kind on Azure: a flexible server (Azure Database for PostgreSQL,
//! Microsoft.DBforPostgreSQL 2024-08-01, or for MySQL, Microsoft.DBforMySQL 2023-12-30),
//! its read replicas (servers created with `createMode: Replica` from the primary), and the
//! spec's database in it. The administrator's password is generated before the create and
//! travels in the write-ahead intent; ARM never returns it, so state keeps it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use overcast_core::catalog::Size;
use overcast_core::catalog::{Cloud, catalog, engine_name};
use overcast_core::kinds::{DatabaseProps, DbEngine};
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, Kind, NativeSpec, NativeState, ProviderError};
use rand::RngExt;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::Clients;
use crate::expand::{Ctx, attrs, types};
use crate::handlers::{Handler, Read, str_of, tags};

/// The pinned api-version of Microsoft.DBforPostgreSQL.
pub const POSTGRES_API: &str = "2024-08-01";
/// The pinned api-version of Microsoft.DBforMySQL.
pub const MYSQL_API: &str = "2023-12-30";
/// The ARM type of a PostgreSQL flexible server.
pub const POSTGRES_TYPE: &str = "Microsoft.DBforPostgreSQL/flexibleServers";
/// The ARM type of a MySQL flexible server.
pub const MYSQL_TYPE: &str = "Microsoft.DBforMySQL/flexibleServers";

/// PostgreSQL flexible server storage sizes (GiB): only these are sold.
const POSTGRES_STORAGE_GB: &[u32] = &[32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];
/// The versions the pinned api-versions create (their `ServerVersion` enums): the
/// catalog knows newer ones, which need a newer api-version.
const POSTGRES_VERSIONS: &[&str] = &["16", "15", "14", "13", "12", "11"];
const MYSQL_VERSIONS: &[&str] = &["8.0.21", "5.7"];

/// Both services keep backups 7 to 35 days and cannot turn them off.
const BACKUP_DAYS: (u32, u32) = (7, 35);

/// The engine's ARM type and api-version.
fn arm_of(engine: &str) -> Result<(&'static str, &'static str), ProviderError> {
    match engine {
        "postgres" => Ok((POSTGRES_TYPE, POSTGRES_API)),
        "mysql" => Ok((MYSQL_TYPE, MYSQL_API)),
        other => Err(ProviderError::invalid(format!(
            "input `engine`: `{other}` is not postgres or mysql"
        ))),
    }
}

/// The pricing tier of a flexible server SKU (`Standard_B1ms` is Burstable).
fn tier_of(sku: &str) -> &'static str {
    match sku.strip_prefix("Standard_").and_then(|s| s.chars().next()) {
        Some('B') => "Burstable",
        Some('E') => "MemoryOptimized",
        _ => "GeneralPurpose",
    }
}

/// Server names: 3 to 63 lowercase letters, digits and hyphens, unique in all of Azure
/// (they are DNS names).
const NAME_MAX: usize = 63;

/// Expand a database resource into its natives.
pub fn expand(
    ctx: &Ctx<'_>,
    name: &str,
    p: &DatabaseProps,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let cat = catalog();
    let pinned = match p.engine {
        DbEngine::Postgres => (POSTGRES_VERSIONS, POSTGRES_API),
        DbEngine::Mysql => (MYSQL_VERSIONS, MYSQL_API),
    };
    // No version given: the newest the pinned api-version creates (the catalog's default
    // may be newer than it).
    let version = p.version.clone().unwrap_or_else(|| {
        cat.engine_versions(p.engine)
            .filter(|v| pinned.0.contains(&v.native(Cloud::Azure)))
            .map(|v| v.version.clone())
            .last()
            .unwrap_or_else(|| cat.default_version(p.engine).to_string())
    });
    let native_version = cat
        .engine_version(p.engine, &version)
        .map(|v| v.native(Cloud::Azure).to_string())
        .ok_or_else(|| {
            let known: Vec<&str> = cat
                .engine_versions(p.engine)
                .map(|v| v.version.as_str())
                .collect();
            ProviderError::invalid(format!(
                "database `{name}`: Azure Database has no {} version `{version}`",
                engine_name(p.engine)
            ))
            .with_hint(format!("use one of: {}", known.join(", ")))
        })?;
    if !pinned.0.contains(&native_version.as_str()) {
        return Err(ProviderError::invalid(format!(
            "database `{name}`: {} {version} cannot be created through api-version {} \
             (it creates {}), the one overcast pins",
            engine_name(p.engine),
            pinned.1,
            pinned.0.join(", ")
        ))
        .with_hint("choose one of those versions for the azure target"));
    }
    let engine = match p.engine {
        DbEngine::Postgres => "postgres",
        DbEngine::Mysql => "mysql",
    };
    let storage_gb = match p.engine {
        DbEngine::Postgres => POSTGRES_STORAGE_GB
            .iter()
            .copied()
            .find(|s| *s >= p.storage_gb)
            .unwrap_or(32767),
        DbEngine::Mysql => p.storage_gb.max(20),
    };
    let sku = sku_for(name, p)?;
    let backup = p.backup_retention_days.clamp(BACKUP_DAYS.0, BACKUP_DAYS.1);
    // A server's name is its DNS name: the version is part of it, so a replacement (an
    // engine or version change) never waits for the old name to be released.
    let suffix = format!("{engine}{}", native_version.replace('.', ""));
    let server = |local: &str, source: Value| {
        let server_name = ctx.name(name, &format!("{local}-{suffix}"), NAME_MAX);
        NativeSpec::new(
            local,
            types::DB_SERVER,
            attrs(json!({
                "name": server_name,
                "location": ctx.location,
                "engine": engine,
                "version": native_version,
                "sku": sku,
                "storage_gb": storage_gb,
                "backup_retention_days": backup,
                "admin_login": p.username,
                "source": source,
            })),
        )
        // Engine, version, name, place, administrator and a replica's primary are fixed
        // at creation.
        .force_new(&[
            "name",
            "location",
            "engine",
            "version",
            "admin_login",
            "source",
        ])
        .sensitive(&["password"])
    };
    let mut out = vec![server("server", Value::Null)];
    for i in 0..p.read_replicas {
        out.push(
            server(
                &format!("replica{i}"),
                json!(format!("${{{name}.server.id}}")),
            )
            .after("server"),
        );
    }
    out.push(
        NativeSpec::new(
            "database",
            types::DB_DATABASE,
            attrs(json!({
                "server": format!("${{{name}.server.id}}"),
                "engine": engine,
                "name": p.database_name,
            })),
        )
        .after("server")
        .force_new(&["server", "engine", "name"]),
    );
    Ok(out)
}

/// The server SKU: the size's class from the catalog, except that a server with read
/// replicas cannot be Burstable (Azure refuses replicas of one): the smallest General
/// Purpose class with at least its vCPUs and memory then.
fn sku_for(name: &str, p: &DatabaseProps) -> Result<String, ProviderError> {
    let cat = catalog();
    let class = cat.db_class(Cloud::Azure, p.size);
    if p.read_replicas == 0 || tier_of(&class.name) != "Burstable" {
        return Ok(class.name.clone());
    }
    let (vcpu, mem) = (class.vcpu, class.memory_mib);
    ["Standard_D2ds_v5", "Standard_D4ds_v5", "Standard_D8ds_v5"]
        .iter()
        .filter_map(|n| cat.db_machine(Cloud::Azure, n))
        .find(|m| m.vcpu >= vcpu && m.memory_mib >= mem)
        .map(|m| m.name.clone())
        .ok_or_else(|| {
            ProviderError::invalid(format!(
                "database `{name}`: read replicas need a General Purpose server and none in the \
                 catalog is as large as `{}`",
                class.name
            ))
        })
}

/// A password Azure accepts: 24 characters with upper and lower case letters and digits.
pub fn generate_secrets() -> Attrs {
    let mut rng = rand::rng();
    let mut password: String = (&mut rng)
        .sample_iter(&Alphanumeric)
        .take(21)
        .map(char::from)
        .collect();
    // Azure asks for three of four character classes: make sure of them.
    password.push(char::from(rng.random_range(b'A'..=b'Z')));
    password.push(char::from(rng.random_range(b'a'..=b'z')));
    password.push(char::from(rng.random_range(b'0'..=b'9')));
    attrs(json!({"password": password}))
}

// --- the server ----------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct Sku {
    name: String,
    tier: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerBody<'a> {
    location: &'a str,
    sku: Sku,
    tags: &'a BTreeMap<String, String>,
    properties: ServerProps,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerProps {
    create_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    administrator_login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    administrator_login_password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<Storage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<Backup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_server_resource_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Storage {
    #[serde(rename = "storageSizeGB")]
    storage_size_gb: u32,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Backup {
    backup_retention_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    geo_redundant_backup: Option<String>,
}

/// An update: only what changes in place.
#[derive(Debug, Serialize)]
struct ServerPatch {
    sku: Sku,
    properties: ServerPatchProps,
}

#[derive(Debug, Serialize)]
struct ServerPatchProps {
    storage: Storage,
    backup: BackupPatch,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupPatch {
    backup_retention_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerLive {
    id: String,
    name: String,
    location: String,
    sku: Sku,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: ServerLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerLiveProps {
    #[serde(default)]
    administrator_login: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    storage: Option<Storage>,
    #[serde(default)]
    backup: Option<Backup>,
    #[serde(default)]
    fully_qualified_domain_name: Option<String>,
    #[serde(default)]
    source_server_resource_id: Option<String>,
    #[serde(default)]
    replication_role: Option<String>,
}

fn u32_of(inputs: &Attrs, key: &str) -> Result<u32, ProviderError> {
    inputs
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| ProviderError::invalid(format!("input `{key}` missing or not a number")))
}

fn source_of(inputs: &Attrs) -> Option<String> {
    inputs
        .get("source")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The `azure_database_server` handler (PostgreSQL or MySQL by its `engine` input).
pub struct Server;

impl Server {
    fn observe(&self, live: ServerLive, engine: &str, password: Option<&Value>) -> Read {
        let p = &live.properties;
        // A replica reports its primary; ids compare case-insensitively in ARM, so the
        // recorded form is kept when they match.
        let source = p.source_server_resource_id.clone().filter(|_| {
            p.replication_role
                .as_deref()
                .is_none_or(|r| !r.eq_ignore_ascii_case("Primary"))
        });
        let inputs = attrs(json!({
            "name": live.name,
            "location": live.location,
            "engine": engine,
            "version": p.version,
            "sku": live.sku.name,
            "storage_gb": p.storage.as_ref().map(|s| s.storage_size_gb),
            "backup_retention_days": p.backup.as_ref().map(|b| b.backup_retention_days),
            "admin_login": p.administrator_login,
            "source": source,
        }));
        let mut outputs = attrs(json!({
            // Replicas and the database refer to the server by its ARM id.
            "id": live.id,
            "name": live.name,
            "endpoint": p.fully_qualified_domain_name,
            "port": if engine == "postgres" { 5432 } else { 3306 },
            "engine": engine,
            "username": p.administrator_login,
        }));
        if let Some(pw) = password {
            outputs.insert("password".into(), pw.clone());
        }
        (Observed::new(live.id, inputs, outputs), Some(live.tags))
    }
}

#[async_trait]
impl Handler for Server {
    fn api(&self) -> &'static str {
        "dbflexible"
    }
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[POSTGRES_TYPE, MYSQL_TYPE]
    }
    fn generate_secrets(&self) -> Attrs {
        generate_secrets()
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        let (ty, _) = arm_of(str_of(inputs, "engine")?)?;
        Ok(c.id(ty, str_of(inputs, "name")?))
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let engine = engine_of_id(&st.id);
        let (_, api) = arm_of(engine)?;
        let live: ServerLive = c.arm.get(&st.id, api).await?;
        let mut read = self.observe(live, engine, st.outputs.get("password"));
        // The recorded primary id, when the live one names the same server.
        if let (Some(recorded), Some(Value::String(live_src))) =
            (source_of(&st.inputs), read.0.inputs.get("source"))
            && recorded.eq_ignore_ascii_case(live_src)
        {
            read.0.inputs.insert("source".into(), json!(recorded));
        }
        Ok(read)
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let i = &req.inputs;
        let engine = str_of(i, "engine")?;
        let (_, api) = arm_of(engine)?;
        let id = self.id_of(c, i)?;
        let sku = str_of(i, "sku")?.to_string();
        let password = req.secrets.get("password");
        let properties = match source_of(i) {
            // A replica takes its engine, version, administrator and storage from its
            // primary.
            Some(src) => ServerProps {
                create_mode: "Replica",
                source_server_resource_id: Some(src),
                ..ServerProps::default()
            },
            None => ServerProps {
                // PostgreSQL's word for a new server is `Create`, MySQL's `Default`.
                create_mode: if engine == "postgres" {
                    "Create"
                } else {
                    "Default"
                },
                administrator_login: Some(str_of(i, "admin_login")?.to_string()),
                administrator_login_password: Some(
                    password
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            ProviderError::fatal("no generated password in the create request")
                        })?
                        .to_string(),
                ),
                version: Some(str_of(i, "version")?.to_string()),
                storage: Some(Storage {
                    storage_size_gb: u32_of(i, "storage_gb")?,
                }),
                backup: Some(Backup {
                    backup_retention_days: u32_of(i, "backup_retention_days")?,
                    geo_redundant_backup: Some("Disabled".into()),
                }),
                source_server_resource_id: None,
            },
        };
        let body = ServerBody {
            location: str_of(i, "location")?,
            sku: Sku {
                tier: tier_of(&sku).to_string(),
                name: sku,
            },
            tags: &tags(&req.owner),
            properties,
        };
        let live: ServerLive = c.arm.put(ctx, &id, api, &body).await?;
        let mut st = NativeState::new(req.addr.clone(), Kind::Database, &req.type_name, live.id);
        st.inputs = i.clone();
        if let Some(pw) = password {
            st.outputs.insert("password".into(), pw.clone());
        }
        Ok(self.read(c, &st).await?.0)
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let (_, api) = arm_of(str_of(inputs, "engine")?)?;
        let sku = str_of(inputs, "sku")?.to_string();
        let patch = ServerPatch {
            sku: Sku {
                tier: tier_of(&sku).to_string(),
                name: sku,
            },
            properties: ServerPatchProps {
                storage: Storage {
                    storage_size_gb: u32_of(inputs, "storage_gb")?,
                },
                backup: BackupPatch {
                    backup_retention_days: u32_of(inputs, "backup_retention_days")?,
                },
            },
        };
        let _: Value = c.arm.patch(ctx, &prior.id, api, &patch).await?;
        Ok(self.read(c, prior).await?.0)
    }
    fn api_version(&self, id: &str) -> &'static str {
        api_of_id(id)
    }
}

/// The api-version of the resource provider a server's or database's id names.
fn api_of_id(id: &str) -> &'static str {
    if engine_of_id(id) == "mysql" {
        MYSQL_API
    } else {
        POSTGRES_API
    }
}

/// The engine a server's or database's id names (`Microsoft.DBforMySQL`: mysql).
fn engine_of_id(id: &str) -> &'static str {
    if id.to_ascii_lowercase().contains("/microsoft.dbformysql/") {
        "mysql"
    } else {
        "postgres"
    }
}

// --- the database -----------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct DatabaseBody {
    properties: DatabaseProps2,
}

#[derive(Debug, Serialize, Deserialize)]
struct DatabaseProps2 {
    #[serde(default)]
    charset: Option<String>,
    #[serde(default)]
    collation: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DatabaseLive {
    id: String,
    name: String,
}

/// The `azure_database` handler: a database in a flexible server.
pub struct Database;

fn database_id(inputs: &Attrs) -> Result<String, ProviderError> {
    Ok(format!(
        "{}/databases/{}",
        str_of(inputs, "server")?,
        str_of(inputs, "name")?
    ))
}

#[async_trait]
impl Handler for Database {
    fn api(&self) -> &'static str {
        "dbflexible"
    }
    fn kind(&self) -> Kind {
        Kind::Database
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[]
    }
    fn id_of(&self, _c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        database_id(inputs)
    }
    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let engine = engine_of_id(&st.id);
        let (_, api) = arm_of(engine)?;
        let live: DatabaseLive = c.arm.get(&st.id, api).await?;
        let server = live
            .id
            .rsplit_once("/databases/")
            .map_or(String::new(), |(s, _)| s.to_string());
        // The recorded server id when it names the same server (ARM ids compare
        // case-insensitively).
        let server = match st.inputs.get("server").and_then(Value::as_str) {
            Some(rec) if rec.eq_ignore_ascii_case(&server) => rec.to_string(),
            _ => server,
        };
        let inputs = attrs(json!({"server": server, "engine": engine, "name": live.name}));
        let outputs = attrs(json!({"name": live.name}));
        Ok((Observed::new(live.id, inputs, outputs), None))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let engine = str_of(&req.inputs, "engine")?;
        let (_, api) = arm_of(engine)?;
        let id = database_id(&req.inputs)?;
        let (charset, collation) = match engine {
            "postgres" => ("UTF8", "en_US.utf8"),
            _ => ("utf8mb4", "utf8mb4_0900_ai_ci"),
        };
        let body = DatabaseBody {
            properties: DatabaseProps2 {
                charset: Some(charset.into()),
                collation: Some(collation.into()),
            },
        };
        let live: DatabaseLive = c.arm.put(ctx, &id, api, &body).await?;
        let mut st = NativeState::new(req.addr.clone(), Kind::Database, &req.type_name, live.id);
        st.inputs = req.inputs.clone();
        Ok(self.read(c, &st).await?.0)
    }
    async fn update(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        prior: &NativeState,
        _inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // Every input forces a replacement.
        Ok(self.read(c, prior).await?.0)
    }
    fn api_version(&self, id: &str) -> &'static str {
        api_of_id(id)
    }
}

/// The abstract outputs of a database; what is not known yet is left out.
pub fn outputs(natives: &[&NativeState]) -> Attrs {
    let find = |local: &str| {
        natives
            .iter()
            .find(|n| !n.id.is_empty() && n.addr.local == local)
    };
    let mut out = Attrs::new();
    let Some(server) = find("server") else {
        return out;
    };
    out.insert("id".into(), json!(server.id));
    for k in ["endpoint", "port", "engine", "username", "password"] {
        if let Some(v) = server.outputs.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(db) = find("database")
        && let Some(n) = db.outputs.get("name")
    {
        out.insert("name".into(), n.clone());
    }
    if let (
        Some(Value::String(engine)),
        Some(Value::String(host)),
        Some(port),
        Some(Value::String(u)),
        Some(Value::String(p)),
        Some(Value::String(d)),
    ) = (
        out.get("engine"),
        out.get("endpoint"),
        out.get("port"),
        out.get("username"),
        out.get("password"),
        out.get("name"),
    ) {
        let scheme = if engine == "postgres" {
            "postgresql"
        } else {
            "mysql"
        };
        let cs = format!("{scheme}://{u}:{p}@{host}:{port}/{d}");
        out.insert("connection_string".into(), json!(cs));
    }
    out
}

/// A server seen as the abstract database it belongs to (replicas are part of their
/// primary's resource).
pub fn to_abstract(state: &NativeState) -> Option<overcast_core::provider::AbstractView> {
    let i = &state.inputs;
    if source_of(i).is_some() {
        return None;
    }
    let engine = i.get("engine").and_then(Value::as_str)?;
    let mut props = serde_json::Map::new();
    props.insert("engine".into(), json!(engine));
    let cat = catalog();
    let db_engine = if engine == "mysql" {
        DbEngine::Mysql
    } else {
        DbEngine::Postgres
    };
    let mut approximations = Vec::new();
    if let Some(native) = i.get("version").and_then(Value::as_str) {
        match cat.version_of_native(Cloud::Azure, db_engine, native) {
            Some(v) => {
                props.insert("version".into(), json!(v));
            }
            None => approximations.push((
                "version".to_string(),
                format!("version `{native}` is not in the catalog"),
            )),
        }
    }
    if let Some(sku) = i.get("sku").and_then(Value::as_str) {
        // The sizes whose class this SKU is: one is exact; several (small and medium are
        // both Standard_B2s) or none (a General Purpose class raised for replicas, a SKU
        // set by hand) are an approximation.
        let sizes: Vec<Size> = Size::ALL
            .into_iter()
            .filter(|s| cat.db_class(Cloud::Azure, *s).name == sku)
            .collect();
        let size = sizes
            .first()
            .copied()
            .or_else(|| cat.size_of_db_class(Cloud::Azure, sku).map(|n| n.value));
        if let Some(size) = size {
            props.insert(
                "size".into(),
                serde_json::to_value(size).unwrap_or(Value::Null),
            );
        }
        if sizes.len() != 1 {
            approximations.push((
                "size".to_string(),
                format!("SKU `{sku}` is not the class of exactly one size: the nearest used"),
            ));
        }
    }
    // What expand rounded: PostgreSQL storage comes in fixed sizes, and backups are kept
    // at least 7 days (0 cannot be asked for).
    if engine == "postgres" {
        approximations.push((
            "storage_gb".to_string(),
            "PostgreSQL flexible server storage comes in sizes of 32, 64, 128 ... GiB: the \
             spec's size was rounded up"
                .to_string(),
        ));
    }
    if i.get("backup_retention_days") == Some(&json!(BACKUP_DAYS.0)) {
        approximations.push((
            "backup_retention_days".to_string(),
            "Azure keeps backups at least 7 days".to_string(),
        ));
    }
    for (from, to) in [
        ("storage_gb", "storage_gb"),
        ("backup_retention_days", "backup_retention_days"),
        ("admin_login", "username"),
    ] {
        if let Some(v) = i.get(from).filter(|v| !v.is_null()) {
            props.insert(to.into(), v.clone());
        }
    }
    Some(overcast_core::provider::AbstractView {
        kind: Kind::Database,
        properties: props,
        approximations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::Properties;

    fn ctx() -> Ctx<'static> {
        Ctx {
            subscription: "sub",
            stack: "shop",
            target: "azure",
            location: "westeurope",
        }
    }

    fn props(v: Value) -> DatabaseProps {
        match Properties::from_value(Kind::Database, v).expect("props") {
            Properties::Database(p) => p,
            _ => unreachable!("a database"),
        }
    }

    #[test]
    fn a_postgres_database_is_a_server_replicas_and_a_database() {
        let n = expand(&ctx(), "db", &props(json!({"version": "16", "storage_gb": 20, "read_replicas": 1, "backup_retention_days": 0}))).expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["server", "replica0", "database"]);
        let s = &n[0].inputs;
        assert_eq!(s["engine"], "postgres");
        assert_eq!(s["version"], "16");
        // PostgreSQL sells 32 GiB and up; backups cannot be turned off.
        assert_eq!(s["storage_gb"], 32);
        assert_eq!(s["backup_retention_days"], 7);
        assert_eq!(n[1].inputs["source"], "${db.server.id}");
        assert_ne!(n[1].inputs["name"], s["name"]);
        // Replicas need a General Purpose primary: micro's Burstable class is raised.
        assert_eq!(s["sku"], "Standard_D2ds_v5");
        assert_eq!(n[2].inputs["server"], "${db.server.id}");
        let n = expand(&ctx(), "db", &props(json!({"size": "micro"}))).expect("expand");
        assert_eq!(n[0].inputs["sku"], "Standard_B1ms");
        // No version: the newest the pinned api-version creates.
        let n = expand(&ctx(), "db", &props(json!({}))).expect("expand");
        assert_eq!(n[0].inputs["version"], "16");
        let e = expand(&ctx(), "db", &props(json!({"version": "17"}))).unwrap_err();
        assert!(
            e.message.contains("api-version 2024-08-01"),
            "{}",
            e.message
        );
        let e = expand(&ctx(), "db", &props(json!({"version": "9"}))).unwrap_err();
        assert!(
            e.message.contains("no PostgreSQL version `9`") || e.message.contains("version `9`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn passwords_have_three_character_classes_and_tiers_follow_the_sku() {
        let p = generate_secrets();
        let pw = p["password"].as_str().expect("password");
        assert_eq!(pw.len(), 24);
        assert!(pw.chars().any(|c| c.is_ascii_uppercase()));
        assert!(pw.chars().any(|c| c.is_ascii_lowercase()));
        assert!(pw.chars().any(|c| c.is_ascii_digit()));
        assert_eq!(tier_of("Standard_B1ms"), "Burstable");
        assert_eq!(tier_of("Standard_D2ds_v5"), "GeneralPurpose");
        assert_eq!(tier_of("Standard_E2ds_v5"), "MemoryOptimized");
    }
}
