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

use std::fmt;

use super::Cloud;

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
            return eventbridge_rate(t, inner);
        }
        if let Some(inner) = t.strip_prefix("cron(") {
            return eventbridge_cron(t, inner);
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

// ---- every ---------------------------------------------------------------------------

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
    fn parse(text: &str) -> Result<Interval, ScheduleError> {
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
    fn normalized(self) -> Result<Interval, ScheduleError> {
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

    fn eventbridge(self) -> String {
        let unit = match self.unit {
            Unit::Minutes => "minute",
            Unit::Hours => "hour",
            Unit::Days => "day",
        };
        let s = if self.amount == 1 { "" } else { "s" };
        format!("rate({} {unit}{s})", self.amount)
    }

    fn unix_cron(self) -> String {
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

// ---- cron ----------------------------------------------------------------------------

/// How day-of-week numbers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// Unix cron: 0 or 7 is Sunday, 1 Monday ... 6 Saturday.
    Unix,
    /// EventBridge: 1 is Sunday ... 7 Saturday.
    EventBridge,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field's name, range and value names.
#[derive(Debug, Clone, Copy)]
struct FieldKind {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for values, the first standing for `min`... (months, days).
    names: &'static [&'static str],
}

const MINUTE: FieldKind = FieldKind {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: FieldKind = FieldKind {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldKind = FieldKind {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
};

/// One `a-b/n` term of a field (a single value is `a-a/1`; `*` is the whole range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Term {
    start: u32,
    end: u32,
    step: u32,
}

/// A parsed field: its terms, and whether it was written `*` (unrestricted), which is what
/// decides how day-of-month and day-of-week combine.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    terms: Vec<Term>,
    star: bool,
}

/// A five-field cron schedule, in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minute: Field,
    hour: Field,
    day_of_month: Field,
    month: Field,
    /// Days of the week, Sunday first (`None`: unrestricted).
    day_of_week: Option<[bool; 7]>,
}

impl Cron {
    fn parse(text: &str, dialect: Dialect) -> Result<Cron, ScheduleError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            let why = if fields.len() == 6 && fields.contains(&"?") {
                " (`?` and a year field are EventBridge syntax: drop the year, write `*` for `?`)"
            } else if fields.len() == 6 {
                " (a sixth field is a seconds or year field, which not every cloud has)"
            } else {
                ""
            };
            return Err(err(
                format!(
                    "`{text}` is neither `every ...` nor cron: cron has five fields, found {}{why}",
                    fields.len()
                ),
                EXAMPLES,
            ));
        }
        let minute = Field::parse(fields[0], MINUTE)?;
        let hour = Field::parse(fields[1], HOUR)?;
        let day_of_month = Field::parse(fields[2], DAY_OF_MONTH)?;
        let month = Field::parse(fields[3], MONTH)?;
        let day_of_week = parse_days(fields[4], dialect)?;
        if !day_of_month.star && day_of_week.is_some() {
            return Err(err(
                format!(
                    "`{text}` sets both day-of-month (`{}`) and day-of-week (`{}`): clouds disagree on what that means (unix cron runs on either day, EventBridge refuses it)",
                    fields[2], fields[4]
                ),
                "one of the two, the other `*`: `0 12 1 * *` (the 1st) or `0 12 * * MON` (Mondays)",
            ));
        }
        Ok(Cron {
            minute,
            hour,
            day_of_month,
            month,
            day_of_week,
        })
    }

    /// `cron(m h dom month dow year)`: `?` in whichever day field is unrestricted, day
    /// names (EventBridge numbers days from 1 = Sunday, unlike unix cron).
    fn eventbridge(&self) -> String {
        let (dom, dow) = match &self.day_of_week {
            Some(days) => ("?".to_string(), days_text(days, true)),
            None => (self.day_of_month.eventbridge(DAY_OF_MONTH), "?".to_string()),
        };
        format!(
            "cron({} {} {dom} {} {dow} *)",
            self.minute.eventbridge(MINUTE),
            self.hour.eventbridge(HOUR),
            self.month.eventbridge(MONTH),
        )
    }
}

