//! A target that throttles: the local cloud's `rate_limit` refuses calls beyond a rate with
//! a throttling error, as cloud APIs do. The call layer must slow down to that rate and
//! converge, rather than fail or storm the API with retries. (How fast it converges is a
//! benchmark: scripts/bench.sh --only throttle.)

mod common;

use common::TestStack;

fn stack(n: usize, rate: u32) -> String {
    let mut s = format!(
        "stack: throttled\ntargets:\n  local:\n    provider: local\n    noop: true\n    rate_limit: {rate}\nresources:\n"
    );
    for i in 0..n {
        s.push_str(&format!("  r{i}:\n    kind: queue\n"));
    }
    s
}

#[test]
fn an_apply_behind_a_rate_limit_converges_with_few_throttled_calls() {
    let n = 150;
    let s = TestStack::yaml(&stack(n, 40));
    let r = s.ok(&["--json", "apply", "--auto-approve"]);
    let throttled = r
        .stdout()
        .lines()
        .filter(|l| l.contains("\"type\":\"retrying\"") && l.contains("Throttling"))
        .count();
    assert!(throttled > 0, "the rate limit was reached: {}", r.all());
    // Every native is one create; every throttled call is one more.
    let share = throttled as f64 / (n + throttled) as f64;
    assert!(
        share < 0.10,
        "{throttled} of {} calls throttled: the budget did not slow down",
        n + throttled
    );
    assert_eq!(s.state_addrs().len(), n, "every native is in state");
    let plan = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "converged: {}", plan.all());
    // A refresh of everything goes through the same budget and also converges.
    s.ok(&["destroy", "--auto-approve"]);
    assert!(s.state_addrs().is_empty());
}
