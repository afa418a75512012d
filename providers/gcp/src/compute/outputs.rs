//! The abstract outputs of compute and cdn resources, the natives' discovery, and their
//! abstract views (`to_abstract`).

use overcast_core::catalog::{Cloud, catalog};
use overcast_core::discovery::{DiscoveredResource, DiscoveryFilter};
use overcast_core::provider::AbstractView;
use overcast_core::{Attrs, Kind, NativeState, ProviderError};
use serde_json::{Value, json};

use super::global::Global;
use super::{instance, labels_of, str_of};
use crate::config::Clients;

fn index_of(local: &str) -> Option<u64> {
    local
        .strip_prefix("instance[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// A compute resource's outputs: the first instance's id, name and address, every
/// instance's address, and the URL of the first port.
pub fn compute(natives: &[&NativeState]) -> Attrs {
    let mut instances: Vec<(u64, &NativeState)> = natives
        .iter()
        .filter(|n| !n.id.is_empty())
        .filter_map(|n| Some((index_of(&n.addr.local)?, *n)))
        .collect();
    instances.sort_by_key(|(i, _)| *i);
    let mut out = Attrs::new();
    let Some((_, first)) = instances.first() else {
        return out;
    };
    let address = |n: &NativeState| {
        n.outputs
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    out.insert("id".into(), json!(first.id));
    if let Some(name) = first.outputs.get("name") {
        out.insert("name".into(), name.clone());
    }
    out.insert("address".into(), json!(address(first)));
    let all: Vec<String> = instances.iter().map(|(_, n)| address(n)).collect();
    out.insert("addresses".into(), json!(all.join(",")));
    let port = natives
        .iter()
        .find(|n| n.addr.local == "firewall")
        .and_then(|n| n.inputs.get("ports")?.as_array()?.first()?.as_u64());
    if let Some(port) = port {
        out.insert(
            "url".into(),
            json!(format!("http://{}:{port}/", address(first))),
        );
    }
    out
}

/// A cdn's outputs: the forwarding rule's id, its address as the domain, and its URL.
pub fn cdn(natives: &[&NativeState]) -> Attrs {
    let mut out = Attrs::new();
    let Some(rule) = natives
        .iter()
        .find(|n| n.addr.local == "rule" && !n.id.is_empty())
    else {
        return out;
    };
    out.insert("id".into(), json!(rule.id));
    for k in ["domain", "url"] {
        if let Some(v) = rule.outputs.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    out
}

/// The discovery types of Compute resources, in the order listed.
pub const TYPES: &[(&str, Option<Global>)] = &[
    ("compute:instance", None),
    ("compute:firewall", Some(Global::Firewall)),
    ("compute:network", Some(Global::Network)),
    ("compute:backendBucket", Some(Global::BackendBucket)),
    ("compute:urlMap", Some(Global::UrlMap)),
    ("compute:targetHttpProxy", Some(Global::Proxy)),
    ("compute:forwardingRule", Some(Global::Rule)),
];

/// Every Compute resource `filter` wants: instances of the target's zone and the global
/// collections, each through every page, with the owner its labels (or description) carry,
/// its name, zone (`global` for the rest) and creation time.
pub async fn discover(
    c: &Clients,
    filter: &DiscoveryFilter,
) -> Result<Vec<DiscoveredResource>, ProviderError> {
    let cc = &c.compute;
    let mut out = Vec::new();
    for (ty, global) in TYPES {
        if !filter.wants(ty) {
            continue;
        }
        let items = match global {
            None => instance::list(cc).await?,
            Some(g) => g.list(cc).await?,
        };
        for live in items {
            let name = str_of(&live, "name");
            let id = match global {
                None => instance::id_of(
                    &cc.project,
                    super::last_segment(str_of(&live, "zone")),
                    name,
                ),
                Some(g) => format!("projects/{}/{}", cc.project, g.link(name)),
            };
            let tags = labels_of(&live);
            if filter.matches(&tags) {
                let location = match global {
                    None => super::last_segment(str_of(&live, "zone")),
                    Some(_) => "global",
                };
                let mut r =
                    DiscoveredResource::new(crate::discover::compute_arn(&id), *ty, id, tags)
                        .with_name(name)
                        .with_location(location);
                if let Some(t) = crate::discover::utc(str_of(&live, "creationTimestamp")) {
                    r = r.with_created(t);
                }
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// The abstract view of an instance (the first of its resource) or a cdn's backend bucket.
pub fn to_abstract(state: &NativeState) -> Option<AbstractView> {
    let i = &state.inputs;
    match state.type_name.as_str() {
        crate::expand::types::INSTANCE if index_of(&state.addr.local).unwrap_or(0) == 0 => {
            let mut props = serde_json::Map::new();
            let mut approximations = Vec::new();
            if let Some(mt) = i.get("machine_type").and_then(Value::as_str) {
                match catalog().size_of_machine(Cloud::Gcp, mt) {
                    Some(near) => {
                        props.insert(
                            "size".into(),
                            serde_json::to_value(near.value).unwrap_or(Value::Null),
                        );
                        if !near.fidelity.is_exact() {
                            approximations.push((
                                "size".to_string(),
                                format!("machine type `{mt}`: {}", near.fidelity),
                            ));
                        }
                    }
                    None => approximations.push((
                        "size".to_string(),
                        format!(
                            "machine type `{mt}` is not in the catalog: the default size is used"
                        ),
                    )),
                }
            }
            if let Some(img) = i.get("image").and_then(Value::as_str) {
                let name =
                    super::expand::catalog_image_of(img).map_or(img.to_string(), str::to_string);
                props.insert("image".into(), json!(name));
            }
            if let Some(s) = i
                .get("startup")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                props.insert("startup".into(), json!(s));
            }
            approximations.push((
                "count".to_string(),
                "each instance is seen alone: set `count` to the number of instances".to_string(),
            ));
            Some(AbstractView {
                kind: Kind::Compute,
                properties: props,
                approximations,
            })
        }
        crate::expand::types::BACKEND_BUCKET => {
            let mut props = serde_json::Map::new();
            if let Some(t) = i.get("cache_ttl").and_then(Value::as_u64) {
                props.insert("cache_ttl".into(), json!(t));
            }
            let bucket = i.get("bucket").and_then(Value::as_str).unwrap_or_default();
            props.insert("origin".into(), json!(bucket));
            Some(AbstractView {
                kind: Kind::Cdn,
                properties: props,
                approximations: vec![(
                    "origin".to_string(),
                    format!(
                        "bucket `{bucket}`: write the origin as `${{NAME}}` of its storage resource"
                    ),
                )],
            })
        }
        _ => None,
    }
}
