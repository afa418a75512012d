//! The [`Handler`]s of the Compute Engine native types: the instance, and one table per
//! global type (how its inputs become a body, how a live resource reads back as inputs,
//! what changes in place).

use async_trait::async_trait;
use overcast_core::native::{CreateRequest, Observed, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::{Attrs, ErrorClass, Kind, NativeState, ProviderError};
use serde_json::{Value, json};

use super::global::Global;
use super::{instance, last_segment, str_of};
use crate::config::Clients;
use crate::handlers::Handler;

fn obj(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

fn text<'a>(inputs: &'a Attrs, key: &str, ty: &str) -> Result<&'a str, ProviderError> {
    inputs.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::invalid(format!("{ty}: input `{key}` missing or not a string"))
    })
}

/// A Compute Engine VM.
pub(crate) struct InstanceHandler;

#[async_trait]
impl Handler for InstanceHandler {
    fn api(&self) -> &'static str {
        "compute"
    }
    fn kind(&self) -> Kind {
        Kind::Compute
    }
    fn discovered_as(&self) -> &'static str {
        "compute:instance"
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        let (zone, name) = instance::parse_id(&st.id)?;
        Ok(Some(instance::observed(
            &c.compute.project,
            &instance::get(&c.compute, &zone, &name).await?,
        )))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        instance::create(&c.compute, ctx, &req.inputs, &req.owner).await
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        instance::update(&c.compute, ctx, &prior.id, &prior.addr.to_string(), inputs).await
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        instance::delete(&c.compute, ctx, &prior.id).await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        instance::adopt(&c.compute, &req.inputs, &req.owner).await
    }
}

/// One global Compute type: its collection, kind, and how inputs and live resources map.
pub(crate) struct GlobalHandler {
    global: Global,
    type_name: &'static str,
    kind: Kind,
    discovered_as: &'static str,
    /// The insert body of resolved inputs (the owner is added by the caller).
    body: fn(&Attrs) -> Result<Value, ProviderError>,
    /// The inputs and outputs a live resource reports.
    observe: fn(&Value) -> (Value, Value),
    /// The patch that brings `live` to the inputs (`None`: nothing changes in place).
    patch: fn(&Attrs, &Value) -> Result<Option<Value>, ProviderError>,
}

fn no_patch(_: &Attrs, _: &Value) -> Result<Option<Value>, ProviderError> {
    Ok(None)
}

/// The target's network.
pub(crate) const NETWORK: GlobalHandler = GlobalHandler {
    global: Global::Network,
    type_name: crate::expand::types::NETWORK,
    kind: Kind::Target,
    discovered_as: "compute:network",
    body: |i| {
        Ok(json!({
            "name": text(i, "name", "gcp_compute_network")?,
            "autoCreateSubnetworks": i.get("auto_create_subnetworks").and_then(Value::as_bool).unwrap_or(true),
        }))
    },
    observe: |live| {
        (
            json!({"name": str_of(live, "name"), "auto_create_subnetworks": live.get("autoCreateSubnetworks").and_then(Value::as_bool).unwrap_or(false)}),
            json!({"self_link": str_of(live, "selfLink")}),
        )
    },
    patch: no_patch,
};

fn ports_of(i: &Attrs) -> Vec<String> {
    i.get("ports")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|p| p.to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn firewall_rules(i: &Attrs) -> Result<Value, ProviderError> {
    Ok(json!({
        "allowed": [{"IPProtocol": "tcp", "ports": ports_of(i)}],
        "targetTags": [text(i, "tag", "gcp_compute_firewall")?],
        "sourceRanges": ["0.0.0.0/0"],
    }))
}

/// A compute resource's firewall rule.
pub(crate) const FIREWALL: GlobalHandler = GlobalHandler {
    global: Global::Firewall,
    type_name: crate::expand::types::FIREWALL,
    kind: Kind::Compute,
    discovered_as: "compute:firewall",
    body: |i| {
        let mut b = firewall_rules(i)?;
        b["name"] = json!(text(i, "name", "gcp_compute_firewall")?);
        b["network"] = json!(format!(
            "global/networks/{}",
            text(i, "network", "gcp_compute_firewall")?
        ));
        b["direction"] = json!("INGRESS");
        Ok(b)
    },
    observe: |live| {
        let mut ports: Vec<u64> = live
            .pointer("/allowed/0/ports")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|p| p.as_str()?.parse().ok()).collect())
            .unwrap_or_default();
        ports.sort_unstable();
        (
            json!({
                "name": str_of(live, "name"),
                "network": last_segment(str_of(live, "network")),
                "ports": ports,
                "tag": live.pointer("/targetTags/0").and_then(Value::as_str).unwrap_or_default(),
            }),
            json!({}),
        )
    },
    patch: |i, live| {
        let want = firewall_rules(i)?;
        let same = want["allowed"] == live["allowed"] && want["targetTags"] == live["targetTags"];
        Ok((!same).then_some(want))
    },
};

