//! examples/quickstart on Azure, end to end, through the `overcast` binary: the ARM
//! contract-test server (tests/azure_server: every resource's management plane) and
//! Azurite (blob data: the site's content, the function's package), both on 127.0.0.1 and
//! started (and killed by PID) by each test. Only the example's `targets:` block is
//! swapped for an azure target pointing at them (the block `scripts/emulators.sh start
//! azure` prints). Every check goes through the servers' own APIs, not only overcast's.
#![cfg(feature = "azure")]

mod common;

use common::TestStack;
use common::arm::{SUBSCRIPTION, call, request_log, tagged, tagged_groups};
use common::servers::{Azurite, Server, start_azure_contract, start_azurite};
use serde_json::{Value, json};

const STACK: &str = "quickstart";

/// The two servers of an azure target.
struct Azure {
    contract: Server,
    azurite: Azurite,
}

impl Azure {
    fn start() -> Azure {
        Azure {
            contract: start_azure_contract(2),
            azurite: start_azurite(),
        }
    }

    /// The target block `scripts/emulators.sh start azure` prints, for these servers.
    fn targets(&self) -> String {
        format!(
            "targets:\n  azure:\n    provider: azure\n    subscription_id: {SUBSCRIPTION}\n    \
             location: westeurope\n    arm_endpoint: {}\n    blob_endpoint: {}\ndefault_target: azure\n",
            self.contract.endpoint, self.azurite.blob_endpoint
        )
    }

    /// A copy of examples/quickstart whose `targets:` block (only that) targets these servers.
    fn quickstart(&self) -> TestStack {
        let stack = TestStack::example("quickstart");
        stack.edit("targets:\n  local:\n    provider: local\n", &self.targets());
        stack
    }

    /// GET an ARM resource by id.
    fn get(&self, id: &str, api: &str) -> Value {
        let (status, body) = call(
            &self.contract,
            "GET",
            &format!("{id}?api-version={api}"),
            None,
        );
        assert_eq!(status, 200, "GET {id}: {body}");
        body
    }
}

/// The tagged resources of the stack, by their ARM type (lower-cased).
fn by_type(ids: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for id in ids {
        let t = overcast_azure::ids::parse(id)
            .map(|p| p.resource_type.to_ascii_lowercase())
            .unwrap_or_default();
        *out.entry(t).or_insert(0) += 1;
    }
    out
}

#[test]
fn the_quickstart_on_azure_applies_updates_replaces_repairs_drift_and_destroys() {
    let az = Azure::start();
    let stack = az.quickstart();
    let r = stack.run(&["apply", "--auto-approve"]);
    assert_eq!(
        r.code(),
        Some(0),
        "apply failed:\n{}\nrequests:\n{}",
        r.all(),
        request_log(&az.contract).join("\n")
    );

    // What exists, through ARM: one of each per resource, all tagged with the stack.
    let ids = tagged(&az.contract, STACK);
    let types = by_type(&ids);
    for (ty, n) in [
        ("microsoft.storage/storageaccounts", 2), // the site's and the function's
        ("microsoft.servicebus/namespaces", 1),
        ("microsoft.dbforpostgresql/flexibleservers", 1),
        ("microsoft.web/serverfarms", 1),
        ("microsoft.web/sites", 1),
        ("microsoft.cdn/profiles", 1),
        ("microsoft.compute/virtualmachines", 1),
        ("microsoft.network/virtualnetworks", 1),
    ] {
        assert_eq!(types.get(ty), Some(&n), "{ty} in {types:#?}");
    }
    assert_eq!(tagged_groups(&az.contract, STACK).len(), 1);
    // The outputs come from live resources: the cdn's endpoint, the server's host name.
    let output = |name: &str| stack.ok(&["output", name]).stdout().trim().to_string();
    let site_url = output("site_url");
    assert!(site_url.contains(".azurefd.net"), "{site_url}");
    let db = output("db_endpoint");
    assert!(db.contains(".postgres."), "{db}");

    let plan = stack.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), Some(0), "a no-op plan:\n{}", plan.all());

    // An in-place update: the function's environment (a variable).
    let site = ids
        .iter()
        .find(|i| i.to_ascii_lowercase().contains("/microsoft.web/sites/"))
        .expect("the function app")
        .clone();
    let r = stack.ok(&["apply", "--auto-approve", "--var", "greeting=Howdy"]);
    assert!(r.all().contains("hello"), "{}", r.all());
    let (status, settings) = call(
        &az.contract,
        "POST",
        &format!("{site}/config/appsettings/list?api-version=2024-04-01"),
        None,
    );
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["properties"]["GREETING"], "Howdy", "{settings:#}");
    assert_eq!(
        tagged(&az.contract, STACK).len(),
        ids.len(),
        "nothing was replaced"
    );

    // A replacement: another major version is another server.
    stack.edit(
        "    engine: postgres\n",
        "    engine: postgres\n    version: \"15\"\n",
    );
    stack.ok(&["apply", "--auto-approve", "--var", "greeting=Howdy"]);
    let now = tagged(&az.contract, STACK);
    let servers: Vec<&String> = now
        .iter()
        .filter(|i| i.to_ascii_lowercase().contains("flexibleservers"))
        .collect();
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert!(servers[0].contains("postgres15"), "{servers:?}");

    // Drift made through ARM itself: the site's account closed to public reads.
    let account = now
        .iter()
        .find(|i| {
            i.to_ascii_lowercase().contains("storageaccounts")
                && az.get(i, "2023-05-01")["properties"]["allowBlobPublicAccess"] == true
        })
        .expect("the site's (public) account")
        .clone();
    let (status, body) = call(
        &az.contract,
        "PATCH",
        &format!("{account}?api-version=2023-05-01"),
        Some(&json!({"properties": {"allowBlobPublicAccess": false}})),
    );
    assert!(status < 300, "{status} {body}");
    let plan = stack.run(&["plan", "--detailed-exitcode", "--var", "greeting=Howdy"]);
    assert_eq!(plan.code(), Some(2), "drift shows:\n{}", plan.all());
    stack.ok(&["apply", "--auto-approve", "--var", "greeting=Howdy"]);
    assert_eq!(
        az.get(&account, "2023-05-01")["properties"]["allowBlobPublicAccess"],
        true
    );
    let plan = stack.run(&["plan", "--detailed-exitcode", "--var", "greeting=Howdy"]);
    assert_eq!(plan.code(), Some(0), "repaired:\n{}", plan.all());

    stack.ok(&["destroy", "--auto-approve", "--var", "greeting=Howdy"]);
    assert!(
        tagged(&az.contract, STACK).is_empty(),
        "nothing tagged is left: {:?}",
        tagged(&az.contract, STACK)
    );
    assert!(
        tagged_groups(&az.contract, STACK).is_empty(),
        "the group is gone"
    );
}
