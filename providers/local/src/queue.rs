//! `local_queue`: a durable queue in one SQLite file, with the semantics of a cloud queue:
//! visibility timeout, retention, optional strict FIFO ordering, and a dead-letter table
//! that receives a message after `max_receives` receives without an ack.
//!
//! [`LocalQueue`] is the public API that tests, the function queue trigger
//! ([`crate::LocalProvider::drain_queue`]) and users' tools use; the provider operations
//! at the bottom create, read, update and delete the file.
//!
//! The queue's configuration lives in the database itself (table `config`), so every
//! process that opens the file applies the same rules, and `read` reports the live values.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use overcast_core::native::{CreateRequest, Observed};
use overcast_core::{Attrs, ProviderError};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::json;

use crate::fsutil;
use crate::record::{self, Record, get};

/// File name of the queue database inside the native's directory.
pub(crate) const DB_FILE: &str = "queue.db";

/// Rules of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Strict FIFO: a message is only delivered once every earlier message is acked or
    /// dead-lettered (head-of-line blocking, like an SQS FIFO message group).
    pub ordered: bool,
    /// How long a received message stays invisible to other receivers.
    pub visibility_timeout: Duration,
    /// How long an unconsumed message is kept.
    pub retention: Duration,
    /// Move a message to the dead-letter table when it would be received more than this
    /// many times; `None` keeps redelivering.
    pub max_receives: Option<u32>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            ordered: false,
            visibility_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(4 * 86_400),
            max_receives: None,
        }
    }
}

/// A received message. Ack it with its `receipt` before the visibility timeout ends, or
/// it becomes visible again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message id (increasing in send order).
    pub id: i64,
    /// Body as sent.
    pub body: String,
    /// Token for [`LocalQueue::ack`]; changes on every receive.
    pub receipt: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

/// A message that was moved to the dead-letter table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Original message id.
    pub id: i64,
    /// Body as sent.
    pub body: String,
    /// Receives before it was moved.
    pub receive_count: u32,
}

/// Counts of a queue's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Receivable now.
    pub visible: u64,
    /// Received and not yet acked, still invisible.
    pub in_flight: u64,
    /// In the dead-letter table.
    pub dead: u64,
}

/// Errors of the queue API.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The database failed (locked for too long, corrupt, missing...).
    #[error("queue database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file is not a queue created by overcast.
    #[error("{0} is not an overcast queue (no config table)")]
    NotAQueue(PathBuf),
}

/// An open durable queue.
#[derive(Debug)]
pub struct LocalQueue {
    conn: Connection,
    path: PathBuf,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    dead_at INTEGER NOT NULL
);
";

impl LocalQueue {
    fn connect(path: &Path) -> Result<Connection, QueueError> {
        let conn = Connection::open(path)?;
        // Several processes (senders, a draining function, overcast itself) share the
        // file: WAL lets readers and one writer proceed together, and the busy timeout
        // turns short lock waits into waits rather than errors.
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        Ok(conn)
    }

    /// Create (or open) a queue file and set its rules.
    pub fn create(path: &Path, config: QueueConfig) -> Result<LocalQueue, QueueError> {
        let conn = Self::connect(path)?;
        conn.execute_batch(SCHEMA)?;
        let q = LocalQueue {
            conn,
            path: path.to_path_buf(),
        };
        q.set_config(config)?;
        Ok(q)
    }

