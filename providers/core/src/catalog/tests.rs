//! The catalog's own tests: every embedded table parses, every value the spec accepts has
//! a column for every cloud, and the lookups work both ways.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use super::*;
use crate::kinds::{FUNCTION_RUNTIMES, QueueProps};

/// The values a kind's enum accepts, read from its JSON Schema (what the spec validator
/// checks against), so a variant added to `kinds` without a catalog row fails here.
fn accepted<T: JsonSchema + DeserializeOwned>() -> Vec<(String, T)> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).expect("schema serializes");
    let mut names = Vec::new();
    if let Some(values) = schema.get("enum").and_then(|v| v.as_array()) {
        names.extend(values.iter().filter_map(|v| v.as_str()).map(str::to_string));
    }
    if let Some(variants) = schema.get("oneOf").and_then(|v| v.as_array()) {
        for v in variants {
            if let Some(c) = v.get("const").and_then(|c| c.as_str()) {
                names.push(c.to_string());
            }
            if let Some(e) = v.get("enum").and_then(|e| e.as_array()) {
                names.extend(e.iter().filter_map(|x| x.as_str()).map(str::to_string));
            }
        }
    }
    assert!(!names.is_empty(), "no enum values in {schema}");
    names
        .into_iter()
        .map(|n| {
            let v = serde_json::from_value(serde_json::json!(n)).expect("schema value parses");
            (n, v)
        })
        .collect()
}

#[test]
fn every_embedded_table_parses_and_holds_together() {
    if let Err(e) = Catalog::load() {
        panic!("{e}");
    }
}

#[test]
fn every_size_has_a_machine_and_a_database_class_on_every_cloud() {
    let c = catalog();
    for (name, size) in accepted::<Size>() {
        for cloud in Cloud::ALL {
            let m = c.compute(cloud, size);
            assert!(!m.name.is_empty(), "size {name} on {cloud}");
            let db = c.db_class(cloud, size);
            assert!(!db.name.is_empty(), "database size {name} on {cloud}");
        }
        // The local cloud's machine is the size itself.
        assert!(c.compute_fidelity(Cloud::Local, size).is_exact(), "{name}");
        assert_eq!(c.size(size).name.as_str(), name);
    }
}

#[test]
fn every_engine_and_version_has_a_column_on_every_cloud() {
    let c = catalog();
    let engines = accepted::<crate::kinds::DbEngine>();
    assert_eq!(engines.len(), ENGINES.len());
    for (name, engine) in engines {
        assert!(
            c.engine_version(engine, c.default_version(engine))
                .is_some()
        );
        let versions: Vec<&EngineVersion> = c.engine_versions(engine).collect();
        assert!(!versions.is_empty(), "{name} has versions");
        for cloud in Cloud::ALL {
            assert!(!c.engine(cloud, engine).is_empty(), "{name} on {cloud}");
            for v in &versions {
                assert!(
                    !v.native(cloud).is_empty(),
                    "{name} {} on {cloud}",
                    v.version
                );
            }
        }
    }
}

#[test]
fn every_storage_class_has_a_native_class_on_every_cloud() {
    let c = catalog();
    let classes = accepted::<crate::kinds::StorageClass>();
    assert_eq!(classes.len(), STORAGE_CLASSES.len());
    for (name, class) in classes {
        for cloud in Cloud::ALL {
            let n = c.storage_class(cloud, class);
            assert!(!n.native.is_empty(), "{name} on {cloud}");
            // And the native class maps back to the same abstract class, exactly.
            let back = c
                .storage_class_of_native(cloud, &n.native)
                .expect("maps back");
            assert_eq!(back.value, class, "{name} on {cloud}");
            assert!(back.fidelity.is_exact());
        }
    }
}

#[test]
fn every_runtime_the_spec_accepts_has_an_id_on_every_cloud() {
    let c = catalog();
    for name in FUNCTION_RUNTIMES {
        for cloud in Cloud::ALL {
            let r = c
                .runtime(cloud, name)
                .unwrap_or_else(|| panic!("runtime {name} has no {cloud} column"));
            assert!(!r.id.is_empty(), "{name} on {cloud}");
        }
    }
    for cloud in Cloud::ALL {
        assert!(!c.function_limits(cloud).service.is_empty());
    }
}

