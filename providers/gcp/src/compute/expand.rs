//! The Compute Engine natives of the compute and cdn kinds, and the target's network.
//!
//! | kind | natives |
//! |---|---|
//! | (target) | `gcp_compute_network` at `@<target>.network` (auto-mode VPC of the stack and target) |
//! | compute | `gcp_compute_instance` x `count` on the target network, `gcp_compute_firewall` for `ports` |
//! | cdn (storage origin) | `gcp_compute_backend_bucket` (Cloud CDN on the origin bucket) -> `gcp_compute_url_map` -> `gcp_compute_target_http_proxy` -> `gcp_compute_global_forwarding_rule` (port 80) |

use std::collections::BTreeMap;

use overcast_core::catalog::{Cloud, Size, catalog};
use overcast_core::kinds::{CdnProps, ComputeProps};
use overcast_core::{Kind, NativeAddr, NativeSpec, ProviderError};
use serde_json::json;

use crate::expand::{Ctx, attrs, types};

/// The local name of the target's network (`@<target>.network`).
pub const NETWORK_LOCAL: &str = "network";

/// The name of the target's network: the same for every resource of the stack and target.
pub fn network_name(stack: &str, target: &str) -> String {
    crate::names::name(
        stack,
        target,
        &NativeAddr::target_resource(target),
        NETWORK_LOCAL,
        63,
    )
}

/// The target's network (see `Provider::expand_target`).
pub fn target(stack: &str, target: &str) -> Vec<NativeSpec> {
    vec![
        NativeSpec::new(
            NETWORK_LOCAL,
            types::NETWORK,
            attrs(json!({"name": network_name(stack, target), "auto_create_subnetworks": true})),
        )
        .force_new(&["name", "auto_create_subnetworks"]),
    ]
}

/// The zone of a target: its `zone` setting, else the region's `-a` zone.
pub fn zone_of(zone: Option<&str>, region: &str) -> String {
    zone.map_or_else(|| format!("{region}-a"), str::to_string)
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
            "compute `{name}`: no machine type in the catalog has {cpu} vCPU and {mem} MiB"
        ))
        .with_hint(format!(
            "the largest size is xlarge ({} vCPU, {} GiB)",
            largest.vcpu,
            largest.memory_mib / 1024
        ))
    })
}

/// The image family path of a catalog image (`projects/P/global/images/family/F`), or a
/// Compute image path given as is.
pub fn image_of(name: &str, image: &str) -> Result<String, ProviderError> {
    if let Some(row) = catalog().image(image) {
        return match row.gcp.available() {
            Ok(g) => Ok(format!(
                "projects/{}/global/images/family/{}",
                g.project, g.family
            )),
            Err(why) => Err(ProviderError::invalid(format!(
                "compute `{name}`: image `{image}` is not published on Google Cloud: {why}"
            ))),
        };
    }
    let path = image.split_once("/compute/v1/").map_or(image, |(_, p)| p);
    if path.starts_with("projects/") && path.contains("/global/images/") {
        return Ok(path.to_string());
    }
    let names: Vec<&str> = catalog()
        .images()
        .iter()
        .filter(|i| i.gcp.available().is_ok())
        .map(|i| i.name.as_str())
        .collect();
    Err(ProviderError::invalid(format!(
        "compute `{name}`: image `{image}` is neither a catalog image nor a Compute image path"
    ))
    .with_hint(format!(
        "use one of {}, or `projects/PROJECT/global/images/family/FAMILY`",
        names.join(", ")
    )))
}

/// The image a `image` input holds, as a catalog name when it is one's family.
pub fn catalog_image_of(path: &str) -> Option<&'static str> {
    catalog().images().iter().find_map(|i| {
        let g = i.gcp.available().ok()?;
        (path == format!("projects/{}/global/images/family/{}", g.project, g.family))
            .then_some(i.name.as_str())
    })
}

