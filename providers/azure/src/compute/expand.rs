//! A compute resource (and the target's network) as Azure natives. Pure: names derive from
//! stack, target and resource, sizes and images from the catalog.

use overcast_core::catalog::{Cloud, Size, catalog};
use overcast_core::kinds::ComputeProps;
use overcast_core::{NativeAddr, NativeSpec, ProviderError};
use serde_json::{Value, json};

use crate::expand::{Ctx, attrs, locals, types};

/// The local name of the target's network (`@<target>.network`).
pub const NETWORK_LOCAL: &str = "network";
/// The one subnet of the target's network.
pub const SUBNET: &str = "default";
/// The network's address space.
pub const ADDRESS_SPACE: &str = "10.0.0.0/16";
/// The subnet's prefix: 16,384 addresses, room for many `count`s, and the rest of the
/// space left for subnets other kinds may need.
pub const SUBNET_PREFIX: &str = "10.0.0.0/18";
/// Every machine's administrator.
pub const ADMIN: &str = "overcast";
/// Azure decodes customData to at most 65,535 bytes.
pub const STARTUP_MAX: usize = 65_535;
/// A security group holds at most 1,000 rules.
pub const PORTS_MAX: usize = 1_000;
/// The priority of the first port's rule (the lowest Azure takes); the next get 101, ...
pub const FIRST_PRIORITY: u64 = 100;

/// The name of the target's network: the same for every resource of the stack and target
/// (names take up to 64 word characters, dots and hyphens).
pub fn network_name(stack: &str, target: &str) -> String {
    overcast_core::names::name(
        stack,
        target,
        &NativeAddr::target_resource(target),
        NETWORK_LOCAL,
        64,
    )
}

/// The target's network (see `Provider::expand_target`): after the target's own resource
/// group, when it has one.
pub fn target(stack: &str, target: &str, location: &str, own_group: bool) -> NativeSpec {
    let spec = NativeSpec::new(
        NETWORK_LOCAL,
        types::VNET,
        attrs(json!({
            "name": network_name(stack, target),
            "location": location,
            "address_space": ADDRESS_SPACE,
            "subnet": SUBNET,
            "subnet_prefix": SUBNET_PREFIX,
        })),
    )
    // The subnet and its prefix are put back in place when they drift; a network cannot
    // move or be renamed, and its NICs pin its address space.
    .force_new(&["name", "location", "address_space"]);
    if own_group {
        spec.after(locals::GROUP)
    } else {
        spec
    }
}

fn size_of(name: &str, p: &ComputeProps) -> Result<Size, ProviderError> {
    if let Some(s) = p.size {
        return Ok(s);
    }
    let cpu = p.cpu.unwrap_or(1);
    let mem = p.memory_gb.map_or(0, |g| (g * 1024.0).ceil() as u32);
    catalog().size_at_least(cpu, mem).ok_or_else(|| {
        let largest = catalog().size(Size::Xlarge);
        ProviderError::invalid(format!(
            "compute `{name}`: no size in the catalog has {cpu} vCPU and {mem} MiB"
        ))
        .with_hint(format!(
            "the largest size is xlarge ({} vCPU, {} GiB)",
            largest.vcpu,
            largest.memory_mib / 1024
        ))
    })
}

/// The four parts of a Marketplace image URN (`Publisher:Offer:Sku:Version`, as the Azure
/// CLI writes them).
pub fn urn_parts(urn: &str) -> Option<[&str; 4]> {
    let mut it = urn.split(':');
    let parts = [it.next()?, it.next()?, it.next()?, it.next()?];
    (it.next().is_none() && parts.iter().all(|p| !p.is_empty() && !p.contains('/')))
        .then_some(parts)
}

/// The URN of a catalog image on Azure (its latest version), or a URN given as is.
pub fn image_of(name: &str, image: &str) -> Result<String, ProviderError> {
    if let Some(row) = catalog().image(image) {
        return match row.azure.available() {
            Ok(a) => Ok(format!("{}:{}:{}:latest", a.publisher, a.offer, a.sku)),
            Err(why) => Err(ProviderError::invalid(format!(
                "compute `{name}`: image `{image}` is not published on Azure: {why}"
            ))),
        };
    }
    if urn_parts(image).is_some() {
        return Ok(image.to_string());
    }
    let names: Vec<&str> = catalog()
        .images()
        .iter()
        .filter(|i| i.azure.available().is_ok())
        .map(|i| i.name.as_str())
        .collect();
    Err(ProviderError::invalid(format!(
        "compute `{name}`: image `{image}` is neither a catalog image nor a Marketplace image \
         URN (PUBLISHER:OFFER:SKU:VERSION)"
    ))
    .with_hint(format!(
        "use one of {}, or a URN such as `Canonical:ubuntu-24_04-lts:server:latest`",
        names.join(", ")
    )))
}

