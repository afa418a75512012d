//! The `azure_function_app` native: a Linux function app (`Microsoft.Web/sites`, kind
//! `functionapp,linux`) on its Consumption plan, running from its package.
//!
//! Inputs: `name` (a global DNS label), `location`, `plan` (the plan's name),
//! `storage_account` (the app's account, which holds its packages), `runtime`
//! (`linuxFxVersion`, `Python|3.12`), `worker_runtime` (`python`, `node`), `function` (its
//! name in the app), `handler`, `source` (relative to the spec), `env`, `timeout` (s),
//! `memory` (MiB, recorded), `trigger` (`{type: http}`, `{type: schedule, schedule:
//! <NCRONTAB>}`, `{type: queue, namespace, queue, sessions}`, `{type: storage, account,
//! container}`) and `code_in_sync` (desired `true`: the deployed package is the one the
//! source and the inputs make now).
//!
//! A create or an update builds the package, uploads it when the container lacks it, and
//! PUTs the whole site: `siteConfig.linuxFxVersion` and every app setting
//! (`FUNCTIONS_EXTENSION_VERSION` ~4, `FUNCTIONS_WORKER_RUNTIME`, `AzureWebJobsStorage`
//! from the account's key, `WEBSITE_RUN_FROM_PACKAGE` with a read-only SAS, the trigger's
//! connection and `env`). The keys are fetched with ARM's `listKeys` at each apply and never
//! kept in state. A read GETs the site and lists its app settings; what the settings and
//! the site cannot tell (the handler, the source directory, the timeout in `host.json`,
//! the function's binding) is in the package, which `code_in_sync` compares by its SHA-256.
//!
//! Outputs: `name`, `id`, `host` (`<name>.azurewebsites.net`), `url` (`https://<host>/api/
//! <function>` for an http trigger, else null), `package` (the deployed blob), `state`
//! (`Running`, `Stopped`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use azure_core::Bytes;
use azure_core::credentials::Secret;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, Kind, NativeState, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::expand::MANAGED_SETTINGS;
use super::plan::normalize_location;
use super::{API, PACKAGES, PLAN_TYPE, SITE_TYPE, package};
use crate::config::Clients;
use crate::content::{ContainerSas, DataPlane, SAS_VERSION};
use crate::expand::attrs;
use crate::handlers::{Handler, Read, read_state, str_of};

/// The app setting holding the Service Bus connection of a queue trigger.
pub const SERVICEBUS_SETTING: &str = "OVERCAST_SERVICEBUS";
/// The app setting holding the storage connection of a blob trigger.
pub const BLOB_SETTING: &str = "OVERCAST_BLOB";
/// The app setting naming the package the app runs from.
pub const RUN_FROM_PACKAGE: &str = "WEBSITE_RUN_FROM_PACKAGE";
/// The Service Bus rule every namespace has, whose connection string the trigger uses.
pub const SERVICEBUS_RULE: &str = "RootManageSharedAccessKey";
/// How long the package URL's SAS is valid: the app reads its package at every cold start,
/// so the URL must outlive any deployment (each apply that changes the app signs a new one).
pub const PACKAGE_SAS_LIFETIME: time::Duration = time::Duration::days(3650);

// --- typed bodies ------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SiteBody<'a> {
    location: &'a str,
    kind: &'static str,
    tags: &'a BTreeMap<String, String>,
    properties: SiteProps<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SiteProps<'a> {
    server_farm_id: String,
    /// Linux.
    reserved: bool,
    https_only: bool,
    site_config: SiteConfig<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SiteConfig<'a> {
    linux_fx_version: &'a str,
    app_settings: Vec<NameValue>,
    min_tls_version: &'static str,
    ftps_state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SiteLive {
    id: String,
    name: String,
    location: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    properties: SiteLiveProps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SiteLiveProps {
    #[serde(default)]
    server_farm_id: Option<String>,
    #[serde(default)]
    default_host_name: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    site_config: Option<SiteLiveConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SiteLiveConfig {
    #[serde(default)]
    linux_fx_version: Option<String>,
}

/// `config/appsettings/list`'s answer.
#[derive(Debug, Deserialize)]
struct AppSettings {
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

/// A storage account's `listKeys`.
#[derive(Debug, Deserialize)]
struct AccountKeys {
    #[serde(default)]
    keys: Vec<AccountKey>,
}

#[derive(Debug, Deserialize)]
struct AccountKey {
    value: String,
}

/// A Service Bus rule's `listKeys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessKeys {
    primary_connection_string: String,
}

// --- connections -------------------------------------------------------------------------

/// The first key of storage account `account`.
async fn account_key(c: &Clients, account: &str) -> Result<String, ProviderError> {
    let path = format!("{}/listKeys", c.id(crate::storage::ACCOUNT_TYPE, account));
    let keys: AccountKeys = c.arm.post(&path, crate::storage::API, None).await?;
    keys.keys
        .into_iter()
        .next()
        .map(|k| k.value)
        .ok_or_else(|| {
            ProviderError::fatal(format!(
                "listKeys of storage account `{account}` returned no key"
            ))
        })
}

/// A storage connection string (what `AzureWebJobsStorage` and a blob trigger take).
fn storage_connection(account: &str, key: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
    )
}

/// The `key=value` field of a `;`-separated connection string.
pub(crate) fn connection_field<'a>(connection: &'a str, key: &str) -> Option<&'a str> {
    connection.split(';').find_map(|part| {
        let (k, v) = part.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
    })
}

