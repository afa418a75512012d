//! An in-memory backend for tests, shaped like a remote one: a bucket of objects written
//! whole, and a lock that is a lease (holder details plus an expiry, on a clock the test
//! moves) taken by a conditional write and checked before every write. It proves that
//! the store depends on the [`StateBackend`] guarantees only, and that a lease fits them.

use std::collections::BTreeMap;
use std::io::{self, Cursor, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::backend::{SnapshotWriter, StateBackend, StateLocation, StateNames};
use super::error::StateError;
use super::lock::LockInfo;
use super::name;

/// How long a lease lasts without a write to renew it, in seconds of the fake clock.
pub(crate) const LEASE_SECS: u64 = 60;

/// A bucket shared by every backend opened from it (as processes share a bucket).
#[derive(Debug, Clone, Default)]
pub(crate) struct MemoryLocation {
    bucket: Arc<Mutex<Bucket>>,
}

#[derive(Debug, Default)]
struct Bucket {
    /// Objects by name (`<stack>.<target>.json`, `.json.backup`, `.journal`).
    objects: BTreeMap<String, Vec<u8>>,
    /// Leases by lock object name (`<stack>.<target>.lock`).
    leases: BTreeMap<String, Lease>,
    /// The fake clock, in seconds.
    now: u64,
    /// Tells leases apart: a holder's writes are accepted only under its own lease.
    next_token: u64,
    /// The next write fails (an append leaves half its bytes, as a torn file write).
    fail_next_write: bool,
}

#[derive(Debug, Clone)]
struct Lease {
    holder: LockInfo,
    token: u64,
    expires_at: u64,
}

impl Lease {
    fn is_live(&self, now: u64) -> bool {
        self.expires_at > now
    }
}

impl MemoryLocation {
    fn bucket(&self) -> MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Move the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.bucket().now += secs;
    }

    /// Make the next write fail.
    pub fn fail_next_write(&self) {
        self.bucket().fail_next_write = true;
    }

    /// The object `name`, if any.
    pub fn object(&self, name: &str) -> Option<Vec<u8>> {
        self.bucket().objects.get(name).cloned()
    }

    /// Write the object `name`, bypassing any lease.
    pub fn put_object(&self, name: &str, bytes: &[u8]) {
        self.bucket()
            .objects
            .insert(name.to_string(), bytes.to_vec());
    }

    /// Delete the object `name`, if any.
    pub fn remove_object(&self, name: &str) {
        self.bucket().objects.remove(name);
    }

    /// Leave the lease of `lock_name` as a holder that died would: recorded, expired.
    pub fn plant_expired_lease(&self, lock_name: &str, holder: &LockInfo) {
        let mut bucket = self.bucket();
        bucket.next_token += 1;
        let lease = Lease {
            holder: holder.clone(),
            token: bucket.next_token,
            expires_at: bucket.now,
        };
        bucket.leases.insert(lock_name.to_string(), lease);
    }

    /// Whether nothing at all is stored.
    pub fn is_empty(&self) -> bool {
        let bucket = self.bucket();
        bucket.objects.is_empty() && bucket.leases.is_empty()
    }
}

impl StateLocation for MemoryLocation {
    fn backend(&self, stack: &str, target: &str) -> Result<Box<dyn StateBackend>, StateError> {
        name::check("stack", stack)?;
        name::check("target", target)?;
        let base = format!("{stack}.{target}");
        let url = |ext: &str| PathBuf::from(format!("memory://{base}.{ext}"));
        Ok(Box::new(MemoryBackend {
            location: self.clone(),
            names: StateNames {
                snapshot: url("json"),
                backup: url("json.backup"),
                journal: url("journal"),
                lock: url("lock"),
            },
            base,
            token: None,
        }))
    }

    fn list_targets(&self, stack: &str) -> Result<Vec<String>, StateError> {
        let bucket = self.bucket();
        Ok(name::targets_among(
            stack,
            bucket.objects.keys().map(String::as_str),
        ))
    }
}

/// One state in a [`MemoryLocation`].
#[derive(Debug)]
pub(crate) struct MemoryBackend {
    location: MemoryLocation,
    /// `<stack>.<target>`.
    base: String,
    names: StateNames,
    /// The token of the lease this backend holds.
    token: Option<u64>,
}

impl MemoryBackend {
    fn key(&self, ext: &str) -> String {
        format!("{}.{ext}", self.base)
    }

    /// The bucket, once this backend has shown that it holds a live lease (renewed by the
    /// write that follows): the fence that keeps a holder whose lease lapsed from writing
    /// over its successor.
    fn fenced(&self) -> Result<MutexGuard<'_, Bucket>, StateError> {
        let mut bucket = self.location.bucket();
        let now = bucket.now;
        let lease = bucket.leases.get_mut(&self.key("lock"));
        match (lease, self.token) {
            (Some(lease), Some(token)) if lease.token == token && lease.is_live(now) => {
                lease.expires_at = now + LEASE_SECS;
                Ok(bucket)
            }
            (lease, _) => Err(StateError::LockLost {
                path: self.names.lock.clone(),
                holder: lease
                    .filter(|l| Some(l.token) != self.token)
                    .map(|l| Box::new(l.holder.clone())),
            }),
        }
    }

    fn read(&self, ext: &str) -> Option<Box<dyn Read + '_>> {
        let bytes = self.location.object(&self.key(ext))?;
        Some(Box::new(Cursor::new(bytes)))
    }
}

