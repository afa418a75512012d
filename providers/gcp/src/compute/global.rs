//! The global Compute resources overcast makes (networks, firewall rules and the load
//! balancer chain of a cdn): one set of calls over the crate's typed clients, bodies and
//! answers as JSON in Google's field names (the crate's models (de)serialize exactly
//! those), so each type is a table of fields rather than a copy of the same calls.

use google_cloud_compute_v1::model;
use google_cloud_gax::error::Error as GaxError;
use overcast_core::ProviderError;
use overcast_core::op::OpContext;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{Compute, err};
use super::{ops, request_id};

/// A global Compute collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// `networks`.
    Network,
    /// `firewalls`.
    Firewall,
    /// `backendBuckets`.
    BackendBucket,
    /// `urlMaps`.
    UrlMap,
    /// `targetHttpProxies`.
    Proxy,
    /// `globalForwardingRules`.
    Rule,
}

/// A JSON body as the crate's model (an error names the body's type).
fn model_of<T: DeserializeOwned>(body: &Value, what: &str) -> Result<T, ProviderError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        ProviderError::invalid(format!(
            "{what}: the request body does not fit the Compute model: {e}"
        ))
    })
}

fn to_json<T: Serialize>(r: Result<T, GaxError>) -> Result<Value, GaxError> {
    r.map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
}