#[test]
fn every_cloud_takes_the_spec_s_default_queue_as_is() {
    let c = catalog();
    let defaults: QueueProps =
        serde_json::from_value(serde_json::json!({})).expect("queue defaults");
    for cloud in Cloud::ALL {
        let q = c.queue(cloud);
        assert!(
            !q.ordered.is_empty() && !q.dead_letter.is_empty(),
            "{cloud}"
        );
        assert!(
            q.fidelity(&defaults).is_exact(),
            "{cloud}: {}",
            q.fidelity(&defaults)
        );
    }
}

#[test]
fn every_region_and_image_has_a_column_on_every_cloud() {
    let c = catalog();
    assert!(!c.regions().is_empty());
    for row in c.regions() {
        for cloud in Cloud::ALL {
            let r = c.region(cloud, &row.name).expect("region row");
            assert!(!r.value.is_empty(), "{} on {cloud}", row.name);
        }
    }
    // The spec's default image runs everywhere; the others say why where they do not.
    for image in c.images() {
        for cloud in Cloud::ALL {
            if let Some(why) = image.unavailable_on(cloud) {
                assert!(image.name != "ubuntu-24.04", "the default image on {cloud}");
                assert!(!why.is_empty());
            }
        }
    }
}

#[test]
fn a_table_without_a_column_or_a_row_does_not_load() {
    // What the tests above guard against, shown on a copy of the compute table.
    let no_gcp = embedded::COMPUTE.replacen("gcp = \"e2-micro\"\n", "", 1);
    let e = table::parse::<compute::ComputeTable>("compute.toml", &no_gcp).unwrap_err();
    assert!(e.to_string().contains("gcp"), "{e}");
    let cut = embedded::COMPUTE
        .find("[[size]]\nname = \"xlarge\"")
        .expect("xlarge row");
    let machines = embedded::COMPUTE.find("\n[machines]\n").expect("machines");
    let no_xlarge = format!(
        "{}{}",
        &embedded::COMPUTE[..cut],
        &embedded::COMPUTE[machines..]
    );
    let e = table::parse::<compute::ComputeTable>("compute.toml", &no_xlarge)
        .expect("still TOML")
        .check()
        .unwrap_err();
    assert!(e.to_string().contains("size `xlarge` has no row"), "{e}");
}

#[test]
fn compute_maps_both_ways() {
    let c = catalog();
    assert_eq!(c.compute(Cloud::Aws, Size::Medium).name, "t3.medium");
    assert_eq!(c.compute(Cloud::Gcp, Size::Medium).name, "e2-medium");
    assert!(c.compute_fidelity(Cloud::Aws, Size::Medium).is_exact());
    let nano_gcp = c.compute_fidelity(Cloud::Gcp, Size::Nano);
    assert_eq!(
        nano_gcp.to_string(),
        "approximate: memory 1 GiB (native) vs 512 MiB (abstract)"
    );
    let m5 = c.size_of_machine(Cloud::Aws, "m5.large").expect("known");
    assert_eq!(m5.value, Size::Large);
    assert_eq!(
        m5.fidelity.to_string(),
        "approximate: burstable no (native) vs yes (abstract)"
    );
    let graviton = c.size_of_machine(Cloud::Aws, "t4g.small").expect("known");
    assert_eq!(graviton.value, Size::Small);
    assert_eq!(graviton.fidelity.differences()[0].what, "architecture");
    assert_eq!(
        c.size_of_machine(Cloud::Azure, "Standard_B2ls_v2")
            .map(|n| n.value),
        Some(Size::Medium)
    );
    assert!(c.size_of_machine(Cloud::Aws, "x9.huge").is_none());
    assert_eq!(c.size_at_least(2, 3000), Some(Size::Medium));
    assert_eq!(c.size_at_least(8, 1), None);
}

