//! `local_sqlite`: a database as an SQLite file (`<database_name>.db`, WAL mode), the
//! default materialization of every `database` whatever its `engine` (the output `engine`
//! says `sqlite`, so nobody is misled). See [`crate::postgres`] for the real PostgreSQL
//! cluster used when the target opts in.
//!
//! Not emulated: SQLite has no users, so `username` and the generated `password` are
//! reported (and the password is kept secret) but not enforced; `size`, `storage_gb`,
//! `version` and `backup_retention_days` are recorded only. `read_replicas` are
//! materialized as snapshot copies `replica-<i>.db` (`VACUUM INTO`), taken at create and
//! refreshed at every update: they lag behind the primary, unlike a streaming replica.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use rand::RngExt;
use rand::distr::Alphanumeric;
use rusqlite::Connection;
use serde_json::json;

use crate::record::{self, Record, get};

/// A generated password: 24 alphanumeric characters from the OS-seeded generator.
pub(crate) fn generate_password() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

fn sqlite_err(e: rusqlite::Error) -> ProviderError {
    ProviderError::fatal(format!("sqlite: {e}"))
}

/// The database file name for a database name (kept to safe characters).
fn db_file(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.db")
}

fn replica_path(dir: &Path, i: u64) -> PathBuf {
    dir.join(format!("replica-{i}.db"))
}

/// Take fresh snapshot copies for replicas 1..=n and remove the others.
fn refresh_replicas(db: &Path, dir: &Path, n: u64) -> Result<Vec<String>, ProviderError> {
    let conn = Connection::open(db).map_err(sqlite_err)?;
    let mut paths = Vec::new();
    for i in 1..=n {
        let p = replica_path(dir, i);
        // VACUUM INTO refuses an existing file: write a temp copy and rename over.
        let tmp = crate::fsutil::temp_sibling(&p, "tmp");
        conn.execute("VACUUM INTO ?1", [tmp.display().to_string()])
            .map_err(sqlite_err)?;
        fs::rename(&tmp, &p)?;
        paths.push(p.display().to_string());
    }
    let mut i = n + 1;
    while replica_path(dir, i).exists() {
        fs::remove_file(replica_path(dir, i))?;
        i += 1;
    }
    Ok(paths)
}

fn count_replicas(dir: &Path) -> u64 {
    let mut i = 0;
    while replica_path(dir, i + 1).exists() {
        i += 1;
    }
    i
}

fn outputs(
    fin: &Path,
    inputs: &Attrs,
    password: &str,
    replicas: Vec<String>,
) -> Result<Attrs, ProviderError> {
    let name = get::str(inputs, "database_name")?;
    let db = fin.join(db_file(name));
    let mut o = Attrs::new();
    o.insert("name".into(), json!(name));
    o.insert("endpoint".into(), json!(db.display().to_string()));
    o.insert("port".into(), json!(""));
    o.insert("engine".into(), json!("sqlite"));
    o.insert("username".into(), json!(get::str(inputs, "username")?));
    o.insert("password".into(), json!(password));
    o.insert(
        "connection_string".into(),
        json!(format!("sqlite://{}", db.display())),
    );
    o.insert("replica_paths".into(), json!(replicas));
    Ok(o)
}

pub(crate) fn create(dir: &Path, req: &CreateRequest) -> Result<Record, ProviderError> {
    let name = get::str(&req.inputs, "database_name")?.to_string();
    let replicas = get::u64(&req.inputs, "read_replicas")?;
    record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |tmp, fin| {
        // The directory holds a secret (the record's password): owner only.
        fs::set_permissions(tmp, fs::Permissions::from_mode(0o700))?;
        let db = tmp.join(db_file(&name));
        {
            let conn = Connection::open(&db).map_err(sqlite_err)?;
            // Writing the journal mode materializes the file header: a client opening
            // the path finds a real (empty) database.
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(sqlite_err)?;
        }
        refresh_replicas(&db, tmp, replicas)?;
        let final_replicas = (1..=replicas)
            .map(|i| replica_path(fin, i).display().to_string())
            .collect();
        outputs(fin, &req.inputs, &generate_password(), final_replicas)
    })
}

pub(crate) fn read(dir: &Path, rec: Record) -> Result<Option<Observed>, ProviderError> {
    let name = get::str(&rec.inputs, "database_name")?;
    if !dir.join(db_file(name)).is_file() {
        return Ok(None);
    }
    let mut obs = rec.observed(dir);
    obs.inputs
        .insert("read_replicas".into(), json!(count_replicas(dir)));
    Ok(Some(obs))
}

pub(crate) fn update(dir: &Path, rec: Record, inputs: &Attrs) -> Result<Record, ProviderError> {
    let db = dir.join(db_file(get::str(inputs, "database_name")?));
    if !db.is_file() {
        return Err(ProviderError::not_found(format!(
            "{} is gone",
            db.display()
        )));
    }
    let replicas = refresh_replicas(&db, dir, get::u64(inputs, "read_replicas")?)?;
    let password = get::str(&rec.outputs, "password")?.to_string();
    Ok(Record {
        type_name: rec.type_name,
        created: rec.created,
        inputs: inputs.clone(),
        outputs: outputs(dir, inputs, &password, replicas)?,
    })
}