impl fmt::Display for Cron {
    /// The unix-cron form: numbers, `*` for unrestricted fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dow = match &self.day_of_week {
            Some(days) => days_text(days, false),
            None => "*".to_string(),
        };
        write!(
            f,
            "{} {} {} {} {dow}",
            self.minute.unix(MINUTE),
            self.hour.unix(HOUR),
            self.day_of_month.unix(DAY_OF_MONTH),
            self.month.unix(MONTH),
        )
    }
}

impl Field {
    fn parse(text: &str, kind: FieldKind) -> Result<Field, ScheduleError> {
        let mut terms = Vec::new();
        for part in text.split(',') {
            terms.push(parse_term(part, text, kind)?);
        }
        Ok(Field {
            star: text == "*",
            terms,
        })
    }

    fn unix(&self, kind: FieldKind) -> String {
        join(self.terms.iter().map(|t| t.unix(kind)))
    }

    /// EventBridge takes `a/n` for "from a, every n" and plain ranges and lists; a stepped
    /// range that stops before the end is spelled out as a list.
    fn eventbridge(&self, kind: FieldKind) -> String {
        join(self.terms.iter().map(|t| {
            if t.step == 1 {
                t.unix(kind)
            } else if t.end == kind.max {
                format!("{}/{}", t.start, t.step)
            } else {
                join(
                    (t.start..=t.end)
                        .step_by(t.step as usize)
                        .map(|v| v.to_string()),
                )
            }
        }))
    }
}

impl Term {
    fn unix(&self, kind: FieldKind) -> String {
        let whole = self.start == kind.min && self.end == kind.max;
        match (whole, self.step) {
            (true, 1) => "*".to_string(),
            (true, n) => format!("*/{n}"),
            (false, 1) if self.start == self.end => self.start.to_string(),
            (false, 1) => format!("{}-{}", self.start, self.end),
            (false, n) => format!("{}-{}/{n}", self.start, self.end),
        }
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(",")
}

/// Parse `*`, `*/n`, `a`, `a-b`, `a-b/n` or `a/n` within `kind`'s range.
fn parse_term(part: &str, field: &str, kind: FieldKind) -> Result<Term, ScheduleError> {
    let FieldKind { name, min, max, .. } = kind;
    let example = || -> String {
        match name {
            "month" => {
                "a month 1-12 or JAN-DEC, `*`, a list `1,7`, a range `3-5` or a step `*/3`".into()
            }
            _ => format!(
                "a {name} {min}-{max}, `*`, a list, a range `{min}-{}` or a step `*/5`",
                min + 1
            ),
        }
    };
    if part.is_empty() {
        return Err(err(
            format!("the {name} field `{field}` has an empty list entry"),
            example(),
        ));
    }
    if let Some(bad) = part.chars().find(|c| matches!(c, '?' | 'L' | 'W' | '#')) {
        return Err(err(
            format!(
                "`{bad}` in the {name} field `{field}` is EventBridge/Quartz syntax that unix cron (Google Cloud) and Azure lack"
            ),
            example(),
        ));
    }
    let (base, step) = match part.split_once('/') {
        Some((b, s)) => {
            let step: u32 = s.parse().map_err(|_| {
                err(
                    format!("the step `/{s}` in the {name} field `{field}` is not a number"),
                    example(),
                )
            })?;
            if step == 0 || step > max {
                return Err(err(
                    format!("the step `/{step}` in the {name} field `{field}` must be 1 to {max}"),
                    example(),
                ));
            }
            (b, Some(step))
        }
        None => (part, None),
    };
    let value = |s: &str| -> Result<u32, ScheduleError> {
        let v = if let Ok(n) = s.parse::<u32>() {
            n
        } else if let Some(i) = kind.names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            min + i as u32
        } else {
            return Err(err(
                format!("`{s}` in the {name} field `{field}` is not a {name}"),
                example(),
            ));
        };
        if v < min || v > max {
            return Err(err(
                format!("{v} in the {name} field `{field}` is out of range {min}-{max}"),
                example(),
            ));
        }
        Ok(v)
    };
    let (start, end) = if base == "*" {
        (min, max)
    } else if let Some((a, b)) = base.split_once('-') {
        let (a, b) = (value(a)?, value(b)?);
        if a > b {
            return Err(err(
                format!("the range `{base}` in the {name} field `{field}` runs backwards"),
                format!("`{b}-{a}`"),
            ));
        }
        (a, b)
    } else {
        let a = value(base)?;
        // `a/n` means from `a` to the end, every `n`.
        (a, if step.is_some() { max } else { a })
    };
    Ok(Term {
        start,
        end,
        step: step.unwrap_or(1),
    })
}

