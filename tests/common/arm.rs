//! Plain HTTP/1.1 calls to the ARM contract-test server (tests/azure_server), so tests check
//! what exists through the server's own API rather than through overcast.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use super::servers::Server;

/// ARM subscription ids are GUIDs (the contract server refuses anything else).
pub const SUBSCRIPTION: &str = "00000000-0000-4000-8000-0000000000aa";

/// A runtime for tests that call a provider directly.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// One authorized request to a path of the server (its query included): (status, JSON body).
pub fn call(server: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
         Authorization: Bearer test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        server.port,
        payload.len()
    )
    .expect("send");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The ids of every resource of the subscription tagged with `overcast:stack` = `stack`,
/// through ARM's generic list, following `nextLink` (not overcast's state).
pub fn tagged(server: &Server, stack: &str) -> Vec<String> {
    let path = format!(
        "/subscriptions/{SUBSCRIPTION}/resources?api-version=2022-09-01&$filter=tagName%20eq%20%27overcast:stack%27%20and%20tagValue%20eq%20%27{stack}%27"
    );
    let mut out = Vec::new();
    let (status, mut page) = call(server, "GET", &path, None);
    assert_eq!(status, 200, "{page}");
    loop {
        for item in page["value"].as_array().into_iter().flatten() {
            out.push(item["id"].as_str().unwrap_or_default().to_string());
        }
        let Some(next) = page["nextLink"].as_str().map(str::to_string) else {
            break;
        };
        let path = next.trim_start_matches(&server.endpoint).to_string();
        page = call(server, "GET", &path, None).1;
    }
    out
}

/// The resource groups tagged with `overcast:stack` = `stack`.
pub fn tagged_groups(server: &Server, stack: &str) -> Vec<Value> {
    let (_, groups) = call(
        server,
        "GET",
        &format!("/subscriptions/{SUBSCRIPTION}/resourcegroups?api-version=2022-09-01"),
        None,
    );
    groups["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["tags"]["overcast:stack"] == stack)
        .cloned()
        .collect()
}

/// Every request the server has answered: `METHOD path status`.
pub fn request_log(server: &Server) -> Vec<String> {
    let (_, log) = call(server, "GET", "/__contract/requests", None);
    log["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{} {} {}",
                r["method"].as_str().unwrap_or_default(),
                r["path"].as_str().unwrap_or_default(),
                r["status"]
            )
        })
        .collect()
}