fn cdn_policy(i: &Attrs) -> Value {
    let ttl = i.get("cache_ttl").and_then(Value::as_u64).unwrap_or(3600);
    json!({"cacheMode": "CACHE_ALL_STATIC", "defaultTtl": ttl, "maxTtl": ttl, "clientTtl": ttl})
}

/// A cdn's backend bucket (Cloud CDN on the origin bucket).
pub(crate) const BACKEND_BUCKET: GlobalHandler = GlobalHandler {
    global: Global::BackendBucket,
    type_name: crate::expand::types::BACKEND_BUCKET,
    kind: Kind::Cdn,
    discovered_as: "compute:backendBucket",
    body: |i| {
        Ok(json!({
            "name": text(i, "name", "gcp_compute_backend_bucket")?,
            "bucketName": text(i, "bucket", "gcp_compute_backend_bucket")?,
            "enableCdn": true,
            "cdnPolicy": cdn_policy(i),
        }))
    },
    observe: |live| {
        (
            json!({
                "name": str_of(live, "name"),
                "bucket": str_of(live, "bucketName"),
                "cache_ttl": live.pointer("/cdnPolicy/defaultTtl").and_then(Value::as_u64).unwrap_or(0),
            }),
            json!({"self_link": str_of(live, "selfLink")}),
        )
    },
    patch: |i, live| {
        let policy = cdn_policy(i);
        let bucket = text(i, "bucket", "gcp_compute_backend_bucket")?;
        let same = ["cacheMode", "defaultTtl", "maxTtl", "clientTtl"]
            .iter()
            .all(|k| live.pointer(&format!("/cdnPolicy/{k}")) == policy.get(*k))
            && str_of(live, "bucketName") == bucket
            && live.get("enableCdn") == Some(&json!(true));
        Ok((!same).then(|| json!({"bucketName": bucket, "enableCdn": true, "cdnPolicy": policy})))
    },
};

/// A cdn's URL map (everything to the backend bucket).
pub(crate) const URL_MAP: GlobalHandler = GlobalHandler {
    global: Global::UrlMap,
    type_name: crate::expand::types::URL_MAP,
    kind: Kind::Cdn,
    discovered_as: "compute:urlMap",
    body: |i| {
        Ok(json!({
            "name": text(i, "name", "gcp_compute_url_map")?,
            "defaultService": Global::BackendBucket.link(text(i, "backend", "gcp_compute_url_map")?),
        }))
    },
    observe: |live| {
        (
            json!({"name": str_of(live, "name"), "backend": last_segment(str_of(live, "defaultService"))}),
            json!({"self_link": str_of(live, "selfLink")}),
        )
    },
    patch: |i, live| {
        let backend = text(i, "backend", "gcp_compute_url_map")?;
        Ok((last_segment(str_of(live, "defaultService")) != backend).then(|| {
            json!({"defaultService": Global::BackendBucket.link(backend), "fingerprint": live.get("fingerprint")})
        }))
    },
};

/// A cdn's target HTTP proxy.
pub(crate) const HTTP_PROXY: GlobalHandler = GlobalHandler {
    global: Global::Proxy,
    type_name: crate::expand::types::HTTP_PROXY,
    kind: Kind::Cdn,
    discovered_as: "compute:targetHttpProxy",
    body: |i| {
        Ok(json!({
            "name": text(i, "name", "gcp_compute_target_http_proxy")?,
            "urlMap": Global::UrlMap.link(text(i, "url_map", "gcp_compute_target_http_proxy")?),
        }))
    },
    observe: |live| {
        (
            json!({"name": str_of(live, "name"), "url_map": last_segment(str_of(live, "urlMap"))}),
            json!({"self_link": str_of(live, "selfLink")}),
        )
    },
    patch: |i, live| {
        let map = text(i, "url_map", "gcp_compute_target_http_proxy")?;
        Ok((last_segment(str_of(live, "urlMap")) != map).then(
            || json!({"urlMap": Global::UrlMap.link(map), "fingerprint": live.get("fingerprint")}),
        ))
    },
};

