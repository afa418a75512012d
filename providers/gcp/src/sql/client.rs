//! Cloud SQL Admin v1 over its REST API (`/v1/projects/{project}/instances/...`), with the
//! same bearer-token and error handling as the Cloud Storage JSON API client.
//!
//! Why not google-cloud-sql-v1: this first slice keeps the Cloud SQL calls to one small
//! typed surface (instances, databases, users, operations) on the HTTP stack the provider
//! already has; the resource bodies are Google's `DatabaseInstance`, `Database`, `User`
//! and `Operation`, which the contract server validates against the discovery document.

use std::time::Duration;

use google_cloud_auth::credentials::AccessTokenCredentials;
use overcast_core::{ErrorClass, ProviderError};
use serde_json::Value;

use crate::errors;

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

    async fn send(&self, op: &str, req: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let req = match &self.tokens {
            Some(t) => {
                let token = t.access_token().await.map_err(|e| {
                    ProviderError::new(
                        ErrorClass::Auth,
                        format!("{op}: no access token from Application Default Credentials: {e}"),
                    )
                })?;
                req.bearer_auth(token.token)
            }
            None => req,
        };
        let resp = req
            .send()
            .await
            .map_err(|e| errors::transport(op, &e, true))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp
            .text()
            .await
            .map_err(|e| errors::transport(op, &e, true))?;
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(errors::http(op, status, &message, retry_after.as_deref()));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .map_err(|e| ProviderError::fatal(format!("{op}: unreadable answer: {e}")))
    }

    /// GET `path` under the project.
    pub async fn get(&self, op: &str, project: &str, path: &str) -> Result<Value, ProviderError> {
        self.send(op, self.http.get(self.url(project, path))).await
    }

    /// GET `path` with query parameters.
    pub async fn get_query(
        &self,
        op: &str,
        project: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ProviderError> {
        self.send(op, self.http.get(self.url(project, path)).query(query))
            .await
    }

    /// POST `body` to `path`: an operation comes back.
    pub async fn post(
        &self,
        op: &str,
        project: &str,
        path: &str,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        self.send(op, self.http.post(self.url(project, path)).json(body))
            .await
    }

    /// PATCH `path` with `body`: an operation comes back.
    pub async fn patch(
        &self,
        op: &str,
        project: &str,
        path: &str,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        self.send(op, self.http.patch(self.url(project, path)).json(body))
            .await
    }

    /// PUT `path` with `body` and query parameters: an operation comes back.
    pub async fn put_query(
        &self,
        op: &str,
        project: &str,
        path: &str,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Value, ProviderError> {
        self.send(
            op,
            self.http
                .put(self.url(project, path))
                .query(query)
                .json(body),
        )
        .await
    }

    /// DELETE `path` with query parameters: an operation comes back.
    pub async fn delete_query(
        &self,
        op: &str,
        project: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ProviderError> {
        self.send(op, self.http.delete(self.url(project, path)).query(query))
            .await
    }

    /// Every item of a paginated list (`items`, `nextPageToken`).
    pub async fn list_all(
        &self,
        op: &str,
        project: &str,
        path: &str,
    ) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.http.get(self.url(project, path));
            if let Some(t) = &token {
                req = req.query(&[("pageToken", t.as_str())]);
            }
            let page = self.send(op, req).await?;
            if let Some(items) = page["items"].as_array() {
                out.extend(items.iter().cloned());
            }
            match page["nextPageToken"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }
}
