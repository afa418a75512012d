//! The local cloud, kind by kind: create, read, out-of-band change seen by read, update,
//! delete leaving nothing behind; adopt after an interrupted create; fault injection.

mod common;

use std::time::Duration;

use common::{
    Harness, ctx, drift, http, pid_alive, postgres_cluster_dir, postgres_required, postmaster_pid,
    psql, wait_until,
};
use overcast_core::{ErrorClass, Kind, Provider};
use overcast_local::{LocalProvider, LocalQueue};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn storage_copies_content_tracks_changes_and_deletes_cleanly() {
    let mut h = Harness::new(json!({}));
    h.write("site/index.html", "<h1>v1</h1>");
    h.write("site/css/app.css", "body{}");
    let props = json!({"content": "site", "versioning": true});
    let mut s = h
        .apply("site", Kind::Storage, props.clone())
        .await
        .remove(0);
    let url = h.outputs["site"]["url"].as_str().expect("url").to_string();
    let objects = std::path::PathBuf::from(url.strip_prefix("file://").expect("file url"));
    assert_eq!(
        std::fs::read_to_string(objects.join("index.html")).expect("object"),
        "<h1>v1</h1>"
    );
    assert!(objects.join("css/app.css").is_file());
    assert!(objects.parent().expect("dir").join("owner.json").is_file());

    let desired = h.expand("site", Kind::Storage, props.clone())[0]
        .inputs
        .clone();
    let live = h.read(&s).await.expect("exists");
    assert!(
        drift(&desired, &live.inputs).is_empty(),
        "no drift right after create"
    );

    // Changed content: read shows it, update copies it in.
    h.write("site/index.html", "<h1>v2</h1>");
    let live = h.read(&s).await.expect("exists");
    assert_eq!(drift(&desired, &live.inputs), ["content_in_sync"]);
    h.update(&mut s, &desired).await;
    assert_eq!(
        std::fs::read_to_string(objects.join("index.html")).expect("object"),
        "<h1>v2</h1>"
    );
    assert!(drift(&desired, &h.read(&s).await.expect("exists").inputs).is_empty());

    // Objects removed out of band: the bucket is gone.
    std::fs::remove_dir_all(&objects).expect("rm");
    assert!(h.read(&s).await.is_none());

    h.delete(&s).await;
    h.delete(&s).await; // already gone is a success
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn queue_is_a_durable_file_whose_rules_are_read_live() {
    let mut h = Harness::new(json!({}));
    let props =
        json!({"ordered": true, "visibility_timeout": "45s", "dead_letter": {"max_receives": 3}});
    let mut s = h.apply("jobs", Kind::Queue, props.clone()).await.remove(0);
    let path = h.outputs["jobs"]["url"].as_str().expect("url").to_string();
    let mut q = LocalQueue::open(std::path::Path::new(&path)).expect("open via url");
    q.send("hello").expect("send");
    let got = q.receive(10).expect("receive");
    assert_eq!(got[0].body, "hello");
    assert!(q.ack(&got[0].receipt).expect("ack"));
    drop(q);

    let desired = h.expand("jobs", Kind::Queue, props)[0].inputs.clone();
    assert!(drift(&desired, &h.read(&s).await.expect("exists").inputs).is_empty());

    // Changed out of band (another tool): read sees the live rule.
    let q = LocalQueue::open(std::path::Path::new(&path)).expect("open");
    q.set_config(overcast_local::QueueConfig {
        visibility_timeout: Duration::from_secs(5),
        ..q.config().expect("cfg")
    })
    .expect("set");
    drop(q);
    assert_eq!(
        drift(&desired, &h.read(&s).await.expect("exists").inputs),
        ["visibility_timeout"]
    );
    h.update(&mut s, &desired).await;
    assert!(drift(&desired, &h.read(&s).await.expect("exists").inputs).is_empty());

    std::fs::remove_file(&path).expect("rm");
    assert!(h.read(&s).await.is_none());
    h.delete(&s).await;
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn database_connection_string_opens_and_replicas_follow_updates() {
    let mut h = Harness::new(json!({}));
    let s = h
        .apply(
            "db",
            Kind::Database,
            json!({"engine": "postgres", "database_name": "shop"}),
        )
        .await;
    let mut s = s.into_iter().next().expect("one native");
    assert_eq!(s.type_name, "local_sqlite");
    assert!(s.sensitive.contains(&"password".to_string()));
    let out = h.outputs["db"].clone();
    assert_eq!(out["engine"], "sqlite");
    assert_eq!(out["name"], "shop");
    assert!(out["password"].as_str().expect("password").len() >= 16);
    let cs = out["connection_string"]
        .as_str()
        .expect("connection string");
    let file = cs.strip_prefix("sqlite://").expect("sqlite url");
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .expect("opens");
    conn.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (42);")
        .expect("usable");
    drop(conn);

    let mut desired = h.expand(
        "db",
        Kind::Database,
        json!({"engine": "postgres", "database_name": "shop", "read_replicas": 2}),
    )[0]
    .inputs
    .clone();
    assert_eq!(
        drift(&desired, &h.read(&s).await.expect("exists").inputs),
        ["read_replicas"]
    );
    h.update(&mut s, &desired).await;
    let replica = s.outputs["replica_paths"][1]
        .as_str()
        .expect("replica")
        .to_string();
    let n: i64 = rusqlite::Connection::open(&replica)
        .expect("replica")
        .query_row("SELECT x FROM t", [], |r| r.get(0))
        .expect("q");
    assert_eq!(n, 42, "replica is a copy of the primary");
    assert_eq!(
        s.outputs["password"], out["password"],
        "password is kept across updates"
    );
    desired.insert("read_replicas".into(), json!(0));
    h.update(&mut s, &desired).await;
    assert!(!std::path::Path::new(&replica).exists());

    std::fs::remove_file(file).expect("rm");
    assert!(h.read(&s).await.is_none());
    h.delete(&s).await;
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn python_function_invokes_with_env_errors_and_timeout() {
    let mut h = Harness::new(json!({}));
    h.write(
        "fn/main.py",
        "import os, time\n\
         def handler(event, context):\n    print('log line goes to stderr')\n    \
         if event.get('boom'):\n        raise ValueError('kaboom')\n    \
         if event.get('sleep'):\n        time.sleep(event['sleep'])\n    \
         return {'echo': event, 'greeting': os.environ['GREETING'], 'fn': context.function_name}\n",
    );
    let props = json!({"runtime": "python3.12", "handler": "main.handler", "source": "fn", "timeout": 2,
                       "env": {"GREETING": "hi"}});
    let mut s = h
        .apply("api", Kind::Function, props.clone())
        .await
        .remove(0);
    let r = h
        .provider
        .invoke(&ctx(), &s, json!({"a": 1}))
        .await
        .expect("invoke");
    assert_eq!(r, json!({"echo": {"a": 1}, "greeting": "hi", "fn": "api"}));

    let e = h
        .provider
        .invoke(&ctx(), &s, json!({"boom": true}))
        .await
        .expect_err("exception");
    assert!(e.message.contains("kaboom"), "{e}");
    let e = h
        .provider
        .invoke(&ctx(), &s, json!({"sleep": 30}))
        .await
        .expect_err("timeout");
    assert!(e.message.contains("timed out"), "{e}");

    // A changed source is drift; the update repackages it.
    let desired = h.expand("api", Kind::Function, props)[0].inputs.clone();
    assert!(drift(&desired, &h.read(&s).await.expect("exists").inputs).is_empty());
    h.write(
        "fn/main.py",
        "def handler(event, context):\n    return 'v2'\n",
    );
    assert_eq!(
        drift(&desired, &h.read(&s).await.expect("exists").inputs),
        ["code_in_sync"]
    );
    assert_eq!(
        h.provider
            .invoke(&ctx(), &s, json!({"a": 1}))
            .await
            .expect("invoke")["greeting"],
        "hi",
        "old code runs until apply"
    );
    h.update(&mut s, &desired).await;
    assert_eq!(
        h.provider
            .invoke(&ctx(), &s, json!({}))
            .await
            .expect("invoke"),
        json!("v2")
    );

    h.delete(&s).await;
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn node_function_and_queue_trigger_drain() {
    let mut h = Harness::new(json!({}));
    h.apply("jobs", Kind::Queue, json!({})).await;
    h.write(
        "worker/index.js",
        "exports.handler = async (event) => { console.log('noise'); if (event.message.body.fail) throw new Error('bad job'); return {seen: event.message.body.n}; };\n",
    );
    let f = h
        .apply(
            "worker",
            Kind::Function,
            json!({"runtime": "nodejs20", "handler": "index.handler", "source": "worker",
            "trigger": {"type": "queue", "source": "${jobs}"}}),
        )
        .await
        .remove(0);
    assert_eq!(
        h.provider
            .invoke(&ctx(), &f, json!({"message": {"body": {"n": 7}}}))
            .await
            .expect("invoke"),
        json!({"seen": 7})
    );

    let path = h.outputs["jobs"]["url"].as_str().expect("url").to_string();
    let q = LocalQueue::open(std::path::Path::new(&path)).expect("open");
    q.send(r#"{"n": 1}"#).expect("send");
    q.send(r#"{"fail": true}"#).expect("send");
    q.send(r#"{"n": 3}"#).expect("send");
    let report = h.provider.drain_queue(&f, 10).await.expect("drain");
    assert_eq!((report.processed, report.failed), (2, 1));
    assert!(report.errors[0].contains("bad job"), "{:?}", report.errors);
    let stats = q.stats().expect("stats");
    assert_eq!(
        (stats.visible, stats.in_flight),
        (0, 1),
        "the failed message waits for its visibility timeout"
    );
}

#[tokio::test]
async fn compute_runs_a_supervised_server_restarted_after_a_kill() {
    let mut h = Harness::new(json!({}));
    let props = json!({"count": 2, "ports": [8080],
        "startup": "echo hello > index.html; exec python3 -m http.server \"$PORT\" --bind 127.0.0.1"});
    let mut states = h.apply("web", Kind::Compute, props.clone()).await;
    assert_eq!(states.len(), 2);
    let out = h.outputs["web"].clone();
    assert_eq!(out["address"], "127.0.0.1");
    assert_eq!(out["addresses"], "127.0.0.1,127.0.0.1");
    let url = out["url"].as_str().expect("url").to_string();
    assert!(
        wait_until(WAIT, || http("GET", &format!("{url}/index.html"))
            .is_ok_and(|r| r.0 == 200)),
        "instance serves"
    );

    let desired = h.expand("web", Kind::Compute, props)[0].inputs.clone();
    let live = h.read(&states[0]).await.expect("exists");
    assert!(drift(&desired, &live.inputs).is_empty());
    let pid = live.outputs["pid"].as_i64().expect("pid");

    // Killed out of band: read reports it, update restarts it on the same port.
    unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
    assert!(wait_until(WAIT, || !pid_alive(pid)));
    let live = h.read(&states[0]).await.expect("still exists");
    assert_eq!(drift(&desired, &live.inputs), ["running"]);
    let s0 = &mut states[0];
    h.update(s0, &desired).await;
    assert_eq!(s0.outputs["url"], json!(url), "same port after restart");
    assert!(wait_until(WAIT, || http(
        "GET",
        &format!("{url}/index.html")
    )
    .is_ok_and(|r| r.0 == 200)));
    let pid = h.read(&states[0]).await.expect("exists").outputs["pid"]
        .as_i64()
        .expect("pid");

    for s in &states {
        h.delete(s).await;
    }
    assert!(!pid_alive(pid), "process stopped by delete");
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn cdn_serves_a_bucket_with_cache_headers_and_stops_on_delete() {
    let mut h = Harness::new(json!({}));
    h.write("site/index.html", "<h1>home</h1>");
    h.write("site/a.txt", "A");
    let bucket = h
        .apply("site", Kind::Storage, json!({"content": "site"}))
        .await
        .remove(0);
    let mut cdn = h
        .apply(
            "edge",
            Kind::Cdn,
            json!({"origin": "${site}", "cache_ttl": "1h"}),
        )
        .await
        .remove(0);
    let url = h.outputs["edge"]["url"].as_str().expect("url").to_string();
    assert!(url.starts_with("http://127.0.0.1:"));
    assert_eq!(
        h.outputs["edge"]["domain"],
        json!(url.trim_start_matches("http://").trim_end_matches('/'))
    );

    let (status, headers, body) = http("GET", &url).expect("get /");
    assert_eq!(
        (status, headers["x-cache"].as_str(), body.as_slice()),
        (200, "MISS", &b"<h1>home</h1>"[..])
    );
    let (status, headers, body) = http("GET", &url).expect("get / again");
    assert_eq!(
        (status, headers["x-cache"].as_str(), body.as_slice()),
        (200, "HIT", &b"<h1>home</h1>"[..])
    );
    let (status, headers, body) = http("HEAD", &format!("{url}a.txt")).expect("head");
    assert_eq!(
        (status, headers["content-length"].as_str(), body.len()),
        (200, "1", 0)
    );
    assert_eq!(http("GET", &format!("{url}missing")).expect("404").0, 404);

    // The server is supervised: killed, read shows it; update restarts it.
    let desired = h.resolve(
        &h.expand(
            "edge",
            Kind::Cdn,
            json!({"origin": "${site}", "cache_ttl": "1h"}),
        )[0]
        .inputs,
    );
    let live = h.read(&cdn).await.expect("exists");
    assert!(drift(&desired, &live.inputs).is_empty());
    let pid = live.outputs["pid"].as_i64().expect("pid");
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    assert!(wait_until(WAIT, || !pid_alive(pid)));
    assert_eq!(
        drift(&desired, &h.read(&cdn).await.expect("exists").inputs),
        ["running"]
    );
    h.update(&mut cdn, &desired).await;
    assert_eq!(http("GET", &url).expect("after restart").0, 200);
    let pid = h.read(&cdn).await.expect("exists").outputs["pid"]
        .as_i64()
        .expect("pid");

    h.delete(&cdn).await;
    assert!(!pid_alive(pid), "server stopped by delete");
    assert!(http("GET", &url).is_err(), "nothing listens any more");
    h.delete(&bucket).await;
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn cdn_proxies_a_compute_origin() {
    let mut h = Harness::new(json!({}));
    let web = h
        .apply("web", Kind::Compute, json!({"ports": [80],
            "startup": "echo from-web > page.txt; exec python3 -m http.server \"$PORT\" --bind 127.0.0.1"}))
        .await
        .remove(0);
    let origin = h.outputs["web"]["url"].as_str().expect("url").to_string();
    assert!(wait_until(WAIT, || http(
        "GET",
        &format!("{origin}/page.txt")
    )
    .is_ok_and(|r| r.0 == 200)));
    let cdn = h
        .apply("edge", Kind::Cdn, json!({"origin": "${web}"}))
        .await
        .remove(0);
    let url = h.outputs["edge"]["url"].as_str().expect("url").to_string();
    let (status, headers, body) = http("GET", &format!("{url}page.txt")).expect("proxied");
    assert_eq!(
        (status, headers["x-cache"].as_str(), body.as_slice()),
        (200, "MISS", &b"from-web\n"[..])
    );
    assert_eq!(
        http("GET", &format!("{url}page.txt")).expect("cached").1["x-cache"],
        "HIT"
    );
    h.delete(&cdn).await;
    h.delete(&web).await;
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
}

#[tokio::test]
async fn interrupted_create_is_adopted_not_duplicated() {
    let h = Harness::new(json!({}));
    let spec = h.expand("jobs", Kind::Queue, json!({})).remove(0);
    let req = h.request("jobs", Kind::Queue, &spec);
    assert!(
        h.provider
            .adopt(&ctx(), &req)
            .await
            .expect("adopt")
            .is_none(),
        "nothing to adopt yet"
    );

    // An apply killed after the create but before state was written.
    let created = h.provider.create(&ctx(), &req).await.expect("create");
    let adopted = h
        .provider
        .adopt(&ctx(), &req)
        .await
        .expect("adopt")
        .expect("found by its tags");
    assert_eq!(adopted.id, created.id);
    assert_eq!(adopted.outputs["url"], created.outputs["url"]);
    let again = h
        .provider
        .create(&ctx(), &req)
        .await
        .expect_err("never created twice");
    assert_eq!(again.class, ErrorClass::Conflict);

    // Another stack's resource at the same path is not adopted.
    let mut other = req.clone();
    other.owner.stack = "someone-else".into();
    assert!(
        h.provider
            .adopt(&ctx(), &other)
            .await
            .expect("adopt")
            .is_none()
    );

    // A build killed halfway leaves only a temp sibling: not a resource, cleaned later.
    let spec = h.expand("site", Kind::Storage, json!({})).remove(0);
    let req = h.request("site", Kind::Storage, &spec);
    let parent = h.provider.root().join("storage/site");
    std::fs::create_dir_all(parent.join(".bucket.tmp-deadbeef/objects")).expect("half-built");
    assert!(
        h.provider
            .adopt(&ctx(), &req)
            .await
            .expect("adopt")
            .is_none()
    );
    h.provider.create(&ctx(), &req).await.expect("create");
    assert!(
        !parent.join(".bucket.tmp-deadbeef").exists(),
        "stale temp dir cleaned"
    );
}

#[tokio::test]
async fn injected_faults_are_retryable_or_fatal() {
    let h = Harness::new(json!({"error_rate": 1.0, "seed": 1, "latency_ms": 1}));
    let spec = h.expand("jobs", Kind::Queue, json!({})).remove(0);
    let e = h
        .provider
        .create(&ctx(), &h.request("jobs", Kind::Queue, &spec))
        .await
        .expect_err("injected");
    assert!(e.is_retryable(), "{e}");
    assert!(!h.provider.root().exists(), "failed before doing anything");

    let h = Harness::new(json!({"fail_resources": ["jobs"]}));
    let e = h
        .provider
        .create(&ctx(), &h.request("jobs", Kind::Queue, &spec))
        .await
        .expect_err("injected");
    assert_eq!(e.class, ErrorClass::Fatal);
    let other = h.expand("other", Kind::Queue, json!({})).remove(0);
    h.provider
        .create(&ctx(), &h.request("other", Kind::Queue, &other))
        .await
        .expect("other resources are unaffected");

    let dir = tempfile::tempdir().expect("tempdir");
    let e = LocalProvider::new(common::context(dir.path(), json!({"error_rate": "lots"})))
        .expect_err("bad setting");
    assert_eq!(e.class, ErrorClass::InvalidInput);
    assert!(e.message.contains("error_rate"));
}

#[tokio::test]
async fn noop_mode_keeps_one_json_file_per_native_and_runs_nothing() {
    let mut h = Harness::new(json!({"noop": true}));
    let kinds: [(&str, Kind, Value); 6] = [
        ("site", Kind::Storage, json!({"content": "does-not-matter"})),
        ("jobs", Kind::Queue, json!({})),
        ("db", Kind::Database, json!({})),
        (
            "api",
            Kind::Function,
            json!({"runtime": "python3.12", "handler": "m.h", "source": "nowhere"}),
        ),
        (
            "web",
            Kind::Compute,
            json!({"count": 2, "startup": "exit 1"}),
        ),
        ("edge", Kind::Cdn, json!({"origin": "${site}"})),
    ];
    let mut all = Vec::new();
    for (name, kind, props) in kinds {
        let states = h.apply(name, kind, props.clone()).await;
        for s in &states {
            assert!(h.read(s).await.is_some());
        }
        assert!(
            h.outputs[name].contains_key("id"),
            "{name}: {:?}",
            h.outputs[name]
        );
        all.extend(states);
    }
    // Noop mode materializes nothing but one ledger line per native.
    assert_eq!(h.files_left(), vec![h.provider.root().join("noop.ledger")]);
    let ledger = std::fs::read_to_string(h.provider.root().join("noop.ledger")).expect("ledger");
    assert_eq!(ledger.lines().count(), 7);
    let api = all
        .iter()
        .find(|s| s.kind == Kind::Function)
        .expect("function");
    assert_eq!(
        h.provider
            .invoke(&ctx(), api, json!(1))
            .await
            .expect("invoke")["noop"],
        true
    );
    let mut inputs = all[1].inputs.clone();
    inputs.insert("ordered".into(), json!(true));
    let mut q = all[1].clone();
    h.update(&mut q, &inputs).await;
    assert_eq!(h.read(&q).await.expect("exists").inputs["ordered"], true);
    for s in &all {
        h.delete(s).await;
    }
    assert!(h.files_left().is_empty());
}

#[test]
fn outputs_are_left_out_until_created() {
    let h = Harness::new(json!({}));
    assert!(h.provider.outputs(Kind::Compute, &[]).is_empty());
}

/// A real PostgreSQL cluster (run by an unprivileged user when the tests run as root).
/// Where PostgreSQL is missing the test is skipped, loudly; under scripts/test.sh (or
/// CI=true) it FAILS instead.
#[tokio::test]
async fn postgres_cluster_when_opted_in_and_available() {
    let mut h = Harness::new(json!({"postgres": true}));
    if !h.provider.uses_postgres() {
        let why = "PostgreSQL is not usable here: not installed, or running as root without \
                   an unprivileged user to run it as (`postgres`, or OVERCAST_LOCAL_POSTGRES_USER)";
        assert!(
            !postgres_required(),
            "{why}; scripts/test.sh sets it up, and this test must run there"
        );
        eprintln!(
            "\n*** SKIPPED postgres_cluster_when_opted_in_and_available: {why}. Run `bash \
             scripts/test.sh` to set it up. ***\n"
        );
        return;
    }
    let props = json!({"engine": "postgres", "database_name": "shop", "username": "admin"});
    let mut s = h.apply("db", Kind::Database, props.clone()).await.remove(0);
    assert_eq!(s.type_name, "local_postgres");
    let out = h.outputs["db"].clone();
    assert_eq!(out["engine"], "postgres");
    let cs = out["connection_string"]
        .as_str()
        .expect("connection string");
    assert!(cs.starts_with("postgresql://admin:"));
    let port = out["port"].as_u64().expect("port") as u16;
    // A client opens the connection string (password auth over TCP on 127.0.0.1).
    assert_eq!(psql(cs, "select current_database()"), "shop");
    psql(cs, "create table t (v text); insert into t values ('kept')");
    let desired = h.expand("db", Kind::Database, props)[0].inputs.clone();
    assert!(drift(&desired, &h.read(&s).await.expect("exists").inputs).is_empty());

    // Stopped behind the provider's back (SIGINT: a fast shutdown): read sees it.
    let cluster = postgres_cluster_dir(std::path::Path::new(&s.id));
    let pid = postmaster_pid(&cluster).expect("postmaster.pid");
    unsafe { libc::kill(pid, libc::SIGINT) };
    assert!(wait_until(WAIT, || !pid_alive(pid.into())), "stopped");
    assert_eq!(
        drift(&desired, &h.read(&s).await.expect("exists").inputs),
        ["running"]
    );
    h.update(&mut s, &desired).await;
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "restarted on its port"
    );
    assert_eq!(psql(cs, "select v from t"), "kept", "the data survived");
    let pid = postmaster_pid(&cluster).expect("postmaster.pid");
    h.delete(&s).await;
    assert!(!pid_alive(pid.into()), "the cluster stopped");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "stopped"
    );
    assert!(h.files_left().is_empty(), "{:?}", h.files_left());
    assert!(!cluster.exists(), "{} is left", cluster.display());
}
