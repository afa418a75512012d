//! AWS natives back to abstract resources ([`overcast_core::Provider::to_abstract`]), for
//! `migrate` and `discover -o`: the bucket, the queue, the first instance, the DB instance,
//! the function and the distribution each stand for their resource; the other natives
//! (roles, security groups, mappings, replicas) are parts of one.

use overcast_core::catalog::Size;
use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::{Value, json};

use crate::catalog;
use crate::expand::types;

/// The abstract size whose AWS machine is `name`, found through `table`.
fn size_of(name: &str, table: fn(Size) -> &'static str) -> Option<Size> {
    Size::ALL.into_iter().find(|s| table(*s) == name)
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
            match size_of(text("instance_type"), catalog::instance_type) {
                Some(size) => v.set("size", json!(size.as_str())),
                None => v.approximate(
                    "size",
                    format!("`{}` is not a catalog size", text("instance_type")),
                ),
            }
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
            match size_of(text("instance_class"), catalog::db_instance_class) {
                Some(size) => v.set("size", json!(size.as_str())),
                None => v.approximate(
                    "size",
                    format!("`{}` is not a catalog class", text("instance_class")),
                ),
            }
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
