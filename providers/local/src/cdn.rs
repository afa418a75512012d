//! `local_cdn`: a caching HTTP server on `127.0.0.1:<free port>` in front of the origin,
//! run by [`crate::run_cdn_server`] as a detached process (`<helper> __local-cdn-serve
//! <native dir>/cdn.json`) that outlives overcast; see [`crate::cdn_server`].
//!
//! Supervision works as for compute: `read` reports the live input `running`, an update
//! rewrites the config and restarts the server on the same port when it is still free.
//! Not emulated: TLS, edge locations, invalidations (restart to empty the cache), custom
//! domains; `https` origins are refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};

use crate::cdn_server::{CDN_SERVE_SUBCOMMAND, CdnConfig};
use crate::process;
use crate::record::{self, Record, get};

const CONFIG_FILE: &str = "cdn.json";
const PID_FILE: &str = "cdn.pid";
const LOG_FILE: &str = "cdn.log";

fn check_origin(inputs: &Attrs) -> Result<String, ProviderError> {
    let origin = get::str(inputs, "origin_url")?;
    if origin.starts_with("file://") || origin.starts_with("http://") {
        Ok(origin.to_string())
    } else {
        Err(ProviderError::invalid(format!(
            "cdn origin `{origin}` is neither a local bucket (file://) nor an http:// server"
        ))
        .with_hint(
            "point `origin` at a storage or compute resource of the local target: `${site}`",
        ))
    }
}

fn outputs(fin: &Path, port: u16) -> Attrs {
    let mut o = Attrs::new();
    o.insert("port".into(), json!(port));
    o.insert("domain".into(), json!(format!("127.0.0.1:{port}")));
    o.insert("url".into(), json!(format!("http://127.0.0.1:{port}/")));
    o.insert(
        "log".into(),
        json!(fin.join(LOG_FILE).display().to_string()),
    );
    o
}

/// Write the config and start the server; on a lost port race, retry with new ports.
/// Returns the port it serves on.
fn start(helper: &Path, dir: &Path, inputs: &Attrs, mut port: u16) -> Result<u16, ProviderError> {
    let origin_url = check_origin(inputs)?;
    let config_path = dir.join(CONFIG_FILE);
    let log = dir.join(LOG_FILE);
    let mut attempts = 0;
    loop {
        let config = CdnConfig {
            port,
            origin_url: origin_url.clone(),
            cache_ttl_secs: get::u64(inputs, "cache_ttl")?,
            default_object: get::str(inputs, "default_object")?.to_string(),
            pid_file: Some(dir.join(PID_FILE)),
        };
        crate::fsutil::write_json(&config_path, &config)?;
        let mut cmd = Command::new(helper);
        cmd.arg(CDN_SERVE_SUBCOMMAND)
            .arg(&config_path)
            .current_dir(dir);
        let pid = process::spawn_detached(cmd, &log, &dir.join(PID_FILE), dir).map_err(|e| {
            ProviderError::fatal(format!(
                "starting the cdn server `{}`: {e}",
                helper.display()
            ))
            .with_hint("set the local target setting `helper_exe` to the overcast binary")
        })? as i32;
        if process::wait_for_port(port, pid, dir, Duration::from_secs(10)) {
            return Ok(port);
        }
        process::stop_group(pid, dir, Duration::from_secs(2));
        attempts += 1;
        let tail = process::log_tail(&log, 1500);
        if attempts < 3 && tail.contains("in use") {
            port = process::free_port()?;
            continue;
        }
        return Err(ProviderError::fatal(format!(
            "the cdn server did not start on 127.0.0.1:{port}:\n{tail}"
        )));
    }
}

pub(crate) fn create(
    helper: &Path,
    dir: &Path,
    req: &CreateRequest,
) -> Result<Record, ProviderError> {
    check_origin(&req.inputs)?;
    let port = process::free_port()?;
    let rec = record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |_tmp, fin| {
        Ok(outputs(fin, port))
    })?;
    // Started after the rename (see compute): a crash in between leaves a stopped server
    // that `read` reports as `running: false`.
    let served = start(helper, dir, &rec.inputs, port)?;
    if served == port {
        return Ok(rec);
    }
    let rec = Record {
        outputs: outputs(dir, served),
        ..rec
    };
    record::write_record(dir, &rec)?;
    Ok(rec)
}

pub(crate) fn read(dir: &Path, rec: Record) -> Result<Option<Observed>, ProviderError> {
    let pid = process::read_pid(&dir.join(PID_FILE)).filter(|pid| process::is_alive(*pid, dir));
    let mut obs = rec.observed(dir);
    obs.inputs.insert("running".into(), json!(pid.is_some()));
    obs.outputs
        .insert("pid".into(), pid.map_or(Value::Null, |p| json!(p)));
    Ok(Some(obs))
}

pub(crate) fn update(
    helper: &Path,
    dir: &Path,
    rec: Record,
    inputs: &Attrs,
) -> Result<Record, ProviderError> {
    check_origin(inputs)?;
    stop(dir);
    let port = rec
        .outputs
        .get("port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok());
    let port = match port {
        // Keep the port (and so the url) when it is still free.
        Some(p) if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() => p,
        _ => process::free_port()?,
    };
    let mut rec = Record {
        type_name: rec.type_name,
        created: rec.created,
        inputs: inputs.clone(),
        outputs: outputs(dir, port),
    };
    if get::bool(inputs, "running") {
        let served = start(helper, dir, inputs, port)?;
        rec.outputs = outputs(dir, served);
    }
    Ok(rec)
}

/// Stop the server's process group.
pub(crate) fn stop(dir: &Path) {
    process::stop_recorded(&dir.join(PID_FILE), dir);
}

/// The executable that serves the hidden subcommand.
pub(crate) fn helper_exe(setting: Option<&PathBuf>) -> Result<PathBuf, ProviderError> {
    match setting {
        Some(p) => Ok(p.clone()),
        None => std::env::current_exe().map_err(|e| {
            ProviderError::fatal(format!(
                "cannot locate the running executable for the cdn server: {e}"
            ))
        }),
    }
}
