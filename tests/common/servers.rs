//! The emulators the AWS tests run against, one helper per server: it starts the server on
//! 127.0.0.1, waits until it answers, and gives back its endpoint in a [`Server`] guard that
//! kills it by PID when dropped, also when the test panics (the guard exists from the
//! moment the process does).
//!
//! Ports: a port picked by binding and releasing can be taken by another process before
//! the server binds it. moto binds port 0 and prints the port it got, so it never races;
//! ministack needs its port up front (it builds URLs from it), so it gets a free port and
//! is started again on a new one when that port was taken ([`START_ATTEMPTS`] in all).
//! Either way a server counts as started only once it has printed that it listens on its
//! port: something else answering there is never mistaken for it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many times a server that needs its port up front is started before giving up.
pub const START_ATTEMPTS: usize = 5;
/// How long a server may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a server's output kept for error messages.
const KEPT_LINES: usize = 60;

/// A running server. Dropping it kills the process (by PID) and reaps it.
pub struct Server {
    name: &'static str,
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    output: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the server printed (stdout and stderr), for error messages.
    pub fn output_tail(&self) -> String {
        tail(&self.output)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to exactly this PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

fn tail(output: &Mutex<VecDeque<String>>) -> String {
    output
        .lock()
        .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// How a server learns its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// It binds port 0 and prints the port it got.
    Zero,
    /// It is given a free port; when another process took it first, it is started again
    /// on a new one.
    Free,
}

/// The port in a `Running on http://127.0.0.1:<port>` line (werkzeug's and hypercorn's),
/// a `listening on http://127.0.0.1:<port>` line (drongo's), a `Server started, listening
/// on <port>` line (the Pub/Sub emulator's) or a `Blob service is successfully listening at
/// http://127.0.0.1:<port>` line (Azurite's; its queue and table lines are not the port).
fn announced_port(line: &str) -> Option<u16> {
    let rest = [
        "Running on http://127.0.0.1:",
        "listening on http://127.0.0.1:",
        "Server started, listening on ",
        "Blob service is successfully listening at http://127.0.0.1:",
    ]
    .iter()
    .find_map(|m| Some(&line[line.find(m)? + m.len()..]))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|p| *p != 0)
}

/// Whether a server's output says its port was taken: `Address already in use` (EADDRINUSE,
/// errno 98) from the OS, or ministack's own `127.0.0.1:<port> is already in use`.
fn bind_failed(output: &str) -> bool {
    let o = output.to_ascii_lowercase();
    o.contains("already in use") || o.contains("errno 98")
}

/// A free port, picked by binding port 0 and releasing it: callers must cope with it
/// being taken by someone else before they bind it (see [`PortChoice::Free`]).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port on 127.0.0.1")
}

/// Forward every line of `from` into `output` (the last [`KEPT_LINES`]) and the port of
/// the first `Running on` line to `port`.
fn drain(
    from: impl Read + Send + 'static,
    output: Arc<Mutex<VecDeque<String>>>,
    port: Sender<u16>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let Some(p) = announced_port(&line) {
                let _ = port.send(p);
            }
            if let Ok(mut kept) = output.lock() {
                if kept.len() == KEPT_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        }
    });
}

/// What one start attempt came to.
enum Attempt {
    Ready(Server),
    /// The port was taken before the server bound it.
    PortTaken(String),
}

/// Start `name` with `command(port)` and wait until it has announced its port and
/// `answers(port)`; retried on a taken port as `choice` says. Panics (after killing the
/// process) when the server exits or does not answer in time, with what it printed.
pub fn start(
    name: &'static str,
    choice: PortChoice,
    command: impl Fn(u16) -> Command,
    answers: impl Fn(u16) -> bool,
) -> Server {
    match choice {
        PortChoice::Zero => start_on_ports(name, [0], command, answers),
        PortChoice::Free => start_on_ports(
            name,
            (0..START_ATTEMPTS).map(|_| free_port()),
            command,
            answers,
        ),
    }
}

/// [`start`] on each of `ports` in turn until the server binds one (0: the server picks).
pub fn start_on_ports(
    name: &'static str,
    ports: impl IntoIterator<Item = u16>,
    command: impl Fn(u16) -> Command,
    answers: impl Fn(u16) -> bool,
) -> Server {
    let mut taken = Vec::new();
    for port in ports {
        match start_once(name, port, &command, &answers) {
            Attempt::Ready(server) => return server,
            Attempt::PortTaken(output) => taken.push(format!("port {port}:\n{output}")),
        }
    }
    panic!(
        "{name}: its port was taken {} time(s) in a row:\n{}",
        taken.len(),
        taken.join("\n")
    )
}

