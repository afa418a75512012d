//! The provider registry: the only place in the engine that names a provider crate.
//!
//! Everything else reaches a cloud through `overcast_core::Provider`, picked here by the
//! target's [`ProviderKind`]. Each cloud is a cargo feature of the binary; a provider
//! left out of this build is a clear error when a
//! target uses it, never a panic. The registry also hands the spec validator and
//! `overcast schema` each provider's settings schema (the provider's own typed settings
//! struct), so target settings are checked with the same rigour as resource properties.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use overcast_core::{Provider, ProviderContext, ProviderError, ProviderKind};
use serde_json::Value;

use crate::engine::{EngineError, work_dir};
use crate::spec::{Stack, Target};

/// The providers this build includes: local always, each cloud with its cargo feature.
const BUILT: &[ProviderKind] = &[
    ProviderKind::Local,
    #[cfg(feature = "aws")]
    ProviderKind::Aws,
    #[cfg(feature = "azure")]
    ProviderKind::Azure,
    #[cfg(feature = "gcp")]
    ProviderKind::Gcp,
];

/// The providers this build includes.
pub fn built() -> impl Iterator<Item = ProviderKind> {
    BUILT.iter().copied()
}

/// Whether this build can talk to `kind`'s cloud, and if not, why (for the error a
/// target of that provider gets).
pub fn availability(kind: ProviderKind) -> Result<(), String> {
    if BUILT.contains(&kind) {
        return Ok(());
    }
    match kind {
        ProviderKind::Aws => Err(
            "which this build of overcast leaves out: rebuild with the `aws` cargo feature \
             (on by default; `cargo build --features aws`)"
                .to_string(),
        ),
        ProviderKind::Gcp => Err(
            "which this build of overcast leaves out: rebuild with the `gcp` cargo feature \
             (`cargo build --features gcp`)"
                .to_string(),
        ),
        ProviderKind::Azure => Err(
            "which this build of overcast leaves out: rebuild with the `azure` cargo feature \
             (`cargo build --features azure`)"
                .to_string(),
        ),
        ProviderKind::Local => Ok(()),
    }
}

/// The JSON Schema of `kind`'s target settings, from the provider's settings struct;
/// `None` when this build does not include the provider (its settings are then not
/// checked: the target fails with [`availability`]'s reason instead).
pub fn settings_schema(kind: ProviderKind) -> Option<&'static Value> {
    static LOCAL: OnceLock<Value> = OnceLock::new();
    match kind {
        ProviderKind::Local => {
            Some(LOCAL.get_or_init(|| schemars::schema_for!(overcast_local::Settings).to_value()))
        }
        #[cfg(feature = "aws")]
        ProviderKind::Aws => {
            static AWS: OnceLock<Value> = OnceLock::new();
            Some(
                AWS.get_or_init(|| {
                    schemars::schema_for!(overcast_aws::config::Settings).to_value()
                }),
            )
        }
        #[cfg(feature = "azure")]
        ProviderKind::Azure => {
            static AZURE: OnceLock<Value> = OnceLock::new();
            Some(AZURE.get_or_init(|| schemars::schema_for!(overcast_azure::Settings).to_value()))
        }
        #[cfg(feature = "gcp")]
        ProviderKind::Gcp => {
            static GCP: OnceLock<Value> = OnceLock::new();
            Some(GCP.get_or_init(|| schemars::schema_for!(overcast_gcp::Settings).to_value()))
        }
        // Every provider is matched above when every cloud is built.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Build one provider per declared target of `stack`.
pub fn build_providers(stack: &Stack) -> Result<BTreeMap<String, Arc<dyn Provider>>, EngineError> {
    let mut out = BTreeMap::new();
    for (name, target) in &stack.targets {
        out.insert(name.clone(), build(stack, target)?);
    }
    Ok(out)
}

/// Build a provider with no spec (`nuke --provider`): `settings` as a target of that name
/// would hold them, `work_dir` where the local cloud keeps its targets.
pub fn build_standalone(
    kind: ProviderKind,
    target: &str,
    settings: serde_json::Map<String, Value>,
    work_dir: &std::path::Path,
) -> Result<Arc<dyn Provider>, EngineError> {
    let spec_dir = work_dir
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let stack = Stack {
        name: "nuke".to_string(),
        file: PathBuf::from("<command line>"),
        dir: spec_dir,
        default_target: target.to_string(),
        targets: BTreeMap::new(),
        variables: BTreeMap::new(),
        resources: BTreeMap::new(),
        outputs: BTreeMap::new(),
    };
    let target = Target {
        name: target.to_string(),
        provider: kind,
        settings,
        location: crate::spec::Location {
            file: PathBuf::from("<command line>"),
            line: 1,
            column: 1,
        },
    };
    build(&stack, &target)
}

/// Where a provider-only command (`nuke --provider`) acts, as flags.
#[derive(Debug, Clone, Default)]
pub struct LocationFlags {
    /// `--region`: region (AWS, GCP), location (Azure), target name (local).
    pub region: Option<String>,
    /// `--project` (GCP).
    pub project: Option<String>,
    /// `--subscription` (Azure).
    pub subscription: Option<String>,
    /// `--resource-group` (Azure).
    pub resource_group: Option<String>,
    /// `--endpoint`: an emulator's API (AWS, Azure).
    pub endpoint: Option<String>,
}

/// The target name and settings these flags mean for `kind`, or an error naming the flag
/// that does not apply to it. The local cloud's `--region` is the target whose directory
/// (`.overcast/local/<region>`) is emptied; every other flag is that provider's setting.
pub fn standalone_settings(
    kind: ProviderKind,
    flags: &LocationFlags,
) -> Result<(String, serde_json::Map<String, Value>), String> {
    let mut settings = serde_json::Map::new();
    let mut put = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            settings.insert(key.to_string(), Value::from(v.clone()));
        }
    };
    let refuse = |flag: &str, v: &Option<String>, hint: &str| -> Result<(), String> {
        match v {
            Some(_) => Err(format!(
                "--{flag} does not apply to provider `{kind}`{hint}"
            )),
            None => Ok(()),
        }
    };
    let target = match kind {
        ProviderKind::Local => {
            refuse("project", &flags.project, "")?;
            refuse("subscription", &flags.subscription, "")?;
            refuse("resource-group", &flags.resource_group, "")?;
            refuse("endpoint", &flags.endpoint, "")?;
            flags.region.clone().unwrap_or_else(|| "local".to_string())
        }
        ProviderKind::Aws => {
            refuse("project", &flags.project, "")?;
            refuse("subscription", &flags.subscription, "")?;
            refuse("resource-group", &flags.resource_group, "")?;
            put("region", &flags.region);
            put("endpoint_url", &flags.endpoint);
            "aws".to_string()
        }
        ProviderKind::Azure => {
            refuse("project", &flags.project, "")?;
            put("subscription_id", &flags.subscription);
            put("location", &flags.region);
            put("resource_group", &flags.resource_group);
            put("arm_endpoint", &flags.endpoint);
            "azure".to_string()
        }
        ProviderKind::Gcp => {
            refuse("subscription", &flags.subscription, "")?;
            refuse("resource-group", &flags.resource_group, "")?;
            refuse(
                "endpoint",
                &flags.endpoint,
                ": each GCP service has its own endpoint; use --setting compute_endpoint=URL \
                 (storage_endpoint, pubsub_endpoint, sql_endpoint, functions_endpoint, \
                 scheduler_endpoint)",
            )?;
            put("project", &flags.project);
            put("region", &flags.region);
            "gcp".to_string()
        }
    };
    Ok((target, settings))
}

