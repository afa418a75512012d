//! `local_function`: a function packaged into `<native dir>/code/` (a copy of its
//! `source`, so later edits of the source do not change what runs until the next apply),
//! run on demand by [`invoke`] with the local `python3` or `node`.
//!
//! Change detection: `expand` may do no I/O, so the code's hash is computed at
//! create/update (output `code_hash`) and `read` reports the live input
//! `code_in_sync: false` (desired `true`) when the source no longer hashes to it; the
//! plan then shows an update, which repackages.
//!
//! Invocation runs the handler in a fresh interpreter with the function's `env`, the
//! package as working directory, the payload on stdin, and `timeout` enforced (the whole
//! process group is killed). `memory` is recorded, not enforced, and the runtime's minor
//! version is not either: `python3.x` runs on the local `python3`, `nodejsNN` on `node`.
//!
//! Triggers: the local cloud runs no event sources on its own. An `http` trigger gets no
//! endpoint (output `url` is empty); a `queue` trigger is served by
//! [`crate::LocalProvider::drain_queue`], which feeds the queue's messages to the
//! function; `schedule` and `storage` triggers are recorded only.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::fsutil;
use crate::record::{self, Record, get};

/// Directory of the packaged code inside the native's directory.
pub(crate) const CODE_DIR: &str = "code";

/// The Python shim: import `module`, call `handler(event, context)`, print its JSON
/// result. The handler's own prints go to stderr so stdout carries only the result.
const PY_SHIM: &str = r#"
import asyncio, importlib, inspect, json, os, sys, time
code_dir, handler = sys.argv[1], sys.argv[2]
sys.path.insert(0, code_dir)
module_name, _, fn_name = handler.rpartition('.')
real_stdout, sys.stdout = sys.stdout, sys.stderr
raw = sys.stdin.read()
event = json.loads(raw) if raw.strip() else None
class Context:
    function_name = os.environ.get('OVERCAST_FUNCTION_NAME', '')
    memory_limit_in_mb = int(os.environ.get('OVERCAST_FUNCTION_MEMORY', '128'))
    aws_request_id = os.environ.get('OVERCAST_REQUEST_ID', '')
    def __init__(self):
        self._deadline = time.time() + float(os.environ.get('OVERCAST_FUNCTION_TIMEOUT', '30'))
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))
fn = getattr(importlib.import_module(module_name), fn_name)
result = fn(event, Context())
if inspect.iscoroutine(result):
    result = asyncio.run(result)
sys.stdout = real_stdout
real_stdout.write(json.dumps(result))
real_stdout.flush()
"#;

/// The Node.js shim: require `file` (`.js`, `.cjs`, or import `.mjs`), await
/// `export(event, context)`, print its JSON result; console output goes to stderr.
const NODE_SHIM: &str = r#"
const fs = require('fs'), path = require('path'), url = require('url');
const [codeDir, handler] = process.argv.slice(-2);
const dot = handler.lastIndexOf('.');
const file = handler.slice(0, dot), name = handler.slice(dot + 1);
const write = process.stdout.write.bind(process.stdout);
console.log = console.info = console.debug = console.error;
let raw = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => raw += d);
process.stdin.on('end', async () => {
  try {
    const event = raw.trim() ? JSON.parse(raw) : null;
    const base = path.join(codeDir, file);
    let mod;
    if (fs.existsSync(base + '.mjs')) mod = await import(url.pathToFileURL(base + '.mjs').href);
    else if (fs.existsSync(base + '.cjs')) mod = require(base + '.cjs');
    else mod = require(base);
    const fn = mod[name] || (mod.default && mod.default[name]);
    if (typeof fn !== 'function') throw new Error(`${file} exports no function ${name}`);
    const deadline = Date.now() + 1000 * Number(process.env.OVERCAST_FUNCTION_TIMEOUT || 30);
    const context = {
      functionName: process.env.OVERCAST_FUNCTION_NAME || '',
      memoryLimitInMB: process.env.OVERCAST_FUNCTION_MEMORY || '128',
      awsRequestId: process.env.OVERCAST_REQUEST_ID || '',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const result = await fn(event, context);
    write(JSON.stringify(result === undefined ? null : result));
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    process.exitCode = 1;
  }
});
"#;

fn source_dir(spec_dir: &Path, inputs: &Attrs) -> Result<PathBuf, ProviderError> {
    let src = spec_dir.join(get::str(inputs, "source")?);
    if !src.is_dir() {
        return Err(ProviderError::invalid(format!(
            "function source `{}` is not a directory",
            src.display()
        ))
        .with_hint("`source` is a directory relative to the spec file"));
    }
    Ok(src)
}

/// Copy the source into `code` (replacing what was there) and return its hash.
fn package(src: &Path, code: &Path) -> Result<String, ProviderError> {
    let tmp = fsutil::temp_sibling(code, "tmp");
    fsutil::copy_dir(src, &tmp)?;
    std::fs::create_dir_all(&tmp)?;
    fsutil::remove_dir_safely(code)?;
    std::fs::rename(&tmp, code)?;
    Ok(fsutil::hash_dir(src)?)
}

fn outputs(fin: &Path, name: &str, hash: &str) -> Attrs {
    let mut o = Attrs::new();
    o.insert("name".into(), json!(name));
    o.insert("url".into(), json!(""));
    o.insert(
        "code_dir".into(),
        json!(fin.join(CODE_DIR).display().to_string()),
    );
    o.insert("code_hash".into(), json!(hash));
    o
}

pub(crate) fn create(
    spec_dir: &Path,
    dir: &Path,
    req: &CreateRequest,
) -> Result<Record, ProviderError> {
    let src = source_dir(spec_dir, &req.inputs)?;
    let name = req.addr.resource.clone();
    record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |tmp, fin| {
        let hash = package(&src, &tmp.join(CODE_DIR))?;
        Ok(outputs(fin, &name, &hash))
    })
}

