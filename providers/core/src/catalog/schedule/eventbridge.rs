//! EventBridge expressions (`rate(...)`, `cron(...)`), accepted for compatibility: checked,
//! kept for AWS as written, and translated to the neutral form when they have one.

use super::cron::Cron;
use super::every::{Interval, Unit};
use super::{Schedule, ScheduleError, err};

pub(super) fn rate(expression: &str, inner: &str) -> Result<Schedule, ScheduleError> {
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

pub(super) fn cron(expression: &str, inner: &str) -> Result<Schedule, ScheduleError> {
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
        neutral: Cron::from_eventbridge(&f).map(|c| Box::new(Schedule::Cron(c))),
    })
}
