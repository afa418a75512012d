//! The `cdn` kind on Azure: an Azure Front Door Standard profile (Microsoft.Cdn 2024-09-01)
//! in front of a storage resource's blob endpoint, or of a host or URL given literally.
//!
//! | native | what it is |
//! |---|---|
//! | `azure_cdn_profile` | the profile (sku `Standard_AzureFrontDoor`, location `global`, tagged) with its rule set `overcast` and the rule `cachettl` that sets the cache duration |
//! | `azure_cdn_endpoint` | the endpoint (`afdEndpoints`, global, tagged): its default domain `<name>-<hash>.z01.azurefd.net` is the cdn's `domain` |
//! | `azure_cdn_origin_group` | the origin group (load balancing, a HEAD probe of `/` over HTTPS) |
//! | `azure_cdn_origin` | the origin: the host (a storage account's `<account>.blob.core.windows.net`, or a machine's public IP), also sent as the Host header, and a machine's HTTP port |
//! | `azure_cdn_route` | the route `/*` of the endpoint's default domain to the origin group (HTTP redirected to HTTPS), fetching over HTTPS (a machine: HTTP), the rule set applied, and `originPath` `/<container>` for a storage origin |
//!
//! `cache_ttl`: Front Door Standard has no cache duration on a route (its
//! `cacheConfiguration` holds query-string and compression settings only); the published
//! API sets one through a rules-engine action, `RouteConfigurationOverride`, whose
//! `cacheConfiguration.cacheDuration` (`[d.]hh:mm:ss`, at most 365 days 23:59:59) overrides
//! whatever the origin says (`OverrideAlways`). A `cache_ttl` of 0 is the same action with no
//! cache configuration: Front Door then does not cache. The rule is the profile native's, so
//! a new `cache_ttl` updates the profile in place.
//!
//! Discovery finds the profile and the endpoint (both tagged with their owner; ARM lists
//! the endpoint, a tracked child type, with the resources of the group); the profile maps
//! back to the cdn, with its `cache_ttl`.
//!
//! In place: `cache_ttl` (the rule), the origin's host (its origin, a new origin path on the
//! route). Front Door refuses to delete the last origin of an origin group a route uses, so
//! a new host is never a delete-and-create. Nothing else an abstract property can change
//! forces a replacement: every name derives from the stack, target and resource.
//!
//! A compute origin is its first machine's public IP (`${<origin>.ip[0].address}`, also the
//! Host header) on the resource's first port (`${<origin>.nsg.ports}`, the origin's `ports`
//! input), fetched over plain HTTP (the route's `forwarding` `HttpOnly`) from the root. A
//! compute resource with no ports has no public IP: its plan fails on that reference.
//!
//! Not built: `default_object` (Front Door has no default document; a storage account's
//! static website has one).

mod endpoint;
mod origin;
mod profile;

use std::collections::BTreeMap;

use overcast_core::kinds::CdnProps;
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeSpec, NativeState, ProviderError};
use serde_json::{Map, Value, json};

use crate::expand::{Ctx, attrs, types};

pub use endpoint::{Endpoint, Route};
pub use origin::{Origin, OriginGroup};
pub use profile::Profile;

/// The pinned api-version of Microsoft.Cdn.
pub const API: &str = "2024-09-01";
/// The ARM type of a profile.
pub const PROFILE_TYPE: &str = "Microsoft.Cdn/profiles";
/// The ARM type of an endpoint: a child type, but a tracked (tagged) one, which ARM's
/// resource lists include.
pub const ENDPOINT_TYPE: &str = "Microsoft.Cdn/profiles/afdEndpoints";
/// The SKU of every profile: Front Door Standard.
pub const SKU: &str = "Standard_AzureFrontDoor";
/// The longest cache duration Front Door takes: 365 days, 23:59:59.
pub const MAX_TTL: u64 = 365 * 86_400 + 86_399;

/// The fixed names of a profile's children: one of each per profile, which is the cdn's own.
mod names {
    pub const ORIGIN_GROUP: &str = "origins";
    pub const ORIGIN: &str = "origin";
    pub const ROUTE: &str = "default";
    pub const RULE_SET: &str = "overcast";
    pub const RULE: &str = "cachettl";
}

/// Endpoint names: 2 to 46 letters, digits and hyphens; Front Door appends a hash to make
/// the default domain.
const ENDPOINT_MAX: usize = 46;
/// Profile names: up to 260 characters; kept to the length of a resource group's.
const PROFILE_MAX: usize = 90;

