//! The `database` kind's outputs from its Cloud SQL natives: the instance's endpoint,
//! port and engine, the database's name, the user's name and password.

use overcast_core::{Attrs, NativeState};
use serde_json::{Value, json};

/// The abstract outputs of a database; what is not known yet is left out.
pub fn database(natives: &[&NativeState]) -> Attrs {
    let find = |local: &str| {
        natives
            .iter()
            .find(|n| !n.id.is_empty() && n.addr.local == local)
    };
    let mut out = Attrs::new();
    let Some(inst) = find("instance") else {
        return out;
    };
    out.insert("id".into(), json!(inst.id));
    for k in ["endpoint", "port", "engine"] {
        if let Some(v) = inst.outputs.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(db) = find("database") {
        out.insert(
            "name".into(),
            json!(db.outputs.get("name").cloned().unwrap_or(Value::Null)),
        );
    }
    if let Some(user) = find("user") {
        if let Some(u) = user.outputs.get("name") {
            out.insert("username".into(), u.clone());
        }
        if let Some(p) = user.outputs.get("password") {
            out.insert("password".into(), p.clone());
        }
    }
    if let (Some(Value::String(engine)), Some(Value::String(host)), Some(port)) =
        (out.get("engine"), out.get("endpoint"), out.get("port"))
    {
        let scheme = if engine == "postgres" {
            "postgresql"
        } else {
            "mysql"
        };
        if let (Some(Value::String(u)), Some(Value::String(p)), Some(Value::String(d))) =
            (out.get("username"), out.get("password"), out.get("name"))
        {
            let cs = format!("{scheme}://{u}:{p}@{host}:{port}/{d}");
            out.insert("connection_string".into(), json!(cs));
        }
    }
    out
}
