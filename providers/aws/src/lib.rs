//! overcast's AWS provider: the six abstract kinds on AWS through aws-sdk-rust.
//!
//! | kind | natives |
//! |---|---|
//! | storage | `aws_s3_bucket` |
//! | queue | `aws_sqs_queue` (+ a second one as dead-letter queue) |
//! | function | `aws_iam_role`, `aws_lambda_function`, `aws_lambda_event_source_mapping` (queue trigger), `aws_lambda_function_url` (http trigger), `aws_eventbridge_schedule` (schedule trigger), `aws_s3_bucket_notification` (storage trigger) |
//! | compute | `aws_security_group`, `aws_ec2_instance` × count |
//! | database | `aws_db_instance`, `aws_db_read_replica` × read_replicas |
//! | cdn | `aws_cloudfront_origin_access_control` + `aws_s3_bucket_cdn_access` (bucket origin), `aws_cloudfront_distribution` |
//!
//! Target settings: `region`, `endpoint_url` (an emulator; AWS_ENDPOINT_URL works too),
//! `profile`. Credentials come from the standard AWS chain. Every created resource carries
//! the tags `overcast:stack`, `overcast:target` and `overcast:resource`.
//!
//! [`overcast_core::Provider::discover`] lists every resource of the supported types in a
//! region (see [`discover`]); the CLI's `overcast discover` prints it, and `overcast nuke`
//! deletes it along the edges [`link`] finds.

mod abstracts;
pub mod catalog;
pub mod cloudfront;
pub mod config;
pub mod content;
pub mod discover;
pub mod ec2;
pub mod errors;
pub mod events;
pub mod expand;
mod handlers;
pub mod iam;
pub mod lambda;
pub mod link;
pub mod names;
mod outputs;
pub mod provider;
pub mod rds;
pub mod s3;
pub mod s3_empty;
pub mod s3_notify;
pub mod sqs;
mod util;

pub use discover::{DiscoveredResource, DiscoveryFilter};
pub use provider::AwsProvider;

/// The SDK crates this provider is built on, re-exported so tests and tools check the
/// cloud through the same client versions without depending on them separately.
pub mod sdk {
    pub use aws_config;
    pub use aws_sdk_cloudfront as cloudfront;
    pub use aws_sdk_ec2 as ec2;
    pub use aws_sdk_eventbridge as events;
    pub use aws_sdk_iam as iam;
    pub use aws_sdk_lambda as lambda;
    pub use aws_sdk_rds as rds;
    pub use aws_sdk_resourcegroupstagging as tagging;
    pub use aws_sdk_s3 as s3;
    pub use aws_sdk_sqs as sqs;
}