/// Where the content comes from: a host name and a path on it, and for a compute origin the
/// machine's ports (the first is the one Front Door fetches from, over plain HTTP).
#[derive(Debug, Clone, PartialEq)]
struct OriginAt {
    host: String,
    path: Option<String>,
    ports: Option<String>,
}

/// The origin of a cdn when it is a whole resource reference, with its kind.
fn whole_ref<'a>(s: &str, kinds: &'a BTreeMap<String, Kind>) -> Option<(&'a String, Kind)> {
    let name = overcast_core::refs::whole_resource_ref(s)?;
    kinds.get_key_value(name).map(|(n, k)| (n, *k))
}

/// The origin a cdn's `origin` names: a storage resource of the stack (its account's blob
/// host and its container), or a literal `https://host/path` or `host`.
fn origin_of(
    name: &str,
    p: &CdnProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<OriginAt, ProviderError> {
    match whole_ref(&p.origin, kinds) {
        Some((origin, Kind::Storage)) => Ok(OriginAt {
            host: format!("${{{origin}.account.name}}.blob.core.windows.net"),
            path: Some(format!("/${{{origin}.container.name}}")),
            ports: None,
        }),
        // The first machine's public IP, which only a compute resource with ports has: the
        // cdn's expansion sees the origin's kind, not its ports, so a machine without one
        // fails the plan on the reference (`no native `<origin>.ip[0]` exists`). The ports
        // are the security group's (sorted): the first is the origin's HTTP port.
        Some((origin, Kind::Compute)) => Ok(OriginAt {
            host: format!("${{{origin}.ip[0].address}}"),
            path: None,
            ports: Some(format!("${{{origin}.nsg.ports}}")),
        }),
        Some((origin, kind)) => Err(ProviderError::invalid(format!(
            "cdn `{name}`: origin `{origin}` is a {kind}; Front Door serves a storage or compute \
             origin, or a host"
        ))),
        None => literal_origin(&p.origin).ok_or_else(|| {
            ProviderError::invalid(format!(
                "cdn `{name}`: origin `{}` is neither a reference to a storage resource of the \
                 stack nor a host or URL",
                p.origin
            ))
            .with_hint(
                "write the origin as `${NAME}` of a storage resource, or as \
                 `https://HOST/PATH` (a blob container's URL is one)",
            )
        }),
    }
}

/// `https://host/path`, `http://host/path` or `host[/path]`, when the host is a DNS name.
fn literal_origin(s: &str) -> Option<OriginAt> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) => (h, p.trim_matches('/')),
        None => (rest, ""),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || host.len() > 253 || !labels.iter().all(|l| label_ok(l)) {
        return None;
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '$'))
    {
        return None;
    }
    Some(OriginAt {
        host: host.to_ascii_lowercase(),
        path: (!path.is_empty()).then(|| format!("/{path}")),
        ports: None,
    })
}

/// Expand a cdn resource into its natives.
pub fn expand(
    ctx: &Ctx<'_>,
    name: &str,
    p: &CdnProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let origin = origin_of(name, p, kinds)?;
    let profile = ctx.name(name, "", PROFILE_MAX);
    let endpoint = ctx.name(name, "", ENDPOINT_MAX);
    let mut origin_inputs = attrs(json!({
        "name": names::ORIGIN,
        "profile": profile,
        "origin_group": names::ORIGIN_GROUP,
        "host_name": origin.host,
        // Blob storage (and most web servers) answer for their own name only.
        "host_header": origin.host,
    }));
    let mut route_inputs = attrs(json!({
        "name": names::ROUTE,
        "profile": profile,
        "endpoint": endpoint,
        "origin_group_id": format!("${{{name}.origin_group.id}}"),
        "rule_set_id": format!("${{{name}.profile.rule_set_id}}"),
        "origin_path": origin.path,
    }));
    if let Some(ports) = &origin.ports {
        origin_inputs.insert("ports".into(), json!(ports));
        // A machine serves plain HTTP on its port (it has no certificate for its IP).
        route_inputs.insert("forwarding".into(), json!(endpoint::HTTP_ONLY));
    }
    Ok(vec![
        NativeSpec::new(
            "profile",
            types::CDN_PROFILE,
            attrs(json!({
                "name": profile,
                "sku": SKU,
                // Longer than Front Door keeps anything: its longest.
                "cache_ttl": p.cache_ttl.0.min(MAX_TTL),
            })),
        )
        // A profile cannot be renamed, and Standard becomes Premium by an upgrade action,
        // never by an update.
        .force_new(&["name", "sku"]),
        NativeSpec::new(
            "endpoint",
            types::CDN_ENDPOINT,
            attrs(json!({"name": endpoint, "profile": profile})),
        )
        .after("profile")
        .force_new(&["name", "profile"]),
        NativeSpec::new(
            "origin_group",
            types::CDN_ORIGIN_GROUP,
            attrs(json!({"name": names::ORIGIN_GROUP, "profile": profile})),
        )
        .after("profile")
        .force_new(&["name", "profile"]),
        NativeSpec::new("origin", types::CDN_ORIGIN, origin_inputs)
            .after("origin_group")
            .force_new(&["name", "profile", "origin_group"]),
        NativeSpec::new("route", types::CDN_ROUTE, route_inputs)
            .after("endpoint")
            // Front Door refuses a route whose origin group has no origin yet.
            .after("origin")
            .force_new(&["name", "profile", "endpoint"]),
    ])
}

