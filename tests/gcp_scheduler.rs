//! The `gcp_scheduler_job` native (a schedule-triggered function's Cloud Scheduler job)
//! through the `Provider` trait against the contract-test server (tests/gcp_server:
//! Cloud Scheduler v1, strict to the discovery document), started and killed by PID here.
//! Create, read without drift, update in place through an update mask, adopt on 409 when
//! the job is ours and refuse it when not, discovery (paginated) decoding the owner from
//! the description, delete and delete again. Every effect is checked through the server's
//! own API and request log.
//!
//! What the server cannot prove: no job ever runs (nothing calls the URI), and Google's
//! own checks of a schedule and a time zone are approximated (five cron fields; any zone).
#![cfg(feature = "gcp")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use overcast_core::discovery::DiscoveryFilter;
use overcast_core::native::CreateRequest;
use overcast_core::{
    Attrs, ErrorClass, Kind, NativeAddr, NativeState, OpContext, OwnerTags, Provider,
    ProviderContext,
};
use overcast_gcp::GcpProvider;
use serde_json::{Value, json};

mod common;

use common::servers::{Server, start_gcp_contract};

const JOBS: &str = "/v1/projects/proj/locations/europe-west1/jobs";

fn call(s: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut out = String::new();
    c.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn provider(s: &Server) -> GcpProvider {
    let dir = std::env::temp_dir();
    GcpProvider::new(ProviderContext {
        stack: "shop".into(),
        target: "gcp".into(),
        // Storage and Pub/Sub are not used here; pointed at the server so no client
        // looks for credentials.
        settings: json!({
            "project": "proj", "region": "europe-west1",
            "scheduler_endpoint": s.endpoint, "storage_endpoint": s.endpoint,
            "pubsub_endpoint": s.endpoint,
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
        spec_dir: dir.clone(),
        work_dir: dir,
    })
    .expect("provider")
}

fn attrs(v: Value) -> Attrs {
    v.as_object().cloned().unwrap_or_default()
}

fn request(stack: &str) -> CreateRequest {
    CreateRequest {
        addr: NativeAddr::new("nightly", "schedule"),
        kind: Kind::Function,
        type_name: "gcp_scheduler_job".into(),
        inputs: attrs(json!({
            "name": "oc-shop-gcp-nightly", "region": "europe-west1",
            "schedule": "0 3 * * *", "time_zone": "Etc/UTC",
            "uri": "https://europe-west1-proj.cloudfunctions.net/nightly", "http_method": "POST",
        })),
        owner: OwnerTags {
            stack: stack.into(),
            target: "gcp".into(),
            resource: "nightly.schedule".into(),
        },
        secrets: Attrs::new(),
    }
}

fn state_of(req: &CreateRequest, id: &str, inputs: &Attrs) -> NativeState {
    let mut st = NativeState::new(req.addr.clone(), req.kind, &req.type_name, id);
    st.inputs = inputs.clone();
    st
}

#[test]
fn a_scheduler_job_is_created_read_updated_adopted_discovered_and_deleted() {
    let server = start_gcp_contract(0);
    let p = provider(&server);
    let ctx = OpContext::detached("scheduler-test");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let req = request("shop");
        let made = p.create(&ctx, &req).await.expect("create");
        let id = "projects/proj/locations/europe-west1/jobs/oc-shop-gcp-nightly";
        assert_eq!(made.id, id);
        assert_eq!(
            made.inputs, req.inputs,
            "what create answers reads as the request"
        );

        // On the server: the schedule, the target and the owner in the description.
        let (status, job) = call(&server, "GET", &format!("{JOBS}/oc-shop-gcp-nightly"), None);
        assert_eq!(status, 200, "{job}");
        assert_eq!(job["schedule"], "0 3 * * *");
        assert_eq!(job["timeZone"], "Etc/UTC");
        assert_eq!(job["httpTarget"]["httpMethod"], "POST");
        assert_eq!(job["state"], "ENABLED");
        let description = job["description"].as_str().unwrap_or_default();
        assert!(description.starts_with("overcast owner: "), "{job}");

        // Read: no drift.
        let st = state_of(&req, id, &req.inputs);
        let read = p.read(&ctx, &st).await.expect("read").expect("there");
        assert_eq!(read.inputs, req.inputs);

        // Update in place: one PATCH with an update mask.
        let mut changed = req.inputs.clone();
        changed.insert("schedule".into(), json!("30 4 * * 1"));
        changed.insert(
            "uri".into(),
            json!("https://europe-west1-proj.cloudfunctions.net/nightly-v2"),
        );
        let updated = p.update(&ctx, &st, &changed).await.expect("update");
        assert_eq!(updated.inputs, changed);
        let (_, job) = call(&server, "GET", &format!("{JOBS}/oc-shop-gcp-nightly"), None);
        assert_eq!(job["schedule"], "30 4 * * 1");
        assert_eq!(
            job["httpTarget"]["uri"],
            "https://europe-west1-proj.cloudfunctions.net/nightly-v2"
        );
        assert_eq!(
            job["description"], description,
            "the owner survives an update"
        );
        let (_, log) = call(&server, "GET", "/__contract/requests", None);
        let patch = log["requests"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["method"] == "PATCH"))
            .cloned()
            .expect("a PATCH was sent");
        let mask = patch["query"]["updateMask"].as_str().unwrap_or_default();
        assert!(mask.contains("schedule"), "{patch}");

        // A create again (its answer lost the first time): 409, ours, adopted.
        let again = p
            .create(&ctx, &request("shop"))
            .await
            .expect("adopted on 409");
        assert_eq!(again.id, id);
        let adopted = p.adopt(&ctx, &req).await.expect("adopt");
        assert_eq!(adopted.map(|o| o.id).as_deref(), Some(id));
        // Another stack's job of the same name: a conflict, not an adoption.
        let theirs = request("other");
        let e = p.create(&ctx, &theirs).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Conflict, "{}", e.message);
        assert!(e.message.contains("not this stack's"), "{}", e.message);
        assert!(p.adopt(&ctx, &theirs).await.expect("adopt").is_none());

        // Discovery pages to the end and decodes the owner from the description; jobs
        // someone else made are listed without an owner.
        for n in 0..3 {
            let body = json!({
                "name": format!("projects/proj/locations/europe-west1/jobs/foreign-{n}"),
                "schedule": "* * * * *",
                "httpTarget": {"uri": "https://example.invalid/"},
            });
            let (status, v) = call(&server, "POST", JOBS, Some(&body));
            assert_eq!(status, 200, "{v}");
        }
        let c = p.clients().await.expect("clients");
        let all = overcast_gcp::scheduler::list_pages(c, 1)
            .await
            .expect("list");
        assert_eq!(all.len(), 4, "{all:?}");
        let pages = call(&server, "GET", "/__contract/requests", None).1["requests"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter(|r| r["method"] == "GET" && r["path"] == JOBS)
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(pages, 4, "one request per page of one job");
        let mut filter: DiscoveryFilter = p.owner_filter("shop", Some("gcp"));
        filter.types = vec!["scheduler:job".into()];
        let found = p.discover(&ctx, &filter).await.expect("discover");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, id);
        assert_eq!(
            p.decode_owner(&found[0].tags)
                .map(|o| o.resource)
                .as_deref(),
            Some("nightly.schedule")
        );
        let discovered = p
            .discovered_state(&ctx, &found[0])
            .await
            .expect("state")
            .expect("a gcp type");
        assert_eq!(discovered.type_name, "gcp_scheduler_job");

        // Delete, then 404 on the server, then a second delete is fine.
        p.delete(&ctx, &st).await.expect("delete");
        let (status, _) = call(&server, "GET", &format!("{JOBS}/oc-shop-gcp-nightly"), None);
        assert_eq!(status, 404);
        p.delete(&ctx, &st).await.expect("delete again");
        assert!(p.read(&ctx, &st).await.expect("read").is_none());
    });
}
