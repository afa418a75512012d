//! `nuke`: empty an account, subscription, project or local target of everything in it
//! (or what the filters select), overcast's or not, safely.
//!
//! 1. Discover every resource the provider lists, and link them (which uses which).
//! 2. Judge each ([`select`]): the filters select, protections keep (the protect tag,
//!    the config's rules, resources managed by a known state file, exclusions).
//! 3. Dry run (the default): the [`Inventory`] is shown and may be saved. With
//!    `--no-dry-run`: [`delete::Deleter`] deletes it on the executor, in rounds.
//!
//! The account guard (allow- and block-lists, names containing `prod`, typing the id)
//! is the command's ([`crate::commands::nuke`]).

pub mod config;
pub mod delete;
pub mod select;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use overcast_core::discovery::{AccountIdentity, DiscoveredResource};
use serde::{Deserialize, Serialize};

use self::select::{Filters, ManagedIndex, Protections, Verdict, age, human_age, judge, name_of};
use crate::state::{LocalDir, StateStore};

/// The format of a saved dry run (`--out`).
pub const INVENTORY_FORMAT: u32 = 1;

/// One resource a nuke selected or kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// What was discovered.
    #[serde(flatten)]
    pub resource: DiscoveredResource,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Age in seconds at discovery, when the cloud gives a creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<u64>,
}

/// What a dry run found: the selected resources, the kept ones (selected by the filters
/// but protected), and how many the filters left out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inventory {
    /// [`INVENTORY_FORMAT`].
    pub format: u32,
    /// The provider (`aws`, ...).
    pub provider: String,
    /// The account, subscription, project or directory.
    pub account: AccountIdentity,
    /// When it was discovered (RFC 3339).
    pub discovered_at: String,
    /// Resources to delete, in a stable order (type, then id).
    pub delete: Vec<Entry>,
    /// Resources the filters selected that a protection keeps.
    pub keep: Vec<Entry>,
    /// Resources the filters did not select.
    pub unmatched: usize,
}

impl Inventory {
    /// Judge every discovered resource.
    pub fn build(
        provider: &str,
        account: AccountIdentity,
        found: Vec<DiscoveredResource>,
        filters: &Filters,
        protections: &Protections,
        now: jiff::Timestamp,
    ) -> Inventory {
        let mut inv = Inventory {
            format: INVENTORY_FORMAT,
            provider: provider.to_string(),
            account,
            discovered_at: now.to_string(),
            delete: Vec::new(),
            keep: Vec::new(),
            unmatched: 0,
        };
        for r in found {
            let verdict = judge(&r, filters, protections, now);
            let age_secs = age(&r, now).map(|d| d.as_secs());
            let entry = Entry {
                resource: r,
                verdict,
                age_secs,
            };
            match entry.verdict {
                Verdict::Delete { .. } => inv.delete.push(entry),
                Verdict::Keep { .. } => inv.keep.push(entry),
                Verdict::Unmatched => inv.unmatched += 1,
            }
        }
        let order = |a: &Entry, b: &Entry| {
            (&a.resource.resource_type, &a.resource.id)
                .cmp(&(&b.resource.resource_type, &b.resource.id))
        };
        inv.delete.sort_by(order);
        inv.keep.sort_by(order);
        inv
    }

    /// Resources to delete, counted by type.
    pub fn summary(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for e in &self.delete {
            *out.entry(e.resource.resource_type.clone()).or_default() += 1;
        }
        out
    }

