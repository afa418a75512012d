//! Helpers for integration tests: a stack in its own temp dir, the `overcast` binary run
//! against it, and a guard that destroys what the test created and kills any process it
//! left, even when the test fails.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn overcast_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_overcast"))
}

pub mod arm;
pub mod http;
pub mod nuke;
#[cfg(feature = "aws")]
pub mod nuke_aws;
#[cfg(feature = "azure")]
pub mod nuke_azure;
#[cfg(feature = "gcp")]
pub mod nuke_gcp;
pub mod nuke_local;
pub mod servers;

/// A stack in a temp dir.
pub struct TestStack {
    pub dir: tempfile::TempDir,
}

/// The top-level resource properties whose value is a path relative to the spec's
/// directory: storage `content` and function `source`. With the spec itself, that is all
/// a stack needs from its directory.
const PATH_PROPERTIES: &[&str] = &["content", "source"];

/// The paths (relative to the spec's directory) that the spec at `spec` references.
pub fn referenced_paths(spec: &Path) -> Vec<PathBuf> {
    let text =
        std::fs::read_to_string(spec).unwrap_or_else(|e| panic!("read {}: {e}", spec.display()));
    let doc: serde_json::Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", spec.display()));
    let mut out = Vec::new();
    let resources = doc["resources"].as_object().cloned().unwrap_or_default();
    for props in resources.values() {
        for key in PATH_PROPERTIES {
            // `${jobs}` and friends are references, not paths.
            if let Some(p) = props[*key].as_str().filter(|p| !p.contains("${")) {
                let rel = PathBuf::from(p);
                assert!(
                    rel.components()
                        .all(|c| matches!(c, std::path::Component::Normal(_))),
                    "{}: `{key}: {p}` leaves the stack's directory",
                    spec.display()
                );
                out.push(rel);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Copy a file or a directory tree, leaving out any `.overcast/` working directory.
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_file() {
        std::fs::create_dir_all(to.parent().expect("parent")).expect("create dir");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        return;
    }
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.file_name() == ".overcast" {
            continue;
        }
        copy_tree(&entry.path(), &to.join(entry.file_name()));
    }
}

/// Copy a stack directory the way a test needs it: `overcast.yaml` and the files and
/// directories it references, nothing else. A user's own run of an example leaves a
/// `.overcast/` working directory (state, local cloud) next to the spec; a test that
/// copied it would start from that user's state.
pub fn copy_stack(from: &Path, to: &Path) {
    let spec = from.join("overcast.yaml");
    copy_tree(&spec, &to.join("overcast.yaml"));
    for rel in referenced_paths(&spec) {
        let src = from.join(&rel);
        assert!(
            src.exists(),
            "{} references {}, which does not exist",
            spec.display(),
            rel.display()
        );
        copy_tree(&src, &to.join(&rel));
    }
}

/// Every file under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut |p| {
        out.push(p.strip_prefix(dir).expect("under dir").to_path_buf())
    });
    out.sort();
    out
}

/// `examples/<name>` of this repository.
pub fn example_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

impl TestStack {
    /// A copy of `examples/<name>` (see [`copy_stack`]).
    pub fn example(name: &str) -> TestStack {
        TestStack::copy_of(&example_dir(name))
    }

    /// A copy of the stack in `dir` (see [`copy_stack`]).
    pub fn copy_of(dir: &Path) -> TestStack {
        let tmp = tempfile::tempdir().expect("tempdir");
        copy_stack(dir, tmp.path());
        TestStack { dir: tmp }
    }

    /// A stack from YAML text.
    pub fn yaml(text: &str) -> TestStack {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("overcast.yaml"), text).expect("write spec");
        TestStack { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replace text in the spec (the text must be there).
    pub fn edit(&self, from: &str, to: &str) {
        let p = self.path().join("overcast.yaml");
        let s = std::fs::read_to_string(&p).expect("read spec");
        assert!(s.contains(from), "spec does not contain {from:?}");
        std::fs::write(&p, s.replacen(from, to, 1)).expect("write spec");
    }

    /// A command for the binary in the stack's directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(overcast_bin());
        c.args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("OVERCAST_FILE")
            .env_remove("OVERCAST_TEST_CRASH_BEFORE_RECORD")
            .stdin(Stdio::null());
        c
    }

