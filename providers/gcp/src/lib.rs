//! overcast's GCP provider, through the official google-cloud-rust crates.
//!
//! | kind | natives |
//! |---|---|
//! | storage | `gcp_storage_bucket` (Cloud Storage; with `content`, the directory's files as its objects) |
//! | database | `gcp_sql_instance` (Cloud SQL; one more per read replica) + `gcp_sql_database` + `gcp_sql_user` (generated password) |
//! | queue | `gcp_pubsub_topic` + `gcp_pubsub_subscription` (pull); with `dead_letter`, a dead-letter topic and a subscription that keeps its messages |
//! | function | `gcp_cloud_function` (Cloud Functions 2nd gen), source in the target's staging bucket `@<target>.staging`; a schedule trigger adds a `gcp_scheduler_job` |
//! | compute | `gcp_compute_instance` x `count` and, with `ports`, a `gcp_compute_firewall`, on the target's `gcp_compute_network` (Compute Engine) |
//! | cdn | `gcp_compute_backend_bucket` (Cloud CDN on a storage origin) -> `gcp_compute_url_map` -> `gcp_compute_target_http_proxy` -> `gcp_compute_global_forwarding_rule` |
//!
//! Not built yet: a cdn with a compute origin (refused by `expand` with an error that says so).
//!
//! Target settings: `project` (else GOOGLE_CLOUD_PROJECT), `region`, `zone`, and per-service
//! endpoints for emulators (`storage_endpoint`, `pubsub_endpoint`; requests to an emulator
//! carry no credentials). Credentials are Application Default Credentials. Every created
//! resource carries the labels `overcast-stack`, `overcast-target` and `overcast-resource`
//! (escaped to GCP's label alphabet: see `overcast_core::labels`).

mod abstracts;
pub mod bucket;
pub mod compute;
pub mod config;
pub mod content;
pub mod discover;
pub mod errors;
pub mod expand;
pub mod functions;
pub mod gcs;
mod handlers;
pub mod labels;
pub mod link;
pub mod names;
pub mod objects;
mod outputs;
pub mod provider;
pub mod pubsub;
mod rest;
pub mod scheduler;
pub mod sql;

pub use config::Settings;
pub use provider::GcpProvider;

/// The client crates this provider is built on, re-exported so tests and tools check the
/// cloud through the same versions.
pub mod sdk {
    pub use google_cloud_auth as auth;
    pub use google_cloud_functions_v2 as functions;
    pub use google_cloud_pubsub as pubsub;
    pub use google_cloud_wkt as wkt;
}
