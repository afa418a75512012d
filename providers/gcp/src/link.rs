//! What each discovered resource uses ([`DiscoveredResource::uses`]), so a teardown deletes
//! users before what they use: the order Google enforces (a network, a backend bucket, a
//! URL map, a target proxy or a Cloud SQL primary is refused while something uses it) and
//! the order that leaves nothing half-wired (a subscription before its topic, a function
//! and a scheduler job before what triggers or is called, a backend bucket before its
//! bucket).
//!
//! The listings are read again, once per type present (discovery keeps no raw answers):
//! a handful of list calls, none per resource. Only edges between resources that were
//! found are recorded.

use std::collections::{BTreeSet, HashSet};

use overcast_core::ProviderError;
use overcast_core::discovery::DiscoveredResource;
use serde_json::Value;

use crate::compute::global::Global;
use crate::compute::{instance, str_of};
use crate::config::Clients;
use crate::discover::{SQL_INSTANCE, bucket_arn, compute_arn, function_arn, pubsub_arn, sql_arn};
use crate::{pubsub, scheduler};

/// A `(user, used)` pair of arns.
type Edge = (String, String);

/// The links of a live Compute resource that name what it uses.
type UsedLinks = fn(&Value) -> Vec<&str>;

/// Fill `uses` among `found`.
pub async fn link(c: &Clients, found: &mut [DiscoveredResource]) -> Result<(), ProviderError> {
    let present: HashSet<&str> = found.iter().map(|r| r.resource_type.as_str()).collect();
    let has = |ty: &str| present.contains(ty);
    let mut edges: Vec<Edge> = Vec::new();
    if has("pubsub:subscription") {
        edges.extend(subscription_edges(c).await?);
    }
    // Read once: a function's own edges, and the URLs scheduler jobs call.
    let functions = if has(crate::functions::DISCOVERED_AS) {
        crate::functions::function::list(c).await?
    } else {
        Vec::new()
    };
    for f in &functions {
        edges.extend(function_edges(f));
    }
    if has("scheduler:job") {
        edges.extend(job_edges(c, &functions).await?);
    }
    if has(SQL_INSTANCE) {
        for i in crate::sql::list_instances(c).await? {
            if let (Some(name), Some(master)) = (i.name.as_deref(), i.master()) {
                edges.push((sql_arn(&c.project, name), sql_arn(&c.project, master)));
            }
        }
    }
    edges.extend(compute_edges(c, &has).await?);
    apply(found, &edges);
    Ok(())
}

/// Record each edge whose both ends were found.
fn apply(found: &mut [DiscoveredResource], edges: &[Edge]) {
    let arns: BTreeSet<String> = found.iter().map(|r| r.arn.clone()).collect();
    for r in found.iter_mut() {
        for (user, used) in edges {
            if *user == r.arn && arns.contains(used) {
                r.add_use(used.clone());
            }
        }
    }
}

/// A subscription uses its topic and its dead-letter topic.
async fn subscription_edges(c: &Clients) -> Result<Vec<Edge>, ProviderError> {
    let mut out = Vec::new();
    for s in pubsub::list_subscriptions(c).await? {
        let me = pubsub_arn(&s.name);
        out.push((me.clone(), pubsub_arn(&s.topic)));
        if let Some(dl) = s.dead_letter_policy.as_ref()
            && !dl.dead_letter_topic.is_empty()
        {
            out.push((me, pubsub_arn(&dl.dead_letter_topic)));
        }
    }
    Ok(out)
}

/// A function uses its trigger's topic or bucket and the bucket its source is in (the
/// staging bucket of overcast's functions).
fn function_edges(f: &crate::sdk::functions::model::Function) -> Vec<Edge> {
    let me = function_arn(&f.name);
    let mut out = Vec::new();
    if let Some(t) = &f.event_trigger {
        if !t.pubsub_topic.is_empty() {
            out.push((me.clone(), pubsub_arn(&t.pubsub_topic)));
        }
        for filter in t.event_filters.iter().filter(|f| f.attribute == "bucket") {
            out.push((me.clone(), bucket_arn(&filter.value)));
        }
    }
    if let Some(s) = f
        .build_config
        .as_ref()
        .and_then(|b| b.source.as_ref())
        .and_then(|s| s.storage_source())
        .filter(|s| !s.bucket.is_empty())
    {
        out.push((me, bucket_arn(&s.bucket)));
    }
    out
}

/// A scheduler job uses the topic it publishes to, or the function whose URL it calls.
async fn job_edges(
    c: &Clients,
    functions: &[crate::sdk::functions::model::Function],
) -> Result<Vec<Edge>, ProviderError> {
    let mut out = Vec::new();
    for j in scheduler::jobs(c, scheduler::PAGE_SIZE).await? {
        let me = format!("//cloudscheduler.googleapis.com/{}", j.name);
        let (topic, uri) = scheduler::target_of(&j);
        if let Some(t) = topic {
            out.push((me.clone(), pubsub_arn(t)));
        }
        if let Some(uri) = uri {
            for f in functions.iter().filter(|f| calls(uri, f)) {
                out.push((me.clone(), function_arn(&f.name)));
            }
        }
    }
    Ok(out)
}

/// Whether `uri` is the URL of function `f` (its `url` or its service's `uri`, with any
/// path or query after it).
fn calls(uri: &str, f: &crate::sdk::functions::model::Function) -> bool {
    let service = f.service_config.as_ref().map(|s| s.uri.as_str());
    [Some(f.url.as_str()), service]
        .into_iter()
        .flatten()
        .filter(|u| !u.is_empty())
        .any(|u| {
            uri.strip_prefix(u.trim_end_matches('/'))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        })
}

