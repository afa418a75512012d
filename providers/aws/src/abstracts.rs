//! AWS natives back to abstract resources ([`overcast_core::Provider::to_abstract`]), for
//! `migrate` and `discover -o`: the bucket, the queue, the first instance, the DB instance,
//! the function and the distribution each stand for their resource; the other natives
//! (roles, security groups, mappings, replicas) are parts of one.

use overcast_core::catalog::{Cloud, Nearest, Size, catalog};
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Value, json};

use crate::expand::types;

/// Set `size` from the catalog's nearest size to a native machine, noting what differs.
fn with_size(v: AbstractView, native: &str, nearest: Option<Nearest<Size>>) -> AbstractView {
    match nearest {
        Some(n) if n.fidelity.is_exact() => v.set("size", json!(n.value.as_str())),
        Some(n) => v
            .set("size", json!(n.value.as_str()))
            .approximate("size", format!("`{native}`: {}", n.fidelity)),
        None => v.approximate("size", format!("`{native}` is not in the catalog")),
    }
}

/// The abstract resource an AWS native stands for.
pub(crate) fn to_abstract(st: &NativeState) -> Option<AbstractView> {
    let i = &st.inputs;
    let text = |k: &str| i.get(k).and_then(Value::as_str).unwrap_or_default();
    Some(match st.type_name.as_str() {
        types::BUCKET => AbstractView::new(Kind::Storage).copy(
            i,
            &[
                ("versioning", "versioning"),
                ("class", "class"),
                ("public", "public"),
                ("lifecycle", "lifecycle"),
            ],
        ),
        types::QUEUE if st.addr.local == "queue" => {
            let v = AbstractView::new(Kind::Queue).copy(
                i,
                &[
                    ("fifo", "ordered"),
                    ("visibility_timeout", "visibility_timeout"),
                    ("retention", "retention"),
                ],
            );
            match i.get("redrive").and_then(|r| r.get("max_receives")) {
                Some(m) => v.set("dead_letter", json!({"max_receives": m})),
                None => v,
            }
        }
        types::INSTANCE if st.addr.local == "instance[0]" => {
            let v = AbstractView::new(Kind::Compute)
                .copy(i, &[("image", "image"), ("ports", "ports")])
                .approximate("count", "each instance is one; count them to get `count`");
            let machine = text("instance_type");
            with_size(v, machine, catalog().size_of_machine(Cloud::Aws, machine))
        }
        types::DB_INSTANCE => {
            let v = AbstractView::new(Kind::Database).copy(
                i,
                &[
                    ("engine", "engine"),
                    ("version", "version"),
                    ("storage_gb", "storage_gb"),
                    ("backup_retention_days", "backup_retention_days"),
                    ("database_name", "database_name"),
                    ("username", "username"),
                ],
            );
            let class = text("instance_class");
            with_size(v, class, catalog().size_of_db_class(Cloud::Aws, class))
        }
        types::FUNCTION => AbstractView::new(Kind::Function)
            .copy(
                i,
                &[
                    ("handler", "handler"),
                    ("memory", "memory"),
                    ("timeout", "timeout"),
                    ("env", "env"),
                ],
            )
            .set("runtime", json!(text("runtime").trim_end_matches(".x")))
            .approximate(
                "source",
                "the code lives in Lambda; download it to get `source`",
            ),
        types::DISTRIBUTION => AbstractView::new(Kind::Cdn)
            .copy(i, &[("default_object", "default_object")])
            .approximate(
                "origin",
                "the origin is a domain, not the resource it belongs to",
            ),
        _ => return None,
    })
}
