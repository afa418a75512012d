//! Five-field cron in the portable subset: parsed once, written out per cloud.

use std::fmt;

use super::{EXAMPLES, ScheduleError, err};

/// How day-of-week numbers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
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
    pub(super) fn parse(text: &str, dialect: Dialect) -> Result<Cron, ScheduleError> {
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
    pub(super) fn eventbridge(&self) -> String {
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

impl Cron {
    /// The neutral form of an EventBridge cron's six fields, when it uses only what unix
    /// cron has: any year, no `L`/`W`/`#`.
    pub(super) fn from_eventbridge(f: &[&str]) -> Option<Cron> {
        if f.len() != 6 || f[5] != "*" {
            return None;
        }
        let dom = if f[2] == "?" { "*" } else { f[2] };
        Some(Cron {
            minute: Field::parse(f[0], MINUTE).ok()?,
            hour: Field::parse(f[1], HOUR).ok()?,
            day_of_month: Field::parse(dom, DAY_OF_MONTH).ok()?,
            month: Field::parse(f[3], MONTH).ok()?,
            day_of_week: parse_days(f[4], Dialect::EventBridge).ok()?,
        })
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
