//! A function app's package: the `source` directory zipped deterministically
//! (`overcast_core::archive`) with the files Azure Functions reads beside the code:
//!
//! - `host.json`: version 2.0, the extension bundle (Service Bus and blob bindings come from
//!   it) and `functionTimeout`;
//! - `<function>/function.json`: the trigger's binding, pointing at the generated entry file
//!   (`scriptFile`, `entryPoint`) of [`super::adapter`];
//! - the entry file itself.
//!
//! The package is named by its SHA-256 (`<app>/<sha256>.zip` in the app's `packages`
//! container), so a new source or a new trigger is a new blob and a deployed one is never
//! overwritten; the app's `WEBSITE_RUN_FROM_PACKAGE` names it.

use std::path::Path;

use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::adapter;
use super::app::{BLOB_SETTING, SERVICEBUS_SETTING};

/// The extension bundle of Functions host 4 (Service Bus, blob and timer bindings).
const BUNDLE: &str = "[4.*, 5.0.0)";

/// A zipped package.
#[derive(Debug, Clone)]
pub struct Package {
    /// The zip's bytes.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// `<app>/<sha256>.zip`.
pub fn blob_name(app: &str, sha256: &str) -> String {
    format!("{app}/{sha256}.zip")
}

/// The SHA-256 a package URL or blob name carries (see [`blob_name`]), if it is one of ours.
pub fn sha_of(url_or_name: &str) -> Option<String> {
    let path = url_or_name.split(['?', '#']).next()?;
    let sha = path.rsplit('/').next()?.strip_suffix(".zip")?;
    (sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit())).then(|| sha.to_string())
}

fn str_in<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, ProviderError> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| {
        ProviderError::invalid(format!("input `{what}.{key}` missing or not a string"))
    })
}

fn field<'a>(inputs: &'a Attrs, key: &str) -> Result<&'a str, ProviderError> {
    crate::handlers::str_of(inputs, key)
}

/// `functionTimeout` of a number of seconds: `hh:mm:ss`.
pub fn timespan(seconds: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// `host.json`.
pub fn host_json(timeout_s: u64) -> Value {
    json!({
        "version": "2.0",
        "functionTimeout": timespan(timeout_s),
        "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": BUNDLE},
    })
}

/// The one binding of a `trigger` input and its entry point.
pub fn trigger_binding(trigger: &Value) -> Result<(Vec<Value>, &'static str), ProviderError> {
    let kind = str_in(trigger, "type", "trigger")?;
    Ok(match kind {
        "http" => (
            vec![
                // Anonymous, as a function URL is on the other clouds: `url` is callable.
                json!({"type": "httpTrigger", "direction": "in", "name": "req",
                       "authLevel": "anonymous", "methods": ["get", "post"]}),
                json!({"type": "http", "direction": "out", "name": "$return"}),
            ],
            "http",
        ),
        "schedule" => (
            vec![
                json!({"type": "timerTrigger", "direction": "in", "name": "timer",
                        "schedule": str_in(trigger, "schedule", "trigger")?}),
            ],
            "schedule",
        ),
        "queue" => {
            let mut b = json!({"type": "serviceBusTrigger", "direction": "in", "name": "msg",
                               "queueName": str_in(trigger, "queue", "trigger")?,
                               "connection": SERVICEBUS_SETTING});
            // A queue with sessions (an ordered queue) is read only by a session receiver.
            if trigger.get("sessions").and_then(Value::as_bool) == Some(true) {
                b["isSessionsEnabled"] = json!(true);
            }
            (vec![b], "queue")
        }
        "storage" => (
            vec![
                json!({"type": "blobTrigger", "direction": "in", "name": "blob",
                        "path": format!("{}/{{name}}", str_in(trigger, "container", "trigger")?),
                        "connection": BLOB_SETTING}),
            ],
            "storage",
        ),
        other => {
            return Err(ProviderError::invalid(format!(
                "input `trigger.type`: `{other}` is not http, schedule, queue or storage"
            )));
        }
    })
}

/// `<function>/function.json` of `inputs`.
pub fn function_json(inputs: &Attrs) -> Result<Value, ProviderError> {
    let language = field(inputs, "worker_runtime")?;
    let script = adapter::entry_file_name(language).ok_or_else(|| {
        ProviderError::invalid(format!(
            "input `worker_runtime`: `{language}` is not python or node"
        ))
    })?;
    let trigger = inputs
        .get("trigger")
        .cloned()
        .unwrap_or(json!({"type": "http"}));
    let (bindings, entry) = trigger_binding(&trigger)?;
    Ok(json!({"scriptFile": format!("../{script}"), "entryPoint": entry, "bindings": bindings}))
}

