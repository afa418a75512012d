//! Cloud SQL Admin v1 over its REST API (`/v1/projects/{project}/instances/...`), with the
//! same bearer-token and error handling as the Cloud Storage JSON API client.
//!
//! Why not google-cloud-sql-v1: the Cloud SQL calls are one small surface (instances,
//! databases, users, operations) kept on the HTTP stack the provider already has. Every
//! request and answer is one of the typed models of [`super::models`] (Google's
//! `DatabaseInstance`, `Database`, `User`, `Operation` and list responses), which the
//! contract server validates against the discovery document.

use std::time::Duration;

use google_cloud_auth::credentials::AccessTokenCredentials;
use overcast_core::ProviderError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::models::{Database, DatabaseInstance, InstancesListResponse, Operation, Page, User};

/// The real service.
pub const GOOGLE_ENDPOINT: &str = "https://sqladmin.googleapis.com";

const TIMEOUT: Duration = Duration::from_secs(60);

/// A Cloud SQL Admin client of one endpoint and project.
#[derive(Debug, Clone)]
pub struct SqlAdmin {
    endpoint: String,
    http: reqwest::Client,
    tokens: Option<AccessTokenCredentials>,
    /// Why there are no credentials for Google, reported by the first call (a target
    /// that has no database never needs them).
    no_credentials: Option<ProviderError>,
}

