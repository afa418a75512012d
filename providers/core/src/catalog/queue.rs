//! Queue semantics (`queue.toml`): how each cloud realizes a `queue` resource's options and
//! the ranges its service accepts.

use serde::Deserialize;

use super::fidelity::{Difference, Fidelity};
use super::table::{PerCloud, duration};
use crate::kinds::QueueProps;

/// What a queue is on one cloud.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSemantics {
    /// What a queue becomes.
    pub service: String,
    /// What `ordered: true` becomes.
    pub ordered: String,
    /// How long a duplicate of an ordered queue's message is dropped (`None`: no window).
    #[serde(default)]
    pub dedup_window_s: Option<u64>,
    /// What the service does about duplicates, in words.
    pub dedup: String,
    /// The largest message in bytes (`None`: no limit).
    #[serde(default)]
    pub max_message_bytes: Option<u64>,
    /// Shortest `retention`.
    pub retention_min_s: u64,
    /// Longest `retention` (`None`: no upper bound).
    #[serde(default)]
    pub retention_max_s: Option<u64>,
    /// Shortest `visibility_timeout`.
    pub visibility_min_s: u64,
    /// Longest `visibility_timeout` (`None`: no upper bound).
    #[serde(default)]
    pub visibility_max_s: Option<u64>,
    /// Smallest `dead_letter.max_receives`.
    pub max_receives_min: u32,
    /// Largest `dead_letter.max_receives`.
    pub max_receives_max: u32,
    /// What a dead-letter policy becomes.
    pub dead_letter: String,
}

impl QueueSemantics {
    /// What of a spec's queue this cloud cannot honour as written: values outside the
    /// service's ranges (a provider clamps them to the bound named).
    pub fn fidelity(&self, q: &QueueProps) -> Fidelity {
        let mut d = Vec::new();
        range_seconds(
            &mut d,
            "retention",
            q.retention.0,
            self.retention_min_s,
            self.retention_max_s,
        );
        range_seconds(
            &mut d,
            "visibility_timeout",
            q.visibility_timeout.0,
            self.visibility_min_s,
            self.visibility_max_s,
        );
        if let Some(dl) = q.dead_letter {
            let bounded = dl
                .max_receives
                .clamp(self.max_receives_min, self.max_receives_max);
            if bounded != dl.max_receives {
                d.push(Difference::new(
                    "dead_letter.max_receives",
                    bounded,
                    dl.max_receives,
                ));
            }
        }
        Fidelity::from_differences(d)
    }
}

fn range_seconds(out: &mut Vec<Difference>, what: &str, v: u64, min: u64, max: Option<u64>) {
    let bounded = match max {
        Some(max) => v.clamp(min, max.max(min)),
        None => v.max(min),
    };
    if bounded != v {
        out.push(Difference::new(what, duration(bounded), duration(v)));
    }
}

/// The parsed `queue.toml`.
pub(crate) type QueueTable = PerCloud<QueueSemantics>;

pub(crate) const TABLE: &str = "queue.toml";