fn start_once(
    name: &'static str,
    port: u16,
    command: &impl Fn(u16) -> Command,
    answers: &impl Fn(u16) -> bool,
) -> Attempt {
    let mut cmd = command(port);
    let program = cmd.get_program().to_string_lossy().to_string();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({program}): {e}"));
    let output = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, announced): (Sender<u16>, Receiver<u16>) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        drain(out, output.clone(), tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        drain(err, output.clone(), tx);
    }
    // From here on the guard owns the process: any panic below kills it.
    let mut server = Server {
        name,
        child,
        port,
        endpoint: String::new(),
        output,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    let mut bound = None;
    loop {
        if bound.is_none() {
            bound = announced.try_recv().ok();
        }
        if let Some(p) = bound
            && answers(p)
        {
            assert!(
                port == 0 || p == port,
                "{name} announced port {p}, it was given {port}"
            );
            server.port = p;
            server.endpoint = format!("http://127.0.0.1:{p}");
            return Attempt::Ready(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            // Let the output threads catch the last lines.
            std::thread::sleep(Duration::from_millis(200));
            let out = server.output_tail();
            if port != 0 && bind_failed(&out) {
                return Attempt::PortTaken(out);
            }
            panic!("{name} ({program}) exited ({status}) before it answered:\n{out}");
        }
        assert!(
            Instant::now() < deadline,
            "{name} ({program}) did not answer within {}s (announced port: {bound:?}):\n{}",
            START_TIMEOUT.as_secs(),
            server.output_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP/1.1 GET to 127.0.0.1:`port`: the whole answer, if one came.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1").then_some(out)
}

/// A venv executable that `scripts/test.sh` installs (`scripts/emulators.sh`), from
/// `env` if set, else from its place under ~/.cache/overcast.
fn installed(env: &str, venv_path: &str, what: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env) {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = Path::new(&home).join(".cache/overcast").join(venv_path);
    assert!(
        p.exists(),
        "{what} is not installed: run `bash scripts/test.sh` (it installs it under \
         ~/.cache/overcast) or set {env} to its executable"
    );
    p
}

/// The python of the venv with Microsoft's Azure SDKs (`install_azure_sdks`).
pub fn azure_sdk_python() -> PathBuf {
    installed(
        "OVERCAST_AZURE_SDK_PYTHON",
        "venv-azure-sdk/bin/python",
        "Microsoft's Azure SDKs for Python",
    )
}

/// The `moto_server` executable.
pub fn moto_server() -> PathBuf {
    installed("OVERCAST_MOTO_SERVER", "venv/bin/moto_server", "moto")
}

/// The `ministack` executable.
pub fn ministack() -> PathBuf {
    installed(
        "OVERCAST_MINISTACK",
        "venv-ministack/bin/ministack",
        "ministack",
    )
}

/// The image list moto serves: one image per catalog name (tests/fixtures/aws/amis.json),
/// owned by the accounts the catalog queries, so every `image:` of the catalog resolves as
/// on AWS. moto's own list lacks recent releases such as Ubuntu 24.04, the default image.
pub fn moto_amis() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws/amis.json")
}

/// moto, one server for every AWS service the provider uses, on a port of its own.
pub fn start_moto() -> Server {
    let server = moto_server();
    start(
        "moto",
        PortChoice::Zero,
        |port| {
            let mut c = Command::new(&server);
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("MOTO_AMIS_PATH", moto_amis())
                .env("MOTO_ENABLE_AMI_VALIDATION", "true")
                .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true");
            c
        },
        |port| http_get(port, "/moto-api/").is_some(),
    )
}

/// ministack, which enforces CloudFront's disable-before-delete and If-Match as AWS does.
pub fn start_ministack() -> Server {
    let server = ministack();
    start(
        "ministack",
        PortChoice::Free,
        |port| {
            let mut c = Command::new(&server);
            c.env("GATEWAY_PORT", port.to_string())
                .env("BIND_HOST", "127.0.0.1");
            c
        },
        |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    )
}

/// The python of the venv that `scripts/test.sh` installs for the GCP contract-test server
/// (`install_gcp_contract_server` in scripts/emulators.sh: google-api-python-client, whose
/// discovery documents the server validates against).
pub fn gcp_contract_python() -> PathBuf {
    installed(
        "OVERCAST_GCP_CONTRACT_PYTHON",
        "venv-gcp-contract/bin/python",
        "the GCP contract-test server's venv",
    )
}

/// The directory `python -m gcp_server` runs from: tests/, which holds the package.
pub fn gcp_contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The GCP contract-test server (tests/gcp_server: Compute Engine v1 and Cloud SQL Admin
/// v1) on a port of its own; its operations answer `polls` reads as not DONE. It binds
/// port 0 and prints the port, so it never races for one.
pub fn start_gcp_contract(polls: u32) -> Server {
    let python = gcp_contract_python();
    start(
        "gcp-contract",
        PortChoice::Zero,
        |port| {
            let mut c = Command::new(&python);
            c.args(["-m", "gcp_server", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .arg("--polls")
                .arg(polls.to_string())
                .current_dir(gcp_contract_dir())
                // Keep the source tree free of __pycache__.
                .env("PYTHONDONTWRITEBYTECODE", "1");
            c
        },
        |port| http_get(port, "/__contract/health").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// The python that runs the Azure contract-test server: OVERCAST_AZURE_CONTRACT_PYTHON (set
/// by `install_azure_contract_server` in scripts/emulators.sh), else `python3` from PATH.
/// The server needs only the standard library.
pub fn azure_contract_python() -> PathBuf {
    std::env::var("OVERCAST_AZURE_CONTRACT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("python3"))
}

/// The directory `python -m azure_server` runs from: tests/, which holds the package.
pub fn azure_contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The Azure contract-test server (tests/azure_server: the ARM management plane) on a port
/// of its own; its long-running operations answer `polls` reads as still running. It binds
/// port 0 and prints the port, so it never races for one.
pub fn start_azure_contract(polls: u32) -> Server {
    let python = azure_contract_python();
    start(
        "azure-contract",
        PortChoice::Zero,
        |port| {
            let mut c = Command::new(&python);
            c.args(["-m", "azure_server", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .arg("--polls")
                .arg(polls.to_string())
                .current_dir(azure_contract_dir())
                // Keep the source tree free of __pycache__.
                .env("PYTHONDONTWRITEBYTECODE", "1");
            c
        },
        |port| http_get(port, "/__contract/health").is_some_and(|r| r.contains(" 200 ")),
    )
}

/// drongo (Cloud Storage's JSON API, from `install_gcp_emulators` in scripts/emulators.sh)
/// on a free port; started again on another when that port was taken.
pub fn start_drongo() -> Server {
    let program = installed("OVERCAST_DRONGO", "venv-gcp/bin/drongo", "drongo");
    start(
        "drongo",
        PortChoice::Free,
        |port| {
            let mut c = Command::new(&program);
            c.args(["server", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string());
            c
        },
        |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    )
}

/// Google's Pub/Sub emulator (part of the machine image, needs Java) on a free port.
pub fn start_pubsub_emulator() -> Server {
    let program = std::env::var("OVERCAST_PUBSUB_EMULATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(
                "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator",
            )
        });
    assert!(
        program.exists(),
        "the Pub/Sub emulator is not at {} (package google-cloud-cli-pubsub-emulator): set \
         OVERCAST_PUBSUB_EMULATOR to it",
        program.display()
    );
    assert!(
        Command::new("java")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "the Pub/Sub emulator needs Java (17 or later): install a JRE (apt-get install \
         openjdk-17-jre-headless)"
    );
    start(
        "pubsub emulator",
        PortChoice::Free,
        |port| {
            let mut c = Command::new(&program);
            c.arg("--host=127.0.0.1").arg(format!("--port={port}"));
            c
        },
        |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    )
}

/// Azurite (Azure Storage's emulator, from `install_azurite` in scripts/emulators.sh), in
/// memory, with its blob, queue and table services each on a port of its own: it binds
/// port 0 and prints the blob port, so it never races for one. No telemetry; any API
/// version (the blob crate sends versions newer than Azurite knows).
pub struct Azurite {
    /// The server (killed by PID when dropped, before its directory goes).
    pub server: Server,
    /// The blob endpoint of its one account: `http://127.0.0.1:<port>/devstoreaccount1`.
    pub blob_endpoint: String,
    /// Its working directory (it writes nothing there in memory; a temp dir all the same).
    _dir: tempfile::TempDir,
}

/// Azurite's one account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Its well-known key (public, in Microsoft's documentation).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Start Azurite; panics (the test fails) when it is not installed or does not answer.
pub fn start_azurite() -> Azurite {
    let program = installed(
        "OVERCAST_AZURITE",
        "azurite/node_modules/.bin/azurite",
        "Azurite",
    );
    let dir = tempfile::tempdir().expect("a temp dir for Azurite");
    let server = start(
        "azurite",
        PortChoice::Zero,
        |port| {
            let mut c = Command::new(&program);
            c.args([
                "--silent",
                "--disableTelemetry",
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
            ])
            .arg(port.to_string())
            .args([
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                "0",
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                "0",
            ])
            .current_dir(dir.path());
            c
        },
        |port| TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let blob_endpoint = format!("{}/{AZURITE_ACCOUNT}", server.endpoint);
    Azurite {
        server,
        blob_endpoint,
        _dir: dir,
    }
}
