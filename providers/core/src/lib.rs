//! The contract between overcast's engine and its cloud providers.
//!
//! The engine knows no cloud. It parses an abstract stack (kinds such as `storage` or
//! `database`, see [`kinds`]), asks the provider of each resource's target to *expand* it
//! into native resources ([`native::NativeSpec`]), and then reads, creates, updates and
//! deletes those native resources through the [`provider::Provider`] trait. Providers
//! know no other provider and never touch state: they return what they did and the engine
//! records it.
//!
//! ```
//! use overcast_core::kinds::Kind;
//! assert_eq!("storage".parse::<Kind>().unwrap(), Kind::Storage);
//! assert!(Kind::Database.output("password").unwrap().sensitive);
//! ```

pub mod abstracts;
pub mod archive;
pub mod catalog;
pub mod clock;
pub mod conformance;
pub mod content;
pub mod discovery;
pub mod error;
pub mod kinds;
pub mod labels;
pub mod names;
pub mod native;
pub mod op;
pub mod poll;
pub mod provider;
pub mod provider_kind;
pub mod refs;

pub use error::{ErrorClass, ProviderError};
pub use kinds::Kind;
pub use native::{Attrs, NativeAddr, NativeSpec, NativeState, OwnerTags};
pub use op::OpContext;
pub use provider::{AbstractResource, Provider, ProviderContext};
pub use provider_kind::{ProviderKind, UnknownProvider};