/// A compute resource: its instances on the target network and, with `ports`, a firewall
/// rule opening them to the instances' network tag.
pub fn compute(
    ctx: &Ctx<'_>,
    name: &str,
    p: &ComputeProps,
) -> Result<Vec<NativeSpec>, ProviderError> {
    // A reference is checked once resolved: by Compute, when the instance is made.
    let image = if p.image.contains("${") {
        p.image.clone()
    } else {
        image_of(name, &p.image)?
    };
    let machine_type = &catalog().compute(Cloud::Gcp, size_of(name, p)?).name;
    let network = network_name(ctx.stack, ctx.target);
    let tag = ctx.name(name, "", 63);
    let zone = zone_of(ctx.zone, ctx.region);
    let mut ports = p.ports.clone();
    ports.sort_unstable();
    ports.dedup();
    let mut out = Vec::new();
    if !ports.is_empty() {
        out.push(
            NativeSpec::new(
                "firewall",
                types::FIREWALL,
                attrs(json!({
                    "name": ctx.name(name, "fw", 63),
                    "network": network,
                    "ports": ports,
                    "tag": tag,
                })),
            )
            .force_new(&["name", "network"]),
        );
    }
    for i in 0..p.count {
        let local = format!("instance[{i}]");
        out.push(
            NativeSpec::new(
                local.clone(),
                types::INSTANCE,
                attrs(json!({
                    "name": ctx.name(name, &format!("vm{i}"), 63),
                    "zone": zone,
                    "machine_type": machine_type,
                    "image": image,
                    "startup": p.startup.clone().unwrap_or_default(),
                    "network": network,
                    "tag": tag,
                })),
            )
            // A different image, zone or network is a different machine; the machine type
            // and the startup script change in place.
            .force_new(&["name", "zone", "image", "network", "tag"]),
        );
    }
    Ok(out)
}

/// The origin of a cdn when it is a whole resource reference, with its kind.
fn whole_ref<'a>(s: &str, kinds: &'a BTreeMap<String, Kind>) -> Option<(&'a String, Kind)> {
    let name = overcast_core::refs::whole_resource_ref(s)?;
    kinds.get_key_value(name).map(|(n, k)| (n, *k))
}

/// A cdn in front of a storage resource: Cloud CDN on a backend bucket, behind an external
/// HTTP load balancer.
pub fn cdn(
    ctx: &Ctx<'_>,
    name: &str,
    p: &CdnProps,
    kinds: &BTreeMap<String, Kind>,
) -> Result<Vec<NativeSpec>, ProviderError> {
    let origin = match whole_ref(&p.origin, kinds) {
        Some((origin, Kind::Storage)) => origin,
        Some((origin, Kind::Compute)) => {
            return Err(ProviderError::invalid(format!(
                "cdn `{name}`: origin `{origin}` is a compute resource; the gcp provider serves a \
                 cdn from a storage origin only (a compute origin needs a backend service over \
                 an instance group, which this version does not build)"
            ))
            .with_hint("put the content in a storage resource and use it as the origin, or put this cdn on another provider's target"));
        }
        Some((origin, kind)) => {
            return Err(ProviderError::invalid(format!(
                "cdn `{name}`: origin `{origin}` is a {kind}; Cloud CDN serves a storage origin"
            )));
        }
        // A bucket outside the stack, by its name.
        None => match p
            .origin
            .strip_prefix("gs://")
            .map(|b| b.trim_end_matches('/'))
        {
            Some(bucket) if !bucket.is_empty() && !bucket.contains('/') => {
                return Ok(lb(ctx, name, bucket.to_string(), p.cache_ttl.0));
            }
            _ => {
                return Err(ProviderError::invalid(format!(
                    "cdn `{name}`: origin `{}` is neither a reference to a storage resource \
                     nor a bucket (`gs://NAME`); the gcp provider serves a cdn from a bucket",
                    p.origin
                ))
                .with_hint(
                    "write the origin as `${NAME}` of a storage resource, or `gs://BUCKET`",
                ));
            }
        },
    };
    Ok(lb(
        ctx,
        name,
        format!("${{{origin}.bucket.name}}"),
        p.cache_ttl.0,
    ))
}

