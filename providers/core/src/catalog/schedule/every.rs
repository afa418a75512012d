//! `every <n><unit>`: a fixed period that every cloud can keep.

use std::fmt;

use super::{ScheduleError, err};

/// The unit of an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Minutes (`m`).
    Minutes,
    /// Hours (`h`).
    Hours,
    /// Days (`d`).
    Days,
}

/// A fixed period: `every 5m`, `every 2h`, `every 1d` (normalized: `every 60m` is
/// `every 1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: Unit,
}

const EVERY_EXAMPLE: &str = "`every 5m`, `every 2h` or `every 1d`";

impl Interval {
    pub(super) fn parse(text: &str) -> Result<Interval, ScheduleError> {
        let compact: String = text.split_whitespace().collect();
        let digits_end = compact
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(compact.len());
        let (digits, unit) = compact.split_at(digits_end);
        let Ok(amount) = digits.parse::<u32>() else {
            return Err(err(
                format!("`every {text}` needs a number and a unit"),
                EVERY_EXAMPLE,
            ));
        };
        if amount == 0 {
            return Err(err(
                "`every 0...` never runs: the interval must be at least 1",
                EVERY_EXAMPLE,
            ));
        }
        let unit = match unit {
            "m" => Unit::Minutes,
            "h" => Unit::Hours,
            "d" => Unit::Days,
            "s" => {
                return Err(err(
                    "schedules run at most once a minute (EventBridge and Cloud Scheduler have no seconds)",
                    "`every 1m` or longer",
                ));
            }
            "" => {
                return Err(err(
                    format!("`every {text}` has no unit"),
                    format!("`every {amount}m`, `every {amount}h` or `every {amount}d`"),
                ));
            }
            other => {
                let hint = match other {
                    "min" | "mins" | "minute" | "minutes" => format!("`every {amount}m`"),
                    "hour" | "hours" | "hr" | "hrs" => format!("`every {amount}h`"),
                    "day" | "days" => format!("`every {amount}d`"),
                    _ => EVERY_EXAMPLE.to_string(),
                };
                return Err(err(
                    format!("unknown unit `{other}` in `every {text}`: units are m, h and d"),
                    hint,
                ));
            }
        };
        Interval { amount, unit }.normalized()
    }

    /// Fold whole hours and days into the larger unit, and refuse periods that cron-based
    /// clouds cannot keep.
    pub(super) fn normalized(self) -> Result<Interval, ScheduleError> {
        let Interval { amount, unit } = self;
        match unit {
            Unit::Minutes if amount.is_multiple_of(60) => Interval {
                amount: amount / 60,
                unit: Unit::Hours,
            }
            .normalized(),
            Unit::Minutes if !60u32.is_multiple_of(amount) => Err(err(
                format!(
                    "`every {amount}m` does not divide an hour, so Azure and Google Cloud (cron) cannot keep its period"
                ),
                "minutes that divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30), or hours; `rate(N minutes)` if the function runs on AWS only",
            )),
            Unit::Hours if amount.is_multiple_of(24) => Interval {
                amount: amount / 24,
                unit: Unit::Days,
            }
            .normalized(),
            Unit::Hours if !24u32.is_multiple_of(amount) => Err(err(
                format!(
                    "`every {amount}h` does not divide a day, so Azure and Google Cloud (cron) cannot keep its period"
                ),
                "hours that divide 24 (1, 2, 3, 4, 6, 8, 12), or `every 1d`; `rate(N hours)` if the function runs on AWS only",
            )),
            Unit::Days if amount != 1 => Err(err(
                format!(
                    "`every {amount}d` cannot be kept by cron (it restarts at each month), so not on Azure or Google Cloud"
                ),
                "`every 1d`, or cron such as `0 0 * * 1` (weekly); `rate(N days)` if the function runs on AWS only",
            )),
            _ => Ok(self),
        }
    }

    pub(super) fn eventbridge(self) -> String {
        let unit = match self.unit {
            Unit::Minutes => "minute",
            Unit::Hours => "hour",
            Unit::Days => "day",
        };
        let s = if self.amount == 1 { "" } else { "s" };
        format!("rate({} {unit}{s})", self.amount)
    }

    pub(super) fn unix_cron(self) -> String {
        let step = |n: u32| {
            if n == 1 {
                "*".to_string()
            } else {
                format!("*/{n}")
            }
        };
        match self.unit {
            Unit::Minutes => format!("{} * * * *", step(self.amount)),
            Unit::Hours => format!("0 {} * * *", step(self.amount)),
            Unit::Days => "0 0 * * *".to_string(),
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Minutes => 'm',
            Unit::Hours => 'h',
            Unit::Days => 'd',
        };
        write!(f, "every {}{unit}", self.amount)
    }
}