fn port_of(range: &str) -> u64 {
    range
        .split('-')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// A cdn's global forwarding rule: the public address.
pub(crate) const FORWARDING_RULE: GlobalHandler = GlobalHandler {
    global: Global::Rule,
    type_name: crate::expand::types::FORWARDING_RULE,
    kind: Kind::Cdn,
    discovered_as: "compute:forwardingRule",
    body: |i| {
        let port = i.get("port").and_then(Value::as_u64).unwrap_or(80);
        Ok(json!({
            "name": text(i, "name", "gcp_compute_global_forwarding_rule")?,
            "target": Global::Proxy.link(text(i, "target", "gcp_compute_global_forwarding_rule")?),
            "portRange": port.to_string(),
            "IPProtocol": "TCP",
            "loadBalancingScheme": "EXTERNAL",
        }))
    },
    observe: |live| {
        let ip = str_of(live, "IPAddress");
        (
            json!({
                "name": str_of(live, "name"),
                "target": last_segment(str_of(live, "target")),
                "port": port_of(str_of(live, "portRange")),
            }),
            json!({"ip_address": ip, "domain": ip, "url": format!("http://{ip}/"), "self_link": str_of(live, "selfLink")}),
        )
    },
    // Its target and port force a replacement: nothing changes in place.
    patch: no_patch,
};

impl GlobalHandler {
    /// The native type this handler serves.
    pub(crate) fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn observed(&self, c: &Clients, live: &Value) -> Observed {
        let (inputs, outputs) = (self.observe)(live);
        let id = format!(
            "projects/{}/{}",
            c.compute.project,
            self.global.link(str_of(live, "name"))
        );
        Observed::new(id, obj(inputs), obj(outputs))
    }

    async fn live(&self, c: &Clients, id: &str) -> Result<Value, ProviderError> {
        self.global.get(&c.compute, last_segment(id)).await
    }

    fn owned(live: &Value, owner: &OwnerTags) -> bool {
        crate::labels::owned_by(&super::labels_of(live), owner)
    }
}

#[async_trait]
impl Handler for GlobalHandler {
    fn api(&self) -> &'static str {
        "compute"
    }
    fn kind(&self) -> Kind {
        self.kind
    }
    fn discovered_as(&self) -> &'static str {
        self.discovered_as
    }
    async fn read(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        st: &NativeState,
    ) -> Result<Option<Observed>, ProviderError> {
        Ok(Some(self.observed(c, &self.live(c, &st.id).await?)))
    }
    async fn create(
        &self,
        c: &Clients,
        ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Observed, ProviderError> {
        let mut body = (self.body)(&req.inputs)?;
        body["description"] = json!(super::owner_description(&req.owner));
        if self.global == Global::Rule {
            body["labels"] = json!(super::label_map(&req.owner));
        }
        let name = str_of(&body, "name").to_string();
        match self.global.insert(&c.compute, ctx, &body).await {
            Ok(()) => {}
            Err(e) if e.class == ErrorClass::Conflict => {
                let live = self
                    .global
                    .get(&c.compute, &name)
                    .await
                    .map_err(|e| super::in_flight(e, self.global.noun(), &name))?;
                if !Self::owned(&live, &req.owner) {
                    return Err(ProviderError::new(
                        ErrorClass::Conflict,
                        format!(
                            "{} `{name}` exists and overcast did not create it for `{}`",
                            self.global.noun(),
                            req.owner.resource
                        ),
                    )
                    .with_hint(format!("delete or rename that {}", self.global.noun())));
                }
            }
            Err(e) => return Err(e),
        }
        Ok(self.observed(c, &self.global.get(&c.compute, &name).await?))
    }
    async fn update(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
        inputs: &Attrs,
    ) -> Result<Observed, ProviderError> {
        let name = last_segment(&prior.id).to_string();
        // A fresh read each time: a fingerprint in the patch is the current one.
        let live = self.live(c, &prior.id).await?;
        if let Some(patch) = (self.patch)(inputs, &live)? {
            self.global.patch(&c.compute, ctx, &name, &patch).await?;
        }
        Ok(self.observed(c, &self.live(c, &prior.id).await?))
    }
    async fn delete(
        &self,
        c: &Clients,
        ctx: &OpContext,
        prior: &NativeState,
    ) -> Result<(), ProviderError> {
        self.global
            .delete(&c.compute, ctx, last_segment(&prior.id))
            .await
    }
    async fn adopt(
        &self,
        c: &Clients,
        _ctx: &OpContext,
        req: &CreateRequest,
    ) -> Result<Option<Observed>, ProviderError> {
        let name = text(&req.inputs, "name", self.type_name)?;
        let live = self.global.get(&c.compute, name).await?;
        Ok(Self::owned(&live, &req.owner).then(|| self.observed(c, &live)))
    }
}

/// Every handler of this module, by native type.
pub(crate) fn all() -> Vec<(&'static str, Box<dyn Handler>)> {
    let mut out: Vec<(&'static str, Box<dyn Handler>)> =
        vec![(crate::expand::types::INSTANCE, Box::new(InstanceHandler))];
    for h in [
        NETWORK,
        FIREWALL,
        BACKEND_BUCKET,
        URL_MAP,
        HTTP_PROXY,
        FORWARDING_RULE,
    ] {
        out.push((h.type_name(), Box::new(h)));
    }
    out
}
