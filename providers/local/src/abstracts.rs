//! Local natives back to abstract resources ([`overcast_core::Provider::to_abstract`]):
//! the local cloud keeps the abstract vocabulary in its natives' inputs, so the mapping is
//! a copy, except for what lives only on this machine.

use overcast_core::provider::AbstractView;
use overcast_core::{Kind, NativeState};
use serde_json::json;

use crate::expand::types;

/// The abstract resource a local native stands for.
pub(crate) fn to_abstract(st: &NativeState) -> Option<AbstractView> {
    let i = &st.inputs;
    Some(match st.type_name.as_str() {
        types::BUCKET => AbstractView::new(Kind::Storage).copy(
            i,
            &[
                ("versioning", "versioning"),
                ("class", "class"),
                ("public", "public"),
                ("lifecycle", "lifecycle"),
                ("content", "content"),
            ],
        ),
        types::QUEUE => {
            let v = AbstractView::new(Kind::Queue).copy(
                i,
                &[
                    ("ordered", "ordered"),
                    ("visibility_timeout", "visibility_timeout"),
                    ("retention", "retention"),
                ],
            );
            match i.get("max_receives").and_then(|m| m.as_u64()) {
                Some(m) if m > 0 => v.set("dead_letter", json!({"max_receives": m})),
                _ => v,
            }
        }
        types::SQLITE | types::POSTGRES => AbstractView::new(Kind::Database).copy(
            i,
            &[
                ("engine", "engine"),
                ("version", "version"),
                ("size", "size"),
                ("storage_gb", "storage_gb"),
                ("read_replicas", "read_replicas"),
                ("backup_retention_days", "backup_retention_days"),
                ("database_name", "database_name"),
                ("username", "username"),
            ],
        ),
        types::FUNCTION => AbstractView::new(Kind::Function)
            .copy(
                i,
                &[
                    ("runtime", "runtime"),
                    ("handler", "handler"),
                    ("source", "source"),
                    ("memory", "memory"),
                    ("timeout", "timeout"),
                    ("env", "env"),
                ],
            )
            .approximate(
                "trigger",
                "a trigger's source is a local path here, not the resource it belongs to",
            ),
        // One process stands for the whole compute resource: the first.
        types::PROCESS if st.addr.local == "instance[0]" => AbstractView::new(Kind::Compute)
            .copy(
                i,
                &[
                    ("image", "image"),
                    ("size", "size"),
                    ("startup", "startup"),
                    ("ports", "ports"),
                ],
            )
            .approximate(
                "count",
                "each process is one instance; count them to get `count`",
            ),
        types::CDN => AbstractView::new(Kind::Cdn)
            .copy(
                i,
                &[
                    ("cache_ttl", "cache_ttl"),
                    ("default_object", "default_object"),
                ],
            )
            .approximate(
                "origin",
                "the origin is a local URL, not the resource it belongs to",
            ),
        _ => return None,
    })
}
