//! Target settings and the clients, built once per provider on first use.
//!
//! `GcpProvider::new` is synchronous (the engine builds providers before any runtime work),
//! while the Pub/Sub clients are built by an async builder: they are made lazily, the first
//! time a call needs one.

use google_cloud_auth::credentials::{self, AccessTokenCredentials, Credentials};
use google_cloud_pubsub::client::{SubscriptionAdmin, TopicAdmin};
use overcast_core::{ErrorClass, ProviderError};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::gcs::Gcs;

/// Settings of a `gcp` target (every key of `targets.<name>` besides `provider`).
///
/// Also the schema the spec validator checks a gcp target against
/// (`schemars::schema_for!(Settings)`): an unknown key is refused with a did-you-mean.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(title = "gcp target settings")]
pub struct Settings {
    /// The Google Cloud project every resource is created in. When absent,
    /// `GOOGLE_CLOUD_PROJECT` (then `CLOUDSDK_CORE_PROJECT`) decides.
    #[serde(deserialize_with = "empty_is_none")]
    pub project: Option<String>,
    /// Region of regional resources and the location of buckets, e.g. `europe-west1`.
    /// Default: `us-central1`.
    #[serde(deserialize_with = "empty_is_none")]
    pub region: Option<String>,
    /// Zone of zonal resources (compute), e.g. `europe-west1-b`.
    #[serde(deserialize_with = "empty_is_none")]
    pub zone: Option<String>,
    /// Cloud Storage endpoint, for an emulator (`http://127.0.0.1:4443`). Set: requests
    /// carry no credentials.
    #[serde(deserialize_with = "empty_is_none")]
    pub storage_endpoint: Option<String>,
    /// Pub/Sub endpoint, for the emulator (`http://127.0.0.1:8085`). Set: requests carry
    /// no credentials.
    #[serde(deserialize_with = "empty_is_none")]
    pub pubsub_endpoint: Option<String>,
    /// Compute Engine endpoint (instances, firewalls, networks and the load balancer
    /// behind a CDN), for a test server (`http://127.0.0.1:PORT`). Set: no credentials.
    #[serde(deserialize_with = "empty_is_none")]
    pub compute_endpoint: Option<String>,
    /// Cloud SQL Admin endpoint, for a test server. Set: no credentials.
    #[serde(deserialize_with = "empty_is_none")]
    pub sql_endpoint: Option<String>,
    /// Cloud Functions endpoint, for an emulator. Set: no credentials.
    #[serde(deserialize_with = "empty_is_none")]
    pub functions_endpoint: Option<String>,
    /// Cloud Scheduler endpoint, for a test server. Set: no credentials.
    #[serde(deserialize_with = "empty_is_none")]
    pub scheduler_endpoint: Option<String>,
}

/// An empty string means "not set", so a spec can pass an optional setting through a
/// variable whose default is `""`.
fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// The region when a target names none.
pub const DEFAULT_REGION: &str = "us-central1";

/// Where the project was looked for, for the error when it was found nowhere.
const PROJECT_SOURCES: &str =
    "the target's `project` setting, GOOGLE_CLOUD_PROJECT, CLOUDSDK_CORE_PROJECT";

impl Settings {
    /// Read the target's settings. Unknown keys are refused so a typo is not silently
    /// ignored; an error names the offending key.
    pub fn from_map(settings: &Map<String, Value>) -> Result<Settings, ProviderError> {
        serde_path_to_error::deserialize(Value::Object(settings.clone())).map_err(|e| {
            let key = e.path().to_string();
            let what = if key == "." {
                "gcp target settings".to_string()
            } else {
                format!("gcp target setting `{key}`")
            };
            ProviderError::invalid(format!("{what}: {}", e.inner())).with_hint(
                "gcp targets accept `project`, `region`, `zone` and the endpoints \
                 `storage_endpoint`, `pubsub_endpoint`, `compute_endpoint`, `sql_endpoint`, \
                 `functions_endpoint`, `scheduler_endpoint`",
            )
        })
    }

    /// The project: the setting, else the environment, else a clear error naming where
    /// it was looked for.
    pub fn effective_project(&self) -> Result<String, ProviderError> {
        let env = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        self.project
            .clone()
            .or_else(|| env("GOOGLE_CLOUD_PROJECT"))
            .or_else(|| env("CLOUDSDK_CORE_PROJECT"))
            .ok_or_else(|| {
                ProviderError::invalid(format!(
                    "no Google Cloud project for this target (tried {PROJECT_SOURCES})"
                ))
                .with_hint("set `project:` on the target, or export GOOGLE_CLOUD_PROJECT")
            })
    }

    /// The region in use.
    pub fn effective_region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    /// Whether the target points any service at an emulator or test server.
    pub fn emulated(&self) -> bool {
        [
            &self.storage_endpoint,
            &self.pubsub_endpoint,
            &self.compute_endpoint,
            &self.sql_endpoint,
            &self.functions_endpoint,
            &self.scheduler_endpoint,
        ]
        .iter()
        .any(|e| e.is_some())
    }

    /// Whether discovery lists the service of `endpoint`: always against Google; against
    /// emulators, only the services the target names an endpoint for (the others would
    /// reach Google with credentials a test machine does not have, for a project that
    /// exists only in the emulators).
    pub fn discovers(&self, endpoint: &Option<String>) -> bool {
        endpoint.is_some() || !self.emulated()
    }
}