    /// Open an existing queue file (its rules are read from it).
    pub fn open(path: &Path) -> Result<LocalQueue, QueueError> {
        if !path.is_file() {
            return Err(QueueError::Sqlite(rusqlite::Error::InvalidPath(
                path.to_path_buf(),
            )));
        }
        let conn = Self::connect(path)?;
        let has_config: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='config'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if has_config.is_none() {
            return Err(QueueError::NotAQueue(path.to_path_buf()));
        }
        Ok(LocalQueue {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The file of this queue.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The queue's rules.
    pub fn config(&self) -> Result<QueueConfig, QueueError> {
        let mut c = QueueConfig::default();
        let mut stmt = self.conn.prepare("SELECT key, value FROM config")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (k, v) = row?;
            let v_u = u64::try_from(v).unwrap_or(0);
            match k.as_str() {
                "ordered" => c.ordered = v != 0,
                "visibility_timeout_ms" => c.visibility_timeout = Duration::from_millis(v_u),
                "retention_ms" => c.retention = Duration::from_millis(v_u),
                "max_receives" => c.max_receives = u32::try_from(v).ok().filter(|n| *n > 0),
                _ => {}
            }
        }
        Ok(c)
    }

    /// Change the queue's rules (messages are kept).
    pub fn set_config(&self, c: QueueConfig) -> Result<(), QueueError> {
        let mut stmt = self
            .conn
            .prepare("INSERT OR REPLACE INTO config (key, value) VALUES (?1, ?2)")?;
        stmt.execute(params!["ordered", i64::from(c.ordered)])?;
        stmt.execute(params!["visibility_timeout_ms", ms(c.visibility_timeout)])?;
        stmt.execute(params!["retention_ms", ms(c.retention)])?;
        stmt.execute(params![
            "max_receives",
            i64::from(c.max_receives.unwrap_or(0))
        ])?;
        Ok(())
    }

    /// Send a message; returns its id.
    pub fn send(&self, body: &str) -> Result<i64, QueueError> {
        self.send_at(body, now_ms())
    }

    pub(crate) fn send_at(&self, body: &str, now: i64) -> Result<i64, QueueError> {
        self.conn.execute(
            "INSERT INTO messages (body, sent_at, visible_at) VALUES (?1, ?2, ?2)",
            params![body, now],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Receive up to `max` visible messages, oldest first, making them invisible for the
    /// visibility timeout. Expired messages are dropped; messages received `max_receives`
    /// times are moved to the dead-letter table instead of being delivered again.
    pub fn receive(&mut self, max: usize) -> Result<Vec<Message>, QueueError> {
        self.receive_at(max, now_ms())
    }

    pub(crate) fn receive_at(&mut self, max: usize, now: i64) -> Result<Vec<Message>, QueueError> {
        let cfg = self.config()?;
        // IMMEDIATE takes the write lock up front, so two receivers never hand out the
        // same message.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM messages WHERE sent_at + ?1 <= ?2",
            params![ms(cfg.retention), now],
        )?;
        let mut out = Vec::new();
        loop {
            if out.len() >= max {
                break;
            }
            let head: Option<(i64, String, i64, u32)> = if cfg.ordered {
                // Strict order: only the oldest message may be delivered, and only when
                // it is visible.
                tx.query_row(
                    "SELECT id, body, visible_at, receive_count FROM messages ORDER BY id LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?
                .filter(|m| m.2 <= now)
            } else {
                tx.query_row(
                    "SELECT id, body, visible_at, receive_count FROM messages WHERE visible_at <= ?1 ORDER BY id LIMIT 1",
                    params![now],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?
            };
            let Some((id, body, _, count)) = head else {
                break;
            };
            if cfg.max_receives.is_some_and(|m| count >= m) {
                tx.execute(
                    "INSERT OR REPLACE INTO dead_letters (id, body, sent_at, receive_count, dead_at)
                     SELECT id, body, sent_at, receive_count, ?2 FROM messages WHERE id = ?1",
                    params![id, now],
                )?;
                tx.execute("DELETE FROM messages WHERE id = ?1", params![id])?;
                continue;
            }
            let receipt = format!("{id}-{}", fsutil::nonce());
            tx.execute(
                "UPDATE messages SET visible_at = ?2, receive_count = receive_count + 1, receipt = ?3 WHERE id = ?1",
                params![id, now.saturating_add(ms(cfg.visibility_timeout)), receipt],
            )?;
            out.push(Message {
                id,
                body,
                receipt,
                receive_count: count + 1,
            });
            if cfg.ordered {
                // The next message waits until this one is acked.
                break;
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Acknowledge (delete) a received message. Returns false when the receipt is stale:
    /// the visibility timeout ended and the message was received again (or acked).
    pub fn ack(&self, receipt: &str) -> Result<bool, QueueError> {
        Ok(self
            .conn
            .execute("DELETE FROM messages WHERE receipt = ?1", params![receipt])?
            == 1)
    }

    /// Counts of visible, in-flight and dead-lettered messages.
    pub fn stats(&self) -> Result<QueueStats, QueueError> {
        self.stats_at(now_ms())
    }

    pub(crate) fn stats_at(&self, now: i64) -> Result<QueueStats, QueueError> {
        let count = |sql: &str| -> Result<u64, QueueError> {
            let n: i64 = self.conn.query_row(sql, params![now], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(QueueStats {
            visible: count("SELECT COUNT(*) FROM messages WHERE visible_at <= ?1")?,
            in_flight: count("SELECT COUNT(*) FROM messages WHERE visible_at > ?1")?,
            dead: count("SELECT COUNT(*) FROM dead_letters WHERE ?1 = ?1")?,
        })
    }

    /// The dead-lettered messages, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, QueueError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, body, receive_count FROM dead_letters ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(DeadLetter {
                id: r.get(0)?,
                body: r.get(1)?,
                receive_count: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl From<QueueError> for ProviderError {
    fn from(e: QueueError) -> Self {
        match &e {
            QueueError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                ProviderError::retryable(e.to_string())
            }
            _ => ProviderError::fatal(e.to_string()),
        }
    }
}

// ---- provider operations -------------------------------------------------------------

/// The queue rules described by a native's inputs.
fn config_from(inputs: &Attrs) -> Result<QueueConfig, ProviderError> {
    let max = get::u64(inputs, "max_receives")?;
    Ok(QueueConfig {
        ordered: get::bool(inputs, "ordered"),
        visibility_timeout: Duration::from_secs(get::u64(inputs, "visibility_timeout")?),
        retention: Duration::from_secs(get::u64(inputs, "retention")?),
        max_receives: if max == 0 {
            None
        } else {
            Some(u32::try_from(max).unwrap_or(u32::MAX))
        },
    })
}

fn outputs(dir: &Path, name: &str) -> Attrs {
    let db = dir.join(DB_FILE);
    let mut o = Attrs::new();
    o.insert("name".into(), json!(name));
    o.insert("url".into(), json!(db.display().to_string()));
    o.insert("path".into(), json!(db.display().to_string()));
    o.insert("dead_letter_table".into(), json!("dead_letters"));
    o
}

pub(crate) fn create(dir: &Path, req: &CreateRequest) -> Result<Record, ProviderError> {
    let config = config_from(&req.inputs)?;
    let name = req.addr.resource.clone();
    record::materialize(dir, &req.owner, &req.type_name, &req.inputs, |tmp, fin| {
        // The connection is dropped (and the WAL checkpointed) before the rename.
        drop(LocalQueue::create(&tmp.join(DB_FILE), config)?);
        Ok(outputs(fin, &name))
    })
}

pub(crate) fn read(dir: &Path, rec: Record) -> Result<Option<Observed>, ProviderError> {
    let db = dir.join(DB_FILE);
    if !db.is_file() {
        return Ok(None);
    }
    let cfg = LocalQueue::open(&db)?.config()?;
    let mut obs = rec.observed(dir);
    obs.inputs.insert("ordered".into(), json!(cfg.ordered));
    obs.inputs.insert(
        "visibility_timeout".into(),
        json!(cfg.visibility_timeout.as_secs()),
    );
    obs.inputs
        .insert("retention".into(), json!(cfg.retention.as_secs()));
    obs.inputs
        .insert("max_receives".into(), json!(cfg.max_receives.unwrap_or(0)));
    Ok(Some(obs))
}

pub(crate) fn update(dir: &Path, mut rec: Record, inputs: &Attrs) -> Result<Record, ProviderError> {
    let db = dir.join(DB_FILE);
    let q = LocalQueue::open(&db)?;
    q.set_config(config_from(inputs)?)?;
    rec.inputs = inputs.clone();
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(dir: &Path, ordered: bool, max_receives: Option<u32>) -> LocalQueue {
        let cfg = QueueConfig {
            ordered,
            visibility_timeout: Duration::from_secs(30),
            max_receives,
            ..Default::default()
        };
        LocalQueue::create(&dir.join("q.db"), cfg).expect("create queue")
    }

    #[test]
    fn visibility_timeout_hides_then_redelivers() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut q = queue(d.path(), false, None);
        q.send_at("a", 1_000).expect("send");
        let got = q.receive_at(10, 1_000).expect("receive");
        assert_eq!(got.len(), 1);
        assert!(
            q.receive_at(10, 1_000 + 29_999)
                .expect("receive")
                .is_empty(),
            "invisible during the timeout"
        );
        let again = q.receive_at(10, 1_000 + 30_000).expect("receive");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].receive_count, 2);
        assert!(
            !q.ack(&got[0].receipt).expect("ack"),
            "the first receipt is stale"
        );
        assert!(q.ack(&again[0].receipt).expect("ack"));
        assert_eq!(q.stats_at(1_000_000).expect("stats"), QueueStats::default());
    }

    #[test]
    fn fifo_delivers_in_order_one_at_a_time() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut q = queue(d.path(), true, None);
        for b in ["1", "2", "3"] {
            q.send_at(b, 0).expect("send");
        }
        let mut seen = Vec::new();
        for t in 0..3 {
            let got = q.receive_at(10, t).expect("receive");
            assert_eq!(got.len(), 1, "strict FIFO hands out one message at a time");
            assert!(
                q.receive_at(10, t).expect("receive").is_empty(),
                "head of line blocks"
            );
            seen.push(got[0].body.clone());
            assert!(q.ack(&got[0].receipt).expect("ack"));
        }
        assert_eq!(seen, ["1", "2", "3"]);
    }

    #[test]
    fn dead_letter_after_max_receives_and_retention() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut q = queue(d.path(), false, Some(2));
        q.send_at("poison", 0).expect("send");
        assert_eq!(q.receive_at(1, 0).expect("r1").len(), 1);
        assert_eq!(q.receive_at(1, 30_000).expect("r2").len(), 1);
        assert!(
            q.receive_at(1, 60_000).expect("r3").is_empty(),
            "moved to dead letters instead"
        );
        let dead = q.dead_letters().expect("dead");
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].body.as_str(), dead[0].receive_count),
            ("poison", 2)
        );

        q.set_config(QueueConfig {
            retention: Duration::from_secs(10),
            ..q.config().expect("cfg")
        })
        .expect("set");
        q.send_at("old", 0).expect("send");
        assert!(
            q.receive_at(1, 10_000).expect("receive").is_empty(),
            "expired by retention"
        );
    }

    #[test]
    fn reopened_queue_keeps_messages_and_rules() {
        let d = tempfile::tempdir().expect("tempdir");
        let q = queue(d.path(), true, Some(3));
        q.send("kept").expect("send");
        drop(q);
        let mut q = LocalQueue::open(&d.path().join("q.db")).expect("open");
        assert!(q.config().expect("cfg").ordered);
        assert_eq!(q.config().expect("cfg").max_receives, Some(3));
        assert_eq!(q.receive(5).expect("receive")[0].body, "kept");
        assert!(LocalQueue::open(&d.path().join("missing.db")).is_err());
    }
}
