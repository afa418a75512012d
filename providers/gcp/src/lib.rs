//! overcast's GCP provider, through the official google-cloud-rust crates.
//!
//! | kind | natives |
//! |---|---|
//! | storage | `gcp_storage_bucket` (Cloud Storage) |
//! | database | `gcp_sql_instance` (Cloud SQL; one more per read replica) + `gcp_sql_database` + `gcp_sql_user` (generated password) |
//! | queue | `gcp_pubsub_topic` + `gcp_pubsub_subscription` (pull); with `dead_letter`, a dead-letter topic and a subscription that keeps its messages |
//!
//! The other kinds (compute, function, cdn) are not built yet: `expand` refuses
//! them with an error that says so, and a storage's `content` upload likewise.
//!
//! Target settings: `project` (else GOOGLE_CLOUD_PROJECT), `region`, `zone`, and per-service
//! endpoints for emulators (`storage_endpoint`, `pubsub_endpoint`; requests to an emulator
//! carry no credentials). Credentials are Application Default Credentials. Every created
//! resource carries the labels `overcast-stack`, `overcast-target` and `overcast-resource`
//! (escaped to GCP's label alphabet: see `overcast_core::labels`).

mod abstracts;
pub mod bucket;
pub mod config;
pub mod discover;
pub mod errors;
pub mod expand;
pub mod gcs;
mod handlers;
pub mod labels;
pub mod names;
mod outputs;
pub mod provider;
pub mod pubsub;
pub mod sql;

pub use config::Settings;
pub use provider::GcpProvider;

/// The client crates this provider is built on, re-exported so tests and tools check the
/// cloud through the same versions.
pub mod sdk {
    pub use google_cloud_auth as auth;
    pub use google_cloud_pubsub as pubsub;
    pub use google_cloud_wkt as wkt;
}