    /// Read a saved dry run.
    pub fn load(file: &Path) -> anyhow::Result<Inventory> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            anyhow::anyhow!("{}: cannot read the saved dry run: {e}", file.display())
        })?;
        let inv: Inventory = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a saved nuke dry run (line {}, column {}): {e}\n  hint: write one with `overcast nuke ... --out FILE`",
                file.display(),
                e.line(),
                e.column()
            )
        })?;
        if inv.format != INVENTORY_FORMAT {
            anyhow::bail!(
                "{}: a saved dry run of format {}, this overcast reads format {INVENTORY_FORMAT}; run the dry run again",
                file.display(),
                inv.format
            );
        }
        Ok(inv)
    }

    /// Save it (atomically: a reader never sees half a file).
    pub fn save(&self, file: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", file.display()))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.persist(file)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {}", file.display(), e.error))?;
        Ok(())
    }

    /// The human listing: a table of what would be deleted, the kept ones with their
    /// reason, and a summary by type.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let acct = match &self.account.name {
            Some(n) => format!("{} {} ({n})", self.account.kind, self.account.id),
            None => format!("{} {}", self.account.kind, self.account.id),
        };
        out.push_str(&format!("{} {acct}\n\n", self.provider));
        if self.delete.is_empty() {
            out.push_str("Nothing to delete.\n");
        } else {
            out.push_str(&table(
                &["TYPE", "ID", "NAME", "LOCATION", "AGE", "TAGS", "MATCHED"],
                self.delete.iter().map(|e| row(e, matched(&e.verdict))),
            ));
        }
        if !self.keep.is_empty() {
            out.push_str(&format!("\nKept ({}):\n", self.keep.len()));
            out.push_str(&table(
                &["TYPE", "ID", "NAME", "LOCATION", "AGE", "TAGS", "WHY"],
                self.keep.iter().map(|e| row(e, matched(&e.verdict))),
            ));
        }
        out.push_str("\nSummary:\n");
        for (t, n) in self.summary() {
            out.push_str(&format!("  {t:<40} {n}\n"));
        }
        out.push_str(&format!(
            "  {} to delete, {} kept, {} not selected by the filters.\n",
            self.delete.len(),
            self.keep.len(),
            self.unmatched
        ));
        out
    }
}

fn matched(v: &Verdict) -> String {
    match v {
        Verdict::Delete { matched } => matched.clone(),
        Verdict::Keep { reason } => reason.clone(),
        Verdict::Unmatched => String::new(),
    }
}

fn row(e: &Entry, last: String) -> Vec<String> {
    let r = &e.resource;
    // Owner labels are shown decoded, as the stack that owns it.
    let tags: Vec<String> = r
        .owner
        .iter()
        .map(|o| format!("(stack {})", o.stack))
        .chain(
            r.tags
                .iter()
                .filter(|(k, _)| !k.starts_with("overcast"))
                .map(|(k, v)| format!("{k}={v}")),
        )
        .collect();
    let name = name_of(r);
    vec![
        r.resource_type.clone(),
        r.id.clone(),
        if name == r.id {
            String::new()
        } else {
            name.to_string()
        },
        r.location.clone().unwrap_or_default(),
        e.age_secs
            .map(|s| human_age(std::time::Duration::from_secs(s)))
            .unwrap_or_else(|| "?".into()),
        tags.join(","),
        last,
    ]
}

/// A plain text table, columns as wide as their widest cell.
pub fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            s.push(' ');
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 1));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// What the overcast state files under `dirs` manage. Each directory is a stack's
/// `.overcast/`.
pub fn managed_index(dirs: &[PathBuf]) -> anyhow::Result<ManagedIndex> {
    let mut index = ManagedIndex::default();
    for dir in dirs {
        let location = LocalDir::new(dir);
        if !location.holds_state() {
            anyhow::bail!(
                "--state-dir {}: no overcast state there\n  hint: give a stack's `.overcast` directory",
                dir.display()
            );
        }
        let states = location
            .list_states()
            .map_err(|e| anyhow::anyhow!("--state-dir {}: {e}", dir.display()))?;
        for (stack, target) in states {
            let store = StateStore::open_read_only(dir, &stack, &target).map_err(|e| {
                anyhow::anyhow!(
                    "--state-dir {}: reading the state of {stack}.{target}: {e}",
                    dir.display()
                )
            })?;
            let label = format!("{stack}.{target} ({})", dir.display());
            add_store(&mut index, &store, &stack, &label);
        }
    }
    Ok(index)
}

/// Add one store's natives to the index.
pub fn add_store(index: &mut ManagedIndex, store: &StateStore, stack: &str, label: &str) {
    for (addr, s) in store.resources() {
        index.ids.insert(s.id.clone(), label.to_string());
        index
            .owners
            .insert((stack.to_string(), addr.to_string()), label.to_string());
    }
}
