//! What the state tests need from a backend beyond [`StateLocation`]: raw access to the
//! stored objects (to damage them as a crash or a user would) and a way to leave a lock
//! behind as a dead holder does. One harness per backend, so that the same tests run
//! against each (see `for_each_backend!`).

use std::fs;
use std::path::PathBuf;

use super::backend::StateLocation;
use super::local::LocalDir;
use super::lock::LockInfo;
use super::memory::MemoryLocation;

/// A backend under test, with raw access to what it stores.
pub(crate) trait Harness {
    /// Where the states under test are kept.
    fn location(&self) -> &dyn StateLocation;
    /// The raw object `<stack>.<target>.<ext>` (`json`, `json.backup`, `journal`).
    fn read_raw(&self, stack: &str, target: &str, ext: &str) -> Option<Vec<u8>>;
    /// Overwrite (or create) that object, as a crash or a hand edit would.
    fn write_raw(&self, stack: &str, target: &str, ext: &str, bytes: &[u8]);
    /// Delete that object.
    fn remove_raw(&self, stack: &str, target: &str, ext: &str);
    /// Leave the lock of `stack`/`target` as `holder` would if it died holding it.
    fn plant_dead_lock(&self, stack: &str, target: &str, holder: &LockInfo);
    /// Whether nothing at all is stored (no object, no lock).
    fn is_empty(&self) -> bool;
    /// The raw object as text (tests only store UTF-8).
    fn read_text(&self, stack: &str, target: &str, ext: &str) -> Option<String> {
        self.read_raw(stack, target, ext)
            .map(|b| String::from_utf8(b).expect("UTF-8 object"))
    }
}

/// Files in a temporary working directory.
pub(crate) struct LocalHarness {
    dir: tempfile::TempDir,
    location: LocalDir,
}

impl LocalHarness {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let location = LocalDir::new(dir.path());
        LocalHarness { dir, location }
    }

    /// The state file `<stack>.<target>.<ext>`.
    pub fn file(&self, stack: &str, target: &str, ext: &str) -> PathBuf {
        self.dir
            .path()
            .join("state")
            .join(format!("{stack}.{target}.{ext}"))
    }

    /// The working directory.
    pub fn work_dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Harness for LocalHarness {
    fn location(&self) -> &dyn StateLocation {
        &self.location
    }

    fn read_raw(&self, stack: &str, target: &str, ext: &str) -> Option<Vec<u8>> {
        fs::read(self.file(stack, target, ext)).ok()
    }

    fn write_raw(&self, stack: &str, target: &str, ext: &str, bytes: &[u8]) {
        fs::create_dir_all(self.dir.path().join("state")).expect("state directory");
        fs::write(self.file(stack, target, ext), bytes).expect("write state file");
    }

    fn remove_raw(&self, stack: &str, target: &str, ext: &str) {
        fs::remove_file(self.file(stack, target, ext)).expect("remove state file");
    }

    fn plant_dead_lock(&self, stack: &str, target: &str, holder: &LockInfo) {
        // A lock file with content but no OS lock on it.
        let text = serde_json::to_string(holder).expect("holder as JSON");
        self.write_raw(stack, target, "lock", text.as_bytes());
    }

    fn is_empty(&self) -> bool {
        !self.dir.path().join("state").exists()
    }
}

/// A bucket in memory with leases on a fake clock.
#[derive(Default)]
pub(crate) struct MemoryHarness {
    pub location: MemoryLocation,
}

impl MemoryHarness {
    pub fn new() -> Self {
        MemoryHarness::default()
    }
}

impl Harness for MemoryHarness {
    fn location(&self) -> &dyn StateLocation {
        &self.location
    }

    fn read_raw(&self, stack: &str, target: &str, ext: &str) -> Option<Vec<u8>> {
        self.location.object(&format!("{stack}.{target}.{ext}"))
    }

    fn write_raw(&self, stack: &str, target: &str, ext: &str, bytes: &[u8]) {
        self.location
            .put_object(&format!("{stack}.{target}.{ext}"), bytes);
    }

    fn remove_raw(&self, stack: &str, target: &str, ext: &str) {
        self.location
            .remove_object(&format!("{stack}.{target}.{ext}"));
    }

    fn plant_dead_lock(&self, stack: &str, target: &str, holder: &LockInfo) {
        self.location
            .plant_expired_lease(&format!("{stack}.{target}.lock"), holder);
    }

    fn is_empty(&self) -> bool {
        self.location.is_empty()
    }
}

/// Run each listed test function (taking `&dyn Harness`) against every backend: the
/// tests `local::<name>` and `memory::<name>` in the invoking module.
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::state::testing::LocalHarness::new());
                }
            )*
        }
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::$name(&$crate::state::testing::MemoryHarness::new());
                }
            )*
        }
    };
}

pub(crate) use for_each_backend;