/// The generated files of `inputs`: `(path in the package, bytes)`.
pub fn generated(inputs: &Attrs) -> Result<Vec<(String, Vec<u8>)>, ProviderError> {
    let language = field(inputs, "worker_runtime")?;
    let handler = field(inputs, "handler")?;
    let (module, function) = handler.rsplit_once('.').ok_or_else(|| {
        ProviderError::invalid(format!(
            "input `handler`: `{handler}` is not `module.function`"
        ))
    })?;
    let entry = adapter::entry_file(language, module, function).ok_or_else(|| {
        ProviderError::invalid(format!(
            "input `worker_runtime`: `{language}` is not python or node"
        ))
    })?;
    let timeout = inputs
        .get("timeout")
        .and_then(Value::as_u64)
        .ok_or_else(|| ProviderError::invalid("input `timeout` missing or not a number"))?;
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    Ok(vec![
        ("host.json".to_string(), pretty(&host_json(timeout))),
        (
            format!("{}/function.json", field(inputs, "function")?),
            pretty(&function_json(inputs)?),
        ),
        entry,
    ])
}

/// Zip the `source` of `inputs` (relative to `spec_dir`) with the generated files, off the
/// async runtime.
pub async fn build(spec_dir: &Path, inputs: &Attrs) -> Result<Package, ProviderError> {
    let dir = spec_dir.join(field(inputs, "source")?);
    let extra = generated(inputs)?;
    let bytes =
        tokio::task::spawn_blocking(move || overcast_core::archive::zip_dir_with(&dir, &extra))
            .await
            .map_err(|e| ProviderError::fatal(format!("zipping the function source: {e}")))??;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Package { bytes, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(trigger: Value) -> Attrs {
        crate::expand::attrs(json!({
            "worker_runtime": "python", "handler": "app.handle", "function": "worker",
            "timeout": 230, "source": "src", "trigger": trigger,
        }))
    }

    #[test]
    fn names_and_timespans() {
        let sha = "ab".repeat(32);
        let name = blob_name("oc-app", &sha);
        assert_eq!(name, format!("oc-app/{sha}.zip"));
        assert_eq!(sha_of(&name).as_deref(), Some(sha.as_str()));
        assert_eq!(
            sha_of(&format!(
                "https://a.blob.core.windows.net/packages/{name}?sv=1&sig=x"
            ))
            .as_deref(),
            Some(sha.as_str())
        );
        assert_eq!(sha_of("https://x/packages/other.zip"), None);
        assert_eq!(timespan(230), "00:03:50");
        assert_eq!(timespan(600), "00:10:00");
    }

    #[test]
    fn each_trigger_is_one_binding_with_its_entry_point() {
        let http = function_json(&inputs(json!({"type": "http"}))).expect("http");
        assert_eq!(http["scriptFile"], "../overcast_entry.py");
        assert_eq!(http["entryPoint"], "http");
        assert_eq!(http["bindings"][0]["type"], "httpTrigger");
        assert_eq!(http["bindings"][0]["authLevel"], "anonymous");
        assert_eq!(http["bindings"][1]["name"], "$return");
        let timer = function_json(&inputs(
            json!({"type": "schedule", "schedule": "0 */5 * * * *"}),
        ))
        .expect("timer");
        assert_eq!(timer["bindings"][0]["type"], "timerTrigger");
        assert_eq!(timer["bindings"][0]["schedule"], "0 */5 * * * *");
        let queue = function_json(&inputs(
            json!({"type": "queue", "namespace": "ns", "queue": "jobs", "sessions": true}),
        ))
        .expect("queue");
        let b = &queue["bindings"][0];
        assert_eq!(
            (
                &b["type"],
                &b["queueName"],
                &b["connection"],
                &b["isSessionsEnabled"]
            ),
            (
                &json!("serviceBusTrigger"),
                &json!("jobs"),
                &json!(SERVICEBUS_SETTING),
                &json!(true)
            )
        );
        let blob = function_json(&inputs(
            json!({"type": "storage", "account": "acct", "container": "site"}),
        ))
        .expect("blob");
        assert_eq!(blob["bindings"][0]["path"], "site/{name}");
        assert_eq!(blob["bindings"][0]["connection"], BLOB_SETTING);
        assert!(function_json(&inputs(json!({"type": "queue"}))).is_err());
        let files = generated(&inputs(json!({"type": "http"}))).expect("files");
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["host.json", "worker/function.json", "overcast_entry.py"]
        );
        let host: Value = serde_json::from_slice(&files[0].1).expect("json");
        assert_eq!(host["functionTimeout"], "00:03:50");
    }
}
