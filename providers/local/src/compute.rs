//! `local_process`: one compute instance as a supervised local process running the
//! `startup` script with `sh -c`, detached in its own session and process group, output
//! appended to `process.log`, pid in `process.pid`.
//!
//! Ports: each declared port is mapped to a free port of 127.0.0.1 allocated at create
//! (output `ports`, e.g. `{"80": 41234}`); the first one is passed as `PORT`, every one as
//! `PORT_<declared>`. The script must bind 127.0.0.1 itself. The port is released before
//! the script binds it, so another program may grab it in between (rare; an update
//! re-runs the script).
//!
//! Supervision: `read` reports the live input `running` (desired `true`); when the
//! process died or was killed, the plan shows drift and the update restarts it. Restarts
//! are never automatic: the local cloud has no daemon of its own.
//!
//! Not emulated: `image`, `size`, `cpu` and `memory` are recorded only (the script runs
//! on this machine's OS with no resource limits), and ports are not firewalled.

use std::path::Path;
use std::process::Command;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};

use crate::process;
use crate::record::{self, Record, get};

const PID_FILE: &str = "process.pid";
const LOG_FILE: &str = "process.log";

/// What runs when the startup script is empty: an idle process, so the instance still
/// exists and is supervised.
const IDLE: &str = "while :; do sleep 3600; done";

/// Allocate host ports for the declared ones, keeping those already allocated.
fn allocate_ports(declared: &[u64], prior: Option<&Attrs>) -> Result<Attrs, ProviderError> {
    let mut map = Attrs::new();
    for p in declared {
        let key = p.to_string();
        let kept = prior.and_then(|m| m.get(&key)).and_then(|v| v.as_u64());
        let port = match kept {
            Some(port) => port,
            None => u64::from(process::free_port()?),
        };
        map.insert(key, json!(port));
    }
    Ok(map)
}

fn declared_ports(inputs: &Attrs) -> Vec<u64> {
    inputs
        .get("ports")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn outputs(fin: &Path, name: &str, declared: &[u64], ports: Attrs) -> Attrs {
    let first = declared
        .first()
        .and_then(|p| ports.get(&p.to_string()))
        .and_then(Value::as_u64);
    let mut o = Attrs::new();
    o.insert("name".into(), json!(name));
    o.insert("address".into(), json!("127.0.0.1"));
    o.insert("port".into(), first.map_or(json!(""), |p| json!(p)));
    o.insert(
        "url".into(),
        json!(
            first
                .map(|p| format!("http://127.0.0.1:{p}"))
                .unwrap_or_default()
        ),
    );
    o.insert("ports".into(), Value::Object(ports));
    o.insert(
        "log".into(),
        json!(fin.join(LOG_FILE).display().to_string()),
    );
    o
}

/// Start the instance's process (the directory and its record exist).
fn start(dir: &Path, rec: &Record) -> Result<u32, ProviderError> {
    let startup = get::opt_str(&rec.inputs, "startup").unwrap_or(IDLE);
    let pid_file = dir.join(PID_FILE);
    let mut cmd = Command::new("sh");
    // The shell records its own pid before running the script, so even if overcast dies
    // right after the spawn, the process is found and stopped by the next delete.
    cmd.arg("-c")
        .arg(r#"echo $$ > "$OVERCAST_PID_FILE.$$" && mv -f "$OVERCAST_PID_FILE.$$" "$OVERCAST_PID_FILE"; exec sh -c "$OVERCAST_STARTUP""#)
        .current_dir(dir)
        .env("OVERCAST_PID_FILE", &pid_file)
        .env("OVERCAST_STARTUP", startup)
        .env("OVERCAST_INSTANCE_INDEX", rec.inputs.get("index").map(Value::to_string).unwrap_or_default());
    if let Some(ports) = rec.outputs.get("ports").and_then(Value::as_object) {
        for (declared, host) in ports {
            cmd.env(format!("PORT_{declared}"), host.to_string());
        }
    }
    if let Some(port) = rec.outputs.get("port").and_then(Value::as_u64) {
        cmd.env("PORT", port.to_string());
    }
    Ok(process::spawn_detached(
        cmd,
        &dir.join(LOG_FILE),
        &pid_file,
        dir,
    )?)
}

fn live(dir: &Path) -> Option<i32> {
    process::read_pid(&dir.join(PID_FILE)).filter(|pid| process::is_alive(*pid, dir))
}

pub(crate) fn create(dir: &Path, req: &CreateRequest) -> Result<Record, ProviderError> {
    let declared = declared_ports(&req.inputs);
    let name = req.addr.resource.clone();
    let rec = record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |_tmp, fin| {
        Ok(outputs(
            fin,
            &name,
            &declared,
            allocate_ports(&declared, None)?,
        ))
    })?;
    // Started after the rename: a crash before this line leaves a complete, stopped
    // instance, which `read` reports as `running: false` and the next apply starts.
    start(dir, &rec)?;
    Ok(rec)
}

pub(crate) fn read(dir: &Path, rec: Record) -> Result<Option<Observed>, ProviderError> {
    let pid = live(dir);
    let mut obs = rec.observed(dir);
    obs.inputs.insert("running".into(), json!(pid.is_some()));
    obs.outputs
        .insert("pid".into(), pid.map_or(Value::Null, |p| json!(p)));
    Ok(Some(obs))
}

pub(crate) fn update(dir: &Path, rec: Record, inputs: &Attrs) -> Result<Record, ProviderError> {
    stop(dir);
    let declared = declared_ports(inputs);
    let ports = allocate_ports(
        &declared,
        rec.outputs.get("ports").and_then(Value::as_object),
    )?;
    let name = get::opt_str(&rec.outputs, "name")
        .unwrap_or_default()
        .to_string();
    let rec = Record {
        type_name: rec.type_name,
        created: rec.created,
        inputs: inputs.clone(),
        outputs: outputs(dir, &name, &declared, ports),
    };
    record::write_record(dir, &rec)?;
    if get::bool(inputs, "running") {
        start(dir, &rec)?;
    }
    Ok(rec)
}

/// Stop the instance's whole process group (SIGTERM, up to 5 s, then SIGKILL).
pub(crate) fn stop(dir: &Path) {
    process::stop_recorded(&dir.join(PID_FILE), dir);
}
