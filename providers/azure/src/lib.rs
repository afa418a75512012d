//! overcast's Azure provider: Azure Resource Manager through azure_core's HTTP pipeline,
//! with typed request and response models per resource type and one pinned api-version
//! per resource provider (there is no maintained ARM crate), and credentials through
//! azure_identity.
//!
//! | kind | natives |
//! |---|---|
//! | storage | `azure_storage_account` (access tier, versioning, lifecycle policy, public access) + `azure_storage_container` (with `content`: the directory's files as its blobs, through the data plane with a SAS signed from the account key) |
//! | queue | `azure_servicebus_namespace` (its own, tagged) + `azure_servicebus_queue` |
//! | database | `azure_database_server` (PostgreSQL or MySQL flexible server, generated administrator password; one more per read replica) + `azure_database` |
//! | compute | `azure_network_security_group` + per instance `azure_public_ip` (with ports), `azure_network_interface`, `azure_virtual_machine`, on the target's `azure_virtual_network` |
//! | cdn | `azure_cdn_profile` (Front Door Standard, tagged, with the rule that sets the cache duration) + `azure_cdn_endpoint` (tagged) + `azure_cdn_origin_group` + `azure_cdn_origin` + `azure_cdn_route` |
//! | function | `azure_storage_account` + `azure_storage_container` (its packages) + `azure_function_plan` (Linux Consumption) + `azure_function_app` (run from its package; triggers http, Service Bus queue, timer, blob) |
//!
//! Every target gets its resource group `@<target>.group` (unless it names one with
//! `resource_group`), created before and deleted after every other resource, and with a
//! compute resource its network `@<target>.network`.
//!
//! Target settings: `subscription_id` (else AZURE_SUBSCRIPTION_ID), `location`,
//! `resource_group`, and for test servers `arm_endpoint` and `blob_endpoint`. Every
//! created resource that ARM tags carries `overcast:stack`, `overcast:target` and
//! `overcast:resource`.

mod abstracts;
pub mod arm;
pub mod cdn;
pub mod compute;
pub mod config;
pub mod content;
pub mod credential;
pub mod database;
pub mod discover;
pub mod errors;
pub mod expand;
pub mod function;
pub mod group;
mod handlers;
pub mod ids;
mod link;
pub mod names;
mod outputs;
pub mod provider;
pub mod servicebus;
pub mod storage;

pub use config::Settings;
pub use provider::AzureProvider;
