//! Deterministic zip archives of a directory: the code of a function, as every cloud
//! takes it (Lambda's `ZipFile`, a Cloud Functions source object). The same files give
//! the same bytes on every machine and every run: entries sorted by path, stored (no
//! compression level to differ between builds), with a fixed timestamp and fixed
//! permissions. So the archive's hash says whether the deployed code is the source.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::ProviderError;

/// The files under `dir` (recursively) as `(path relative to dir with '/', full path)`.
fn files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if let Ok(rel) = p.strip_prefix(root) {
                out.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

/// Zip `dir` deterministically: same files, same bytes.
pub fn zip_dir(dir: &Path) -> Result<Vec<u8>, ProviderError> {
    let files = files(dir).map_err(|e| {
        ProviderError::invalid(format!("function source `{}`: {e}", dir.display()))
            .with_hint("`source` is a directory relative to the spec file")
    })?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let zerr = |e: zip::result::ZipError| {
        ProviderError::fatal(format!("zipping `{}`: {e}", dir.display()))
    };
    for (name, path) in files {
        zip.start_file(name, opts).map_err(zerr)?;
        let bytes = std::fs::read(&path)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish().map_err(zerr)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_are_deterministic_and_follow_the_content() {
        let dir = std::env::temp_dir().join(format!("overcast-archive-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("lib")).expect("mkdir");
        std::fs::write(dir.join("main.py"), "def handler(e, c):\n    return e\n").expect("write");
        std::fs::write(dir.join("lib/util.py"), "X = 1\n").expect("write");
        let a = zip_dir(&dir).expect("zip");
        let b = zip_dir(&dir).expect("zip");
        assert_eq!(a, b);
        std::fs::write(dir.join("lib/util.py"), "X = 2\n").expect("write");
        assert_ne!(a, zip_dir(&dir).expect("zip"));
        let e = zip_dir(&dir.join("missing")).unwrap_err();
        assert!(e.message.contains("missing"), "{}", e.message);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