/// Where Application Default Credentials are looked for, for the error when none are found.
pub const ADC_SOURCES: &str = "Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, \
     ~/.config/gcloud/application_default_credentials.json (`gcloud auth application-default \
     login`), then the metadata server of a Google Cloud VM";

/// The clients of one target, sharing one project.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The target's settings.
    pub settings: Settings,
    /// The project in use.
    pub project: String,
    /// The region (bucket location).
    pub region: String,
    /// Directory of the spec: storage content (and function sources) are relative to it,
    /// kept relative in inputs so state does not depend on where the checkout lives.
    pub spec_dir: std::path::PathBuf,
    /// Cloud Storage (bucket metadata through the JSON API).
    pub gcs: Gcs,
    /// Pub/Sub topics.
    pub topics: TopicAdmin,
    /// Pub/Sub subscriptions.
    pub subscriptions: SubscriptionAdmin,
    /// Cloud Scheduler (jobs of schedule-triggered functions), built on first use.
    pub scheduler: crate::scheduler::Lazy,
    /// Cloud Functions (2nd gen).
    pub functions: google_cloud_functions_v2::client::FunctionService,
    /// Compute Engine (instances, firewalls, the target network, a cdn's load balancer).
    pub compute: crate::compute::Compute,
    /// Cloud SQL Admin (instances, databases, users, operations).
    pub sql: crate::sql::client::SqlAdmin,
}

/// Application Default Credentials, or an error naming where they were looked for.
fn adc() -> Result<Credentials, ProviderError> {
    credentials::Builder::default().build().map_err(|e| {
        ProviderError::new(
            ErrorClass::Auth,
            format!("no Google Cloud credentials: {e} (tried {ADC_SOURCES})"),
        )
        .with_hint(
            "run `gcloud auth application-default login`, or export GOOGLE_APPLICATION_CREDENTIALS",
        )
    })
}

/// ADC as access tokens (the JSON API is called with a bearer token).
fn adc_tokens() -> Result<AccessTokenCredentials, ProviderError> {
    credentials::Builder::default()
        .build_access_token_credentials()
        .map_err(|e| {
            ProviderError::new(
                ErrorClass::Auth,
                format!("no Google Cloud credentials: {e} (tried {ADC_SOURCES})"),
            )
            .with_hint("run `gcloud auth application-default login`, or export GOOGLE_APPLICATION_CREDENTIALS")
        })
}

/// The credentials of a service: anonymous against an emulator (it checks none, and ADC
/// may not exist on a test machine), ADC otherwise.
pub(crate) fn creds_for(endpoint: Option<&str>) -> Result<Credentials, ProviderError> {
    match endpoint {
        Some(_) => Ok(credentials::anonymous::Builder::new().build()),
        None => adc(),
    }
}

/// Build every client of a target.
pub async fn load(
    settings: &Settings,
    spec_dir: &std::path::Path,
) -> Result<Clients, ProviderError> {
    let project = settings.effective_project()?;
    let gcs = match &settings.storage_endpoint {
        Some(ep) => Gcs::new(ep.trim_end_matches('/').to_string(), None)?,
        None => Gcs::new(crate::gcs::GOOGLE_ENDPOINT.to_string(), Some(adc_tokens()?))?,
    };
    let sql = match &settings.sql_endpoint {
        Some(ep) => crate::sql::client::SqlAdmin::new(ep.clone(), None)?,
        None => crate::sql::client::SqlAdmin::google(adc_tokens())?,
    };
    let ps_endpoint = settings.pubsub_endpoint.as_deref();
    let client_err = |what: &str, e: google_cloud_gax::client_builder::Error| {
        ProviderError::fatal(format!("cannot build the Pub/Sub {what} client: {e}"))
    };
    let mut topics = TopicAdmin::builder().with_credentials(creds_for(ps_endpoint)?);
    let mut subs = SubscriptionAdmin::builder().with_credentials(creds_for(ps_endpoint)?);
    if let Some(ep) = ps_endpoint {
        topics = topics.with_endpoint(ep);
        subs = subs.with_endpoint(ep);
    }
    // The engine's call layer is the only retry loop: the clients' own retries would
    // multiply its attempts and hide throttling from its budgets.
    let topics = topics
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .map_err(|e| client_err("topic admin", e))?;
    let subscriptions = subs
        .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
        .build()
        .await
        .map_err(|e| client_err("subscription admin", e))?;
    let functions = crate::functions::client::build(settings.functions_endpoint.as_deref()).await?;
    let compute_ep = settings.compute_endpoint.as_deref();
    let compute = crate::compute::Compute::new(
        project.clone(),
        crate::compute::expand::zone_of(settings.zone.as_deref(), settings.effective_region()),
        compute_ep,
        creds_for(compute_ep)?,
    )
    .await?;
    Ok(Clients {
        settings: settings.clone(),
        compute,
        project,
        region: settings.effective_region().to_string(),
        spec_dir: spec_dir.to_path_buf(),
        gcs,
        topics,
        subscriptions,
        scheduler: crate::scheduler::Lazy::new(settings.scheduler_endpoint.clone()),
        functions,
        sql,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = Settings::from_map(&map(json!({"projet": "p"}))).unwrap_err();
        assert!(e.message.contains("projet"), "{}", e.message);
        let s = Settings::from_map(&map(json!({"project": "p", "storage_endpoint": ""})))
            .expect("settings");
        assert_eq!(s.project.as_deref(), Some("p"));
        assert_eq!(s.storage_endpoint, None);
        assert_eq!(s.effective_region(), DEFAULT_REGION);
    }
}