/// The day-of-week field as a set of days, Sunday first (`None` when written `*`).
fn parse_days(text: &str, dialect: Dialect) -> Result<Option<[bool; 7]>, ScheduleError> {
    if text == "*" || (dialect == Dialect::EventBridge && text == "?") {
        return Ok(None);
    }
    // Unix cron numbers Sunday 0 (or 7); EventBridge numbers it 1. Names are the same.
    let (min, max) = match dialect {
        Dialect::Unix => (0, 7),
        Dialect::EventBridge => (1, 7),
    };
    let kind = FieldKind {
        name: "day-of-week",
        min,
        max,
        names: match dialect {
            Dialect::Unix => &DAYS,
            Dialect::EventBridge => &DAYS,
        },
    };
    let mut days = [false; 7];
    for part in text.split(',') {
        let t = parse_term(part, text, kind)?;
        for v in (t.start..=t.end).step_by(t.step as usize) {
            let day = match dialect {
                Dialect::Unix => v % 7,
                Dialect::EventBridge => v - 1,
            };
            days[day as usize] = true;
        }
    }
    Ok(Some(days))
}

/// A set of days as runs: `1-5`, `0,6`; or with names (`MON-FRI`, `SUN,SAT`).
fn days_text(days: &[bool; 7], names: bool) -> String {
    let name = |d: usize| {
        if names {
            DAYS[d].to_string()
        } else {
            d.to_string()
        }
    };
    let mut runs = Vec::new();
    let mut d = 0;
    while d < 7 {
        if !days[d] {
            d += 1;
            continue;
        }
        let start = d;
        while d + 1 < 7 && days[d + 1] {
            d += 1;
        }
        runs.push(if start == d {
            name(d)
        } else {
            format!("{}-{}", name(start), name(d))
        });
        d += 1;
    }
    runs.join(",")
}

// ---- EventBridge, for compatibility --------------------------------------------------

fn eventbridge_rate(expression: &str, inner: &str) -> Result<Schedule, ScheduleError> {
    let example = "`rate(1 minute)`, `rate(5 minutes)`, `rate(1 day)`; or `every 5m`";
    let Some(body) = inner.strip_suffix(')') else {
        return Err(err(
            format!("`{expression}` lacks its closing `)`"),
            example,
        ));
    };
    let parts: Vec<&str> = body.split_whitespace().collect();
    let [n, unit] = parts.as_slice() else {
        return Err(err(
            format!("`{expression}` must be `rate(<number> <unit>)`"),
            example,
        ));
    };
    let amount: u32 = match n.parse() {
        Ok(a) if a > 0 => a,
        _ => {
            return Err(err(
                format!("`{n}` in `{expression}` is not a whole number of at least 1"),
                example,
            ));
        }
    };
    let (unit_kind, singular) = match *unit {
        "minute" => (Unit::Minutes, true),
        "minutes" => (Unit::Minutes, false),
        "hour" => (Unit::Hours, true),
        "hours" => (Unit::Hours, false),
        "day" => (Unit::Days, true),
        "days" => (Unit::Days, false),
        other => {
            return Err(err(
                format!(
                    "`{other}` in `{expression}` is not a unit: EventBridge takes minute(s), hour(s) or day(s)"
                ),
                example,
            ));
        }
    };
    if singular != (amount == 1) {
        let fixed = Interval {
            amount,
            unit: unit_kind,
        }
        .eventbridge();
        return Err(err(
            format!(
                "EventBridge refuses `{expression}`: the unit is singular for 1 and plural otherwise"
            ),
            format!("`{fixed}`"),
        ));
    }
    let neutral = Interval {
        amount,
        unit: unit_kind,
    }
    .normalized()
    .ok()
    .map(|i| Box::new(Schedule::Every(i)));
    Ok(Schedule::EventBridge {
        expression: expression.to_string(),
        neutral,
    })
}