    /// Run the binary to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run overcast");
        Run(out)
    }

    /// Run and require success.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code(), Some(0), "overcast {args:?} failed:\n{}", r.all());
        r
    }

    /// Native addresses in state (from `state list --json`).
    pub fn state_addrs(&self) -> Vec<String> {
        let r = self.ok(&["state", "list", "--json"]);
        let v: serde_json::Value =
            serde_json::from_str(r.stdout().trim()).expect("state list json");
        let mut out: Vec<String> = v
            .as_array()
            .expect("array")
            .iter()
            .map(|x| x["addr"].as_str().expect("addr").to_string())
            .collect();
        out.sort();
        out
    }

    /// The addresses of the natives the local cloud holds for `target`, read from what it
    /// left on disk, not through overcast: the owner tags in each native's directory
    /// (`<kind>/<resource>/<local>/owner.json`), or the entries of the `noop` ledger. A
    /// directory without owner tags shows as `untagged:<kind>/<resource>/<local>`, so it
    /// can never pass for a native in state.
    pub fn local_natives(&self, target: &str) -> BTreeSet<String> {
        let root = self.path().join(".overcast/local").join(target);
        let mut out = BTreeSet::new();
        // Noop mode: the natives live in an append-only ledger; replay it.
        if let Ok(text) = std::fs::read_to_string(root.join("noop.ledger")) {
            let mut live = std::collections::BTreeMap::new();
            for line in text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            {
                let Some(key) = line["key"].as_str() else {
                    continue;
                };
                match line["entry"]["owner"]["resource"].as_str() {
                    Some(addr) => live.insert(key.to_string(), addr.to_string()),
                    None => live.remove(key),
                };
            }
            out.extend(live.into_values());
        }
        for kind in subdirs(&root) {
            for res in subdirs(&kind) {
                for native in subdirs(&res) {
                    let name = native.file_name().map(|n| n.to_string_lossy().to_string());
                    // `.<name>.tmp-*` / `.del-*`: a build or delete in progress, not a native.
                    if name.as_deref().is_none_or(|n| n.starts_with('.')) {
                        continue;
                    }
                    let owner = std::fs::read_to_string(native.join("owner.json"))
                        .ok()
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
                    match owner.as_ref().and_then(|o| o["resource"].as_str()) {
                        Some(addr) => out.insert(addr.to_string()),
                        None => out.insert(format!(
                            "untagged:{}",
                            native.strip_prefix(&root).unwrap_or(&native).display()
                        )),
                    };
                }
            }
        }
        out
    }

    /// Every file left under the local cloud's directory of `target`, relative to it.
    pub fn local_files(&self, target: &str) -> Vec<PathBuf> {
        files_under(&self.path().join(".overcast/local").join(target))
    }

    /// Pids recorded by the local cloud's processes.
    pub fn recorded_pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        walk(&self.path().join(".overcast/local"), &mut |p| {
            if p.extension().is_some_and(|e| e == "pid")
                && let Ok(s) = std::fs::read_to_string(p)
                && let Ok(pid) = s.trim().parse::<i32>()
            {
                out.push(pid);
            }
        });
        out
    }
}

/// The subdirectories of `dir` (none when it does not exist).
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

/// Whether a process is alive (and not a zombie).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        // Best effort: destroy through overcast, then kill anything still recorded.
        let _ = self
            .command(&["destroy", "--auto-approve", "--override-protect", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for pid in self.recorded_pids() {
            if pid > 1 {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// The output of one run.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).to_string()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).to_string()
    }
    pub fn all(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout(), self.stderr())
    }
}

/// Poll `f` until it returns true or the timeout passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A minimal HTTP GET on 127.0.0.1: (status, headers, body).
pub fn http_get(url: &str) -> std::io::Result<(u16, String, String)> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other("not http"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut s = std::net::TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_string(), body.to_string()))
}

/// Whether PostgreSQL tests must run here rather than skip: `scripts/test.sh` installs
/// PostgreSQL and sets OVERCAST_TEST_REQUIRE_POSTGRES=1; CI=true means the same.
pub fn postgres_required() -> bool {
    std::env::var("OVERCAST_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The directory holding the PostgreSQL cluster of the local native at `native_dir`: the
/// target of its `cluster` symlink (when overcast runs as root), else the directory itself.
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
    let out = Command::new("psql")
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
