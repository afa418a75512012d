//! The `compute` kind on Azure against the ARM contract server (tests/azure_server), which
//! serves Microsoft.Network 2024-05-01 and Microsoft.Compute 2024-07-01 as Azure does where
//! overcast depends on it: bodies checked against the published schemas, references
//! between resources checked, and what is in use refused (`NicInUse`,
//! `InUseSubnetCannotBeDeleted`, `PublicIPAddressCannotBeDeleted`), OS disks made with
//! their machine and deleted with it only when asked to.
//!
//! The conformance suite on machines with ports and two instances (an in-place update of
//! size and ports, a replacement by image) and on one without ports; the `overcast` binary
//! through apply, a clean plan, an update, a replacement and a destroy that leaves the
//! target's resource group empty; and expand's refusal of images Azure does not publish.
//! Each test starts its own server (port 0, killed by PID on drop).
#![cfg(feature = "azure")]

mod common;

use common::TestStack;
use common::arm::{SUBSCRIPTION, call, rt};
use common::servers::{Server, start_azure_contract};
use overcast_core::conformance::{self, Case, Target};
use overcast_core::kinds::{Kind, Properties};
use overcast_core::native::{NativeSpec, OwnerTags};
use overcast_core::op::OpContext;
use overcast_core::provider::{AbstractResource, Provider, ProviderContext};
use serde_json::{Value, json};

const POLLS: u32 = 2;
/// ARM subscription ids are GUIDs (the contract server refuses anything else).
const RESOURCES_API: &str = "2022-09-01";
const COMPUTE_API: &str = "2024-07-01";

/// Every resource of a resource group as ARM lists it, through every page: (type, name).
fn group_resources(server: &Server, group: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut path = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/resources?api-version={RESOURCES_API}"
    );
    loop {
        let (status, page) = call(server, "GET", &path, None);
        assert_eq!(status, 200, "{page}");
        for item in page["value"].as_array().into_iter().flatten() {
            out.push((
                item["type"].as_str().unwrap_or_default().to_string(),
                item["name"].as_str().unwrap_or_default().to_string(),
            ));
        }
        match page["nextLink"].as_str() {
            Some(next) => path = next.to_string(),
            None => break,
        }
    }
    out.sort();
    out
}

fn count_of(resources: &[(String, String)], ty: &str) -> usize {
    resources
        .iter()
        .filter(|(t, _)| t.eq_ignore_ascii_case(ty))
        .count()
}