/// The load balancer chain of a cdn over `bucket`.
fn lb(ctx: &Ctx<'_>, name: &str, bucket: String, ttl: u64) -> Vec<NativeSpec> {
    vec![
        NativeSpec::new(
            "backend",
            types::BACKEND_BUCKET,
            attrs(json!({
                "name": ctx.name(name, "backend", 63),
                "bucket": bucket,
                // `default_object` is the bucket's website main page
                // (`website.mainPageSuffix`), not a setting of Compute's load balancer.
                "cache_ttl": ttl,
            })),
        )
        .force_new(&["name"]),
        NativeSpec::new(
            "url_map",
            types::URL_MAP,
            attrs(json!({
                "name": ctx.name(name, "urlmap", 63),
                "backend": format!("${{{name}.backend.name}}"),
            })),
        )
        .after("backend")
        .force_new(&["name"]),
        NativeSpec::new(
            "proxy",
            types::HTTP_PROXY,
            attrs(json!({
                "name": ctx.name(name, "proxy", 63),
                "url_map": format!("${{{name}.url_map.name}}"),
            })),
        )
        .after("url_map")
        .force_new(&["name"]),
        NativeSpec::new(
            "rule",
            types::FORWARDING_RULE,
            attrs(json!({
                "name": ctx.name(name, "http", 63),
                "target": format!("${{{name}.proxy.name}}"),
                "port": 80,
            })),
        )
        .after("proxy")
        .force_new(&["name", "port"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use overcast_core::AbstractResource;
    use overcast_core::kinds::Properties;
    use serde_json::Value;

    fn ctx() -> Ctx<'static> {
        Ctx {
            stack: "shop",
            target: "gcp",
            region: "europe-west1",
            zone: None,
        }
    }

    fn res(name: &str, kind: Kind, props: Value, refs: &[(&str, Kind)]) -> AbstractResource {
        AbstractResource {
            name: name.into(),
            properties: Properties::from_value(kind, props).expect("valid properties"),
            referenced_kinds: refs.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        }
    }

    #[test]
    fn compute_is_instances_on_the_target_network_and_a_firewall_for_its_ports() {
        let n = crate::expand::expand(
            &ctx(),
            &res(
                "web",
                Kind::Compute,
                json!({"cpu": 2, "memory_gb": 3, "count": 2, "ports": [443, 80, 80]}),
                &[],
            ),
        )
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["firewall", "instance[0]", "instance[1]"]);
        assert_eq!(n[0].inputs["ports"], json!([80, 443]));
        let vm = &n[1].inputs;
        assert_eq!(vm["zone"], "europe-west1-a");
        assert_eq!(vm["network"], json!(network_name("shop", "gcp")));
        assert_eq!(
            vm["image"],
            "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64"
        );
        assert_eq!(vm["tag"], n[0].inputs["tag"]);
        assert!(
            vm["machine_type"]
                .as_str()
                .is_some_and(|m| m.starts_with("e2-")),
            "{vm:?}"
        );
        let none = crate::expand::expand(&ctx(), &res("w", Kind::Compute, json!({}), &[]))
            .expect("expand");
        assert_eq!(none.len(), 1, "no ports, no firewall rule");
        let e = crate::expand::expand(
            &ctx(),
            &res("w", Kind::Compute, json!({"image": "windows-3.1"}), &[]),
        )
        .unwrap_err();
        assert!(e.message.contains("windows-3.1"), "{}", e.message);
    }

    #[test]
    fn a_cdn_is_a_load_balancer_over_its_storage_origin_and_refuses_a_compute_one() {
        let n = crate::expand::expand(
            &ctx(),
            &res(
                "edge",
                Kind::Cdn,
                json!({"origin": "${site}", "cache_ttl": 60}),
                &[("site", Kind::Storage)],
            ),
        )
        .expect("expand");
        let locals: Vec<&str> = n.iter().map(|s| s.local.as_str()).collect();
        assert_eq!(locals, ["backend", "url_map", "proxy", "rule"]);
        assert_eq!(n[0].inputs["bucket"], "${site.bucket.name}");
        assert_eq!(n[0].inputs["cache_ttl"], 60);
        assert_eq!(n[3].inputs["target"], "${edge.proxy.name}");
        let e = crate::expand::expand(
            &ctx(),
            &res(
                "edge",
                Kind::Cdn,
                json!({"origin": "${web}"}),
                &[("web", Kind::Compute)],
            ),
        )
        .unwrap_err();
        assert!(e.message.contains("storage origin only"), "{}", e.message);
        let lit = crate::expand::expand(
            &ctx(),
            &res("edge", Kind::Cdn, json!({"origin": "gs://b"}), &[]),
        )
        .expect("a bucket by name");
        assert_eq!(lit[0].inputs["bucket"], "b");
    }

    #[test]
    fn the_target_network_is_named_for_the_stack_and_target() {
        let t = target("shop", "gcp");
        assert_eq!(t[0].type_name, types::NETWORK);
        assert_eq!(t[0].inputs["auto_create_subnetworks"], true);
        assert_ne!(network_name("shop", "gcp"), network_name("shop", "gcp2"));
    }
}
