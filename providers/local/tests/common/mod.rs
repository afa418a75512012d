//! Shared harness of the local cloud's integration tests: a provider in its own tempdir,
//! helpers that play the engine's part (expand, resolve references, record state), and a
//! guard that kills every process the test started, by pid, even when the test fails.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use overcast_core::kinds::Properties;
use overcast_core::native::{CreateRequest, Observed};
use overcast_core::refs::{self, Lookup, Ref, RefError};
use overcast_core::{
    AbstractResource, Attrs, Kind, NativeAddr, NativeSpec, NativeState, OwnerTags, Provider,
    ProviderContext,
};
use overcast_local::LocalProvider;
use serde_json::{Value, json};

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub provider: LocalProvider,
    /// Abstract outputs of created resources, for resolving `${name.attr}`.
    pub outputs: BTreeMap<String, Attrs>,
}

pub fn context(dir: &Path, settings: Value) -> ProviderContext {
    let mut settings = settings.as_object().cloned().unwrap_or_default();
    settings
        .entry("helper_exe")
        .or_insert(json!(env!("CARGO_BIN_EXE_overcast-local-cdn")));
    ProviderContext {
        stack: "demo".into(),
        target: "dev".into(),
        settings,
        spec_dir: dir.join("spec"),
        work_dir: dir.join("spec/.overcast"),
    }
}

impl Harness {
    pub fn new(settings: Value) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("spec")).expect("spec dir");
        let provider = LocalProvider::new(context(dir.path(), settings)).expect("provider");
        Harness {
            dir,
            provider,
            outputs: BTreeMap::new(),
        }
    }

    pub fn spec_dir(&self) -> PathBuf {
        self.dir.path().join("spec")
    }

    /// Write a file relative to the spec dir.
    pub fn write(&self, rel: &str, content: &str) {
        let p = self.spec_dir().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }

    pub fn expand(&self, name: &str, kind: Kind, props: Value) -> Vec<NativeSpec> {
        let referenced_kinds = BTreeMap::from([
            ("site".to_string(), Kind::Storage),
            ("web".to_string(), Kind::Compute),
            ("jobs".to_string(), Kind::Queue),
            ("db".to_string(), Kind::Database),
        ]);
        let res = AbstractResource {
            name: name.into(),
            properties: Properties::from_value(kind, props).expect("valid properties"),
            referenced_kinds,
        };
        self.provider.expand(&res).expect("expand")
    }

    /// Resolve references the way the engine does, from the outputs recorded so far.
    pub fn resolve(&self, inputs: &Attrs) -> Attrs {
        let mut lookup = |r: &Ref| -> Result<Lookup, RefError> {
            match r {
                Ref::Resource {
                    name,
                    attr: Some(a),
                } => Ok(Lookup::Known(
                    self.outputs
                        .get(name)
                        .and_then(|o| o.get(a))
                        .cloned()
                        .expect("referenced output exists"),
                )),
                other => panic!("unexpected reference {other}"),
            }
        };
        refs::resolve(&Value::Object(inputs.clone()), &mut lookup)
            .expect("resolve")
            .as_object()
            .cloned()
            .expect("object")
    }

    pub fn request(&self, name: &str, kind: Kind, spec: &NativeSpec) -> CreateRequest {
        let addr = NativeAddr::new(name, spec.local.clone());
        CreateRequest {
            owner: OwnerTags {
                stack: "demo".into(),
                target: "dev".into(),
                resource: addr.to_string(),
            },
            addr,
            kind,
            type_name: spec.type_name.clone(),
            inputs: self.resolve(&spec.inputs),
            secrets: Default::default(),
        }
    }

    /// Create every native of a resource, record its abstract outputs, return the states.
    pub async fn apply(&mut self, name: &str, kind: Kind, props: Value) -> Vec<NativeState> {
        let specs = self.expand(name, kind, props);
        let mut states = Vec::new();
        for spec in &specs {
            let req = self.request(name, kind, spec);
            let obs = self
                .provider
                .create(&ctx(), &req)
                .await
                .unwrap_or_else(|e| panic!("create {}: {e}", req.addr));
            states.push(state(&req, spec, &obs));
        }
        let refs: Vec<&NativeState> = states.iter().collect();
        self.outputs
            .insert(name.to_string(), self.provider.outputs(kind, &refs));
        states
    }

    pub async fn read(&self, s: &NativeState) -> Option<Observed> {
        self.provider.read(&ctx(), s).await.expect("read")
    }

    pub async fn update(&self, s: &mut NativeState, inputs: &Attrs) {
        let obs = self
            .provider
            .update(&ctx(), s, inputs)
            .await
            .unwrap_or_else(|e| panic!("update {}: {e}", s.addr));
        s.inputs = obs.inputs;
        s.outputs = obs.outputs;
    }

    pub async fn delete(&self, s: &NativeState) {
        self.provider
            .delete(&ctx(), s)
            .await
            .unwrap_or_else(|e| panic!("delete {}: {e}", s.addr));
    }

    /// Files left under the target's root (directories may remain, empty).
    pub fn files_left(&self) -> Vec<PathBuf> {
        fn walk(p: &Path, out: &mut Vec<PathBuf>) {
            let Ok(rd) = std::fs::read_dir(p) else { return };
            for e in rd.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.provider.root(), &mut out);
        out
    }
}