/// A cache duration as Front Door writes it: `hh:mm:ss` under a day, `d.hh:mm:ss` above.
pub fn cache_duration(seconds: u64) -> String {
    let s = seconds.min(MAX_TTL);
    let (days, rest) = (s / 86_400, s % 86_400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if days == 0 {
        hms
    } else {
        format!("{days}.{hms}")
    }
}

/// Seconds of a Front Door cache duration (`[d.]hh:mm:ss`); `None` when it is not one.
pub fn duration_seconds(s: &str) -> Option<u64> {
    let (days, hms) = match s.split_once('.') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, s),
    };
    let parts: Vec<u64> = hms
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [h, m, sec] if *h < 24 && *m < 60 && *sec < 60 => {
            Some(days * 86_400 + h * 3600 + m * 60 + sec)
        }
        _ => None,
    }
}

/// The profile seen as the cdn it belongs to; the other natives are parts of it.
pub fn to_abstract(state: &NativeState) -> Option<AbstractView> {
    let mut properties = Map::new();
    if let Some(ttl) = state.inputs.get("cache_ttl").and_then(Value::as_u64) {
        properties.insert("cache_ttl".into(), json!(ttl));
    }
    Some(AbstractView {
        kind: Kind::Cdn,
        properties,
        approximations: vec![
            (
                "origin".to_string(),
                "the origin is the host of the profile's origin, not the resource it belongs to"
                    .to_string(),
            ),
            (
                "default_object".to_string(),
                "Front Door has no default object".to_string(),
            ),
        ],
    })
}

/// The part of an ARM id after `/<segment>/` (names compare case-insensitively in ARM).
pub(crate) fn name_after<'a>(id: &'a str, segment: &str) -> Option<&'a str> {
    let segs: Vec<&'a str> = id.split('/').collect();
    segs.iter()
        .position(|s| s.eq_ignore_ascii_case(segment))
        .and_then(|i| segs.get(i + 1).copied())
}

