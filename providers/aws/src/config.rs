//! Target settings and the SDK clients, built once per provider on first use.
//!
//! `AwsProvider::new` is synchronous (the engine builds providers before any runtime work),
//! so the SDK configuration, whose credential chain and region lookup are async, is loaded
//! lazily the first time a call needs a client.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{Region, SdkConfig};
use overcast_core::ProviderError;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Settings of an `aws` target (every key of `targets.<name>` besides `provider`).
///
/// Also the schema the spec validator checks an aws target against
/// (`schemars::schema_for!(Settings)`): an unknown key is refused with a did-you-mean.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(title = "aws target settings")]
pub struct Settings {
    /// AWS region, e.g. `eu-west-1`. When absent, the standard chain decides
    /// (`AWS_REGION`, the profile's region).
    #[serde(deserialize_with = "non_empty")]
    #[schemars(length(min = 1))]
    pub region: Option<String>,
    /// Endpoint URL of every service, for an emulator such as moto
    /// (`http://127.0.0.1:5000`). Empty or absent: the real AWS endpoints, or
    /// `AWS_ENDPOINT_URL` when set.
    #[serde(deserialize_with = "empty_is_none")]
    pub endpoint_url: Option<String>,
    /// Named profile of the shared AWS config and credentials files. Empty or absent:
    /// the default chain.
    #[serde(deserialize_with = "empty_is_none")]
    pub profile: Option<String>,
}

/// An empty string means "not set", so a spec can pass an optional setting through a
/// variable whose default is `""`.
fn empty_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) if s.is_empty() => Err(serde::de::Error::custom(
            "expected a region name such as `eu-west-1`, found an empty string",
        )),
        other => Ok(other),
    }
}

impl Settings {
    /// Read the target's settings. Unknown keys are refused so a typo is not silently
    /// ignored; an error names the offending key.
    pub fn from_map(settings: &Map<String, Value>) -> Result<Settings, ProviderError> {
        serde_path_to_error::deserialize(Value::Object(settings.clone())).map_err(|e| {
            let key = e.path().to_string();
            let what = if key == "." {
                "aws target settings".to_string()
            } else {
                format!("aws target setting `{key}`")
            };
            ProviderError::invalid(format!("{what}: {}", e.inner()))
                .with_hint("aws targets accept `region`, `endpoint_url` and `profile`")
        })
    }

    /// The endpoint in use: the setting, else AWS_ENDPOINT_URL (also read by the SDK).
    pub fn effective_endpoint(&self) -> Option<String> {
        self.endpoint_url.clone().or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
    }
}

/// Every SDK client the provider uses, sharing one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The loaded shared configuration (region, credentials, endpoint).
    pub sdk: SdkConfig,
    /// Region in use.
    pub region: String,
    /// Endpoint override (emulator), if any: URLs of buckets are built on it.
    pub endpoint: Option<String>,
    /// Directory of the spec: function sources and storage content are relative to it
    /// (kept relative in inputs so state does not depend on where the checkout lives).
    pub spec_dir: std::path::PathBuf,
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// RDS.
    pub rds: aws_sdk_rds::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// CloudFront.
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// EventBridge (schedule triggers).
    pub events: aws_sdk_eventbridge::Client,
    /// STS (preflight).
    pub sts: aws_sdk_sts::Client,
    /// Resource Groups Tagging API (discovery).
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Serializes read-modify-writes of one bucket's shared documents.
    pub bucket_locks: BucketLocks,
}

/// One async lock per bucket. A bucket's policy and notification configuration are single
/// documents that several natives edit (one statement or one notification each) by
/// reading, changing and writing them back; two such edits at once would lose one.
#[derive(Debug, Clone, Default)]
pub struct BucketLocks(
    std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    >,
);

impl BucketLocks {
    /// Wait for, and hold until the guard drops, the lock of `bucket`.
    pub async fn lock(&self, bucket: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            // A poisoned map only means another task panicked while inserting; the map
            // itself is still a valid map.
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(bucket.to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}

/// Load the shared configuration and build the clients.
pub async fn load(
    settings: &Settings,
    spec_dir: &std::path::Path,
) -> Result<Clients, ProviderError> {
    let region_chain = RegionProviderChain::first_try(settings.region.clone().map(Region::new))
        .or_default_provider();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region_chain)
        // The engine's retry layer is the only one (src/retry.rs): a second layer in the SDK
        // would multiply attempts and hide throttling from the engine's backoff.
        .retry_config(RetryConfig::disabled())
        // The engine times out whole calls; only bound the connect so a dead endpoint fails fast.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    let sdk = loader.load().await;
    from_sdk_config(settings, spec_dir, sdk)
}

/// Build the clients on an already loaded configuration (for embedders that resolve
/// credentials their own way). The endpoint and region must already be set in it.
pub fn from_sdk_config(
    settings: &Settings,
    spec_dir: &std::path::Path,
    sdk: SdkConfig,
) -> Result<Clients, ProviderError> {
    let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
        ProviderError::invalid("no AWS region: set `region` on the aws target, or AWS_REGION")
            .with_hint("e.g. `targets: { prod: { provider: aws, region: eu-west-1 } }`")
    })?;
    // Emulators serve S3 on one host: path-style addressing (`host/bucket`) is required.
    let path_style = settings.effective_endpoint().is_some();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(path_style)
            .build(),
    );
    Ok(Clients {
        region,
        endpoint: settings.effective_endpoint(),
        spec_dir: spec_dir.to_path_buf(),
        s3,
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ec2: aws_sdk_ec2::Client::new(&sdk),
        rds: aws_sdk_rds::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        cloudfront: aws_sdk_cloudfront::Client::new(&sdk),
        sts: aws_sdk_sts::Client::new(&sdk),
        events: aws_sdk_eventbridge::Client::new(&sdk),
        tagging: aws_sdk_resourcegroupstagging::Client::new(&sdk),
        bucket_locks: BucketLocks::default(),
        sdk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_accept_known_keys_and_refuse_typos() {
        let m = json!({"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000"});
        let s = Settings::from_map(m.as_object().expect("object")).expect("valid");
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        let bad = json!({"regoin": "x"});
        let e = Settings::from_map(bad.as_object().expect("object")).unwrap_err();
        assert!(e.message.contains("regoin"), "{e}");
    }

    #[test]
    fn empty_optional_settings_mean_unset_and_bad_ones_name_the_key() {
        let m = json!({"region": "us-east-1", "endpoint_url": "", "profile": null});
        let s = Settings::from_map(m.as_object().expect("object")).expect("valid");
        assert_eq!(s.endpoint_url, None);
        assert_eq!(s.profile, None);
        for (v, key) in [
            (json!({"region": ""}), "region"),
            (json!({"region": 5}), "region"),
            (json!({"endpoint_url": true}), "endpoint_url"),
        ] {
            let e = Settings::from_map(v.as_object().expect("object")).unwrap_err();
            assert!(e.message.contains(&format!("`{key}`")), "{v}: {e}");
        }
    }

    #[test]
    fn the_schema_documents_every_setting() {
        let schema = schemars::schema_for!(Settings).to_value();
        assert_eq!(schema["additionalProperties"], json!(false));
        let props = schema["properties"].as_object().expect("properties");
        assert_eq!(
            props.keys().map(String::as_str).collect::<Vec<_>>(),
            ["region", "endpoint_url", "profile"]
        );
        for (name, s) in props {
            assert!(s.get("description").is_some(), "`{name}`: {s}");
        }
    }
}
