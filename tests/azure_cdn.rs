//! The `cdn` kind on Azure (Front Door Standard) against the ARM contract-test server
//! (tests/azure_server, Microsoft.Cdn from the spec's afdx.json and cdn.json), whose
//! long-running operations answer two reads as still running.
//!
//! The conformance suite runs for a cdn over a blob container: the storage resource is
//! created first through the provider, as the engine does for a resource another refers
//! to, and the cdn's origin is that container's URL. One case updates the cache duration in
//! place, another moves the origin to another container in place (Front Door keeps the
//! last origin of a group a route uses, so a new host is never delete-and-create). Then the
//! `overcast` binary applies a stack whose cdn refers to its storage resource
//! (`origin: ${site}`), plans clean, updates `cache_ttl`, and destroys; and one whose cdn is
//! in front of a compute resource (`origin: ${api}`): the origin is the machine's public IP
//! on its port, fetched over HTTP. Each test starts its
//! own server (port 0, killed by PID on drop).
#![cfg(feature = "azure")]

mod common;

use std::collections::BTreeMap;

use common::TestStack;
use common::arm::{SUBSCRIPTION, call, rt, tagged};
use common::servers::{Server, start_azure_contract};
use overcast_core::conformance::{self, Case, Target};
use overcast_core::kinds::{Kind, Properties};
use overcast_core::native::{CreateRequest, NativeSpec, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::provider::{AbstractResource, Provider, ProviderContext};
use overcast_core::{NativeAddr, NativeState};
use serde_json::{Value, json};

const POLLS: u32 = 2;
/// ARM subscription ids are GUIDs (the contract server refuses anything else).
const CDN_API: &str = "2024-09-01";

/// GET an ARM resource of Microsoft.Cdn by id.
fn get_cdn(server: &Server, id: &str) -> Value {
    let (status, body) = call(server, "GET", &format!("{id}?api-version={CDN_API}"), None);
    assert_eq!(status, 200, "GET {id}: {body}");
    body
}

fn provider(server: &Server, stack: &str) -> overcast_azure::AzureProvider {
    let settings = json!({
        "subscription_id": SUBSCRIPTION,
        "location": "westeurope",
        "arm_endpoint": server.endpoint,
    });
    overcast_azure::AzureProvider::new(ProviderContext {
        stack: stack.into(),
        target: "azure".into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: ".".into(),
        work_dir: ".".into(),
    })
    .expect("provider")
}

/// Create the natives of `specs` in order as the engine would, owned by `resource`, each
/// one's `${resource.local.attr}` references resolved from those before it.
async fn create_natives(
    p: &overcast_azure::AzureProvider,
    stack: &str,
    resource: &str,
    kind: Kind,
    specs: Vec<NativeSpec>,
) -> Vec<NativeState> {
    let mut states: Vec<NativeState> = Vec::new();
    for spec in specs {
        let inputs =
            overcast_core::refs::resolve(&Value::Object(spec.inputs.clone()), &mut |r| -> Result<
                overcast_core::refs::Lookup,
                overcast_core::refs::RefError,
            > {
                let overcast_core::refs::Ref::Native {
                    resource: res,
                    local,
                    attr,
                } = r
                else {
                    panic!("{resource}: an unexpected reference {r}");
                };
                let st = states
                    .iter()
                    .find(|s| s.addr.resource == *res && s.addr.local == *local)
                    .unwrap_or_else(|| panic!("{r}: not created yet"));
                Ok(overcast_core::refs::Lookup::Known(
                    st.outputs
                        .get(attr)
                        .or_else(|| st.inputs.get(attr))
                        .cloned()
                        .unwrap_or(Value::Null),
                ))
            })
            .expect("resolve");
        let inputs = inputs.as_object().cloned().unwrap_or_default();
        let addr = NativeAddr::new(resource, spec.local.clone());
        let req = CreateRequest {
            owner: OwnerTags {
                stack: stack.into(),
                target: "azure".into(),
                resource: addr.to_string(),
            },
            addr: addr.clone(),
            kind,
            type_name: spec.type_name.clone(),
            inputs: inputs.clone(),
            secrets: p.generate_secrets(&spec.type_name),
        };
        let obs = p
            .create(&OpContext::detached("setup"), &req)
            .await
            .unwrap_or_else(|e| panic!("create {addr}: {}", e.message));
        let mut st = NativeState::new(addr, kind, &spec.type_name, obs.id);
        st.inputs = inputs;
        st.outputs = obs.outputs;
        states.push(st);
    }
    states
}

/// The target's resource group, then the natives of a storage resource `name`: the
/// referenced resource a cdn's origin is. Returns its container's URL.
async fn storage(p: &overcast_azure::AzureProvider, stack: &str, name: &str) -> String {
    let res = AbstractResource {
        name: name.into(),
        properties: Properties::from_value(Kind::Storage, json!({"public": true}))
            .expect("storage properties"),
        referenced_kinds: BTreeMap::new(),
    };
    let states = create_natives(
        p,
        stack,
        name,
        Kind::Storage,
        p.expand(&res).expect("expand storage"),
    )
    .await;
    states
        .iter()
        .find(|s| s.addr.local == "container")
        .and_then(|s| s.outputs.get("url"))
        .and_then(Value::as_str)
        .expect("the container's url")
        .to_string()
}

async fn target_group(p: &overcast_azure::AzureProvider, stack: &str) {
    create_natives(
        p,
        stack,
        "@azure",
        Kind::Target,
        p.expand_target().expect("target natives"),
    )
    .await;
}

#[test]
fn the_azure_provider_passes_the_conformance_suite_for_a_cdn_over_a_storage_origin() {
    let server = start_azure_contract(POLLS);
    let p = provider(&server, "conform");
    let failures = rt().block_on(async {
        target_group(&p, "conform").await;
        let site = storage(&p, "conform", "site").await;
        let other = storage(&p, "conform", "other").await;
        assert!(
            site.starts_with("https://") && site.contains(".blob.core.windows.net/"),
            "{site}"
        );
        let cases = vec![
            Case::new("edge", Kind::Cdn, json!({"origin": site, "cache_ttl": 600}))
                .expect("case")
                .with_update(json!({"origin": site, "cache_ttl": 60}))
                .expect("update"),
            // No caching, then another container of another account: the origin's host
            // and the route's origin path change in place.
            Case::new("edge2", Kind::Cdn, json!({"origin": site, "cache_ttl": 0}))
                .expect("case")
                .with_update(json!({"origin": other, "cache_ttl": 0}))
                .expect("update"),
        ];
        let target = Target {
            stack: "conform".into(),
            target: "azure".into(),
        };
        let mut failures = Vec::new();
        for case in &cases {
            if let Err(f) = conformance::check(&p, &target, case).await {
                failures.push(f.to_string());
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "the Azure provider fails the conformance suite for cdn on the ARM contract server:\n  {}\nserver:\n{}",
        failures.join("\n  "),
        server.output_tail()
    );
    // No origin was ever deleted while its route used it (the server would have refused),
    // and the suite's updates deleted nothing at all before the final clean-up.
    let (_, log) = call(&server, "GET", "/__contract/requests", None);
    let refused: Vec<&Value> = log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["status"] == 400)
        .collect();
    assert!(refused.is_empty(), "requests refused: {refused:?}");
}

/// A stack whose cdn is in front of a compute resource serving port 8080.
fn vm_spec(server: &Server) -> String {
    format!(
        "stack: cdnvm\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    arm_endpoint: {}\ndefault_target: azure\nresources:\n  \
         api:\n    kind: compute\n    size: micro\n    ports: [8080]\n  edge:\n    kind: cdn\n    \
         origin: ${{api}}\n    cache_ttl: 1m\noutputs:\n  address:\n    value: ${{api.address}}\n",
        server.endpoint
    )
}

#[test]
fn a_cdn_over_a_compute_resource_fetches_from_its_public_ip_and_port_over_http() {
    let server = start_azure_contract(POLLS);
    let stack = TestStack::yaml(&vm_spec(&server));
    stack.ok(&["apply", "--auto-approve"]);

    let ids = tagged(&server, "cdnvm");
    let ip_id = ids
        .iter()
        .find(|i| i.contains("/publicIPAddresses/"))
        .expect("the machine's public IP");
    let (status, ip) = call(
        &server,
        "GET",
        &format!("{ip_id}?api-version=2024-05-01"),
        None,
    );
    assert_eq!(status, 200, "{ip}");
    let address = ip["properties"]["ipAddress"]
        .as_str()
        .expect("an allocated address")
        .to_string();
    assert!(address.parse::<std::net::IpAddr>().is_ok(), "{address}");
    let profile = ids
        .iter()
        .find(|i| i.contains("/Microsoft.Cdn/profiles/"))
        .expect("the Front Door profile")
        .clone();

    // The origin is the machine's public IP (also the Host header) on its port.
    let origin = get_cdn(
        &server,
        &format!("{profile}/originGroups/origins/origins/origin"),
    );
    assert_eq!(origin["properties"]["hostName"], json!(address), "{origin}");
    assert_eq!(origin["properties"]["originHostHeader"], json!(address));
    assert_eq!(origin["properties"]["httpPort"], 8080, "{origin}");
    // The route fetches over plain HTTP from the machine's root.
    let (status, endpoints) = call(
        &server,
        "GET",
        &format!("{profile}/afdEndpoints?api-version={CDN_API}"),
        None,
    );
    assert_eq!(status, 200, "{endpoints}");
    let endpoint_id = endpoints["value"][0]["id"].as_str().expect("endpoint id");
    let route = get_cdn(&server, &format!("{endpoint_id}/routes/default"));
    assert_eq!(
        route["properties"]["forwardingProtocol"], "HttpOnly",
        "{route}"
    );
    assert!(route["properties"].get("originPath").is_none(), "{route}");
    let out = stack.ok(&["output", "address"]).stdout();
    assert_eq!(out.trim().trim_matches('"'), address);

    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a no-op plan:\n{}", plan.all());

    stack.ok(&["destroy", "--auto-approve"]);
    assert!(
        tagged(&server, "cdnvm").is_empty(),
        "nothing tagged is left"
    );
}

#[test]
fn a_cdn_over_a_compute_resource_without_ports_fails_its_plan_by_name() {
    let server = start_azure_contract(POLLS);
    let stack = TestStack::yaml(&vm_spec(&server).replace("    ports: [8080]\n", ""));
    let run = stack.run(&["plan"]);
    assert_ne!(run.code(), Some(0), "{}", run.all());
    assert!(run.all().contains("api.ip[0]"), "{}", run.all());
}

fn cli_spec(server: &Server, ttl: &str) -> String {
    format!(
        "stack: cdntest\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    arm_endpoint: {}\ndefault_target: azure\nresources:\n  \
         site:\n    kind: storage\n    public: true\n  edge:\n    kind: cdn\n    origin: ${{site}}\n    \
         cache_ttl: {ttl}\noutputs:\n  url:\n    value: ${{edge.url}}\n  domain:\n    value: ${{edge.domain}}\n",
        server.endpoint
    )
}

#[test]
fn a_cdn_over_the_stacks_storage_applies_plans_clean_updates_its_ttl_and_destroys() {
    let server = start_azure_contract(POLLS);
    let stack = TestStack::yaml(&cli_spec(&server, "5m"));
    stack.ok(&["apply", "--auto-approve"]);

    let ids = tagged(&server, "cdntest");
    let account = ids
        .iter()
        .find(|i| i.contains("/storageAccounts/"))
        .expect("the storage account");
    let profile = ids
        .iter()
        .find(|i| i.contains("/Microsoft.Cdn/profiles/"))
        .expect("the Front Door profile")
        .clone();
    let account_name = account.rsplit('/').next().unwrap_or_default();

    // The origin is the account's blob host; the route serves its container over HTTPS.
    let origin = get_cdn(
        &server,
        &format!("{profile}/originGroups/origins/origins/origin"),
    );
    assert_eq!(
        origin["properties"]["hostName"],
        json!(format!("{account_name}.blob.core.windows.net")),
        "{origin}"
    );
    assert_eq!(
        origin["properties"]["originHostHeader"],
        origin["properties"]["hostName"]
    );
    let (status, endpoints) = call(
        &server,
        "GET",
        &format!("{profile}/afdEndpoints?api-version={CDN_API}"),
        None,
    );
    assert_eq!(status, 200, "{endpoints}");
    let endpoint = &endpoints["value"][0];
    let host = endpoint["properties"]["hostName"]
        .as_str()
        .expect("the endpoint's host name")
        .to_string();
    assert!(host.ends_with(".z01.azurefd.net"), "{host}");
    let endpoint_id = endpoint["id"].as_str().expect("endpoint id");
    let route = get_cdn(&server, &format!("{endpoint_id}/routes/default"));
    // The storage resource's container, named as the provider names it.
    let container = overcast_core::names::name("cdntest", "azure", "site", "", 63);
    assert_eq!(
        route["properties"]["originPath"],
        json!(format!("/{container}")),
        "{route}"
    );
    assert_eq!(route["properties"]["httpsRedirect"], "Enabled", "{route}");
    let rule = get_cdn(
        &server,
        &format!("{profile}/ruleSets/overcast/rules/cachettl"),
    );
    assert_eq!(
        rule["properties"]["actions"][0]["parameters"]["cacheConfiguration"]["cacheDuration"],
        "00:05:00",
        "{rule}"
    );

    // The cdn's outputs are its endpoint's.
    let url = stack.ok(&["output", "url"]).stdout();
    assert_eq!(url.trim().trim_matches('"'), format!("https://{host}/"));
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a no-op plan:\n{}", plan.all());

    // A new cache duration is the profile's rule, in place.
    stack.edit("    cache_ttl: 5m\n", "    cache_ttl: 2d\n");
    stack.ok(&["apply", "--auto-approve"]);
    let rule = get_cdn(
        &server,
        &format!("{profile}/ruleSets/overcast/rules/cachettl"),
    );
    assert_eq!(
        rule["properties"]["actions"][0]["parameters"]["cacheConfiguration"]["cacheDuration"],
        "2.00:00:00",
        "{rule}"
    );
    assert_eq!(
        get_cdn(&server, &profile)["id"],
        json!(profile),
        "the same profile"
    );
    assert_eq!(stack.run(&["plan", "--detailed-exitcode"]).code(), Some(0));

    stack.ok(&["destroy", "--auto-approve"]);
    assert!(
        tagged(&server, "cdntest").is_empty(),
        "nothing tagged is left"
    );
}