/// The recorded form of an id when the live one names the same resource (ARM ids compare
/// case-insensitively, and Front Door answers some in lower case).
pub(crate) fn recorded_id(recorded: Option<&Value>, live: Option<String>) -> Value {
    match (recorded.and_then(Value::as_str), live) {
        (Some(r), Some(l)) if r.eq_ignore_ascii_case(&l) => json!(r),
        (_, l) => json!(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::AbstractResource;
    use overcast_core::kinds::Properties;

    fn run(props: Value, refs: &[(&str, Kind)]) -> Result<Vec<NativeSpec>, ProviderError> {
        let res = AbstractResource {
            name: "edge".into(),
            properties: Properties::from_value(Kind::Cdn, props).expect("valid properties"),
            referenced_kinds: refs.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        };
        crate::expand::expand(
            &Ctx {
                subscription: "sub",
                stack: "shop",
                target: "azure",
                location: "westeurope",
            },
            &res,
        )
    }

    #[test]
    fn a_storage_origin_is_its_blob_host_and_container() {
        let n = run(
            json!({"origin": "${site}", "cache_ttl": 600}),
            &[("site", Kind::Storage)],
        )
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(
            locals,
            ["profile", "endpoint", "origin_group", "origin", "route"]
        );
        assert_eq!(n[0].inputs["cache_ttl"], 600);
        assert_eq!(n[0].inputs["sku"], SKU);
        let origin = &n[3].inputs;
        assert_eq!(
            origin["host_name"],
            "${site.account.name}.blob.core.windows.net"
        );
        assert_eq!(origin["host_header"], origin["host_name"]);
        let route = &n[4].inputs;
        assert_eq!(route["origin_path"], "/${site.container.name}");
        assert_eq!(route["origin_group_id"], "${edge.origin_group.id}");
        assert_eq!(route["rule_set_id"], "${edge.profile.rule_set_id}");
        assert_eq!(n[4].depends_on, ["endpoint", "origin"]);
        let endpoint = n[1].inputs["name"].as_str().expect("name");
        assert!(endpoint.len() <= ENDPOINT_MAX, "{endpoint}");
        // The host is the origin's to change in place: Front Door keeps the last origin of
        // a group a route uses.
        assert!(!n[3].force_new.contains(&"host_name".to_string()));
    }

    #[test]
    fn a_literal_origin_is_a_host_and_a_path_and_a_queue_is_refused() {
        let n = run(
            json!({"origin": "https://acct.blob.core.windows.net/site/"}),
            &[],
        )
        .expect("expand");
        assert_eq!(n[3].inputs["host_name"], "acct.blob.core.windows.net");
        assert_eq!(n[4].inputs["origin_path"], "/site");
        assert_eq!(n[0].inputs["cache_ttl"], 3600);
        let n = run(json!({"origin": "example.com"}), &[]).expect("expand");
        assert_eq!(n[4].inputs["origin_path"], Value::Null);
        assert!(!n[3].inputs.contains_key("ports"));
        assert!(!n[4].inputs.contains_key("forwarding"));
        let e = run(json!({"origin": "${jobs}"}), &[("jobs", Kind::Queue)]).unwrap_err();
        assert!(e.message.contains("queue"), "{}", e.message);
        for bad in ["${site.url}", "not a host", "https:///x", "-a.com"] {
            assert!(run(json!({"origin": bad}), &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_compute_origin_is_its_first_public_ip_on_its_first_port_over_http() {
        let n = run(
            json!({"origin": "${web}", "cache_ttl": 60}),
            &[("web", Kind::Compute)],
        )
        .expect("expand");
        let origin = &n[3].inputs;
        assert_eq!(origin["host_name"], "${web.ip[0].address}");
        assert_eq!(origin["host_header"], origin["host_name"]);
        assert_eq!(origin["ports"], "${web.nsg.ports}");
        let route = &n[4].inputs;
        assert_eq!(route["forwarding"], endpoint::HTTP_ONLY);
        assert_eq!(route["origin_path"], Value::Null);
        assert_eq!(n[4].depends_on, ["endpoint", "origin"]);
        assert!(!n[3].force_new.contains(&"ports".to_string()));
    }

    #[test]
    fn cache_durations_are_front_doors_and_bounded() {
        assert_eq!(cache_duration(0), "00:00:00");
        assert_eq!(cache_duration(3600), "01:00:00");
        assert_eq!(cache_duration(86_399), "23:59:59");
        assert_eq!(cache_duration(86_400), "1.00:00:00");
        assert_eq!(cache_duration(u64::MAX), "365.23:59:59");
        for s in [0, 59, 3600, 86_400, 90_061, MAX_TTL] {
            assert_eq!(duration_seconds(&cache_duration(s)), Some(s));
        }
        assert_eq!(duration_seconds("24:00:00"), None);
        assert_eq!(duration_seconds("1h"), None);
        let n = run(json!({"origin": "a.example.com", "cache_ttl": "400d"}), &[]).expect("expand");
        assert_eq!(n[0].inputs["cache_ttl"], MAX_TTL);
    }

    #[test]
    fn the_profile_maps_back_to_a_cdn_with_its_ttl() {
        let mut st = crate::handlers::read_state("id", &attrs(json!({"cache_ttl": 60})));
        st.type_name = types::CDN_PROFILE.into();
        let v = to_abstract(&st).expect("view");
        assert_eq!(v.kind, Kind::Cdn);
        assert_eq!(v.properties["cache_ttl"], 60);
        assert!(v.approximations.iter().any(|(p, _)| p == "origin"));
        assert_eq!(
            name_after(
                "/s/x/providers/Microsoft.Cdn/profiles/p1/afdEndpoints/e",
                "profiles"
            ),
            Some("p1")
        );
    }

    #[test]
    fn discovery_finds_profiles_and_endpoints_by_their_arm_types() {
        let found = |t: &str| crate::handlers::handler_of_arm_type(t).map(|(ty, _)| ty);
        assert_eq!(found("Microsoft.Cdn/profiles"), Some(types::CDN_PROFILE));
        assert_eq!(
            found("microsoft.cdn/profiles/afdendpoints"),
            Some(types::CDN_ENDPOINT)
        );
        assert!(crate::discover::TYPES.contains(&ENDPOINT_TYPE));
    }
}