fn eventbridge_cron(expression: &str, inner: &str) -> Result<Schedule, ScheduleError> {
    let example =
        "`cron(0 12 * * ? *)` (six fields, `?` in day-of-month or day-of-week); or `0 12 * * *`";
    let Some(body) = inner.strip_suffix(')') else {
        return Err(err(
            format!("`{expression}` lacks its closing `)`"),
            example,
        ));
    };
    let f: Vec<&str> = body.split_whitespace().collect();
    if f.len() != 6 {
        return Err(err(
            format!(
                "`{expression}` has {} fields; EventBridge cron has six: minute hour day-of-month month day-of-week year",
                f.len()
            ),
            example,
        ));
    }
    if (f[2] == "?") == (f[4] == "?") {
        return Err(err(
            format!(
                "EventBridge refuses `{expression}`: exactly one of day-of-month (`{}`) and day-of-week (`{}`) must be `?`",
                f[2], f[4]
            ),
            example,
        ));
    }
    let allowed = |s: &str, extra: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ",-*/".contains(c) || extra.contains(c))
    };
    for (i, (field, extra)) in f.iter().zip(["", "", "?LW", "", "?L#", ""]).enumerate() {
        if !allowed(field, extra) {
            let names = [
                "minute",
                "hour",
                "day-of-month",
                "month",
                "day-of-week",
                "year",
            ];
            return Err(err(
                format!(
                    "the {} field `{field}` of `{expression}` has a character EventBridge does not take",
                    names[i]
                ),
                example,
            ));
        }
    }
    Ok(Schedule::EventBridge {
        expression: expression.to_string(),
        neutral: neutral_of_eventbridge_cron(&f).map(|c| Box::new(Schedule::Cron(c))),
    })
}