/// The catalog name of an image URN, when it is a catalog image's latest version.
pub fn catalog_image_of(urn: &str) -> Option<&'static str> {
    let [publisher, offer, sku, version] = urn_parts(urn)?;
    if !version.eq_ignore_ascii_case("latest") {
        return None;
    }
    catalog().images().iter().find_map(|i| {
        let a = i.azure.available().ok()?;
        (a.publisher.eq_ignore_ascii_case(publisher)
            && a.offer.eq_ignore_ascii_case(offer)
            && a.sku.eq_ignore_ascii_case(sku))
        .then_some(i.name.as_str())
    })
}

/// A compute resource: its security group and, per instance, a public IP (with ports), a
/// NIC and the machine.
pub fn expand(
    ctx: &Ctx<'_>,
    name: &str,
    p: &ComputeProps,
) -> Result<Vec<NativeSpec>, ProviderError> {
    // A reference is checked once resolved, by Compute when the machine is made.
    let image = if p.image.contains("${") {
        p.image.clone()
    } else {
        image_of(name, &p.image)?
    };
    let size = catalog()
        .compute(Cloud::Azure, size_of(name, p)?)
        .name
        .clone();
    let startup = p.startup.clone().unwrap_or_default();
    if startup.len() > STARTUP_MAX {
        return Err(ProviderError::invalid(format!(
            "compute `{name}`: `startup` is {} bytes; Azure takes at most {STARTUP_MAX} bytes of custom data",
            startup.len()
        ))
        .with_hint("download the rest of the script from storage at boot"));
    }
    let mut ports = p.ports.clone();
    ports.sort_unstable();
    ports.dedup();
    if ports.len() > PORTS_MAX {
        return Err(ProviderError::invalid(format!(
            "compute `{name}`: {} ports; an Azure network security group holds at most {PORTS_MAX} rules",
            ports.len()
        )));
    }
    let network = network_name(ctx.stack, ctx.target);
    let nsg = ctx.name(name, "nsg", 80);
    let mut out = vec![
        NativeSpec::new(
            "nsg",
            types::NSG,
            attrs(json!({"name": nsg, "location": ctx.location, "ports": ports})),
        )
        .force_new(&["name", "location"]),
    ];
    for i in 0..p.count {
        let ip = (!ports.is_empty()).then(|| ctx.name(name, &format!("ip{i}"), 80));
        if let Some(ip) = &ip {
            out.push(
                NativeSpec::new(
                    format!("ip[{i}]"),
                    types::PUBLIC_IP,
                    attrs(json!({"name": ip, "location": ctx.location})),
                )
                .force_new(&["name", "location"]),
            );
        }
        let nic = ctx.name(name, &format!("nic{i}"), 80);
        let mut nic_spec = NativeSpec::new(
            format!("nic[{i}]"),
            types::NIC,
            attrs(json!({
                "name": nic,
                "location": ctx.location,
                "network": network,
                "subnet": SUBNET,
                "nsg": nsg,
                "public_ip": ip.as_ref().map_or(Value::Null, |n| json!(n)),
            })),
        )
        .after("nsg")
        // The security group and the public IP change in place; a NIC stays in its
        // network.
        .force_new(&["name", "location", "network", "subnet"]);
        if ip.is_some() {
            nic_spec = nic_spec.after(&format!("ip[{i}]"));
        }
        out.push(nic_spec);
        out.push(
            NativeSpec::new(
                format!("instance[{i}]"),
                types::VM,
                attrs(json!({
                    // A Linux host name: at most 64 characters.
                    "name": ctx.name(name, &format!("vm{i}"), 64),
                    "location": ctx.location,
                    "size": size,
                    "image": image,
                    "startup": startup,
                    "nic": nic,
                    "admin_username": ADMIN,
                })),
            )
            .after(&format!("nic[{i}]"))
            // Only the size changes in place: Azure keeps customData and the OS disk's
            // image for the life of the machine.
            .force_new(&[
                "name",
                "location",
                "image",
                "startup",
                "nic",
                "admin_username",
            ])
            .sensitive(&["password"]),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::kinds::{Kind, Properties};

    fn ctx() -> Ctx<'static> {
        Ctx {
            subscription: "sub",
            stack: "shop",
            target: "azure",
            location: "westeurope",
        }
    }

    fn props(v: Value) -> ComputeProps {
        match Properties::from_value(Kind::Compute, v).expect("props") {
            Properties::Compute(p) => p,
            _ => unreachable!("a compute resource"),
        }
    }

    #[test]
    fn a_compute_resource_is_a_security_group_and_per_instance_an_ip_a_nic_and_a_machine() {
        let n = expand(
            &ctx(),
            "web",
            &props(
                json!({"size": "micro", "count": 2, "ports": [443, 80, 80], "startup": "echo hi"}),
            ),
        )
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(
            locals,
            [
                "nsg",
                "ip[0]",
                "nic[0]",
                "instance[0]",
                "ip[1]",
                "nic[1]",
                "instance[1]"
            ]
        );
        assert_eq!(n[0].inputs["ports"], json!([80, 443]));
        let nic = &n[2].inputs;
        assert_eq!(nic["network"], json!(network_name("shop", "azure")));
        assert_eq!(nic["subnet"], SUBNET);
        assert_eq!(nic["nsg"], n[0].inputs["name"]);
        assert_eq!(nic["public_ip"], n[1].inputs["name"]);
        assert_eq!(n[2].depends_on, ["nsg", "ip[0]"]);
        let vm = &n[3].inputs;
        assert_eq!(vm["size"], "Standard_B2ts_v2");
        assert_eq!(vm["image"], "Canonical:ubuntu-24_04-lts:server:latest");
        assert_eq!(vm["startup"], "echo hi");
        assert_eq!(vm["nic"], nic["name"]);
        assert_eq!(vm["admin_username"], ADMIN);
        assert_eq!(n[3].depends_on, ["nic[0]"]);
        assert!(n[3].sensitive.contains(&"password".to_string()));
        assert!(n[3].force_new.contains(&"startup".to_string()));
        assert!(!n[3].force_new.contains(&"size".to_string()));
        assert_ne!(n[3].inputs["name"], n[6].inputs["name"]);
    }

    #[test]
    fn without_ports_there_are_no_public_ips_and_sizes_follow_cpu_and_memory() {
        let n = expand(&ctx(), "w", &props(json!({"cpu": 4, "memory_gb": 10}))).expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["nsg", "nic[0]", "instance[0]"]);
        assert_eq!(n[1].inputs["public_ip"], Value::Null);
        assert_eq!(n[1].depends_on, ["nsg"]);
        assert_eq!(n[2].inputs["size"], "Standard_B4s_v2");
        let e = expand(&ctx(), "w", &props(json!({"cpu": 64}))).unwrap_err();
        assert!(e.message.contains("64 vCPU"), "{}", e.message);
    }

    #[test]
    fn bad_and_unavailable_images_are_refused_by_name() {
        let e = expand(&ctx(), "w", &props(json!({"image": "amazon-linux-2023"}))).unwrap_err();
        assert!(
            e.message
                .contains("`amazon-linux-2023` is not published on Azure")
                && e.message.contains("EC2 only"),
            "{}",
            e.message
        );
        let e = expand(&ctx(), "w", &props(json!({"image": "windows-3.1"}))).unwrap_err();
        assert!(e.message.contains("`windows-3.1`"), "{}", e.message);
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("debian-12")),
            "{:?}",
            e.hint
        );
        let urn = "Canonical:ubuntu-24_04-lts:server:24.04.202501010";
        let n = expand(&ctx(), "w", &props(json!({"image": urn}))).expect("a URN");
        assert_eq!(n[2].inputs["image"], urn);
        assert_eq!(
            catalog_image_of("canonical:ubuntu-24_04-lts:server:latest"),
            Some("ubuntu-24.04")
        );
        assert_eq!(catalog_image_of(urn), None);
        assert_eq!(urn_parts("a:b:c"), None);
        assert_eq!(urn_parts("a:b::d"), None);
    }

    #[test]
    fn oversized_startup_scripts_are_refused() {
        let big = "x".repeat(STARTUP_MAX + 1);
        let e = expand(&ctx(), "w", &props(json!({"startup": big}))).unwrap_err();
        assert!(e.message.contains("custom data"), "{}", e.message);
    }

    #[test]
    fn the_target_network_follows_the_group_only_when_the_target_has_its_own() {
        let own = target("shop", "azure", "westeurope", true);
        assert_eq!(own.type_name, types::VNET);
        assert_eq!(own.depends_on, [locals::GROUP]);
        assert_eq!(own.inputs["subnet_prefix"], SUBNET_PREFIX);
        assert!(
            target("shop", "azure", "westeurope", false)
                .depends_on
                .is_empty()
        );
        assert_ne!(
            network_name("shop", "azure"),
            network_name("shop", "azure2")
        );
        assert!(network_name(&"x".repeat(80), "azure").len() <= 64);
    }
}
