//! Cloud Storage buckets through the JSON API (`storage/v1/b`).
//!
//! Why not google-cloud-storage's `StorageControl`: its bucket methods speak gRPC only
//! (`google.storage.v2.Storage`), which no local emulator serves (drongo and fake-gcs-server
//! serve the JSON API). The JSON API is Google's canonical bucket API too; the requests
//! carry a bearer token from google-cloud-auth (Application Default Credentials), or none
//! against an emulator.

use std::time::Duration;

use google_cloud_auth::credentials::AccessTokenCredentials;
use overcast_core::{ErrorClass, ProviderError};
use serde_json::Value;

use crate::errors;

/// The real service.
pub const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";

/// One request's time limit: bucket metadata calls answer in well under a second.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A JSON API client of one endpoint.
#[derive(Debug, Clone)]
pub struct Gcs {
    endpoint: String,
    http: reqwest::Client,
    tokens: Option<AccessTokenCredentials>,
}

impl Gcs {
    /// A client of `endpoint`; `tokens`: the credentials, `None` for an emulator.
    pub fn new(
        endpoint: String,
        tokens: Option<AccessTokenCredentials>,
    ) -> Result<Gcs, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ProviderError::fatal(format!("cannot build an HTTP client: {e}")))?;
        Ok(Gcs {
            endpoint,
            http,
            tokens,
        })
    }

    /// The endpoint (bucket URLs are built on it).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn url(&self, path: &str) -> String {
        format!("{}/storage/v1/{path}", self.endpoint)
    }

    async fn send(
        &self,
        op: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Option<Value>, ProviderError> {
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
            return Ok(None);
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ProviderError::fatal(format!("{op}: unreadable answer: {e}")))
    }

    /// Create a bucket (`body` is a bucket resource).
    pub async fn insert(&self, project: &str, body: &Value) -> Result<Value, ProviderError> {
        let req = self
            .http
            .post(self.url("b"))
            .query(&[("project", project)])
            .json(body);
        self.send("insert bucket", req)
            .await?
            .ok_or_else(|| ProviderError::fatal("insert bucket: empty answer"))
    }

    /// A bucket's metadata.
    pub async fn get(&self, name: &str) -> Result<Value, ProviderError> {
        let req = self.http.get(self.url(&format!("b/{name}")));
        self.send("get bucket", req)
            .await?
            .ok_or_else(|| ProviderError::fatal("get bucket: empty answer"))
    }

    /// Change the fields of `body`, if the bucket is still at `metageneration` (a
    /// concurrent change fails with 412 and is retried after a re-read).
    pub async fn patch(
        &self,
        name: &str,
        body: &Value,
        metageneration: Option<&str>,
    ) -> Result<Value, ProviderError> {
        let mut req = self.http.patch(self.url(&format!("b/{name}"))).json(body);
        if let Some(m) = metageneration {
            req = req.query(&[("ifMetagenerationMatch", m)]);
        }
        self.send("patch bucket", req)
            .await?
            .ok_or_else(|| ProviderError::fatal("patch bucket: empty answer"))
    }

    /// Delete an (empty) bucket.
    pub async fn delete(&self, name: &str) -> Result<(), ProviderError> {
        let req = self.http.delete(self.url(&format!("b/{name}")));
        self.send("delete bucket", req).await.map(|_| ())
    }

    /// Every bucket of the project, page by page.
    pub async fn list(&self, project: &str) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.http.get(self.url("b")).query(&[("project", project)]);
            if let Some(t) = &token {
                req = req.query(&[("pageToken", t.as_str())]);
            }
            let page = self.send("list buckets", req).await?.unwrap_or(Value::Null);
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

impl Gcs {
    /// A bucket's IAM policy.
    pub async fn get_iam(&self, name: &str) -> Result<Value, ProviderError> {
        let req = self.http.get(self.url(&format!("b/{name}/iam")));
        Ok(self
            .send("get bucket IAM policy", req)
            .await?
            .unwrap_or_else(|| serde_json::json!({})))
    }

    /// Replace a bucket's IAM policy (its `etag` guards against a concurrent change).
    pub async fn set_iam(&self, name: &str, policy: &Value) -> Result<(), ProviderError> {
        let req = self
            .http
            .put(self.url(&format!("b/{name}/iam")))
            .json(policy);
        self.send("set bucket IAM policy", req).await.map(|_| ())
    }
}

impl Gcs {
    /// One page of the project's buckets (preflight: the endpoint answers and accepts
    /// the credentials).
    pub async fn list_page(&self, project: &str) -> Result<(), ProviderError> {
        let req = self
            .http
            .get(self.url("b"))
            .query(&[("project", project), ("maxResults", "1")]);
        self.send("list buckets", req).await.map(|_| ())
    }
}
