//! The schedule syntax and its translations, cloud by cloud.

use super::*;
use crate::catalog::Cloud;

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
