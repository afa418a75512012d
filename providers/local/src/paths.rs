//! Where every native lives: deterministic paths derived from (target, kind, native
//! address), so that an interrupted apply finds what it created (adopt) and nothing else
//! is needed to locate a resource than its address.
//!
//! Layout under the stack's work dir:
//! `local/<target>/<kind>/<resource>/<local>/` (e.g. `.overcast/local/dev/storage/site/bucket/`),
//! In `noop` mode nothing is materialized per native: `noop_file` is only the key (and the
//! id) of the native's line in the target's ledger (see `noop.rs`).

use std::path::{Path, PathBuf};

use overcast_core::{Kind, NativeAddr};

/// The directory layout of one local target.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

/// A path segment from a name: addresses may hold `[i]` (`instance[0]`), which is awkward
/// in paths; everything but `[A-Za-z0-9_-]` becomes `-`.
fn segment(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "_".to_string()
    } else {
        s.to_string()
    }
}

impl Layout {
    pub(crate) fn new(root: PathBuf) -> Layout {
        Layout { root }
    }

    /// The target's root directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one native.
    pub(crate) fn native_dir(&self, kind: Kind, addr: &NativeAddr) -> PathBuf {
        self.root
            .join(kind.as_str())
            .join(segment(&addr.resource))
            .join(segment(&addr.local))
    }

    /// The key and id of one native in `noop` mode (no such file is written).
    /// Resource and local segments never contain `.` (see [`segment`]), so the name is
    /// unambiguous.
    pub(crate) fn noop_file(&self, kind: Kind, addr: &NativeAddr) -> PathBuf {
        self.root.join("noop").join(format!(
            "{}.{}.{}.json",
            kind.as_str(),
            segment(&addr.resource),
            segment(&addr.local)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_deterministic_and_safe() {
        let l = Layout::new(PathBuf::from("/w/local/dev"));
        let p = l.native_dir(Kind::Compute, &NativeAddr::new("web", "instance[10]"));
        assert_eq!(p, PathBuf::from("/w/local/dev/compute/web/instance-10"));
        let p = l.noop_file(Kind::Storage, &NativeAddr::new("site", "bucket"));
        assert_eq!(
            p,
            PathBuf::from("/w/local/dev/noop/storage.site.bucket.json")
        );
        assert_eq!(segment("../x"), "---x");
    }
}
