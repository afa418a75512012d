//! `local_postgres`: a real PostgreSQL cluster, used for `engine: postgres` databases when
//! the target sets `postgres: true` and `initdb`/`pg_ctl` are found (PATH, then
//! `/usr/lib/postgresql/<version>/bin`).
//!
//! The cluster (`data/`, `run/` for its unix socket, `postgres.log`) is made by `initdb`
//! with the generated password (scram-sha-256 over TCP; trust on the unix socket, whose
//! directory is owner-only), listens on `127.0.0.1:<free port>` (a new one when another
//! program took it first), and holds the database. `read` reports `running` (drift when
//! it was stopped), an update restarts it; delete stops it (`pg_ctl stop -m fast`) and
//! removes it. `read_replicas`, `size`, `storage_gb` and backups are recorded only.
//!
//! **As a normal user** the cluster's files are in the native's directory. It is
//! initialized, started, given its database and stopped inside the temp directory, then
//! renamed into place and started again, so an interrupted create leaves nothing or a
//! complete cluster.
//!
//! **As root** (PostgreSQL refuses to run as root) every PostgreSQL program runs as an
//! unprivileged user: `postgres`, the user Debian's package creates, or the one named by
//! [`RUN_AS_ENV`]. That user cannot reach a project under `/root` or in a private temp
//! directory, so the cluster's files live in a directory of its own under
//! [`ROOT_CLUSTERS`], named after the native's directory, which holds a symlink
//! [`CLUSTER_LINK`] to it. The cluster keeps running across the rename; an interrupted
//! create leaves at most that directory, which the next create of the same native
//! replaces, and delete removes it with the native.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::function::which;
use crate::record::{self, Record, get};

/// Environment variable naming the user that runs PostgreSQL when overcast runs as root.
pub const RUN_AS_ENV: &str = "OVERCAST_LOCAL_POSTGRES_USER";
/// The user that runs PostgreSQL when overcast runs as root and [`RUN_AS_ENV`] is unset.
const DEFAULT_RUN_AS: &str = "postgres";
/// Where clusters live when overcast runs as root (one directory per native).
pub const ROOT_CLUSTERS: &str = "/var/lib/overcast/postgres";
/// The symlink in a native's directory to its cluster's directory under [`ROOT_CLUSTERS`].
pub const CLUSTER_LINK: &str = "cluster";
/// Starts of a cluster on a new port when another program took the chosen one first.
const START_ATTEMPTS: usize = 5;

/// The unprivileged user PostgreSQL runs as when overcast runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunAs {
    name: String,
    uid: u32,
    gid: u32,
}

/// The PostgreSQL binaries found on this machine, and who runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgBins {
    dir: PathBuf,
    run_as: Option<RunAs>,
}

impl PgBins {
    /// A PostgreSQL program, run in `cluster` (as the unprivileged user, when root).
    fn command(&self, name: &str, cluster: &Path) -> Command {
        let mut c = Command::new(self.dir.join(name));
        c.current_dir(cluster);
        if let Some(u) = &self.run_as {
            // Sets the groups to `gid` alone, then the user: nothing of root's remains.
            c.uid(u.uid)
                .gid(u.gid)
                .env("HOME", cluster)
                .env("USER", &u.name)
                .env("LOGNAME", &u.name);
        }
        c
    }

    /// Hand `path` to the user that runs PostgreSQL (nothing to do when not root).
    fn give(&self, path: &Path) -> Result<(), ProviderError> {
        if let Some(u) = &self.run_as {
            std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid)).map_err(|e| {
                ProviderError::fatal(format!(
                    "cannot give {} to user `{}`: {e}",
                    path.display(),
                    u.name
                ))
            })?;
        }
        Ok(())
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of the user `name`, from the system's user database.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: a zeroed passwd is a valid out-parameter for getpwnam_r.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, and `buf.len()` is the size of `buf`.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    (rc == 0 && !found.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}

