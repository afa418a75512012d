//! The local target's settings (every key of `targets.<name>` besides `provider`), typed
//! once when the provider is built, so a typo fails before any resource is touched.
//!
//! [`Settings`] is also the schema the spec validator checks a local target against
//! (`schemars::schema_for!(Settings)`): a misspelled key is reported at its line and
//! column with a did-you-mean, and `overcast schema` offers the keys to editors.

use std::collections::BTreeSet;
use std::path::PathBuf;

use overcast_core::ProviderError;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Settings of a `local` target. Every key is optional; an unknown key is refused, so a
/// typo such as `latncy_ms` is an error rather than a silently ignored setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(title = "local target settings")]
pub struct Settings {
    /// Milliseconds to sleep at the start of every provider call, to simulate a remote
    /// cloud's latency.
    pub latency_ms: u64,
    /// Fraction of provider calls, from 0 to 1, that fail with a retryable error before
    /// doing anything.
    #[serde(deserialize_with = "fraction")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub error_rate: f64,
    /// Seed of the fault injector, so that a run's injected faults are reproducible.
    pub seed: u64,
    /// Abstract resources whose natives fail to create or update with a fatal error.
    pub fail_resources: BTreeSet<String>,
    /// Natives (by address, `web.instance[0]`) or abstract resources (by name, `web`)
    /// whose deletes fail with a fatal error, after the injected latency: how a teardown
    /// (destroy, nuke) reports a resource it could not delete is tested with it.
    pub fail_deletes: BTreeSet<String>,
    /// Every native is a small JSON file: no process, server or database is started
    /// (benchmarks of the engine itself).
    pub noop: bool,
    /// Materialize `engine: postgres` databases as a real PostgreSQL cluster when its
    /// binaries are usable here (otherwise SQLite stands in).
    pub postgres: bool,
    /// The executable that serves `__local-cdn-serve <config>` for cdn resources;
    /// defaults to the running executable.
    #[serde(deserialize_with = "non_empty_path")]
    #[schemars(length(min = 1))]
    pub helper_exe: Option<PathBuf>,
    /// Provider calls per second across the whole target, a positive number; calls
    /// beyond it fail with a throttling error, as a rate-limited cloud API answers (a
    /// token bucket holding one second's worth). Unlimited when absent.
    #[serde(deserialize_with = "positive")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub rate_limit: Option<f64>,
}

fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let x = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(serde::de::Error::custom(format!(
            "{x} is out of range: expected a number from 0 to 1"
        )))
    }
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(x) if !(x > 0.0 && x.is_finite()) => Err(serde::de::Error::custom(format!(
            "{x} is out of range: expected a positive number of calls per second"
        ))),
        other => Ok(other),
    }
}

fn non_empty_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(p) if p.is_empty() => Err(serde::de::Error::custom(
            "expected the path of an executable, found an empty string",
        )),
        other => Ok(other.map(PathBuf::from)),
    }
}

impl Settings {
    /// Parse the settings map of a target; an error names the offending key.
    pub fn parse(map: &Map<String, Value>) -> Result<Settings, ProviderError> {
        serde_path_to_error::deserialize(Value::Object(map.clone())).map_err(|e| {
            let key = e.path().to_string();
            let what = if key == "." {
                "local target settings".to_string()
            } else {
                format!("local target setting `{key}`")
            };
            ProviderError::invalid(format!("{what}: {}", e.inner()))
                .with_hint("fix or remove it under the target (see `overcast schema`)")
        })
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
            "fail_deletes": ["web.instance[0]", "db"],
            "noop": true, "postgres": false, "helper_exe": "/bin/x", "rate_limit": 50}),
        )
        .expect("valid");
        assert_eq!(s.latency_ms, 5);
        assert_eq!(s.error_rate, 0.5);
        assert!(s.fail_resources.contains("db"));
        assert!(s.fail_deletes.contains("web.instance[0]"));
        assert!(s.noop);
        assert_eq!(s.helper_exe, Some(PathBuf::from("/bin/x")));
        assert_eq!(s.rate_limit, Some(50.0));
        assert_eq!(parse(json!({})).expect("empty"), Settings::default());
    }

    #[test]
    fn bad_settings_name_the_setting() {
        for (v, key) in [
            (json!({"error_rate": 2}), "error_rate"),
            (json!({"latency_ms": -1}), "latency_ms"),
            (json!({"fail_resources": "db"}), "fail_resources"),
            (json!({"fail_deletes": "db"}), "fail_deletes"),
            (json!({"noop": "yes"}), "noop"),
            (json!({"rate_limit": 0}), "rate_limit"),
            (json!({"rate_limit": -5.5}), "rate_limit"),
            (json!({"helper_exe": ""}), "helper_exe"),
        ] {
            let e = parse(v.clone()).expect_err("invalid");
            assert_eq!(e.class, overcast_core::ErrorClass::InvalidInput);
            assert!(e.message.contains(&format!("`{key}`")), "{v}: {e}");
        }
    }

    #[test]
    fn a_misspelled_setting_is_refused_not_ignored() {
        let e = parse(json!({"latncy_ms": 5})).expect_err("typo");
        assert!(e.message.contains("latncy_ms"), "{e}");
        assert!(e.message.contains("latency_ms"), "{e}");
    }

    #[test]
    fn the_schema_documents_every_setting_and_its_ranges() {
        let schema = schemars::schema_for!(Settings).to_value();
        let props = schema["properties"].as_object().expect("properties");
        for (name, s) in props {
            assert!(
                s.get("description").and_then(Value::as_str).is_some(),
                "`{name}` has no description: {s}"
            );
        }
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(props["error_rate"]["maximum"], json!(1.0));
        assert_eq!(props["rate_limit"]["exclusiveMinimum"], json!(0));
    }
}