impl Drop for Harness {
    /// Kill every process group recorded in a pid file under the root, by pid.
    fn drop(&mut self) {
        fn walk(p: &Path) {
            let Ok(rd) = std::fs::read_dir(p) else { return };
            for e in rd.flatten() {
                let path = e.path();
                if path.is_dir() {
                    walk(&path);
                } else if path.extension().is_some_and(|x| x == "pid")
                    && let Some(pid) = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<i32>().ok())
                    && pid > 1
                {
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
            }
        }
        walk(self.provider.root());
    }
}

pub fn state(req: &CreateRequest, spec: &NativeSpec, obs: &Observed) -> NativeState {
    // Through serde so the test keeps compiling when the engine adds defaulted fields.
    serde_json::from_value(json!({
        "addr": req.addr, "kind": req.kind, "type_name": req.type_name, "id": obs.id,
        "inputs": obs.inputs, "outputs": obs.outputs, "sensitive": spec.sensitive, "force_new": spec.force_new,
    }))
    .expect("state")
}

/// Inputs that differ between desired and live (the engine's drift, in short).
pub fn drift(desired: &Attrs, live: &Attrs) -> Vec<String> {
    desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// A plain HTTP/1.1 GET (or HEAD): (status, headers lowercased, body).
pub fn http(method: &str, url: &str) -> std::io::Result<(u16, BTreeMap<String, String>, Vec<u8>)> {
    let rest = url.strip_prefix("http://").expect("http url");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut c = TcpStream::connect(authority)?;
    c.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, headers, raw[split + 4..].to_vec()))
}

/// Poll `f` until it holds, up to a generous `timeout`.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// Whether a pid is a live, non-zombie process.
pub fn pid_alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rfind(')')
            .and_then(|i| s[i + 1..].split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

/// Whether PostgreSQL tests must run here rather than skip: `scripts/test.sh` installs
/// PostgreSQL and sets OVERCAST_TEST_REQUIRE_POSTGRES=1; CI=true means the same.
pub fn postgres_required() -> bool {
    std::env::var("OVERCAST_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The directory holding the PostgreSQL cluster of the native at `native_dir`: the target
/// of its `cluster` symlink (when the provider runs as root), else the directory itself.
pub fn postgres_cluster_dir(native_dir: &Path) -> PathBuf {
    std::fs::read_link(native_dir.join("cluster")).unwrap_or_else(|_| native_dir.to_path_buf())
}

/// The pid of the postmaster of the cluster in `cluster` (first line of postmaster.pid).
pub fn postmaster_pid(cluster: &Path) -> Option<i32> {
    std::fs::read_to_string(cluster.join("data/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Run `psql` with the connection string `url` and the SQL `sql`: its unaligned output.
pub fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .env_remove("PGPASSWORD")
        .output()
        .expect("run psql (the PostgreSQL client)");
    assert!(
        out.status.success(),
        "psql {sql:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The operation context of a direct provider call in these tests.
pub fn ctx() -> overcast_core::OpContext {
    overcast_core::OpContext::detached("local-test")
}