/// The user PostgreSQL runs as when overcast runs as root, or why there is none.
fn run_as_user() -> Result<RunAs, String> {
    let name = std::env::var(RUN_AS_ENV)
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_RUN_AS.to_string());
    let (uid, gid) = lookup_user(&name).ok_or_else(|| {
        format!(
            "PostgreSQL refuses to run as root, and there is no user `{name}` to run it as \
             (create one with `useradd --system {name}`, or name another in {RUN_AS_ENV})"
        )
    })?;
    if uid == 0 {
        return Err(format!(
            "PostgreSQL refuses to run as root, and user `{name}` is root: name an \
             unprivileged user in {RUN_AS_ENV}"
        ));
    }
    Ok(RunAs { name, uid, gid })
}

/// Find usable PostgreSQL binaries (and, as root, the user to run them as), or say why not.
pub(crate) fn detect() -> Result<PgBins, String> {
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "createdb"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    let on_path = which("initdb")
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| has_all(d));
    let dir = match on_path {
        Some(dir) => dir,
        None => {
            let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path().join("bin"))
                        .filter(|d| has_all(d))
                        .collect()
                })
                .unwrap_or_default();
            versions.sort();
            versions
                .pop()
                .ok_or("initdb, pg_ctl and createdb were not found")?
        }
    };
    let run_as = if is_root() {
        Some(run_as_user()?)
    } else {
        None
    };
    Ok(PgBins { dir, run_as })
}

fn run(cmd: &mut Command, what: &str) -> Result<(), ProviderError> {
    let out = cmd
        .output()
        .map_err(|e| ProviderError::fatal(format!("{what}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(ProviderError::fatal(format!(
        "{what} failed ({}): {}",
        out.status,
        err.trim()
    )))
}

/// The directory that holds a native's cluster: the target of its [`CLUSTER_LINK`] (as
/// root), else the native's directory itself.
fn cluster_dir(dir: &Path) -> PathBuf {
    std::fs::read_link(dir.join(CLUSTER_LINK)).unwrap_or_else(|_| dir.to_path_buf())
}