pub(crate) fn read(
    spec_dir: &Path,
    dir: &Path,
    rec: Record,
) -> Result<Option<Observed>, ProviderError> {
    if !dir.join(CODE_DIR).is_dir() {
        return Ok(None);
    }
    let live = source_dir(spec_dir, &rec.inputs)
        .ok()
        .and_then(|s| fsutil::hash_dir(&s).ok());
    let in_sync =
        live.is_some() && live.as_deref() == rec.outputs.get("code_hash").and_then(|v| v.as_str());
    let mut obs = rec.observed(dir);
    obs.inputs.insert("code_in_sync".into(), json!(in_sync));
    Ok(Some(obs))
}

pub(crate) fn update(
    spec_dir: &Path,
    dir: &Path,
    rec: Record,
    inputs: &Attrs,
) -> Result<Record, ProviderError> {
    let src = source_dir(spec_dir, inputs)?;
    let hash = package(&src, &dir.join(CODE_DIR))?;
    let name = get::opt_str(&rec.outputs, "name")
        .unwrap_or_default()
        .to_string();
    Ok(Record {
        type_name: rec.type_name,
        created: rec.created,
        inputs: inputs.clone(),
        outputs: outputs(dir, &name, &hash),
    })
}

/// The interpreter and shim for a runtime name.
fn interpreter(runtime: &str) -> Result<(Vec<String>, &'static str), ProviderError> {
    if let Some(version) = runtime.strip_prefix("python") {
        // The local python3 runs every python3.x runtime: version managers (pyenv) put
        // shims for versions that are not active on PATH, so an exact `python3.12` found
        // there may not run. The exact name is the fallback when there is no python3.
        let exact = format!("python{version}");
        let candidates = ["python3", exact.as_str()];
        let found = candidates
            .iter()
            .find(|c| which(c).is_some())
            .ok_or_else(|| {
                ProviderError::invalid(format!("runtime `{runtime}` needs python3 on PATH"))
                    .with_hint("install python3")
            })?;
        Ok((vec![found.to_string(), "-c".into()], PY_SHIM))
    } else if runtime.starts_with("nodejs") || runtime.starts_with("node") {
        if which("node").is_none() {
            return Err(
                ProviderError::invalid(format!("runtime `{runtime}` needs node on PATH"))
                    .with_hint("install Node.js"),
            );
        }
        Ok((vec!["node".into(), "-e".into()], NODE_SHIM))
    } else {
        Err(
            ProviderError::invalid(format!("the local cloud cannot run runtime `{runtime}`"))
                .with_hint("use a python3.x or nodejsNN runtime"),
        )
    }
}

/// Find an executable on PATH.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn tail(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

/// Run the function of the native at `dir` with `payload`; returns the handler's result.
pub(crate) async fn invoke(dir: &Path, name: &str, payload: Value) -> Result<Value, ProviderError> {
    let rec = record::read_record(dir)?.ok_or_else(|| {
        ProviderError::not_found(format!(
            "function `{name}` is not deployed at {}",
            dir.display()
        ))
    })?;
    let code = dir.join(CODE_DIR);
    let runtime = get::str(&rec.inputs, "runtime")?;
    let handler = get::str(&rec.inputs, "handler")?;
    let timeout = get::u64(&rec.inputs, "timeout")?.max(1);
    let memory = get::u64(&rec.inputs, "memory").unwrap_or(128);
    let (argv, shim) = interpreter(runtime)?;

    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]).arg(shim).arg(&code).arg(handler);
    cmd.current_dir(&code)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("OVERCAST_FUNCTION_NAME", name)
        .env("OVERCAST_FUNCTION_MEMORY", memory.to_string())
        .env("OVERCAST_FUNCTION_TIMEOUT", timeout.to_string())
        .env("OVERCAST_REQUEST_ID", fsutil::nonce())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(env) = rec.inputs.get("env").and_then(|v| v.as_object()) {
        for (k, v) in env {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| ProviderError::fatal(format!("starting {}: {e}", argv[0])))?;
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    let input = serde_json::to_vec(&payload).map_err(|e| ProviderError::invalid(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A handler that exits without reading its input closes the pipe: not an error.
        let _ = stdin.write_all(&input).await;
    }
    let out =
        match tokio::time::timeout(Duration::from_secs(timeout), child.wait_with_output()).await {
            Ok(out) => out?,
            Err(_) => {
                if let Some(pid) = pid {
                    // SAFETY: the group was created for this invocation (process_group(0)).
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
                return Err(ProviderError::fatal(format!(
                    "function `{name}` timed out after {timeout} s and was killed"
                )));
            }
        };
    if !out.status.success() {
        return Err(ProviderError::fatal(format!(
            "function `{name}` failed ({}):\n{}",
            out.status,
            tail(&out.stderr, 2000)
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&stdout).map_err(|e| {
        ProviderError::fatal(format!(
            "function `{name}` returned no JSON ({e}): {}",
            tail(&out.stdout, 500)
        ))
    })
}
