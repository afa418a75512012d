//! `local_postgres`: a real PostgreSQL cluster, used for `engine: postgres` databases when
//! the target sets `postgres: true` and `initdb`/`pg_ctl` are found (PATH, then
//! `/usr/lib/postgresql/<version>/bin`). PostgreSQL refuses to run as root, so as root the
//! provider keeps SQLite.
//!
//! The cluster (`<native dir>/data`) is made by `initdb` with the generated password
//! (scram-sha-256 over TCP; trust on the unix socket, whose directory `<native dir>/run`
//! is owner-only), listens on `127.0.0.1:<free port>`, and holds the database. It is
//! initialized, started, given its database and stopped inside the temp directory, then
//! renamed into place and started again, so an interrupted create leaves nothing or a
//! complete cluster. `read` reports `running` (drift when it was stopped), an update
//! restarts it; delete stops it (`pg_ctl stop -m fast`) and removes it. `read_replicas`,
//! `size`, `storage_gb` and backups are recorded only.

use std::path::{Path, PathBuf};
use std::process::Command;

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use serde_json::{Value, json};

use crate::function::which;
use crate::record::{self, Record, get};

/// The PostgreSQL binaries found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgBins {
    dir: PathBuf,
}

impl PgBins {
    fn bin(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Find usable PostgreSQL binaries, or say why not.
pub(crate) fn detect() -> Result<PgBins, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Err("PostgreSQL refuses to run as root".into());
    }
    let has_all = |d: &Path| {
        ["initdb", "pg_ctl", "createdb"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(dir) = which("initdb")
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| has_all(d))
    {
        return Ok(PgBins { dir });
    }
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
        .map(|dir| PgBins { dir })
        .ok_or_else(|| "initdb, pg_ctl and createdb were not found".into())
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

fn pg_start(bins: &PgBins, dir: &Path, port: u16) -> Result<(), ProviderError> {
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1",
        dir.join("run").display()
    );
    run(
        Command::new(bins.bin("pg_ctl"))
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("postgres.log"))
            .args(["-o", &opts, "-w", "-t", "60", "start"]),
        "pg_ctl start",
    )
}

fn pg_stop(bins: &PgBins, dir: &Path) {
    let data = dir.join("data");
    if data.is_dir() {
        let _ = Command::new(bins.bin("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w", "stop"])
            .output();
    }
}

fn pg_running(bins: &PgBins, dir: &Path) -> bool {
    Command::new(bins.bin("pg_ctl"))
        .arg("-D")
        .arg(dir.join("data"))
        .arg("status")
        .output()
        .is_ok_and(|o| o.status.success())
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

pub(crate) fn create(
    bins: &PgBins,
    dir: &Path,
    req: &CreateRequest,
) -> Result<Record, ProviderError> {
    use std::os::unix::fs::PermissionsExt;
    let name = get::str(&req.inputs, "database_name")?.to_string();
    let user = get::str(&req.inputs, "username")?.to_string();
    let password = crate::database::generate_password();
    let port = crate::process::free_port()?;
    let rec = record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |tmp, _fin| {
        std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o700))?;
        std::fs::create_dir(tmp.join("run"))?;
        let pwfile = tmp.join("pwfile");
        std::fs::write(&pwfile, &password)?;
        run(
            Command::new(bins.bin("initdb"))
                .arg("-D")
                .arg(tmp.join("data"))
                .args([
                    "-U",
                    &user,
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "-E",
                    "UTF8",
                ])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        )?;
        std::fs::remove_file(&pwfile)?;
        pg_start(bins, tmp, port)?;
        let made = run(
            Command::new(bins.bin("createdb"))
                .args(["-h"])
                .arg(tmp.join("run"))
                .args(["-p", &port.to_string(), "-U", &user, &name]),
            "createdb",
        );
        pg_stop(bins, tmp);
        made?;
        outputs(&req.inputs, &password, port)
    })?;
    pg_start(bins, dir, port)?;
    Ok(rec)
}

pub(crate) fn read(
    bins: &PgBins,
    dir: &Path,
    rec: Record,
) -> Result<Option<Observed>, ProviderError> {
    if !dir.join("data").is_dir() {
        return Ok(None);
    }
    let mut obs = rec.observed(dir);
    obs.inputs
        .insert("running".into(), json!(pg_running(bins, dir)));
    Ok(Some(obs))
}

pub(crate) fn update(
    bins: &PgBins,
    dir: &Path,
    rec: Record,
    inputs: &Attrs,
) -> Result<Record, ProviderError> {
    let port = rec
        .outputs
        .get("port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok());
    let port = port.ok_or_else(|| ProviderError::fatal("the cluster's record has no port"))?;
    if !pg_running(bins, dir) {
        pg_start(bins, dir, port)?;
    }
    Ok(Record {
        inputs: inputs.clone(),
        ..rec
    })
}

/// Stop the cluster (fast shutdown).
pub(crate) fn stop(bins: &PgBins, dir: &Path) {
    pg_stop(bins, dir);
}
