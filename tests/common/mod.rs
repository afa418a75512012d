//! Helpers for integration tests: a stack in its own temp dir, the `overcast` binary run
//! against it, and a guard that destroys what the test created and kills any process it
//! left, even when the test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn overcast_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_overcast"))
}

/// A stack in a temp dir.
pub struct TestStack {
    pub dir: tempfile::TempDir,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() == ".overcast" {
                continue;
            }
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

impl TestStack {
    /// A copy of `examples/<name>`.
    pub fn example(name: &str) -> TestStack {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples")
                .join(name),
            dir.path(),
        );
        TestStack { dir }
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

    /// Natives the local cloud materialized (directories, or noop files): `<kind>/<resource>/<local>`.
    pub fn local_artifacts(&self, target: &str) -> Vec<String> {
        let root = self.path().join(".overcast/local").join(target);
        let mut out = Vec::new();
        // Noop mode: the natives live in an append-only ledger; replay it.
        if let Ok(text) = std::fs::read_to_string(root.join("noop.ledger")) {
            let mut live = std::collections::BTreeSet::new();
            for line in text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            {
                let Some(key) = line["key"].as_str() else {
                    continue;
                };
                let name = Path::new(key)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let id = name.trim_end_matches(".json").replacen('.', "/", 2);
                if line.get("entry").is_some() {
                    live.insert(id);
                } else {
                    live.remove(&id);
                }
            }
            out.extend(live);
        }
        let Ok(kinds) = std::fs::read_dir(&root) else {
            return out;
        };
        for kind in kinds.flatten() {
            if kind.file_name() == "noop" {
                continue;
            }
            let Ok(resources) = std::fs::read_dir(kind.path()) else {
                continue;
            };
            for res in resources.flatten() {
                let Ok(locals) = std::fs::read_dir(res.path()) else {
                    continue;
                };
                for local in locals.flatten() {
                    let name = local.file_name().to_string_lossy().to_string();
                    if local.path().is_dir() && !name.starts_with('.') {
                        out.push(format!(
                            "{}/{}/{}",
                            kind.file_name().to_string_lossy(),
                            res.file_name().to_string_lossy(),
                            name
                        ));
                    }
                }
            }
        }
        out.sort();
        out
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
