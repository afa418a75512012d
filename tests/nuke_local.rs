//! `overcast nuke` on the local cloud, end to end through the binary: a target directory
//! seeded with a few dozen natives of every local type by the provider itself (five
//! stacks, none of them with state, dependency chains, some backdated), plus a stack
//! applied by overcast whose state file protects its resource.
//!
//! Dry runs list exactly what the filters select and change nothing; a real run deletes
//! exactly that, users before what they use; an injected failure leaves the rest deleted
//! and is named in the report; a second run finishes; a saved dry run deletes exactly its
//! list; the account guard and bad input are refused before anything is deleted.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::nuke::{arns, in_order, result};
use common::nuke_local::{LocalLab, OTHER, OWNED, seed_local_lab_blocking};
use common::{TestStack, overcast_bin};
use serde_json::Value;

/// A stack `managed` on target `lab`, applied (its bucket is in its state), and a lab
/// seeded beside it in the same target directory.
fn lab(extra_target_settings: &str) -> (TestStack, LocalLab, String) {
    let bin = overcast_bin();
    let stack = TestStack::yaml(&format!(
        "stack: managed\ntargets:\n  lab:\n    provider: local\n    helper_exe: {}\n{extra_target_settings}resources:\n  kept-bucket:\n    kind: storage\n",
        bin.display()
    ));
    stack.ok(&["apply", "--auto-approve", "-q"]);
    let managed = stack
        .path()
        .join(".overcast/local/lab/storage/kept-bucket/bucket")
        .canonicalize()
        .expect("the applied bucket");
    let lab = seed_local_lab_blocking(stack.path(), "lab", &bin, false);
    (stack, lab, managed.display().to_string())
}

fn dry(stack: &TestStack, args: &[&str]) -> Value {
    let mut all = vec!["--json", "nuke", "--target", "lab"];
    all.extend_from_slice(args);
    let r = stack.ok(&all);
    result(&r)
}

struct Cleanup<'a>(&'a LocalLab);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}

#[test]
fn dry_runs_list_exactly_what_the_filters_select_and_change_nothing() {
    let (stack, lab, managed) = lab("");
    let _cleanup = Cleanup(&lab);
    let before = lab.remaining();
    assert_eq!(before, lab.all);

    // No filter: every seeded native; the applied one is kept, managed by its state.
    let v = dry(&stack, &[]);
    assert_eq!(v["dry_run"], true);
    assert_eq!(arns(&v, "delete"), lab.all);
    assert_eq!(arns(&v, "keep"), BTreeSet::from([managed.clone()]));
    let why = v["keep"][0]["reason"].as_str().expect("reason");
    assert!(
        why.contains("managed by overcast state managed.lab"),
        "{why}"
    );
    assert_eq!(v["account"]["kind"], "directory");
    let summary: usize = v["summary"]
        .as_object()
        .expect("summary")
        .values()
        .map(|n| n.as_u64().expect("count") as usize)
        .sum();
    assert_eq!(summary, lab.all.len());
    for e in v["delete"].as_array().expect("delete") {
        assert_eq!(e["verdict"], "delete");
        assert_eq!(e["matched"], "every resource");
        assert_eq!(e["location"], "lab");
        assert!(e["age_secs"].is_u64(), "{e}");
    }

    // Each filter: exactly what it names.
    let v = dry(&stack, &["--stack", "lab-a"]);
    assert_eq!(arns(&v, "delete"), lab.by_stack["lab-a"]);
    let v = dry(&stack, &["--older-than", "7d"]);
    assert_eq!(arns(&v, "delete"), lab.old);
    assert!(!lab.old.is_empty());
    let v = dry(&stack, &["--type", "local_queue"]);
    assert_eq!(arns(&v, "delete"), lab.by_type["local_queue"]);
    let v = dry(&stack, &["--name-regex", "^other-"]);
    let others: BTreeSet<String> = lab
        .addr
        .iter()
        .filter(|(_, a)| a.starts_with("other-"))
        .map(|(arn, _)| arn.clone())
        .collect();
    assert_eq!(arns(&v, "delete"), others);
    assert_eq!(
        arns(&v, "delete"),
        lab.other,
        "the lab names stack other's natives other-*"
    );
    let v = dry(&stack, &["--stack", OTHER, "--exclude-type", "local_cdn"]);
    let cdns = &lab.by_type["local_cdn"];
    assert_eq!(
        arns(&v, "delete"),
        lab.other.difference(cdns).cloned().collect()
    );
    assert_eq!(
        arns(&v, "keep"),
        lab.other.intersection(cdns).cloned().collect()
    );

    // The config's rules and presets.
    std::fs::write(
        stack.path().join("nuke.yaml"),
        "protect:\n  - type: local_function\npresets:\n  owned-only:\n    stack: owned\n",
    )
    .expect("config");
    let v = dry(&stack, &["--config", "nuke.yaml", "--preset", "owned-only"]);
    let functions = &lab.by_type["local_function"];
    assert_eq!(
        arns(&v, "delete"),
        lab.owned.difference(functions).cloned().collect()
    );
    assert!(
        v["keep"]
            .as_array()
            .expect("keep")
            .iter()
            .all(|e| e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("protected by the config: type local_function"))),
        "{}",
        v["keep"]
    );

    // With no spec, state protects only what --state-dir names.
    let r = stack.ok(&["--json", "nuke", "--provider", "local", "--region", "lab"]);
    let v = result(&r);
    assert!(arns(&v, "delete").contains(&managed));
    let r = stack.ok(&[
        "--json",
        "nuke",
        "--provider",
        "local",
        "--region",
        "lab",
        "--state-dir",
        ".overcast",
    ]);
    assert_eq!(arns(&result(&r), "keep"), BTreeSet::from([managed.clone()]));

    // The human listing: a table, what was kept and why, a summary by type.
    let r = stack.ok(&["nuke", "--target", "lab", "--stack", OWNED]);
    let out = r.stdout();
    for want in [
        "TYPE",
        "MATCHED",
        "stack owned",
        "Summary:",
        "local_bucket",
        "Dry run: nothing was deleted",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }

    // Nothing changed.
    assert_eq!(lab.remaining(), before);
    assert!(Path::new(&managed).exists());
}