impl SqlAdmin {
    /// A client of `endpoint`; `tokens`: the credentials, `None` for a test server.
    pub fn new(
        endpoint: String,
        tokens: Option<AccessTokenCredentials>,
    ) -> Result<SqlAdmin, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ProviderError::fatal(format!("cannot build an HTTP client: {e}")))?;
        Ok(SqlAdmin {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            http,
            tokens,
            no_credentials: None,
        })
    }

    /// A client of Google's endpoint with Application Default Credentials; when there
    /// are none, each call fails with `why`.
    pub fn google(
        tokens: Result<AccessTokenCredentials, ProviderError>,
    ) -> Result<SqlAdmin, ProviderError> {
        match tokens {
            Ok(t) => SqlAdmin::new(GOOGLE_ENDPOINT.to_string(), Some(t)),
            Err(why) => {
                let mut c = SqlAdmin::new(GOOGLE_ENDPOINT.to_string(), None)?;
                c.no_credentials = Some(why);
                Ok(c)
            }
        }
    }

    fn url(&self, project: &str, path: &str) -> String {
        format!("{}/v1/projects/{project}/{path}", self.endpoint)
    }

    /// Send `req` and read the answer as a `T`; an empty answer reads as `{}`.
    async fn send<T: DeserializeOwned>(
        &self,
        op: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ProviderError> {
        if self.tokens.is_none()
            && let Some(why) = &self.no_credentials
        {
            let mut e = why.clone();
            e.message = format!("{op}: {}", e.message);
            return Err(e);
        }
        let text = crate::rest::exchange(op, self.tokens.as_ref(), req).await?;
        let text = if text.trim().is_empty() { "{}" } else { &text };
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            ProviderError::fatal(format!(
                "{op}: unreadable answer at `{}`: {}",
                e.path(),
                e.inner()
            ))
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        op: &str,
        project: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ProviderError> {
        self.send(op, self.http.get(self.url(project, path)).query(query))
            .await
    }

    async fn mutate<B: Serialize + ?Sized>(
        &self,
        op: &str,
        method: reqwest::Method,
        url: String,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<Operation, ProviderError> {
        let mut req = self.http.request(method, url).query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(op, req).await
    }

    /// Every item of a paginated list (`items`, `nextPageToken`), to the last page.
    async fn list_all<P: Page + DeserializeOwned>(
        &self,
        op: &str,
        project: &str,
        path: &str,
    ) -> Result<Vec<P::Item>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let query: Vec<(&str, &str)> =
                token.iter().map(|t| ("pageToken", t.as_str())).collect();
            let page: P = self.get(op, project, path, &query).await?;
            let (items, next) = page.into_parts();
            out.extend(items);
            match next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    // ---- instances ------------------------------------------------------------------

    /// `instances.get`.
    pub async fn get_instance(
        &self,
        project: &str,
        name: &str,
    ) -> Result<DatabaseInstance, ProviderError> {
        self.get(
            "get Cloud SQL instance",
            project,
            &format!("instances/{name}"),
            &[],
        )
        .await
    }

    /// `instances.insert`.
    pub async fn insert_instance(
        &self,
        project: &str,
        body: &DatabaseInstance,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, "instances");
        self.mutate(
            "insert Cloud SQL instance",
            reqwest::Method::POST,
            url,
            &[],
            Some(body),
        )
        .await
    }

    /// `instances.patch`: only the fields set in `body` change.
    pub async fn patch_instance(
        &self,
        project: &str,
        name: &str,
        body: &DatabaseInstance,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{name}"));
        self.mutate(
            "patch Cloud SQL instance",
            reqwest::Method::PATCH,
            url,
            &[],
            Some(body),
        )
        .await
    }

    /// `instances.delete`.
    pub async fn delete_instance(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{name}"));
        self.mutate::<()>(
            "delete Cloud SQL instance",
            reqwest::Method::DELETE,
            url,
            &[],
            None,
        )
        .await
    }

    /// `instances.list`, every page.
    pub async fn list_instances(
        &self,
        project: &str,
    ) -> Result<Vec<DatabaseInstance>, ProviderError> {
        self.list_all::<InstancesListResponse>("list Cloud SQL instances", project, "instances")
            .await
    }

    /// One page of `instances.list` of at most `max` instances (what preflight asks).
    pub async fn list_instances_page(
        &self,
        project: &str,
        max: u32,
    ) -> Result<InstancesListResponse, ProviderError> {
        let max = max.to_string();
        self.get(
            "list Cloud SQL instances",
            project,
            "instances",
            &[("maxResults", max.as_str())],
        )
        .await
    }

    // ---- databases ------------------------------------------------------------------

    /// `databases.get`.
    pub async fn get_database(
        &self,
        project: &str,
        instance: &str,
        name: &str,
    ) -> Result<Database, ProviderError> {
        let path = format!("instances/{instance}/databases/{name}");
        self.get("get Cloud SQL database", project, &path, &[])
            .await
    }

    /// `databases.insert`.
    pub async fn insert_database(
        &self,
        project: &str,
        instance: &str,
        body: &Database,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{instance}/databases"));
        self.mutate(
            "insert Cloud SQL database",
            reqwest::Method::POST,
            url,
            &[],
            Some(body),
        )
        .await
    }

    /// `databases.delete`.
    pub async fn delete_database(
        &self,
        project: &str,
        instance: &str,
        name: &str,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{instance}/databases/{name}"));
        self.mutate::<()>(
            "delete Cloud SQL database",
            reqwest::Method::DELETE,
            url,
            &[],
            None,
        )
        .await
    }

    // ---- users ----------------------------------------------------------------------

    /// `users.get`; `host`: MySQL's host part (`%`), none on PostgreSQL.
    pub async fn get_user(
        &self,
        project: &str,
        instance: &str,
        name: &str,
        host: Option<&str>,
    ) -> Result<User, ProviderError> {
        let path = format!("instances/{instance}/users/{name}");
        let query: Vec<(&str, &str)> = host.iter().map(|h| ("host", *h)).collect();
        self.get("get Cloud SQL user", project, &path, &query).await
    }

    /// `users.insert`.
    pub async fn insert_user(
        &self,
        project: &str,
        instance: &str,
        body: &User,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{instance}/users"));
        self.mutate(
            "insert Cloud SQL user",
            reqwest::Method::POST,
            url,
            &[],
            Some(body),
        )
        .await
    }

    /// `users.update` of the user `name` (`host` on MySQL), e.g. its password.
    pub async fn update_user(
        &self,
        project: &str,
        instance: &str,
        name: &str,
        host: Option<&str>,
        body: &User,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{instance}/users"));
        let mut query = vec![("name", name)];
        query.extend(host.map(|h| ("host", h)));
        self.mutate(
            "update Cloud SQL user",
            reqwest::Method::PUT,
            url,
            &query,
            Some(body),
        )
        .await
    }

    /// `users.delete` of the user `name` (`host` on MySQL).
    pub async fn delete_user(
        &self,
        project: &str,
        instance: &str,
        name: &str,
        host: Option<&str>,
    ) -> Result<Operation, ProviderError> {
        let url = self.url(project, &format!("instances/{instance}/users"));
        let mut query = vec![("name", name)];
        query.extend(host.map(|h| ("host", h)));
        self.mutate::<()>(
            "delete Cloud SQL user",
            reqwest::Method::DELETE,
            url,
            &query,
            None,
        )
        .await
    }

    // ---- operations -----------------------------------------------------------------

    /// `operations.get`.
    pub async fn get_operation(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Operation, ProviderError> {
        self.get(
            "get Cloud SQL operation",
            project,
            &format!("operations/{name}"),
            &[],
        )
        .await
    }
}