#[test]
fn databases_map_both_ways() {
    let c = catalog();
    assert_eq!(c.db_class(Cloud::Aws, Size::Nano).name, "db.t3.micro");
    assert_eq!(c.db_class(Cloud::Gcp, Size::Large).name, "db-custom-2-8192");
    let pg = crate::kinds::DbEngine::Postgres;
    let v16 = c.engine_version(pg, "16").expect("16");
    assert_eq!(v16.native(Cloud::Gcp), "POSTGRES_16");
    assert_eq!(
        c.version_of_native(Cloud::Gcp, pg, "POSTGRES_16"),
        Some("16")
    );
    assert_eq!(c.version_of_native(Cloud::Aws, pg, "16.4"), Some("16"));
    assert_eq!(c.version_of_native(Cloud::Aws, pg, "1.4"), None);
    assert_eq!(
        c.size_of_db_class(Cloud::Aws, "db.t3.large")
            .map(|n| n.value),
        Some(Size::Large)
    );
}

#[test]
fn storage_classes_map_back_with_what_differs() {
    let c = catalog();
    assert_eq!(
        c.storage_class(Cloud::Aws, crate::kinds::StorageClass::Infrequent)
            .transition_min_days,
        30
    );
    let oz = c
        .storage_class_of_native(Cloud::Aws, "ONEZONE_IA")
        .expect("known");
    assert_eq!(oz.value, crate::kinds::StorageClass::Infrequent);
    assert!(oz.fidelity.to_string().contains("one availability zone"));
    assert_eq!(
        c.storage_class_of_native(Cloud::Azure, "hot")
            .map(|n| n.value),
        Some(crate::kinds::StorageClass::Standard)
    );
    assert!(c.storage_class_of_native(Cloud::Aws, "MYSTERY").is_none());
}

#[test]
fn queues_report_values_a_cloud_cannot_keep() {
    let c = catalog();
    let q: QueueProps = serde_json::from_value(serde_json::json!({
        "retention": "20d", "visibility_timeout": "10m", "dead_letter": {"max_receives": 3}
    }))
    .expect("queue");
    assert!(c.queue(Cloud::Local).fidelity(&q).is_exact());
    let aws = c.queue(Cloud::Aws).fidelity(&q);
    assert_eq!(
        aws.to_string(),
        "approximate: retention 14 days (native) vs 20 days (abstract)"
    );
    let gcp = c.queue(Cloud::Gcp).fidelity(&q);
    assert_eq!(gcp.differences().len(), 2, "{gcp}");
    assert!(
        gcp.to_string()
            .contains("dead_letter.max_receives 5 (native) vs 3")
    );
}

#[test]
fn runtimes_regions_and_images_map_back() {
    let c = catalog();
    assert_eq!(
        c.runtime(Cloud::Aws, "nodejs20").expect("known").id,
        "nodejs20.x"
    );
    assert_eq!(
        c.runtime_of_native(Cloud::Aws, "nodejs20.x"),
        Some("nodejs20")
    );
    assert_eq!(
        c.runtime_of_native(Cloud::Gcp, "python312"),
        Some("python3.12")
    );
    // The local interpreter runs every Python version: no single answer.
    assert_eq!(c.runtime_of_native(Cloud::Local, "python3"), None);

    assert_eq!(
        c.region(Cloud::Aws, "us-virginia").expect("row").value,
        "us-east-1"
    );
    let va = c
        .region_equivalent(Cloud::Aws, "us-east-1", Cloud::Azure)
        .expect("known");
    assert_eq!(va.value, "eastus");
    assert!(va.fidelity.is_exact());
    assert_eq!(
        c.region_equivalent(Cloud::Aws, "us-east-1", Cloud::Gcp)
            .map(|n| n.value),
        Some("us-east4")
    );
    let sc = c.region_of_native(Cloud::Gcp, "us-east1").expect("known");
    assert_eq!(sc.value, "us-virginia");
    assert!(sc.fidelity.to_string().contains("South Carolina"));
    assert_eq!(
        c.region_of_native(Cloud::Aws, "us-east-2").map(|n| n.value),
        Some("us-ohio")
    );
    let dublin_on_gcp = c.region(Cloud::Gcp, "eu-ireland").expect("row");
    assert_eq!(dublin_on_gcp.value, "europe-west2");
    assert!(!dublin_on_gcp.fidelity.is_exact());

    let ubuntu = c
        .image_of_ami(
            "099720109477",
            "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250115",
        )
        .expect("known");
    assert_eq!(ubuntu.name, "ubuntu-24.04");
    let al = c.image("amazon-linux-2023").expect("row");
    assert!(al.unavailable_on(Cloud::Gcp).is_some());
    assert!(al.unavailable_on(Cloud::Aws).is_none());
}
