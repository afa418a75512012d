//! Owner labels on GCP: overcast_core's encoding under [`LabelRules::GCP`] (values escaped
//! to `[a-z0-9_-]`, long ones split across numbered keys), so discovery reads them back
//! exactly.

use std::collections::{BTreeMap, HashMap};

use overcast_core::labels::{self, LabelRules};
use overcast_core::native::OwnerTags;

/// The labels that carry `owner`.
pub fn owner_labels(owner: &OwnerTags) -> HashMap<String, String> {
    labels::encode(owner, &LabelRules::GCP)
        .into_iter()
        .collect()
}

/// Whether `found` carries exactly `owner`.
pub fn owned_by(found: &BTreeMap<String, String>, owner: &OwnerTags) -> bool {
    labels::decode(found, &LabelRules::GCP).as_ref() == Some(owner)
}
