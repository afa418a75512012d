//! The local target's settings (`targets.<name>.settings` in a stack), parsed and checked
//! once when the provider is built, so a typo fails before any resource is touched.

use std::collections::BTreeSet;
use std::path::PathBuf;

use overcast_core::ProviderError;
use serde_json::{Map, Value};

/// Settings of a `local` target. Unknown keys are ignored (targets may carry settings for
/// other tools); known keys with a wrong type or range are rejected, naming the key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// `latency_ms`: sleep this long at the start of every provider call.
    pub latency_ms: u64,
    /// `error_rate` (0..=1): that fraction of calls fails with a retryable error before
    /// doing anything.
    pub error_rate: f64,
    /// `rate_limit`: calls per second the target accepts (a token bucket holding one
    /// second's worth); calls beyond it fail with a throttling error, as a cloud API's
    /// rate limit does.
    pub rate_limit: Option<f64>,
    /// `seed`: seeds the fault injector so a run's faults are reproducible.
    pub seed: u64,
    /// `fail_resources`: create/update of the natives of these abstract resources fails
    /// with a fatal error.
    pub fail_resources: BTreeSet<String>,
    /// `noop`: every native is a small JSON file; no process, server or database.
    pub noop: bool,
    /// `postgres`: materialize `engine: postgres` databases as a real PostgreSQL cluster
    /// when its binaries are usable here.
    pub postgres: bool,
    /// `helper_exe`: the executable that serves `__local-cdn-serve <config>`; defaults to
    /// the running executable.
    pub helper_exe: Option<PathBuf>,
}

fn bad(key: &str, expected: &str, got: &Value) -> ProviderError {
    ProviderError::invalid(format!(
        "local target setting `{key}` must be {expected}, got {got}"
    ))
    .with_hint(format!(
        "fix or remove `{key}` under the target's `settings`"
    ))
}

impl Settings {
    /// Parse the settings map of a target.
    pub fn parse(map: &Map<String, Value>) -> Result<Settings, ProviderError> {
        let mut s = Settings::default();
        if let Some(v) = map.get("latency_ms") {
            s.latency_ms = v
                .as_u64()
                .ok_or_else(|| bad("latency_ms", "a whole number of milliseconds", v))?;
        }
        if let Some(v) = map.get("error_rate") {
            match v.as_f64() {
                Some(r) if (0.0..=1.0).contains(&r) => s.error_rate = r,
                _ => return Err(bad("error_rate", "a number between 0 and 1", v)),
            }
        }
        if let Some(v) = map.get("rate_limit") {
            match v.as_f64() {
                Some(r) if r > 0.0 && r.is_finite() => s.rate_limit = Some(r),
                _ => {
                    return Err(bad(
                        "rate_limit",
                        "a positive number of calls per second",
                        v,
                    ));
                }
            }
        }
        if let Some(v) = map.get("seed") {
            s.seed = v
                .as_u64()
                .ok_or_else(|| bad("seed", "a non-negative whole number", v))?;
        }
        if let Some(v) = map.get("fail_resources") {
            let list = v
                .as_array()
                .ok_or_else(|| bad("fail_resources", "a list of resource names", v))?;
            for item in list {
                let name = item
                    .as_str()
                    .ok_or_else(|| bad("fail_resources", "a list of resource names", v))?;
                s.fail_resources.insert(name.to_string());
            }
        }
        if let Some(v) = map.get("noop") {
            s.noop = v.as_bool().ok_or_else(|| bad("noop", "true or false", v))?;
        }
        if let Some(v) = map.get("postgres") {
            s.postgres = v
                .as_bool()
                .ok_or_else(|| bad("postgres", "true or false", v))?;
        }
        if let Some(v) = map.get("helper_exe") {
            match v.as_str() {
                Some(p) if !p.is_empty() => s.helper_exe = Some(PathBuf::from(p)),
                _ => return Err(bad("helper_exe", "the path of an executable", v)),
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Settings, ProviderError> {
        Settings::parse(v.as_object().expect("object"))
    }

    #[test]
    fn parses_every_known_setting() {
        let s = parse(
            json!({"latency_ms": 5, "error_rate": 0.5, "seed": 7, "fail_resources": ["db"],
            "noop": true, "postgres": false, "helper_exe": "/bin/x", "region": "ignored"}),
        )
        .expect("valid");
        assert_eq!(s.latency_ms, 5);
        assert_eq!(s.error_rate, 0.5);
        assert!(s.fail_resources.contains("db"));
        assert!(s.noop);
        assert_eq!(s.helper_exe, Some(PathBuf::from("/bin/x")));
    }

    #[test]
    fn bad_settings_name_the_setting() {
        for (v, key) in [
            (json!({"error_rate": 2}), "error_rate"),
            (json!({"latency_ms": -1}), "latency_ms"),
            (json!({"fail_resources": "db"}), "fail_resources"),
            (json!({"noop": "yes"}), "noop"),
        ] {
            let e = parse(v).expect_err("invalid");
            assert_eq!(e.class, overcast_core::ErrorClass::InvalidInput);
            assert!(e.message.contains(key), "{e}");
        }
    }
}