#[test]
fn a_real_run_deletes_users_first_names_an_injected_failure_and_a_second_run_finishes() {
    // The failure is injected on the cdn over a bucket: its bucket must then wait.
    let (stack, lab, managed) = lab("    fail_deletes: [owned-edge.distribution]\n");
    let _cleanup = Cleanup(&lab);
    let (edge, site) = lab.cdn_over_bucket.clone();
    assert_eq!(lab.addr[&edge], "owned-edge.distribution");
    let pids = lab.pids();
    assert!(!pids.is_empty(), "the lab runs processes");

    let r = stack.run(&["--json", "nuke", "--target", "lab", "--no-dry-run", "--yes"]);
    assert_eq!(r.code(), Some(1), "something matched is left:\n{}", r.all());
    let v = result(&r);
    assert_eq!(v["dry_run"], false);
    assert_eq!(arns(&v, "failed"), BTreeSet::from([edge.clone()]));
    let failed = v["failed"][0]["why"].as_str().expect("why");
    assert!(failed.contains("fail_deletes"), "{failed}");
    assert_eq!(arns(&v, "skipped"), BTreeSet::from([site.clone()]));
    let waits = v["skipped"][0]["why"].as_str().expect("why");
    assert!(
        waits.contains("owned-edge"),
        "the bucket waits for its cdn: {waits}"
    );
    let deleted = in_order(&v, "deleted");
    let expected: BTreeSet<String> = lab
        .all
        .iter()
        .filter(|a| **a != edge && **a != site)
        .cloned()
        .collect();
    assert_eq!(deleted.iter().cloned().collect::<BTreeSet<_>>(), expected);
    // Users went before what they use.
    let at = |arn: &str| deleted.iter().position(|d| d == arn).expect("deleted");
    for (user, used) in lab.edges.iter().filter(|(u, d)| *u != edge && *d != site) {
        assert!(at(user) < at(used), "{user} must go before {used}");
    }
    assert_eq!(
        lab.remaining(),
        BTreeSet::from([edge.clone(), site.clone()])
    );
    assert!(
        Path::new(&managed).exists(),
        "state protects the applied bucket"
    );

    // A second run, the failure gone, finishes the job; nothing is left running.
    stack.edit("    fail_deletes: [owned-edge.distribution]\n", "");
    let r = stack.ok(&["--json", "nuke", "--target", "lab", "--no-dry-run", "--yes"]);
    let v = result(&r);
    let deleted = in_order(&v, "deleted");
    assert_eq!(deleted, vec![edge, site], "the cdn, then its bucket");
    assert_eq!(v["complete"], true);
    assert!(lab.remaining().is_empty());
    assert!(Path::new(&managed).exists());
    for pid in pids {
        assert!(
            !common::alive(pid),
            "process {pid} still runs after the nuke"
        );
    }
}