impl Global {
    /// The collection's noun, for messages (`network`).
    pub fn noun(self) -> &'static str {
        match self {
            Global::Network => "network",
            Global::Firewall => "firewall rule",
            Global::BackendBucket => "backend bucket",
            Global::UrlMap => "URL map",
            Global::Proxy => "target HTTP proxy",
            Global::Rule => "forwarding rule",
        }
    }

    /// The collection in partial URLs (`global/<collection>/<name>`).
    pub fn collection(self) -> &'static str {
        match self {
            Global::Network => "networks",
            Global::Firewall => "firewalls",
            Global::BackendBucket => "backendBuckets",
            Global::UrlMap => "urlMaps",
            Global::Proxy => "targetHttpProxies",
            Global::Rule => "forwardingRules",
        }
    }

    /// The partial URL of `name` in this collection.
    pub fn link(self, name: &str) -> String {
        format!("global/{}/{name}", self.collection())
    }

    /// Read `name`.
    pub async fn get(self, c: &Compute, name: &str) -> Result<Value, ProviderError> {
        let p = &c.project;
        let r = match self {
            Global::Network => to_json(
                c.networks
                    .get()
                    .set_project(p)
                    .set_network(name)
                    .send()
                    .await,
            ),
            Global::Firewall => to_json(
                c.firewalls
                    .get()
                    .set_project(p)
                    .set_firewall(name)
                    .send()
                    .await,
            ),
            Global::BackendBucket => to_json(
                c.backend_buckets
                    .get()
                    .set_project(p)
                    .set_backend_bucket(name)
                    .send()
                    .await,
            ),
            Global::UrlMap => to_json(
                c.url_maps
                    .get()
                    .set_project(p)
                    .set_url_map(name)
                    .send()
                    .await,
            ),
            Global::Proxy => to_json(
                c.proxies
                    .get()
                    .set_project(p)
                    .set_target_http_proxy(name)
                    .send()
                    .await,
            ),
            Global::Rule => to_json(
                c.rules
                    .get()
                    .set_project(p)
                    .set_forwarding_rule(name)
                    .send()
                    .await,
            ),
        };
        r.map_err(|e| err(&format!("get {} `{name}`", self.noun()), e))
    }

    /// Insert `body` and wait for it.
    pub async fn insert(
        self,
        c: &Compute,
        ctx: &OpContext,
        body: &Value,
    ) -> Result<(), ProviderError> {
        let name = super::str_of(body, "name").to_string();
        let what = format!("insert {} `{name}`", self.noun());
        let rid = request_id(ctx, "insert", &self.link(&name), body);
        let p = &c.project;
        let r = match self {
            Global::Network => {
                c.networks
                    .insert()
                    .set_project(p)
                    .set_request_id(rid)
                    .set_body(model_of::<model::Network>(body, &what)?)
                    .send()
                    .await
            }
            Global::Firewall => {
                c.firewalls
                    .insert()
                    .set_project(p)
                    .set_request_id(rid)
                    .set_body(model_of::<model::Firewall>(body, &what)?)
                    .send()
                    .await
            }
            Global::BackendBucket => {
                c.backend_buckets
                    .insert()
                    .set_project(p)
                    .set_request_id(rid)
                    .set_body(model_of::<model::BackendBucket>(body, &what)?)
                    .send()
                    .await
            }
            Global::UrlMap => {
                c.url_maps
                    .insert()
                    .set_project(p)
                    .set_request_id(rid)
                    .set_body(model_of::<model::UrlMap>(body, &what)?)
                    .send()
                    .await
            }
            Global::Proxy => {
                c.proxies
                    .insert()
                    .set_project(p)
                    .set_request_id(rid)
                    .set_body(model_of::<model::TargetHttpProxy>(body, &what)?)
                    .send()
                    .await
            }
            Global::Rule => {
                c.rules
                    .insert()
                    .set_project(p)
                    .set_request_id(rid)
                    .set_body(model_of::<model::ForwardingRule>(body, &what)?)
                    .send()
                    .await
            }
        };
        let op = ops::json(r, &what)?;
        ops::wait(c, ctx, &what, op).await.map(|_| ())
    }

    /// Patch `name` with `body` (only the fields it holds change) and wait for it.
    pub async fn patch(
        self,
        c: &Compute,
        ctx: &OpContext,
        name: &str,
        body: &Value,
    ) -> Result<(), ProviderError> {
        let what = format!("patch {} `{name}`", self.noun());
        let rid = request_id(ctx, "patch", &self.link(name), body);
        let p = &c.project;
        let r = match self {
            Global::Network => {
                return Err(ProviderError::invalid(format!(
                    "{what}: a network is not changed in place by overcast"
                )));
            }
            Global::Firewall => {
                c.firewalls
                    .patch()
                    .set_project(p)
                    .set_firewall(name)
                    .set_request_id(rid)
                    .set_body(model_of::<model::Firewall>(body, &what)?)
                    .send()
                    .await
            }
            Global::BackendBucket => {
                c.backend_buckets
                    .patch()
                    .set_project(p)
                    .set_backend_bucket(name)
                    .set_request_id(rid)
                    .set_body(model_of::<model::BackendBucket>(body, &what)?)
                    .send()
                    .await
            }
            Global::UrlMap => {
                c.url_maps
                    .patch()
                    .set_project(p)
                    .set_url_map(name)
                    .set_request_id(rid)
                    .set_body(model_of::<model::UrlMap>(body, &what)?)
                    .send()
                    .await
            }
            Global::Proxy => {
                c.proxies
                    .patch()
                    .set_project(p)
                    .set_target_http_proxy(name)
                    .set_request_id(rid)
                    .set_body(model_of::<model::TargetHttpProxy>(body, &what)?)
                    .send()
                    .await
            }
            Global::Rule => {
                c.rules
                    .patch()
                    .set_project(p)
                    .set_forwarding_rule(name)
                    .set_request_id(rid)
                    .set_body(model_of::<model::ForwardingRule>(body, &what)?)
                    .send()
                    .await
            }
        };
        let op = ops::json(r, &what)?;
        ops::wait(c, ctx, &what, op).await.map(|_| ())
    }

    /// Delete `name` and wait for it. Still in use: a conflict naming the user.
    pub async fn delete(
        self,
        c: &Compute,
        ctx: &OpContext,
        name: &str,
    ) -> Result<(), ProviderError> {
        let what = format!("delete {} `{name}`", self.noun());
        // The numeric id in the `requestId`: a retry deletes this resource, never a later
        // one of the same name.
        let live = self.get(c, name).await?;
        let rid = request_id(ctx, "delete", &self.link(name), &live.get("id"));
        let p = &c.project;
        let r = match self {
            Global::Network => {
                c.networks
                    .delete()
                    .set_project(p)
                    .set_network(name)
                    .set_request_id(rid)
                    .send()
                    .await
            }
            Global::Firewall => {
                c.firewalls
                    .delete()
                    .set_project(p)
                    .set_firewall(name)
                    .set_request_id(rid)
                    .send()
                    .await
            }
            Global::BackendBucket => {
                c.backend_buckets
                    .delete()
                    .set_project(p)
                    .set_backend_bucket(name)
                    .set_request_id(rid)
                    .send()
                    .await
            }
            Global::UrlMap => {
                c.url_maps
                    .delete()
                    .set_project(p)
                    .set_url_map(name)
                    .set_request_id(rid)
                    .send()
                    .await
            }
            Global::Proxy => {
                c.proxies
                    .delete()
                    .set_project(p)
                    .set_target_http_proxy(name)
                    .set_request_id(rid)
                    .send()
                    .await
            }
            Global::Rule => {
                c.rules
                    .delete()
                    .set_project(p)
                    .set_forwarding_rule(name)
                    .set_request_id(rid)
                    .send()
                    .await
            }
        };
        let op = ops::json(r, &what)?;
        ops::wait(c, ctx, &what, op).await.map(|_| ())
    }

    /// Every resource of the collection, through every page.
    pub async fn list(self, c: &Compute) -> Result<Vec<Value>, ProviderError> {
        let what = format!("list {}s", self.noun());
        let p = &c.project;
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let r = match self {
                Global::Network => to_json(
                    c.networks
                        .list()
                        .set_project(p)
                        .set_page_token(&token)
                        .send()
                        .await,
                ),
                Global::Firewall => to_json(
                    c.firewalls
                        .list()
                        .set_project(p)
                        .set_page_token(&token)
                        .send()
                        .await,
                ),
                Global::BackendBucket => to_json(
                    c.backend_buckets
                        .list()
                        .set_project(p)
                        .set_page_token(&token)
                        .send()
                        .await,
                ),
                Global::UrlMap => to_json(
                    c.url_maps
                        .list()
                        .set_project(p)
                        .set_page_token(&token)
                        .send()
                        .await,
                ),
                Global::Proxy => to_json(
                    c.proxies
                        .list()
                        .set_project(p)
                        .set_page_token(&token)
                        .send()
                        .await,
                ),
                Global::Rule => to_json(
                    c.rules
                        .list()
                        .set_project(p)
                        .set_page_token(&token)
                        .send()
                        .await,
                ),
            };
            let page = r.map_err(|e| err(&what, e))?;
            if let Some(items) = page.get("items").and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match page.get("nextPageToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => return Ok(out),
            }
        }
    }
}
