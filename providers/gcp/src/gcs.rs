//! Cloud Storage buckets through the JSON API (`storage/v1/b`).
//!
//! Why not google-cloud-storage's `StorageControl`: its bucket methods speak gRPC only
//! (`google.storage.v2.Storage`), which no local emulator serves (drongo and fake-gcs-server
//! serve the JSON API). The JSON API is Google's canonical bucket API too; the requests
//! carry a bearer token from google-cloud-auth (Application Default Credentials), or none
//! against an emulator.

use std::time::Duration;

use google_cloud_auth::credentials::AccessTokenCredentials;
use overcast_core::ProviderError;
use serde_json::Value;

/// The real service.
pub const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";

/// One request's time limit: bucket metadata calls answer in well under a second.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A JSON API client of one endpoint.
#[derive(Debug, Clone)]
pub struct Gcs {
    endpoint: String,
    pub(crate) http: reqwest::Client,
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

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/storage/v1/{path}", self.endpoint)
    }

    pub(crate) async fn send(
        &self,
        op: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Option<Value>, ProviderError> {
        let text = crate::rest::exchange(op, self.tokens.as_ref(), req).await?;
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use overcast_core::ErrorClass;

    /// A server on 127.0.0.1 that answers every request with `status` and `headers`, for
    /// as many requests as `answers`; its endpoint.
    fn canned(status: &'static str, headers: &'static str, answers: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(answers) {
                let Ok(mut s) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = r#"{"error": {"code": 0, "message": "canned"}}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        format!("http://127.0.0.1:{port}")
    }

    #[tokio::test]
    async fn throttling_carries_retry_after_and_failures_keep_their_class() {
        let gcs = Gcs::new(
            canned("429 Too Many Requests", "Retry-After: 2\r\n", 1),
            None,
        )
        .expect("client");
        let e = gcs.get("b").await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Throttled, "{}", e.message);
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        assert!(e.message.contains("canned"), "{}", e.message);

        let gcs = Gcs::new(canned("503 Service Unavailable", "", 1), None).expect("client");
        let e = gcs.get("b").await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Retryable);

        let gcs = Gcs::new(canned("412 Precondition Failed", "", 1), None).expect("client");
        let e = gcs
            .patch("b", &serde_json::json!({}), Some("3"))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Precondition);
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable_and_known_not_to_have_happened() {
        // A port nothing listens on: bound, then released.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind")
            .port();
        let gcs = Gcs::new(format!("http://127.0.0.1:{port}"), None).expect("client");
        let e = gcs
            .insert("p", &serde_json::json!({"name": "b"}))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Retryable);
        assert!(!e.outcome_unknown, "a refused connection sent nothing");
    }

    #[tokio::test]
    async fn a_connection_dropped_after_the_request_leaves_the_outcome_unknown() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            if let Some(Ok(mut s)) = listener.incoming().next() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                // Close without answering.
            }
        });
        let gcs = Gcs::new(format!("http://127.0.0.1:{port}"), None).expect("client");
        let e = gcs
            .insert("p", &serde_json::json!({"name": "b"}))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Retryable);
        assert!(e.outcome_unknown, "{}", e.message);
    }
}