/// The namespace a Service Bus connection string names (`Endpoint=sb://<ns>.servicebus...`).
fn namespace_of(connection: &str) -> Option<String> {
    let endpoint = connection_field(connection, "Endpoint")?;
    let host = endpoint.strip_prefix("sb://")?.split(['/', ':']).next()?;
    host.split('.').next().map(str::to_string)
}

/// The connection string of the namespace's [`SERVICEBUS_RULE`].
async fn servicebus_connection(c: &Clients, namespace: &str) -> Result<String, ProviderError> {
    let path = format!(
        "{}/authorizationRules/{SERVICEBUS_RULE}/listKeys",
        c.id(crate::servicebus::NAMESPACE_TYPE, namespace)
    );
    let keys: AccessKeys = c.arm.post(&path, crate::servicebus::API, None).await?;
    Ok(keys.primary_connection_string)
}

// --- the package -------------------------------------------------------------------------

/// The package of a deploy: its blob name and its URL with a read-only SAS, and the key of
/// the app's account (for `AzureWebJobsStorage`).
struct Deployed {
    blob: String,
    url: String,
    key: String,
}

/// Build the package of `inputs` and upload it unless the container has it.
async fn deploy(c: &Clients, inputs: &Attrs) -> Result<Deployed, ProviderError> {
    let app = str_of(inputs, "name")?;
    let account = str_of(inputs, "storage_account")?;
    let pkg = package::build(&c.spec_dir, inputs).await?;
    let key = account_key(c, account).await?;
    let (endpoint, data_account) = crate::content::account_endpoint(&c.settings, account)?;
    let dp = DataPlane::new(&endpoint, &data_account, &key)?;
    if c.settings.blob_endpoint.is_some() {
        // Against Azurite, ARM's container is not on the data plane.
        dp.ensure_container(PACKAGES).await?;
    }
    let name = package::blob_name(app, &pkg.sha256);
    let present = dp
        .blobs(PACKAGES)
        .await?
        .get(&name)
        .is_some_and(|b| b.sha256() == Some(pkg.sha256.as_str()));
    if !present {
        dp.upload(PACKAGES, &name, Bytes::from(pkg.bytes), &pkg.sha256)
            .await?;
    }
    let sas = ContainerSas {
        account: &data_account,
        container: PACKAGES,
        permissions: "r",
        start: None,
        expiry: OffsetDateTime::now_utc() + PACKAGE_SAS_LIFETIME,
        protocol: Some(if endpoint.starts_with("https:") {
            "https"
        } else {
            "https,http"
        }),
        version: SAS_VERSION,
    }
    .token(&Secret::new(key.clone()))?;
    let mut url = dp.url(PACKAGES, Some(&name));
    url.set_query(Some(&sas));
    Ok(Deployed {
        blob: name,
        url: url.to_string(),
        key,
    })
}