#[test]
fn a_saved_dry_run_deletes_exactly_its_list_once_checked() {
    let (stack, lab, _managed) = lab("");
    let _cleanup = Cleanup(&lab);
    let target = &lab.by_stack["lab-a"];
    stack.ok(&[
        "nuke",
        "--target",
        "lab",
        "--stack",
        "lab-a",
        "--out",
        "list.json",
    ]);
    // One of them is removed out of band meanwhile: it is reported gone, not an error.
    let gone = target
        .iter()
        .find(|a| lab.by_type["local_bucket"].contains(*a))
        .expect("lab-a has a bucket")
        .clone();
    std::fs::remove_dir_all(&gone).expect("remove out of band");
    // This run's exclusions still apply to the saved list.
    let (excluded_type, excluded) = lab
        .by_type
        .iter()
        .find_map(|(ty, arns)| {
            let hit: BTreeSet<String> = arns
                .intersection(target)
                .filter(|a| **a != gone)
                .cloned()
                .collect();
            (!hit.is_empty()).then(|| (ty.clone(), hit))
        })
        .expect("lab-a has natives");
    let r = stack.ok(&[
        "--json",
        "nuke",
        "--target",
        "lab",
        "--no-dry-run",
        "--yes",
        "--from",
        "list.json",
        "--exclude-type",
        &excluded_type,
    ]);
    let v = result(&r);
    let want: BTreeSet<String> = target
        .iter()
        .filter(|a| **a != gone && !excluded.contains(*a))
        .cloned()
        .collect();
    assert_eq!(arns(&v, "deleted"), want);
    assert_eq!(arns(&v, "kept"), excluded);
    let left: BTreeSet<String> = lab
        .all
        .difference(target)
        .chain(excluded.iter())
        .cloned()
        .collect();
    assert_eq!(
        lab.remaining(),
        left,
        "nothing outside the saved list was touched"
    );

    // A list saved for another target directory is refused.
    let other = TestStack::yaml("stack: x\ntargets:\n  lab:\n    provider: local\nresources: {}\n");
    std::fs::copy(
        stack.path().join("list.json"),
        other.path().join("list.json"),
    )
    .expect("copy list");
    let r = other.run(&[
        "nuke",
        "--target",
        "lab",
        "--no-dry-run",
        "--yes",
        "--from",
        "list.json",
    ]);
    assert_eq!(r.code(), Some(1), "{}", r.all());
    assert!(r.stderr().contains("nothing is deleted"), "{}", r.all());
}

#[test]
fn the_guard_and_bad_input_refuse_before_anything_is_deleted() {
    let (stack, lab, _managed) = lab("");
    let _cleanup = Cleanup(&lab);
    let root = lab.root.display().to_string();
    let refused = |args: &[&str], want: &str| {
        let r = stack.run(args);
        assert_eq!(r.code(), Some(1), "{args:?} must fail:\n{}", r.all());
        assert!(
            r.stderr().contains(want),
            "{args:?}: want {want:?} in\n{}",
            r.all()
        );
        assert_eq!(lab.remaining(), lab.all, "{args:?} deleted something");
    };
    // Nobody can type the directory on this terminal: refused without --yes.
    refused(&["nuke", "--target", "lab", "--no-dry-run"], "--yes");
    // Block- and allow-lists.
    std::fs::write(
        stack.path().join("block.yaml"),
        format!("block: [\"{root}\"]\n"),
    )
    .expect("config");
    refused(
        &[
            "nuke",
            "--target",
            "lab",
            "--no-dry-run",
            "--yes",
            "--config",
            "block.yaml",
        ],
        "block-list",
    );
    std::fs::write(stack.path().join("allow.yaml"), "allow: [\"/elsewhere\"]\n").expect("config");
    refused(
        &[
            "nuke",
            "--target",
            "lab",
            "--no-dry-run",
            "--yes",
            "--config",
            "allow.yaml",
        ],
        "allow-list",
    );
    // Mistakes name the file and the field, the flag and what is valid.
    std::fs::write(stack.path().join("bad.yaml"), "protect:\n  - {}\n").expect("config");
    refused(
        &["nuke", "--target", "lab", "--config", "bad.yaml"],
        "bad.yaml: protect[0]",
    );
    refused(
        &["nuke", "--target", "lab", "--type", "s3:bucket"],
        "local_bucket",
    );
    refused(
        &["nuke", "--target", "lab", "--older-than", "soon"],
        "--older-than",
    );
    refused(
        &["nuke", "--target", "lab", "--preset", "ci"],
        "no such preset",
    );
    refused(&["nuke", "--target", "nope"], "targets: lab");
    refused(&["nuke"], "--provider");
    refused(
        &[
            "nuke", "--target", "lab", "--from", "x.json", "--stack", "owned",
        ],
        "exactly the list",
    );
    refused(&["nuke", "--provider", "lokal"], "--provider");
    refused(
        &["nuke", "--provider", "local", "--project", "p"],
        "--project does not apply",
    );
}

#[test]
fn a_lab_named_prod_is_refused_unless_the_config_names_it() {
    let seed = TestStack::yaml(
        "stack: seed\ntargets:\n  prod-lab:\n    provider: local\n    noop: true\nresources:\n  a:\n    kind: storage\n",
    );
    seed.ok(&["apply", "--auto-approve", "-q"]);
    let r = seed.run(&[
        "nuke",
        "--provider",
        "local",
        "--region",
        "prod-lab",
        "--setting",
        "noop=true",
        "--no-dry-run",
        "--yes",
    ]);
    assert_eq!(r.code(), Some(1), "{}", r.all());
    assert!(r.stderr().contains("contains `prod`"), "{}", r.all());
    let root = seed
        .path()
        .join(".overcast/local/prod-lab")
        .canonicalize()
        .expect("root");
    std::fs::write(
        seed.path().join("ok.yaml"),
        format!("allow: [\"{}\"]\n", root.display()),
    )
    .expect("config");
    let r = seed.ok(&[
        "--json",
        "nuke",
        "--provider",
        "local",
        "--region",
        "prod-lab",
        "--setting",
        "noop=true",
        "--no-dry-run",
        "--yes",
        "--config",
        "ok.yaml",
    ]);
    assert_eq!(arns(&result(&r), "deleted").len(), 1);
}