fn provider(server: &Server, stack: &str, extra: Value) -> overcast_azure::AzureProvider {
    let mut settings = json!({
        "subscription_id": SUBSCRIPTION,
        "location": "westeurope",
        "arm_endpoint": server.endpoint,
    });
    if let (Some(s), Some(e)) = (settings.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    overcast_azure::AzureProvider::new(ProviderContext {
        stack: stack.into(),
        target: "azure".into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: ".".into(),
        work_dir: ".".into(),
    })
    .expect("provider")
}

fn compute(name: &str, props: Value) -> AbstractResource {
    AbstractResource {
        name: name.into(),
        properties: Properties::from_value(Kind::Compute, props).expect("compute properties"),
        referenced_kinds: Default::default(),
    }
}

/// Create the target's own natives (its resource group, then its network) as the engine
/// does before any resource of the target; their states, in creation order.
async fn create_target_natives(
    p: &overcast_azure::AzureProvider,
    stack: &str,
) -> Vec<overcast_core::NativeState> {
    let mut states = Vec::new();
    for spec in p.expand_target().expect("target natives") {
        let NativeSpec {
            local,
            type_name,
            inputs,
            ..
        } = spec;
        let addr = overcast_core::NativeAddr::new("@azure", local);
        let req = overcast_core::native::CreateRequest {
            owner: OwnerTags {
                stack: stack.into(),
                target: "azure".into(),
                resource: addr.to_string(),
            },
            addr: addr.clone(),
            kind: Kind::Target,
            type_name: type_name.clone(),
            inputs: inputs.clone(),
            secrets: Default::default(),
        };
        let obs = p
            .create(&OpContext::detached("target"), &req)
            .await
            .unwrap_or_else(|e| panic!("create the target's {addr}: {}", e.to_report()));
        let mut st = overcast_core::NativeState::new(addr, Kind::Target, type_name, obs.id);
        st.inputs = inputs;
        st.outputs = obs.outputs;
        states.push(st);
    }
    states
}

#[test]
fn compute_passes_the_conformance_suite_on_the_arm_contract_server() {
    let server = start_azure_contract(POLLS);
    let web = json!({"size": "micro", "count": 2, "ports": [80, 443],
                     "startup": "#!/bin/sh\necho hello > /tmp/hello\n"});
    let cases = vec![
        Case::new("web", Kind::Compute, web.clone())
            .expect("case")
            // The machines' size and the security group's rules change in place.
            .with_update(json!({"size": "medium", "count": 2, "ports": [80, 8080],
                                "startup": web["startup"]}))
            .expect("update")
            // A machine's OS disk holds its image: a new image is a new machine.
            .with_replace(json!({"size": "medium", "count": 2, "ports": [80, 8080],
                                 "image": "debian-12", "startup": web["startup"]}))
            .expect("replace"),
        // No ports: no public IP, the machine's address is its NIC's.
        Case::new("quiet", Kind::Compute, json!({"cpu": 2, "memory_gb": 4}))
            .expect("case")
            // A new script is a new machine: Azure keeps customData for the machine's life.
            .with_replace(json!({"cpu": 2, "memory_gb": 4, "startup": "echo again"}))
            .expect("replace"),
    ];
    let (failures, left) = rt().block_on(async {
        let p = provider(&server, "conform", json!({}));
        // The engine expands the stack's resources before the target's natives: a
        // compute resource is what gives the target its network.
        p.expand(&compute("web", web.clone())).expect("expand");
        let target_states = create_target_natives(&p, "conform").await;
        assert_eq!(target_states.len(), 2, "the group and the network");
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
        // What the cases left in the group (nothing but the network, when each deleted
        // its machines, NICs, IPs and security groups, and the machines their disks).
        let group = p.group().to_string();
        let left = group_resources(&server, &group);
        // The network goes once nothing is in its subnet, then the group.
        let ctx = OpContext::detached("target");
        for st in target_states.iter().rev() {
            if let Err(e) = p.delete(&ctx, st).await {
                failures.push(format!("delete {}: {}", st.addr, e.to_report()));
            }
        }
        (failures, left)
    });
    assert!(
        failures.is_empty(),
        "compute fails the conformance suite on the ARM contract server:\n  {}\nserver:\n{}",
        failures.join("\n  "),
        server.output_tail()
    );
    assert_eq!(
        left,
        [(
            "Microsoft.Network/virtualNetworks".to_string(),
            overcast_azure::compute::expand::network_name("conform", "azure")
        )],
        "only the target's network is left after the cases"
    );
}

#[test]
fn a_stack_with_machines_applies_updates_replaces_and_destroys_to_an_empty_group() {
    let server = start_azure_contract(POLLS);
    // A group the target is given: it outlives the destroy, so what is left in it shows.
    let group = "rg-compute-given";
    let (status, body) = call(
        &server,
        "PUT",
        &format!(
            "/subscriptions/{SUBSCRIPTION}/resourcegroups/{group}?api-version={RESOURCES_API}"
        ),
        Some(&json!({"location": "westeurope"})),
    );
    assert!(status < 300, "{status} {body}");
    let stack = TestStack::yaml(&format!(
        "stack: vms\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    resource_group: {group}\n    arm_endpoint: {}\ndefault_target: azure\n\
         resources:\n  web:\n    kind: compute\n    size: micro\n    count: 2\n    ports: [80]\n    \
         startup: \"echo web\"\n  worker:\n    kind: compute\n    size: small\n    image: debian-12\n\
         outputs:\n  web_url: ${{web.url}}\n  web_addresses: ${{web.addresses}}\n  worker_address: ${{worker.address}}\n",
        server.endpoint
    ));
    stack.ok(&["apply", "--auto-approve"]);
    // Outputs from the natives: web's public IPs, worker's private address (no ports).
    let output = |name: &str| stack.ok(&["output", name]).stdout().trim().to_string();
    let url = output("web_url");
    assert!(
        url.starts_with("http://20.") && url.ends_with(":80/"),
        "web's URL is on its first public IP: {url}"
    );
    assert_eq!(output("web_addresses").split(',').count(), 2);
    assert!(
        output("worker_address").starts_with("10.0."),
        "worker has no public IP: {}",
        output("worker_address")
    );
    let live = group_resources(&server, group);
    for (ty, n) in [
        ("Microsoft.Network/virtualNetworks", 1),
        ("Microsoft.Network/networkSecurityGroups", 2),
        ("Microsoft.Network/publicIPAddresses", 2),
        ("Microsoft.Network/networkInterfaces", 3),
        ("Microsoft.Compute/virtualMachines", 3),
        ("Microsoft.Compute/disks", 3),
    ] {
        assert_eq!(count_of(&live, ty), n, "{ty} in {live:?}");
    }
    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a no-op plan:\n{}", plan.all());

    // In place: the size of web's machines and a port more; worker opens a port, so it
    // gets a public IP and its NIC takes it.
    stack.edit(
        "    size: micro\n    count: 2\n    ports: [80]\n",
        "    size: medium\n    count: 2\n    ports: [80, 443]\n",
    );
    stack.edit(
        "    image: debian-12\n",
        "    image: debian-12\n    ports: [22]\n",
    );
    let run = stack.ok(&["apply", "--auto-approve"]);
    let live = group_resources(&server, group);
    assert_eq!(
        count_of(&live, "Microsoft.Compute/virtualMachines"),
        3,
        "nothing replaced: {live:?}\n{}",
        run.all()
    );
    assert_eq!(
        count_of(&live, "Microsoft.Network/publicIPAddresses"),
        3,
        "{live:?}"
    );
    let vm_path = |name: &str| {
        format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}?api-version={COMPUTE_API}"
        )
    };
    let named = |part: &str, ty: &str| -> Vec<String> {
        group_resources(&server, group)
            .into_iter()
            .filter(|(t, n)| t == ty && n.contains(part))
            .map(|(_, n)| n)
            .collect()
    };
    let vms = named("-web-", "Microsoft.Compute/virtualMachines");
    assert_eq!(vms.len(), 2, "{vms:?}");
    for vm in &vms {
        let (_, live) = call(&server, "GET", &vm_path(vm), None);
        assert_eq!(
            live["properties"]["hardwareProfile"]["vmSize"], "Standard_B2ls_v2",
            "{live}"
        );
    }
    let nic = named("-worker-", "Microsoft.Network/networkInterfaces");
    let (_, live_nic) = call(
        &server,
        "GET",
        &format!(
            "/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Network/networkInterfaces/{}?api-version=2024-05-01",
            nic[0]
        ),
        None,
    );
    assert!(
        live_nic["properties"]["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"]
            .as_str()
            .is_some_and(|id| id.contains("-worker-ip0-")),
        "{live_nic}"
    );

    // A replacement: worker's image (its NIC stays and is attached to the new machine, the
    // old machine's disk goes with it). And web closes its ports: its NICs let go of their
    // public IPs before the IPs are deleted (ARM refuses to delete an IP on a NIC).
    stack.edit("    image: debian-12\n", "    image: ubuntu-22.04\n");
    stack.edit("    count: 2\n    ports: [80, 443]\n", "    count: 2\n");
    stack.ok(&["apply", "--auto-approve"]);
    let live = group_resources(&server, group);
    assert_eq!(count_of(&live, "Microsoft.Compute/disks"), 3, "{live:?}");
    assert_eq!(
        count_of(&live, "Microsoft.Network/publicIPAddresses"),
        1,
        "{live:?}"
    );
    let worker = named("-worker-", "Microsoft.Compute/virtualMachines");
    let (_, live_vm) = call(&server, "GET", &vm_path(&worker[0]), None);
    assert_eq!(
        live_vm["properties"]["storageProfile"]["imageReference"]["offer"],
        "0001-com-ubuntu-server-jammy",
        "{live_vm}"
    );
    assert_eq!(
        stack.run(&["plan", "--detailed-exitcode"]).code(),
        Some(0),
        "clean after the replacement"
    );

    // Destroy: machines first (with their disks), then NICs, then IPs and security groups,
    // the network last. Any other order is refused by the server (NicInUse,
    // PublicIPAddressCannotBeDeleted, InUseSubnetCannotBeDeleted).
    stack.ok(&["destroy", "--auto-approve"]);
    let left = group_resources(&server, group);
    assert!(left.is_empty(), "the group is empty: {left:?}");
}