/// The arn of a Compute link: a full URL (`https://.../compute/v1/projects/p/global/...`)
/// or a partial one (`global/networks/n`, relative to the project).
fn compute_ref(project: &str, link: &str) -> Option<String> {
    if link.is_empty() {
        return None;
    }
    let path = match link.find("projects/") {
        Some(at) => link[at..].to_string(),
        None => format!("projects/{project}/{}", link.trim_start_matches('/')),
    };
    Some(compute_arn(&path))
}

/// The services a URL map routes to: its default, each path matcher's default and each
/// path rule's (backend buckets here; backend services are not discovered, so an edge to
/// one is dropped).
fn url_map_services(m: &Value) -> Vec<&str> {
    let mut out = vec![str_of(m, "defaultService")];
    for pm in m["pathMatchers"].as_array().into_iter().flatten() {
        out.push(str_of(pm, "defaultService"));
        for rule in pm["pathRules"].as_array().into_iter().flatten() {
            out.push(str_of(rule, "service"));
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Compute's edges: instance -> network, firewall -> network, forwarding rule -> target
/// proxy -> URL map -> backend bucket -> bucket.
async fn compute_edges(
    c: &Clients,
    has: &impl Fn(&str) -> bool,
) -> Result<Vec<Edge>, ProviderError> {
    let cc = &c.compute;
    let p = cc.project.as_str();
    let mut out = Vec::new();
    let global_id = |g: Global, live: &Value| {
        compute_arn(&format!("projects/{p}/{}", g.link(str_of(live, "name"))))
    };
    if has("compute:instance") {
        for live in instance::list(cc).await? {
            let zone = crate::compute::last_segment(str_of(&live, "zone"));
            let me = compute_arn(&instance::id_of(p, zone, str_of(&live, "name")));
            for nic in live["networkInterfaces"].as_array().into_iter().flatten() {
                if let Some(net) = compute_ref(p, str_of(nic, "network")) {
                    out.push((me.clone(), net));
                }
            }
        }
    }
    // (type, collection, the fields that name what it uses)
    let globals: [(&str, Global, UsedLinks); 4] = [
        ("compute:firewall", Global::Firewall, |v| {
            vec![str_of(v, "network")]
        }),
        ("compute:urlMap", Global::UrlMap, url_map_services),
        ("compute:targetHttpProxy", Global::Proxy, |v| {
            vec![str_of(v, "urlMap")]
        }),
        ("compute:forwardingRule", Global::Rule, |v| {
            vec![str_of(v, "target")]
        }),
    ];
    for (ty, g, used) in globals {
        if !has(ty) {
            continue;
        }
        for live in g.list(cc).await? {
            let me = global_id(g, &live);
            for link in used(&live) {
                if let Some(arn) = compute_ref(p, link) {
                    out.push((me.clone(), arn));
                }
            }
        }
    }
    if has("compute:backendBucket") {
        for live in Global::BackendBucket.list(cc).await? {
            let bucket = str_of(&live, "bucketName");
            if !bucket.is_empty() {
                out.push((global_id(Global::BackendBucket, &live), bucket_arn(bucket)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn compute_links_become_arns_whatever_their_form() {
        let want = "//compute.googleapis.com/projects/p/global/networks/n";
        for link in [
            "https://compute.googleapis.com/compute/v1/projects/p/global/networks/n",
            "http://127.0.0.1:9/compute/v1/projects/p/global/networks/n",
            "projects/p/global/networks/n",
            "global/networks/n",
        ] {
            assert_eq!(compute_ref("p", link).as_deref(), Some(want), "{link}");
        }
        assert_eq!(compute_ref("p", ""), None);
    }

    #[test]
    fn a_url_map_uses_every_service_it_routes_to() {
        let m = json!({"defaultService": "global/backendBuckets/a", "pathMatchers": [
            {"defaultService": "global/backendBuckets/b",
             "pathRules": [{"paths": ["/x"], "service": "global/backendServices/c"}]}]});
        assert_eq!(
            url_map_services(&m),
            [
                "global/backendBuckets/a",
                "global/backendBuckets/b",
                "global/backendServices/c"
            ]
        );
    }

    #[test]
    fn only_edges_between_found_resources_are_kept() {
        let r = |arn: &str| DiscoveredResource::new(arn, "t", arn, BTreeMap::new());
        let mut found = vec![r("a"), r("b")];
        apply(
            &mut found,
            &[
                ("a".into(), "b".into()),
                ("a".into(), "gone".into()),
                ("a".into(), "b".into()),
                ("b".into(), "b".into()),
            ],
        );
        assert_eq!(found[0].uses, ["b"]);
        assert!(found[1].uses.is_empty());
    }

    #[test]
    fn a_job_calls_a_function_by_its_url() {
        let f = crate::sdk::functions::model::Function::new()
            .set_url("https://f-abc.a.run.app")
            .set_service_config(
                crate::sdk::functions::model::ServiceConfig::new().set_uri("http://h/__f/p/f"),
            );
        assert!(calls("https://f-abc.a.run.app", &f));
        assert!(calls("https://f-abc.a.run.app/run?x=1", &f));
        assert!(calls("http://h/__f/p/f", &f));
        assert!(!calls("http://h/__f/p/fx", &f));
        assert!(!calls("https://other", &f));
    }
}