/// The cluster directory under [`ROOT_CLUSTERS`] of the native at `dir`: its last two path
/// segments (resource and local name) for a reader, and a hash of the whole path so that
/// two stacks never share one.
fn root_cluster_dir(dir: &Path) -> PathBuf {
    let hash: String = Sha256::digest(dir.as_os_str().as_encoded_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut segments = dir
        .iter()
        .rev()
        .take(2)
        .map(|s| s.to_string_lossy().to_string())
        .collect::<Vec<_>>();
    segments.reverse();
    Path::new(ROOT_CLUSTERS).join(format!("{}-{hash}", segments.join("-")))
}

/// Whether `path` is a cluster directory under [`ROOT_CLUSTERS`] (what a symlink in a
/// native's directory may lead to before anything there is removed).
fn is_root_cluster(path: &Path) -> bool {
    path.parent() == Some(Path::new(ROOT_CLUSTERS))
}

/// Stop the cluster in `cluster` (`mode`: fast or immediate), if one runs there.
fn pg_stop(bins: &PgBins, cluster: &Path, mode: &str) {
    let data = cluster.join("data");
    if data.is_dir() {
        let _ = bins
            .command("pg_ctl", cluster)
            .arg("-D")
            .arg(&data)
            .args(["-m", mode, "-w", "stop"])
            .output();
    }
}

fn pg_running(bins: &PgBins, cluster: &Path) -> bool {
    bins.command("pg_ctl", cluster)
        .arg("-D")
        .arg(cluster.join("data"))
        .arg("status")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the server wrote to its log since `from` (a byte offset).
fn log_since(log: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log)
        && f.seek(SeekFrom::Start(from)).is_ok()
    {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// Start the cluster in `cluster` on `port`; when another program took that port first,
/// on a new free port (a few times). Returns the port it listens on.
fn pg_start(bins: &PgBins, cluster: &Path, port: u16) -> Result<u16, ProviderError> {
    let log = cluster.join("postgres.log");
    let mut port = port;
    for attempt in 1..=START_ATTEMPTS {
        let logged = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            cluster.join("run").display()
        );
        let started = run(
            bins.command("pg_ctl", cluster)
                .arg("-D")
                .arg(cluster.join("data"))
                .arg("-l")
                .arg(&log)
                .args(["-o", &opts, "-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
        match started {
            Ok(()) => return Ok(port),
            Err(_)
                if attempt < START_ATTEMPTS
                    && log_since(&log, logged).contains("Address already in use") =>
            {
                port = crate::process::free_port()?;
            }
            Err(e) => {
                let why = log_since(&log, logged);
                return Err(ProviderError::fatal(format!(
                    "{}: {}",
                    e.message,
                    why.trim()
                )));
            }
        }
    }
    Err(ProviderError::fatal("pg_ctl start: no free port"))
}

fn outputs(inputs: &Attrs, password: &str, port: u16) -> Result<Attrs, ProviderError> {
    let name = get::str(inputs, "database_name")?;
    let user = get::str(inputs, "username")?;
    let mut o = Attrs::new();
    o.insert("name".into(), json!(name));
    o.insert("endpoint".into(), json!("127.0.0.1"));
    o.insert("port".into(), json!(port));
    o.insert("engine".into(), json!("postgres"));
    o.insert("username".into(), json!(user));
    o.insert("password".into(), json!(password));
    o.insert(
        "connection_string".into(),
        json!(format!(
            "postgresql://{user}:{password}@127.0.0.1:{port}/{name}"
        )),
    );
    Ok(o)
}

/// As root: a fresh cluster directory under [`ROOT_CLUSTERS`] for the native that will
/// live at `fin`, owned by the user PostgreSQL runs as, linked from `tmp`. One left by an
/// interrupted create of the same native (whose directory was never completed, or
/// `materialize` would have refused) is stopped and replaced.
fn prepare_root_cluster(bins: &PgBins, tmp: &Path, fin: &Path) -> Result<PathBuf, ProviderError> {
    let cluster = root_cluster_dir(fin);
    if cluster.exists() {
        pg_stop(bins, &cluster, "immediate");
        std::fs::remove_dir_all(&cluster)?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(ROOT_CLUSTERS)?;
    std::fs::DirBuilder::new().mode(0o700).create(&cluster)?;
    bins.give(&cluster)?;
    // For whoever finds the directory: what it belongs to.
    std::fs::write(cluster.join("native-dir"), fin.display().to_string())?;
    std::os::unix::fs::symlink(&cluster, tmp.join(CLUSTER_LINK))?;
    Ok(cluster)
}

/// Stop and remove a cluster directory under [`ROOT_CLUSTERS`].
fn discard_root_cluster(bins: &PgBins, cluster: &Path) {
    if is_root_cluster(cluster) {
        pg_stop(bins, cluster, "immediate");
        let _ = std::fs::remove_dir_all(cluster);
    }
}

/// Make the cluster in `cluster` (initdb, start, createdb); returns the port it listens on.
fn build_cluster(
    bins: &PgBins,
    cluster: &Path,
    user: &str,
    name: &str,
    password: &str,
) -> Result<u16, ProviderError> {
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(cluster.join("run"))?;
    bins.give(&cluster.join("run"))?;
    let pwfile = cluster.join("pwfile");
    std::fs::write(&pwfile, password)?;
    std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o600))?;
    bins.give(&pwfile)?;
    let made = run(
        bins.command("initdb", cluster)
            .arg("-D")
            .arg(cluster.join("data"))
            .args([
                "-U",
                user,
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                // Independent of the caller's locale settings (which may name a locale
                // this machine does not have).
                "--no-locale",
            ])
            .arg(format!("--pwfile={}", pwfile.display())),
        "initdb",
    );
    std::fs::remove_file(&pwfile)?;
    made?;
    let port = pg_start(bins, cluster, crate::process::free_port()?)?;
    run(
        bins.command("createdb", cluster)
            .arg("-h")
            .arg(cluster.join("run"))
            .args(["-p", &port.to_string(), "-U", user, name]),
        "createdb",
    )?;
    Ok(port)
}

pub(crate) fn create(
    bins: &PgBins,
    dir: &Path,
    req: &CreateRequest,
) -> Result<Record, ProviderError> {
    let name = get::str(&req.inputs, "database_name")?.to_string();
    let user = get::str(&req.inputs, "username")?.to_string();
    let password = crate::database::generate_password();
    let as_root = bins.run_as.is_some();
    // The cluster directory this create made under ROOT_CLUSTERS, to discard on failure.
    let mut root_cluster: Option<PathBuf> = None;
    let built = record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |tmp, fin| {
        std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o700))?;
        let cluster = if as_root {
            let c = prepare_root_cluster(bins, tmp, fin)?;
            root_cluster = Some(c.clone());
            c
        } else {
            tmp.to_path_buf()
        };
        let port = build_cluster(bins, &cluster, &user, &name, &password);
        if !as_root || port.is_err() {
            // In the temp directory, the cluster must stop before the rename moves it.
            pg_stop(bins, &cluster, "fast");
        }
        outputs(&req.inputs, &password, port?)
    });
    let rec = match built {
        Ok(rec) => rec,
        Err(e) => {
            if let Some(c) = &root_cluster {
                discard_root_cluster(bins, c);
            }
            return Err(e);
        }
    };
    if as_root {
        return Ok(rec);
    }
    let port = recorded_port(&rec)?;
    let listening = pg_start(bins, dir, port)?;
    if listening == port {
        return Ok(rec);
    }
    // Another program took the port while the cluster was moved into place.
    let rec = Record {
        outputs: outputs(&rec.inputs, &password, listening)?,
        ..rec
    };
    record::write_record(dir, &rec)?;
    Ok(rec)
}

fn recorded_port(rec: &Record) -> Result<u16, ProviderError> {
    rec.outputs
        .get("port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| ProviderError::fatal("the cluster's record has no port"))
}

pub(crate) fn read(
    bins: &PgBins,
    dir: &Path,
    rec: Record,
) -> Result<Option<Observed>, ProviderError> {
    let cluster = cluster_dir(dir);
    if !cluster.join("data").is_dir() {
        return Ok(None);
    }
    let mut obs = rec.observed(dir);
    obs.inputs
        .insert("running".into(), json!(pg_running(bins, &cluster)));
    Ok(Some(obs))
}

pub(crate) fn update(
    bins: &PgBins,
    dir: &Path,
    rec: Record,
    inputs: &Attrs,
) -> Result<Record, ProviderError> {
    let port = recorded_port(&rec)?;
    let cluster = cluster_dir(dir);
    if !pg_running(bins, &cluster) {
        let listening = pg_start(bins, &cluster, port)?;
        if listening != port {
            let password = get::str(&rec.outputs, "password")?.to_string();
            return Ok(Record {
                outputs: outputs(inputs, &password, listening)?,
                inputs: inputs.clone(),
                ..rec
            });
        }
    }
    Ok(Record {
        inputs: inputs.clone(),
        ..rec
    })
}

/// Stop the cluster (fast shutdown) before the native's directory is removed; as root,
/// also remove the cluster's own directory under [`ROOT_CLUSTERS`], which is not in it.
pub(crate) fn stop(bins: &PgBins, dir: &Path) {
    let cluster = cluster_dir(dir);
    pg_stop(bins, &cluster, "fast");
    if cluster != dir && is_root_cluster(&cluster) {
        let _ = std::fs::remove_dir_all(&cluster);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_cluster_dirs_are_readable_distinct_and_recognized() {
        let a = root_cluster_dir(Path::new("/p/.overcast/local/dev/database/db/db"));
        let b = root_cluster_dir(Path::new("/q/.overcast/local/dev/database/db/db"));
        assert_ne!(a, b);
        let name = a.file_name().expect("name").to_string_lossy().to_string();
        assert!(name.starts_with("db-db-"), "{name}");
        assert!(is_root_cluster(&a));
        assert!(!is_root_cluster(Path::new(
            "/p/.overcast/local/dev/database/db/db"
        )));
        assert!(!is_root_cluster(Path::new(ROOT_CLUSTERS)));
    }

    #[test]
    fn a_missing_user_is_not_found() {
        assert_eq!(lookup_user("no-such-user-for-overcast"), None);
        assert_eq!(lookup_user("root"), Some((0, 0)));
    }
}