#[test]
fn expand_refuses_images_azure_does_not_publish_and_images_it_cannot_read() {
    let server = start_azure_contract(POLLS);
    let p = provider(&server, "img", json!({}));
    let e = p
        .expand(&compute("al", json!({"image": "amazon-linux-2023"})))
        .expect_err("Amazon Linux is not on Azure");
    assert_eq!(e.class, overcast_core::ErrorClass::InvalidInput);
    assert!(
        e.message.contains("compute `al`")
            && e.message
                .contains("`amazon-linux-2023` is not published on Azure")
            && e.message.contains("EC2 only"),
        "{}",
        e.message
    );
    let e = p
        .expand(&compute("bad", json!({"image": "ami-0abcdef1234567890"})))
        .expect_err("an AMI id is no Azure image");
    assert!(
        e.message.contains("`ami-0abcdef1234567890`")
            && e.message
                .contains("neither a catalog image nor a Marketplace image URN"),
        "{}",
        e.message
    );
    let hint = e.hint.unwrap_or_default();
    assert!(
        hint.contains("ubuntu-24.04") && !hint.contains("amazon-linux"),
        "the hint lists the images Azure has: {hint}"
    );
    // And through the binary: the plan stops at expand, naming the resource.
    let stack = TestStack::yaml(&format!(
        "stack: img\ntargets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
         location: westeurope\n    arm_endpoint: {}\ndefault_target: azure\n\
         resources:\n  al:\n    kind: compute\n    size: small\n    image: amazon-linux-2023\n",
        server.endpoint
    ));
    let run = stack.run(&["plan"]);
    assert_ne!(run.code(), Some(0), "{}", run.all());
    assert!(
        run.all().contains("not published on Azure"),
        "{}",
        run.all()
    );
}
