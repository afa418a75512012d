//! Cloud-neutral schedules for function triggers, checked once and translated per cloud.
//!
//! A spec writes one of:
//! - `every 5m`, `every 1h`, `every 1d`: a fixed period. Minutes must divide an hour and
//!   hours a day, so that cron-based clouds (Azure, Google Cloud), which restart their
//!   count at each hour or day, run it at the same period as AWS's `rate(...)`. The period
//!   is fixed, the phase is not: AWS counts from the rule's creation, the others from the
//!   clock (`every 5m` runs at :00, :05...).
//! - five-field cron, `minute hour day-of-month month day-of-week` (`0 12 * * MON-FRI`), in
//!   UTC: numbers, `*`, lists `a,b`, ranges `a-b`, steps `*/n` and `a-b/n`, month names
//!   `JAN`..`DEC`, day names `SUN`..`SAT` (0 or 7 is Sunday). Day-of-month and day-of-week
//!   cannot both be set: unix cron runs on either, EventBridge refuses both.
//! - for compatibility, an EventBridge expression as written before this syntax existed:
//!   `rate(5 minutes)`, `cron(0 12 * * ? *)`. AWS receives it unchanged; the other clouds
//!   receive its neutral equivalent when it has one (`rate(7 minutes)`, `L` or `#` have
//!   none: such a schedule works on AWS only).
//!
//! ```
//! use overcast_core::catalog::{Cloud, schedule::Schedule};
//! let s = Schedule::parse("0 12 * * MON-FRI").unwrap();
//! assert_eq!(s.for_cloud(Cloud::Aws).unwrap(), "cron(0 12 ? * MON-FRI *)");
//! assert_eq!(s.for_cloud(Cloud::Azure).unwrap(), "0 0 12 * * 1-5");
//! assert_eq!(s.for_cloud(Cloud::Gcp).unwrap(), "0 12 * * 1-5");
//! assert_eq!(Schedule::parse("every 5m").unwrap().for_cloud(Cloud::Aws).unwrap(), "rate(5 minutes)");
//! ```

mod cron;
mod eventbridge;
mod every;

use std::fmt;

use super::Cloud;
pub use cron::Cron;
use cron::Dialect;
pub use every::{Interval, Unit};

/// What a schedule may look like, for error messages.
pub const EXAMPLES: &str =
    "`every 5m`, `every 1h`, `every 1d`, or five-field cron such as `0 12 * * MON-FRI`";

/// A schedule that does not parse, or cannot run on a cloud: what is wrong and an example
/// of what is right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ScheduleError {
    /// What is wrong.
    pub message: String,
    /// What would be right (for `expected:` in a diagnostic).
    pub expected: String,
}

fn err(message: impl Into<String>, expected: impl Into<String>) -> ScheduleError {
    ScheduleError {
        message: message.into(),
        expected: expected.into(),
    }
}

/// A checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `every <n><unit>`.
    Every(Interval),
    /// Five-field cron.
    Cron(Cron),
    /// An EventBridge expression (`rate(...)`, `cron(...)`), kept for AWS as written, and
    /// its neutral equivalent if it has one.
    EventBridge {
        /// The expression as written.
        expression: String,
        /// The same schedule in neutral form, for the other clouds.
        neutral: Option<Box<Schedule>>,
    },
}

impl Schedule {
    /// Parse and check a schedule as written in a spec.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(err("the schedule is empty", EXAMPLES));
        }
        if let Some(rest) = t.strip_prefix("every") {
            return Interval::parse(rest.trim()).map(Schedule::Every);
        }
        if let Some(inner) = t.strip_prefix("rate(") {
            return eventbridge::rate(t, inner);
        }
        if let Some(inner) = t.strip_prefix("cron(") {
            return eventbridge::cron(t, inner);
        }
        if t.starts_with('@') {
            return Err(err(
                format!("`{t}` is a crontab shorthand that not every cloud accepts"),
                "`every 1h` or `every 1d`, or five-field cron such as `0 0 * * *`",
            ));
        }
        Cron::parse(t, Dialect::Unix).map(Schedule::Cron)
    }

    /// The schedule in neutral syntax (`every 5m`, `0 12 * * 1-5`), or `None` for an
    /// EventBridge expression that has no neutral equivalent.
    pub fn neutral(&self) -> Option<String> {
        match self {
            Schedule::Every(i) => Some(i.to_string()),
            Schedule::Cron(c) => Some(c.to_string()),
            Schedule::EventBridge { neutral, .. } => neutral.as_ref().and_then(|n| n.neutral()),
        }
    }

    /// The expression `cloud`'s scheduler takes: an EventBridge schedule expression on
    /// AWS, a six-field NCRONTAB expression (seconds first) for an Azure Functions timer
    /// trigger, a unix-cron string for Google Cloud Scheduler, and the neutral form on the
    /// local cloud (which records schedules but runs none).
    pub fn for_cloud(&self, cloud: Cloud) -> Result<String, ScheduleError> {
        match self {
            Schedule::EventBridge { expression, .. } if cloud == Cloud::Aws => {
                Ok(expression.clone())
            }
            Schedule::EventBridge {
                neutral: Some(n), ..
            } => n.for_cloud(cloud),
            Schedule::EventBridge {
                expression,
                neutral: None,
            } => {
                if cloud == Cloud::Local {
                    // Recorded only: keep what was written.
                    return Ok(expression.clone());
                }
                Err(err(
                    format!(
                        "`{expression}` is EventBridge syntax with no equivalent on {}: it works on AWS only",
                        cloud.display_name()
                    ),
                    EXAMPLES,
                ))
            }
            Schedule::Every(i) => Ok(match cloud {
                Cloud::Aws => i.eventbridge(),
                Cloud::Azure => format!("0 {}", i.unix_cron()),
                Cloud::Gcp => i.unix_cron(),
                Cloud::Local => i.to_string(),
            }),
            Schedule::Cron(c) => Ok(match cloud {
                Cloud::Aws => c.eventbridge(),
                Cloud::Azure => format!("0 {c}"),
                Cloud::Gcp | Cloud::Local => c.to_string(),
            }),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(i) => write!(f, "{i}"),
            Schedule::Cron(c) => write!(f, "{c}"),
            Schedule::EventBridge { expression, .. } => f.write_str(expression),
        }
    }
}

#[cfg(test)]
mod tests;
