//! overcast's embedded local cloud: a real provider that materializes the six abstract
//! kinds on this machine, under `<work_dir>/local/<target>/<kind>/<resource>/<native>/`.
//! It needs no account, works offline, and gives the engine's tests and benchmarks a real
//! provider with optional injected latency and faults.
//!
//! | kind | native type | what exists on this machine |
//! |---|---|---|
//! | storage | `local_bucket` | a directory of objects, url `file://…/objects` |
//! | queue | `local_queue` | a durable SQLite queue file ([`LocalQueue`]): visibility timeout, retention, FIFO, dead letters |
//! | database | `local_sqlite` / `local_postgres` | an SQLite file; or a real PostgreSQL cluster on 127.0.0.1 when the target sets `postgres: true` and PostgreSQL is installed (not as root) |
//! | function | `local_function` | the packaged source, run on demand with `python3` or `node` (`invoke`) |
//! | compute | `local_process` (one per instance) | a supervised detached process running `startup`, with `PORT` on 127.0.0.1 |
//! | cdn | `local_cdn` | a detached caching HTTP server on 127.0.0.1 in front of a bucket or an instance ([`run_cdn_server`]) |
//!
//! What it cannot emulate, and says so in each module: access control, storage classes,
//! versioning and lifecycle rules (recorded only); database users on SQLite; machine
//! images, sizes and resource limits; TLS and edge locations; event sources that run on
//! their own (a queue trigger is served by [`LocalProvider::drain_queue`], an http trigger
//! has no endpoint).
//!
//! Guarantees: every native's directory is built in a temp sibling and renamed into place
//! with its `owner.json` (stack, target, address), so an apply killed at any instant
//! leaves nothing or a complete resource, which [`overcast_core::Provider::adopt`] finds.
//! `read` reports live state: a removed directory is gone, a dead process shows as the
//! live input `running: false`, changed `content`/`source` directories as
//! `content_in_sync`/`code_in_sync: false`, so the plan shows the drift and the update
//! repairs it. Processes bind 127.0.0.1 only, run in their own session and process group,
//! and are stopped with their whole group on delete.
//!
//! Discovery (what `overcast discover` and `nuke` list) finds every native under the
//! target's directory whatever the state says, with its address as name, the target as
//! location and the creation time its record keeps; `link_discovered` tells which native
//! uses which from what their recorded inputs name (a cdn its origin, a function its
//! trigger's queue or bucket, a connection string its database); `account` is the
//! target's directory. A state made by `discovered_state` deletes its native whatever
//! stack owns it, while a stack's own delete never touches another stack's native.
//!
//! Target settings (see [`Settings`]): `latency_ms`, `error_rate`, `seed`,
//! `fail_resources`, `fail_deletes`, `noop`, `postgres`, `helper_exe`, `rate_limit`.

mod abstracts;
mod cdn;
mod cdn_server;
mod compute;
mod database;
mod discover;
mod expand;
mod faults;
mod fsutil;
mod function;
mod link;
mod noop;
mod outputs;
mod paths;
mod postgres;
mod process;
mod provider;
mod queue;
mod record;
mod settings;
mod storage;

pub use cdn_server::{CDN_SERVE_SUBCOMMAND, CdnConfig, run_cdn_server};
pub use process::MARKER_ENV;
pub use provider::{DrainReport, LocalProvider};
pub use queue::{DeadLetter, LocalQueue, Message, QueueConfig, QueueError, QueueStats};
pub use settings::Settings;