/// The neutral form of an EventBridge cron, when it uses only what unix cron has: any
/// year, no `L`/`W`/`#`.
fn neutral_of_eventbridge_cron(f: &[&str]) -> Option<Cron> {
    if f[5] != "*" {
        return None;
    }
    let dom = if f[2] == "?" { "*" } else { f[2] };
    let day_of_week = parse_days(f[4], Dialect::EventBridge).ok()?;
    let cron = Cron {
        minute: Field::parse(f[0], MINUTE).ok()?,
        hour: Field::parse(f[1], HOUR).ok()?,
        day_of_month: Field::parse(dom, DAY_OF_MONTH).ok()?,
        month: Field::parse(f[3], MONTH).ok()?,
        day_of_week,
    };
    Some(cron)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(s: &str, cloud: Cloud) -> String {
        Schedule::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .for_cloud(cloud)
            .unwrap_or_else(|e| panic!("{s} on {cloud}: {e}"))
    }

    fn error(s: &str) -> ScheduleError {
        match Schedule::parse(s) {
            Ok(x) => panic!("`{s}` parsed as {x:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn every_translates_to_each_cloud() {
        assert_eq!(on("every 5m", Cloud::Aws), "rate(5 minutes)");
        assert_eq!(on("every 1m", Cloud::Aws), "rate(1 minute)");
        assert_eq!(on("every 5m", Cloud::Azure), "0 */5 * * * *");
        assert_eq!(on("every 5m", Cloud::Gcp), "*/5 * * * *");
        assert_eq!(on("every 5m", Cloud::Local), "every 5m");
        assert_eq!(on("every 1h", Cloud::Aws), "rate(1 hour)");
        assert_eq!(on("every 1h", Cloud::Gcp), "0 * * * *");
        assert_eq!(on("every 6h", Cloud::Azure), "0 0 */6 * * *");
        assert_eq!(on("every 1d", Cloud::Aws), "rate(1 day)");
        assert_eq!(on("every 1d", Cloud::Gcp), "0 0 * * *");
        assert_eq!(on("every 1d", Cloud::Azure), "0 0 0 * * *");
        // Whole hours and days fold into the larger unit.
        assert_eq!(on("every 60m", Cloud::Aws), "rate(1 hour)");
        assert_eq!(on("every 24h", Cloud::Local), "every 1d");
    }

    #[test]
    fn every_refuses_periods_cron_cannot_keep() {
        let e = error("every 7m");
        assert!(e.message.contains("does not divide an hour"), "{e}");
        assert!(e.expected.contains("15"), "{}", e.expected);
        assert!(error("every 5h").message.contains("does not divide a day"));
        assert!(error("every 2d").message.contains("every 2d"));
        assert!(error("every 30s").message.contains("at most once a minute"));
        assert!(error("every 0m").message.contains("at least 1"));
        let e = error("every 5 minutes");
        assert!(e.message.contains("unknown unit `minutes`"), "{e}");
        assert_eq!(e.expected, "`every 5m`");
        assert!(error("every m").message.contains("number and a unit"));
        assert!(error("every 5").message.contains("no unit"));
    }

    #[test]
    fn cron_translates_with_eventbridge_question_marks_and_day_numbers() {
        assert_eq!(
            on("0 12 * * MON-FRI", Cloud::Aws),
            "cron(0 12 ? * MON-FRI *)"
        );
        assert_eq!(on("0 12 * * 1-5", Cloud::Aws), "cron(0 12 ? * MON-FRI *)");
        assert_eq!(on("0 12 * * MON-FRI", Cloud::Azure), "0 0 12 * * 1-5");
        assert_eq!(on("0 12 * * MON-FRI", Cloud::Gcp), "0 12 * * 1-5");
        assert_eq!(on("30 2 1 * *", Cloud::Aws), "cron(30 2 1 * ? *)");
        assert_eq!(on("0 0 * * *", Cloud::Aws), "cron(0 0 * * ? *)");
        // Sunday is 0 or 7 in unix cron, 1 (SUN) in EventBridge.
        assert_eq!(on("0 9 * * 0", Cloud::Aws), "cron(0 9 ? * SUN *)");
        assert_eq!(on("0 9 * * 7", Cloud::Gcp), "0 9 * * 0");
        assert_eq!(on("0 9 * * 6,7", Cloud::Aws), "cron(0 9 ? * SUN,SAT *)");
        assert_eq!(on("0 9 * * 5-7", Cloud::Gcp), "0 9 * * 0,5-6");
        // Steps: EventBridge writes `start/step`, and lists a range that stops early.
        assert_eq!(on("*/15 * * * *", Cloud::Aws), "cron(0/15 * * * ? *)");
        assert_eq!(on("*/15 * * * *", Cloud::Azure), "0 */15 * * * *");
        assert_eq!(
            on("0 8-18/2 * * *", Cloud::Aws),
            "cron(0 8,10,12,14,16,18 * * ? *)"
        );
        assert_eq!(on("0 8-18/2 * * *", Cloud::Gcp), "0 8-18/2 * * *");
        assert_eq!(on("5/20 * * * *", Cloud::Aws), "cron(5/20 * * * ? *)");
        assert_eq!(on("0 0 1 JAN,jul *", Cloud::Gcp), "0 0 1 1,7 *");
        assert_eq!(
            on("0 0 * * */2", Cloud::Aws),
            "cron(0 0 ? * SUN,TUE,THU,SAT *)"
        );
    }

    #[test]
    fn cron_errors_say_what_and_show_what_is_right() {
        let e = error("0 12 * *");
        assert!(e.message.contains("five fields, found 4"), "{e}");
        assert!(e.expected.contains("every 5m"), "{}", e.expected);
        assert!(error("0 12 * * ? *").message.contains("EventBridge syntax"));
        let e = error("0 12 1 * MON");
        assert!(e.message.contains("both day-of-month"), "{e}");
        assert!(
            error("61 * * * *")
                .message
                .contains("61 in the minute field")
        );
        assert!(error("0 24 * * *").message.contains("out of range 0-23"));
        assert!(error("0 0 0 * *").message.contains("out of range 1-31"));
        assert!(
            error("0 0 * FOO *")
                .message
                .contains("`FOO` in the month field")
        );
        assert!(
            error("0 0 L * *")
                .message
                .contains("`L` in the day-of-month")
        );
        assert!(error("0 0 * * 5-1").message.contains("runs backwards"));
        assert!(error("*/0 * * * *").message.contains("step `/0`"));
        assert!(error("0 0 * * MON,").message.contains("empty list entry"));
        assert!(error("@daily").message.contains("shorthand"));
        assert!(error("").message.contains("empty"));
    }

    #[test]
    fn eventbridge_expressions_pass_to_aws_unchanged() {
        for expr in [
            "rate(1 day)",
            "rate(12 hours)",
            "rate(7 minutes)",
            "cron(0 12 * * ? *)",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 0 L * ? *)",
        ] {
            assert_eq!(on(expr, Cloud::Aws), expr);
        }
    }

    #[test]
    fn eventbridge_expressions_translate_to_neutral_when_they_can() {
        assert_eq!(on("rate(1 day)", Cloud::Gcp), "0 0 * * *");
        assert_eq!(on("rate(5 minutes)", Cloud::Local), "every 5m");
        assert_eq!(on("cron(0 18 ? * MON-FRI *)", Cloud::Gcp), "0 18 * * 1-5");
        assert_eq!(on("cron(0 18 ? * 2-6 *)", Cloud::Gcp), "0 18 * * 1-5");
        assert_eq!(on("cron(0/15 * * * ? *)", Cloud::Azure), "0 */15 * * * *");
        assert_eq!(on("cron(0 12 * * ? *)", Cloud::Gcp), "0 12 * * *");
        let only_aws = Schedule::parse("rate(7 minutes)").expect("valid on AWS");
        let e = only_aws.for_cloud(Cloud::Gcp).unwrap_err();
        assert!(e.message.contains("works on AWS only"), "{e}");
        assert_eq!(
            only_aws.for_cloud(Cloud::Local).expect("recorded"),
            "rate(7 minutes)"
        );
        assert!(
            Schedule::parse("cron(0 0 L * ? *)")
                .expect("valid")
                .neutral()
                .is_none()
        );
        assert!(
            Schedule::parse("cron(0 0 1 1 ? 2030)")
                .expect("valid")
                .neutral()
                .is_none()
        );
    }

    #[test]
    fn eventbridge_rules_are_checked() {
        let e = error("rate(5 minute)");
        assert!(e.message.contains("singular for 1"), "{e}");
        assert_eq!(e.expected, "`rate(5 minutes)`");
        assert_eq!(error("rate(1 minutes)").expected, "`rate(1 minute)`");
        assert!(error("rate(0 days)").message.contains("at least 1"));
        assert!(error("rate(5 weeks)").message.contains("not a unit"));
        assert!(error("rate(5 minutes").message.contains("closing"));
        assert!(error("cron(0 12 * * *)").message.contains("has 5 fields"));
        assert!(
            error("cron(0 12 * * * *)")
                .message
                .contains("exactly one of day-of-month")
        );
        assert!(
            error("cron(0 12 ? * ? *)")
                .message
                .contains("exactly one of day-of-month")
        );
        assert!(error("cron(0 12 ! * ? *)").message.contains("character"));
    }
}