/// Build the provider of one target.
pub fn build(stack: &Stack, target: &Target) -> Result<Arc<dyn Provider>, EngineError> {
    availability(target.provider).map_err(|why| EngineError::ProviderUnavailable {
        target: target.name.clone(),
        provider: target.provider.to_string(),
        location: target.location.to_string(),
        why,
    })?;
    let ctx = ProviderContext {
        stack: stack.name.clone(),
        target: target.name.clone(),
        settings: target.settings.clone(),
        spec_dir: stack.dir.clone(),
        work_dir: work_dir(stack),
    };
    let setup = |e: ProviderError| EngineError::ProviderSetup {
        target: target.name.clone(),
        message: e.to_string(),
    };
    let provider: Arc<dyn Provider> = match target.provider {
        ProviderKind::Local => Arc::new(overcast_local::LocalProvider::new(ctx).map_err(setup)?),
        #[cfg(feature = "aws")]
        ProviderKind::Aws => Arc::new(overcast_aws::AwsProvider::new(ctx).map_err(setup)?),
        #[cfg(feature = "azure")]
        ProviderKind::Azure => Arc::new(overcast_azure::AzureProvider::new(ctx).map_err(setup)?),
        #[cfg(feature = "gcp")]
        ProviderKind::Gcp => Arc::new(overcast_gcp::GcpProvider::new(ctx).map_err(setup)?),
        // `availability` refused every other provider above.
        #[allow(unreachable_patterns)]
        other => {
            return Err(EngineError::ProviderUnavailable {
                target: target.name.clone(),
                provider: other.to_string(),
                location: target.location.to_string(),
                why: "which this build of overcast does not include".to_string(),
            });
        }
    };
    Ok(provider)
}

/// Serve a local cdn: the hidden `__local-cdn-serve CONFIG` command, which the local cloud
/// starts as a detached process of this same binary. Here so that only the registry names
/// a provider crate.
pub fn serve_local_cdn(config: &std::path::Path) -> std::io::Result<()> {
    overcast_local::run_cdn_server(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_provider_has_a_settings_schema_that_refuses_unknown_keys() {
        for kind in built() {
            let s = settings_schema(kind).unwrap_or_else(|| panic!("{kind} has no schema"));
            assert_eq!(s["additionalProperties"], false, "{kind}: {s}");
        }
        assert_eq!(
            settings_schema(ProviderKind::Gcp).is_some(),
            cfg!(feature = "gcp")
        );
    }

    #[test]
    fn unbuilt_providers_say_which_feature_builds_them() {
        assert!(availability(ProviderKind::Local).is_ok());
        assert_eq!(
            availability(ProviderKind::Azure).is_ok(),
            cfg!(feature = "azure")
        );
        if let Err(why) = availability(ProviderKind::Azure) {
            assert!(why.contains("`azure` cargo feature"), "{why}");
        }
        assert_eq!(
            availability(ProviderKind::Aws).is_ok(),
            cfg!(feature = "aws")
        );
        assert_eq!(
            availability(ProviderKind::Gcp).is_ok(),
            cfg!(feature = "gcp")
        );
    }
}