fn injected(path: &std::path::Path) -> StateError {
    StateError::io("write", path, io::Error::other("injected failure"))
}

impl StateBackend for MemoryBackend {
    fn names(&self) -> &StateNames {
        &self.names
    }

    fn read_snapshot(&self) -> Result<Option<Box<dyn Read + '_>>, StateError> {
        Ok(self.read("json"))
    }

    fn read_backup(&self) -> Result<Option<Box<dyn Read + '_>>, StateError> {
        Ok(self.read("json.backup"))
    }

    fn write_snapshot(&mut self, write: SnapshotWriter<'_>) -> Result<(), StateError> {
        let mut bytes = Vec::new();
        write(&mut bytes).map_err(|e| StateError::io("write", &self.names.snapshot, e))?;
        let (snapshot, backup) = (self.key("json"), self.key("json.backup"));
        let mut bucket = self.fenced()?;
        if std::mem::take(&mut bucket.fail_next_write) {
            return Err(injected(&self.names.snapshot));
        }
        // One step under the bucket's lock: readers see the old snapshot or the new.
        if let Some(old) = bucket.objects.insert(snapshot, bytes) {
            bucket.objects.insert(backup, old);
        }
        Ok(())
    }

    fn sync_snapshot(&mut self) -> Result<(), StateError> {
        Ok(())
    }

    fn read_journal(&self) -> Result<Vec<u8>, StateError> {
        Ok(self
            .location
            .object(&self.key("journal"))
            .unwrap_or_default())
    }

    fn append_journal(&mut self, bytes: &[u8], _durable: bool) -> Result<(), StateError> {
        let key = self.key("journal");
        let mut bucket = self.fenced()?;
        let fail = std::mem::take(&mut bucket.fail_next_write);
        let journal = bucket.objects.entry(key).or_default();
        if fail {
            // What a file does when the process dies mid-write.
            journal.extend_from_slice(&bytes[..bytes.len() / 2]);
            return Err(injected(&self.names.journal));
        }
        journal.extend_from_slice(bytes);
        Ok(())
    }

    fn sync_journal(&mut self) -> Result<(), StateError> {
        Ok(())
    }

    fn truncate_journal(&mut self, len: u64, _durable: bool) -> Result<(), StateError> {
        let key = self.key("journal");
        let mut bucket = self.fenced()?;
        if let Some(journal) = bucket.objects.get_mut(&key) {
            journal.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        }
        Ok(())
    }

    fn acquire_lock(&mut self, holder: &LockInfo) -> Result<Option<LockInfo>, StateError> {
        let key = self.key("lock");
        let mut bucket = self.location.bucket();
        let now = bucket.now;
        let current = bucket.leases.get(&key);
        if let Some(lease) = current.filter(|l| l.is_live(now) || self.token.is_some()) {
            return Err(StateError::Locked {
                path: self.names.lock.clone(),
                holder: Some(Box::new(lease.holder.clone())),
            });
        }
        // The conditional write: the lease is replaced only as it was just read (the
        // bucket's lock stands in for an object store's version precondition).
        let previous = current.map(|l| l.holder.clone());
        bucket.next_token += 1;
        let token = bucket.next_token;
        let lease = Lease {
            holder: holder.clone(),
            token,
            expires_at: now + LEASE_SECS,
        };
        bucket.leases.insert(key, lease);
        self.token = Some(token);
        Ok(previous)
    }

    fn lock_holder(&self) -> Result<Option<LockInfo>, StateError> {
        let bucket = self.location.bucket();
        Ok(bucket
            .leases
            .get(&self.key("lock"))
            .map(|l| l.holder.clone()))
    }

    fn release_lock(&mut self) -> Result<(), StateError> {
        let Some(token) = self.token.take() else {
            return Ok(());
        };
        let key = self.key("lock");
        let mut bucket = self.location.bucket();
        // A lease taken over meanwhile is the successor's: leave it.
        if bucket.leases.get(&key).is_some_and(|l| l.token == token) {
            bucket.leases.remove(&key);
        }
        Ok(())
    }

    fn force_unlock(&mut self, id: &str) -> Result<(), StateError> {
        let key = self.key("lock");
        let mut bucket = self.location.bucket();
        let Some(lease) = bucket.leases.get(&key) else {
            return Err(StateError::NotLocked {
                path: self.names.lock.clone(),
            });
        };
        if lease.holder.id != id {
            return Err(StateError::LockIdMismatch {
                path: self.names.lock.clone(),
                given: id.to_string(),
                actual: Some(lease.holder.id.clone()),
            });
        }
        bucket.leases.remove(&key);
        Ok(())
    }
}

impl Drop for MemoryBackend {
    fn drop(&mut self) {
        let _ = self.release_lock();
    }
}
