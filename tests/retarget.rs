//! A spec whose target was renamed or re-targeted after a destroy (the quickstart's
//! `local` target swapped for another) must still run: the old target's state is empty.
//! When that state still holds resources, the refusal names them and says what to do.

mod common;

use common::TestStack;

const SPEC: &str = "stack: moved\ntargets:\n  local:\n    provider: local\n    noop: true\nresources:\n  site:\n    kind: storage\n  jobs:\n    kind: queue\n";

#[test]
fn an_empty_state_of_an_undeclared_target_does_not_block() {
    let s = TestStack::yaml(SPEC);
    s.ok(&["apply", "--auto-approve"]);
    s.ok(&["destroy", "--auto-approve"]);
    s.edit("  local:\n", "  dev:\n");
    let plan = s.ok(&["plan"]);
    assert!(plan.stdout().contains("Plan: 2 to add"), "{}", plan.all());
    s.ok(&["apply", "--auto-approve"]);
    assert_eq!(s.state_addrs(), ["jobs.queue", "site.bucket"]);
    s.ok(&["destroy", "--auto-approve"]);
}

#[test]
fn a_non_empty_state_of_an_undeclared_target_names_what_it_holds() {
    let s = TestStack::yaml(SPEC);
    s.ok(&["apply", "--auto-approve"]);
    s.edit("  local:\n", "  dev:\n");
    let refused = s.run(&["plan"]);
    assert_eq!(refused.code(), Some(1), "{}", refused.all());
    let err = refused.stderr();
    assert!(
        err.contains("holds 2 resource(s): jobs.queue, site.bucket"),
        "{err}"
    );
    let forget = "overcast state rm --target local jobs.queue site.bucket";
    assert!(err.contains(forget), "{err}");
    // The hint works as given.
    s.ok(&[
        "state",
        "rm",
        "--target",
        "local",
        "jobs.queue",
        "site.bucket",
    ]);
    s.ok(&["plan"]);
}