/// Delete the packages of `app` in `account`, except `keep`. An account (or container)
/// that is gone holds none.
async fn delete_packages(
    c: &Clients,
    account: &str,
    app: &str,
    keep: Option<&str>,
) -> Result<(), ProviderError> {
    let key = match account_key(c, account).await {
        Ok(k) => k,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let (endpoint, data_account) = crate::content::account_endpoint(&c.settings, account)?;
    let dp = DataPlane::new(&endpoint, &data_account, &key)?;
    let blobs = match dp.blobs(PACKAGES).await {
        Ok(b) => b,
        Err(e) if e.class == ErrorClass::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let prefix = format!("{app}/");
    for name in blobs.keys().filter(|n| n.starts_with(&prefix)) {
        if Some(name.as_str()) != keep {
            dp.delete(PACKAGES, name).await?;
        }
    }
    Ok(())
}

// --- settings ----------------------------------------------------------------------------

/// Every app setting of `inputs` with the package `deployed`: overcast's, then `env`.
async fn app_settings(
    c: &Clients,
    inputs: &Attrs,
    deployed: &Deployed,
) -> Result<Vec<NameValue>, ProviderError> {
    let pair = |name: &str, value: String| NameValue {
        name: name.to_string(),
        value,
    };
    let account = str_of(inputs, "storage_account")?;
    let mut out = vec![
        pair("FUNCTIONS_EXTENSION_VERSION", "~4".into()),
        pair(
            "FUNCTIONS_WORKER_RUNTIME",
            str_of(inputs, "worker_runtime")?.into(),
        ),
        pair(
            "AzureWebJobsStorage",
            storage_connection(account, &deployed.key),
        ),
        pair(RUN_FROM_PACKAGE, deployed.url.clone()),
    ];
    let trigger = inputs.get("trigger").cloned().unwrap_or(Value::Null);
    let field = |k: &str| {
        trigger
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ProviderError::invalid(format!("input `trigger.{k}` missing")))
    };
    match trigger.get("type").and_then(Value::as_str) {
        Some("queue") => out.push(pair(
            SERVICEBUS_SETTING,
            servicebus_connection(c, field("namespace")?).await?,
        )),
        Some("storage") => {
            let source = field("account")?;
            let key = account_key(c, source).await?;
            out.push(pair(BLOB_SETTING, storage_connection(source, &key)));
        }
        _ => {}
    }
    if let Some(env) = inputs.get("env").and_then(Value::as_object) {
        for (k, v) in env {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            out.push(pair(k, v));
        }
    }
    Ok(out)
}

/// What the settings say of the inputs they carry: the account, the worker, `env`, and
/// the trigger's connection (the rest of the trigger is in the package).
fn from_settings(s: &BTreeMap<String, String>, prior: &Attrs) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(
        "storage_account".into(),
        json!(
            s.get("AzureWebJobsStorage")
                .and_then(|c| connection_field(c, "AccountName"))
        ),
    );
    out.insert(
        "worker_runtime".into(),
        json!(s.get("FUNCTIONS_WORKER_RUNTIME")),
    );
    let env: Map<String, Value> = s
        .iter()
        .filter(|(k, _)| !MANAGED_SETTINGS.iter().any(|m| m.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    out.insert("env".into(), Value::Object(env));
    let mut trigger = prior
        .get("trigger")
        .cloned()
        .unwrap_or(json!({"type": "http"}));
    match trigger.get("type").and_then(Value::as_str) {
        Some("queue") => {
            trigger["namespace"] = json!(s.get(SERVICEBUS_SETTING).and_then(|c| namespace_of(c)));
        }
        Some("storage") => {
            trigger["account"] = json!(
                s.get(BLOB_SETTING)
                    .and_then(|c| connection_field(c, "AccountName"))
            );
        }
        _ => {}
    }
    out.insert("trigger".into(), trigger);
    out
}

// --- the handler -------------------------------------------------------------------------

/// The `azure_function_app` handler.
pub struct App;

impl App {
    /// PUT the whole site: create, or bring an existing one to `inputs` (a PUT with
    /// `siteConfig.appSettings` replaces every setting).
    async fn put(
        &self,
        c: &Clients,
        ctx: &OpContext,
        id: &str,
        inputs: &Attrs,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, ProviderError> {
        let deployed = deploy(c, inputs).await?;
        let body = SiteBody {
            location: str_of(inputs, "location")?,
            kind: "functionapp,linux",
            tags,
            properties: SiteProps {
                server_farm_id: c.id(PLAN_TYPE, str_of(inputs, "plan")?),
                reserved: true,
                https_only: true,
                site_config: SiteConfig {
                    linux_fx_version: str_of(inputs, "runtime")?,
                    app_settings: app_settings(c, inputs, &deployed).await?,
                    min_tls_version: "1.2",
                    ftps_state: "Disabled",
                },
            },
        };
        let put: Result<Value, ProviderError> = c.arm.put(ctx, id, API, &body).await;
        match put {
            // Site names are global DNS names: another subscription holds this one.
            Err(e)
                if e.class != ErrorClass::InvalidInput && e.message.contains("already exists") =>
            {
                Err(ProviderError::new(
                    ErrorClass::Conflict,
                    format!("function app `{id}`: {}", e.message),
                )
                .with_hint("the name is taken in another subscription: rename the resource"))
            }
            Err(e) => Err(e),
            Ok(_) => Ok(deployed.blob),
        }
    }
}

/// The SHA-256 of the package `inputs` make now, if the source is on this machine.
async fn local_sha(c: &Clients, inputs: &Attrs) -> Option<String> {
    package::build(&c.spec_dir, inputs)
        .await
        .ok()
        .map(|p| p.sha256)
}

#[async_trait]
impl Handler for App {
    fn api(&self) -> &'static str {
        "web"
    }
    fn kind(&self) -> Kind {
        Kind::Function
    }
    fn arm_types(&self) -> &'static [&'static str] {
        &[SITE_TYPE]
    }
    fn id_of(&self, c: &Clients, inputs: &Attrs) -> Result<String, ProviderError> {
        Ok(c.id(SITE_TYPE, str_of(inputs, "name")?))
    }
    fn api_version(&self, _id: &str) -> &'static str {
        API
    }

    async fn read(&self, c: &Clients, st: &NativeState) -> Result<Read, ProviderError> {
        let live: SiteLive = c.arm.get(&st.id, API).await?;
        let settings: AppSettings = c
            .arm
            .post(&format!("{}/config/appsettings/list", st.id), API, None)
            .await?;
        let s = &settings.properties;
        let prior = &st.inputs;
        let deployed = s.get(RUN_FROM_PACKAGE).and_then(|u| package::sha_of(u));
        // The source gone from this machine (destroy from another checkout), or a
        // discovered app with no recorded inputs: no basis to claim drift.
        let in_sync = match local_sha(c, prior).await {
            Some(local) => deployed.as_deref() == Some(local.as_str()),
            None => true,
        };
        let p = &live.properties;
        // Azure may answer the stack in another case: the same stack is no drift.
        let fx = p
            .site_config
            .as_ref()
            .and_then(|sc| sc.linux_fx_version.clone())
            .unwrap_or_default();
        let runtime = match prior.get("runtime").and_then(Value::as_str) {
            Some(r) if r.eq_ignore_ascii_case(&fx) => r.to_string(),
            _ => fx,
        };
        let recorded = |k: &str| prior.get(k).cloned().unwrap_or(Value::Null);
        let mut inputs = attrs(json!({
            "name": live.name,
            "location": normalize_location(&live.location),
            "plan": p.server_farm_id.as_deref().and_then(|f| f.rsplit('/').next()),
            "runtime": runtime,
            "function": recorded("function"),
            "handler": recorded("handler"),
            "source": recorded("source"),
            "timeout": recorded("timeout"),
            "memory": recorded("memory"),
            "code_in_sync": in_sync,
        }));
        inputs.extend(from_settings(s, prior));
        let host = p.default_host_name.clone().unwrap_or_default();
        let http = inputs["trigger"]["type"] == "http";
        let url = match (http, prior.get("function").and_then(Value::as_str)) {
            (true, Some(f)) if !host.is_empty() => json!(format!("https://{host}/api/{f}")),
            _ => Value::Null,
        };
        let package = s
            .get(RUN_FROM_PACKAGE)
            .and_then(|u| u.split('?').next())
            .and_then(|u| u.split_once(&format!("/{PACKAGES}/")))
            .map(|(_, name)| name.to_string());
        // `Running`, or `Stopped` by someone: either way the app is there as configured.
        let outputs = attrs(json!({
            "name": live.name,
            "id": live.id,
            "host": host,
            "url": url,
            "package": package,
            "state": p.state,
        }));
        Ok((
            Observed::new(live.id, inputs, outputs),
            Some(live.tags.unwrap_or_default()),
        ))
    }

    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let id = self.id_of(c, &req.inputs)?;
        let tags = crate::handlers::tags(&req.owner);
        let blob = self.put(c, ctx, &id, &req.inputs, &tags).await?;
        // A retried create may have uploaded another package first.
        delete_packages(
            c,
            str_of(&req.inputs, "storage_account")?,
            str_of(&req.inputs, "name")?,
            Some(&blob),
        )
        .await?;
        Ok(self.read(c, &read_state(&id, &req.inputs)).await?.0)
    }

    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        // A PUT replaces the tags: the site's own (its owner's) are sent back.
        let live: SiteLive = c.arm.get(&prior.id, API).await?;
        let tags = live.tags.unwrap_or_default();
        let blob = self.put(c, ctx, &prior.id, inputs, &tags).await?;
        delete_packages(
            c,
            str_of(inputs, "storage_account")?,
            str_of(inputs, "name")?,
            Some(&blob),
        )
        .await?;
        Ok(self.read(c, &read_state(&prior.id, inputs)).await?.0)
    }

    /// Delete the app, then its packages (so nothing is left in the account, and on an
    /// emulator's shared account nothing of this app).
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        // Where its packages are: the live settings say (a discovered app has no recorded
        // inputs), else the recorded inputs. An app that does not run from a package of
        // overcast's (`packages/<app>/...`, deployed some other way) has none to remove, and
        // its account's data is not touched.
        let app = prior.id.rsplit('/').next().unwrap_or_default();
        let live_account = match c
            .arm
            .post::<AppSettings>(&format!("{}/config/appsettings/list", prior.id), API, None)
            .await
        {
            Ok(s) => s
                .properties
                .get(RUN_FROM_PACKAGE)
                .filter(|url| url.contains(&format!("/{PACKAGES}/{app}/")))
                .and(s.properties.get("AzureWebJobsStorage"))
                .and_then(|conn| connection_field(conn, "AccountName"))
                .map(str::to_string),
            Err(e) if e.class == ErrorClass::NotFound => None,
            Err(e) => return Err(e),
        };
        c.arm.delete(ctx, &prior.id, API).await?;
        let account = live_account.or_else(|| {
            prior
                .inputs
                .get("storage_account")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        match account {
            Some(account) if !app.is_empty() => delete_packages(c, &account, app, None).await,
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_name_their_account_and_namespace() {
        let conn = storage_connection("acct1", "a2V5");
        assert_eq!(connection_field(&conn, "AccountName"), Some("acct1"));
        assert_eq!(connection_field(&conn, "accountkey"), Some("a2V5"));
        assert_eq!(
            namespace_of(
                "Endpoint=sb://oc-ns-1.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=k="
            )
            .as_deref(),
            Some("oc-ns-1")
        );
        assert_eq!(namespace_of("junk"), None);
    }

    #[test]
    fn settings_give_back_env_worker_account_and_trigger_connection() {
        let s: BTreeMap<String, String> = [
            ("FUNCTIONS_EXTENSION_VERSION", "~4"),
            ("FUNCTIONS_WORKER_RUNTIME", "python"),
            (
                "AzureWebJobsStorage",
                "DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=k",
            ),
            (
                RUN_FROM_PACKAGE,
                "https://acct1.blob.core.windows.net/packages/a/b.zip?sig=x",
            ),
            (
                SERVICEBUS_SETTING,
                "Endpoint=sb://ns1.servicebus.windows.net/;SharedAccessKey=k",
            ),
            ("GREETING", "hi"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let prior = attrs(
            json!({"trigger": {"type": "queue", "namespace": "ns1", "queue": "q",
                                             "sessions": false}}),
        );
        let got = from_settings(&s, &prior);
        assert_eq!(got["storage_account"], "acct1");
        assert_eq!(got["worker_runtime"], "python");
        assert_eq!(got["env"], json!({"GREETING": "hi"}));
        assert_eq!(got["trigger"], prior["trigger"]);
        // The connection gone: the trigger reads as drifted.
        let mut gone = s.clone();
        gone.remove(SERVICEBUS_SETTING);
        assert_eq!(
            from_settings(&gone, &prior)["trigger"]["namespace"],
            Value::Null
        );
    }

    #[test]
    fn the_site_body_is_a_linux_function_app_with_its_settings() {
        let tags = BTreeMap::from([("overcast:stack".to_string(), "s".to_string())]);
        let body = SiteBody {
            location: "westeurope",
            kind: "functionapp,linux",
            tags: &tags,
            properties: SiteProps {
                server_farm_id:
                    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/serverfarms/p".into(),
                reserved: true,
                https_only: true,
                site_config: SiteConfig {
                    linux_fx_version: "Python|3.12",
                    app_settings: vec![NameValue {
                        name: "A".into(),
                        value: "1".into(),
                    }],
                    min_tls_version: "1.2",
                    ftps_state: "Disabled",
                },
            },
        };
        let v = serde_json::to_value(&body).expect("json");
        assert_eq!(
            v["properties"]["serverFarmId"],
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/serverfarms/p"
        );
        assert_eq!(
            v["properties"]["siteConfig"]["linuxFxVersion"],
            "Python|3.12"
        );
        assert_eq!(
            v["properties"]["siteConfig"]["appSettings"],
            json!([{"name": "A", "value": "1"}])
        );
        assert_eq!(v["properties"]["httpsOnly"], true);
    }
}
