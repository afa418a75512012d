//! File helpers with the crash-safety the provider needs: atomic writes (temp file, then
//! rename), directory copies, and content hashes for change detection.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand::RngExt;
use sha2::{Digest, Sha256};

/// A random suffix for temp siblings, so concurrent writers never share a temp name.
pub(crate) fn nonce() -> String {
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// A sibling of `path` for building it: `.name.tmp-<nonce>` in the same directory, so the
/// final `rename` stays on one filesystem and is atomic.
pub(crate) fn temp_sibling(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{tag}-{}", nonce()))
}

/// Remove leftovers of builds or deletes of `path` that a crash interrupted
/// (`.name.tmp-*`, `.name.del-*`). Best effort: they are never read.
pub(crate) fn remove_stale_siblings(path: &Path) {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix)
            && (n[prefix.len()..].starts_with("tmp-") || n[prefix.len()..].starts_with("del-"))
        {
            let p = e.path();
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

/// Write `bytes` to `path` atomically: readers see the old content or the new, never a
/// torn file, whatever instant the process dies at.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, true)
}

fn write_atomic_with(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    let tmp = temp_sibling(path, "tmp");
    let res = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Write a JSON value atomically, pretty-printed (these files are for people too).
pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_atomic(path, &bytes)
}

/// Read a JSON file.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Files that are by-products of running code, not code: skipped by copies and hashes so
/// that running a function does not make its package look changed.
fn ignored(name: &str) -> bool {
    name == "__pycache__" || name.ends_with(".pyc") || name == ".DS_Store"
}

/// Every regular file under `dir`, as (path relative to `dir` with `/` separators,
/// absolute path), sorted by relative path so hashes and copies are deterministic.
/// Symlinks are followed (a packaged function must contain what they point to).
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    fn walk(base: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
        let here = if rel.is_empty() {
            base.to_path_buf()
        } else {
            base.join(rel)
        };
        for e in fs::read_dir(&here)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if ignored(&name) {
                continue;
            }
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::metadata(e.path())?;
            if meta.is_dir() {
                walk(base, &r, out)?;
            } else if meta.is_file() {
                out.push((r, e.path()));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// SHA-256 over the relative paths and contents of every file under `dir`, hex encoded.
/// Used for change detection (storage `content`, function `source`), not for integrity.
pub(crate) fn hash_dir(dir: &Path) -> io::Result<String> {
    let mut h = Sha256::new();
    for (rel, abs) in list_files(dir)? {
        let bytes = fs::read(&abs)?;
        h.update((rel.len() as u64).to_le_bytes());
        h.update(rel.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Copy every file under `from` into `to` (created as needed), overwriting files of the
/// same name and leaving other files of `to` alone. Returns the number of files copied.
pub(crate) fn copy_dir(from: &Path, to: &Path) -> io::Result<usize> {
    let files = list_files(from)?;
    for (rel, abs) in &files {
        let dest = to.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(abs, &dest)?;
    }
    Ok(files.len())
}

/// Remove a directory tree crash-safely: rename it to a `.del-` sibling first, so that an
/// interrupted delete never leaves a half-removed directory at the resource's path.
/// Already gone is a success.
pub(crate) fn remove_dir_safely(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let doomed = temp_sibling(dir, "del");
    match fs::rename(dir, &doomed) {
        Ok(()) => fs::remove_dir_all(&doomed),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove `path`'s parent directories while they are empty, stopping at `stop`.
pub(crate) fn prune_empty_parents(path: &Path, stop: &Path) {
    let mut cur = path.parent();
    while let Some(dir) = cur {
        if dir == stop || !dir.starts_with(stop) {
            break;
        }
        // Fails (and stops) as soon as a directory is not empty.
        if fs::remove_dir(dir).is_err() {
            break;
        }
        cur = dir.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_changes_with_content_and_ignores_bytecode() {
        let d = tempfile::tempdir().expect("tempdir");
        fs::write(d.path().join("a.txt"), "one").expect("write");
        let h1 = hash_dir(d.path()).expect("hash");
        fs::create_dir(d.path().join("__pycache__")).expect("mkdir");
        fs::write(d.path().join("__pycache__/a.pyc"), "x").expect("write");
        assert_eq!(h1, hash_dir(d.path()).expect("hash"));
        fs::write(d.path().join("a.txt"), "two").expect("write");
        assert_ne!(h1, hash_dir(d.path()).expect("hash"));
    }

    #[test]
    fn atomic_write_and_stale_cleanup() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("x.json");
        write_json(&p, &serde_json::json!({"a": 1})).expect("write");
        let v: serde_json::Value = read_json(&p).expect("read");
        assert_eq!(v["a"], 1);
        let stale = temp_sibling(&d.path().join("res"), "tmp");
        fs::create_dir(&stale).expect("mkdir");
        remove_stale_siblings(&d.path().join("res"));
        assert!(!stale.exists());
    }
}
