//! A "lab" on the local cloud for `nuke`'s tests: a few dozen natives of every local type
//! in one target directory, made by the local provider's own `create` (not by `overcast
//! apply`, so no state file knows them), owned by several stacks, with dependency chains
//! among them, returned by role so a test can assert exactly what a run lists and deletes.
//!
//! Stacks: `owned` and `other` (a test may give them a state file), and the "foreign"
//! `lab-a`, `lab-b`, `legacy` (no state anywhere). Natives of different stacks live side by
//! side in the same target (`<work_dir>/local/<target>/<kind>/<resource>/<native>/`),
//! so resource names are unique across stacks.
//!
//! The local cloud carries no tags besides its owner tags (`overcast:stack`,
//! `overcast:target`, `overcast:resource` in `owner.json`): no native can be tagged
//! `keep=true`, so [`LocalLab::keep`] is always empty.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use overcast_core::kinds::Properties;
use overcast_core::native::CreateRequest;
use overcast_core::refs::{self, Lookup, Ref, RefError};
use overcast_core::{
    AbstractResource, Attrs, Kind, NativeAddr, NativeState, OpContext, OwnerTags, Provider,
    ProviderContext,
};
use overcast_local::LocalProvider;
use serde_json::{Value, json};

/// The stack whose natives a test treats as managed by overcast (give it a state file).
pub const OWNED: &str = "owned";
/// A second stack, to filter by stack.
pub const OTHER: &str = "other";
/// Stacks no state file knows: what a lab account holds that nobody remembers.
pub const FOREIGN: &[&str] = &["lab-a", "lab-b", "legacy"];

/// What [`seed_local_lab`] made. Every set holds arns, which on the local cloud are the
/// natives' absolute directories (also their discovered `id`).
#[derive(Debug, Clone, Default)]
pub struct LocalLab {
    /// The target's name.
    pub target: String,
    /// The work dir (`<stack dir>/.overcast`); the target lives under `local/<target>`.
    pub work_dir: PathBuf,
    /// The target's directory, `<work_dir>/local/<target>` (absolute): the account id
    /// `account()` reports.
    pub root: PathBuf,
    /// Every seeded native.
    pub all: BTreeSet<String>,
    /// Natives of stack [`OWNED`].
    pub owned: BTreeSet<String>,
    /// Natives of stack [`OTHER`].
    pub other: BTreeSet<String>,
    /// Natives of the [`FOREIGN`] stacks.
    pub foreign: BTreeSet<String>,
    /// Natives by stack name.
    pub by_stack: BTreeMap<String, BTreeSet<String>>,
    /// Natives by native type (`local_bucket`, `local_queue`, `local_sqlite`,
    /// `local_postgres`, `local_function`, `local_process`, `local_cdn`).
    pub by_type: BTreeMap<String, BTreeSet<String>>,
    /// Each native's address (its discovered `name`), by arn.
    pub addr: BTreeMap<String, String>,
    /// Natives whose creation time was set 30 days back (the rest were created now):
    /// what `--older-than` selects.
    pub old: BTreeSet<String>,
    /// The uses `link_discovered` must find: `(user, used)`. A user is deleted first.
    pub edges: BTreeSet<(String, String)>,
    /// Natives tagged `keep=true`: always empty, the local cloud carries no such tags.
    pub keep: BTreeSet<String>,
    /// The cdn over a bucket, and its bucket.
    pub cdn_over_bucket: (String, String),
    /// The cdn over an instance, and its instance.
    pub cdn_over_instance: (String, String),
    /// The function triggered by a queue, and its queue.
    pub function_over_queue: (String, String),
    /// The `local_postgres` native, when PostgreSQL is usable here (else that database
    /// is a `local_sqlite` like the others).
    pub postgres: Option<String>,
}

/// One stack's provider on the lab's target.
fn provider(
    stack: &str,
    target: &str,
    stack_dir: &Path,
    helper: &Path,
    postgres: bool,
    noop: bool,
) -> LocalProvider {
    let settings = json!({"helper_exe": helper, "postgres": postgres, "noop": noop});
    LocalProvider::new(ProviderContext {
        stack: stack.into(),
        target: target.into(),
        settings: settings.as_object().cloned().unwrap_or_default(),
        spec_dir: stack_dir.to_path_buf(),
        work_dir: stack_dir.join(".overcast"),
    })
    .expect("local provider")
}

/// Makes natives through the providers and keeps the abstract outputs, as the engine
/// would, to resolve `${...}` in later resources.
struct Seeder {
    target: String,
    stack_dir: PathBuf,
    helper: PathBuf,
    postgres: bool,
    noop: bool,
    providers: BTreeMap<String, LocalProvider>,
    kinds: BTreeMap<String, Kind>,
    outputs: BTreeMap<String, Attrs>,
    lab: LocalLab,
    /// Set once seeding finished: a seeder dropped before (a failed create panicked)
    /// kills what it started, so a failed seeding leaks no process.
    done: bool,
}

impl Drop for Seeder {
    fn drop(&mut self) {
        if !self.done {
            self.lab.kill_all();
        }
    }
}

impl Seeder {
    fn provider(&mut self, stack: &str) -> LocalProvider {
        let (target, dir, helper) = (&self.target, &self.stack_dir, &self.helper);
        let (pg, noop) = (self.postgres, self.noop);
        self.providers
            .entry(stack.to_string())
            .or_insert_with(|| provider(stack, target, dir, helper, pg, noop))
            .clone()
    }

    fn resolve(&self, inputs: &Attrs) -> Attrs {
        let mut lookup = |r: &Ref| -> Result<Lookup, RefError> {
            match r {
                Ref::Resource {
                    name,
                    attr: Some(a),
                } => Ok(Lookup::Known(
                    self.outputs
                        .get(name)
                        .and_then(|o| o.get(a))
                        .cloned()
                        .unwrap_or_else(|| panic!("${{{name}.{a}}} is not known yet")),
                )),
                other => panic!("unexpected reference {other}"),
            }
        };
        refs::resolve(&Value::Object(inputs.clone()), &mut lookup)
            .expect("resolve")
            .as_object()
            .cloned()
            .expect("object")
    }

    /// Create the abstract resource `name` of `stack`; its natives' arns, in order.
    async fn add(&mut self, stack: &str, name: &str, kind: Kind, props: Value) -> Vec<String> {
        let p = self.provider(stack);
        let res = AbstractResource {
            name: name.into(),
            properties: Properties::from_value(kind, props).expect("valid properties"),
            referenced_kinds: self.kinds.clone(),
        };
        let mut states = Vec::new();
        for spec in p.expand(&res).expect("expand") {
            let addr = NativeAddr::new(name, spec.local.clone());
            let req = CreateRequest {
                owner: OwnerTags {
                    stack: stack.into(),
                    target: self.target.clone(),
                    resource: addr.to_string(),
                },
                addr: addr.clone(),
                kind,
                type_name: spec.type_name.clone(),
                inputs: self.resolve(&spec.inputs),
                secrets: p.generate_secrets(&spec.type_name),
            };
            let obs = p
                .create(&OpContext::detached("seed"), &req)
                .await
                .unwrap_or_else(|e| panic!("seeding {addr}: {e}"));
            let mut st =
                NativeState::new(addr.clone(), kind, spec.type_name.clone(), obs.id.clone());
            st.inputs = obs.inputs;
            st.outputs = obs.outputs;
            let lab = &mut self.lab;
            lab.all.insert(obs.id.clone());
            lab.by_stack
                .entry(stack.into())
                .or_default()
                .insert(obs.id.clone());
            lab.by_type
                .entry(spec.type_name.clone())
                .or_default()
                .insert(obs.id.clone());
            lab.addr.insert(obs.id.clone(), addr.to_string());
            match stack {
                OWNED => lab.owned.insert(obs.id.clone()),
                OTHER => lab.other.insert(obs.id.clone()),
                _ => lab.foreign.insert(obs.id.clone()),
            };
            if spec.type_name == "local_postgres" {
                lab.postgres = Some(obs.id.clone());
            }
            states.push(st);
        }
        let refs: Vec<&NativeState> = states.iter().collect();
        self.outputs.insert(name.into(), p.outputs(kind, &refs));
        self.kinds.insert(name.into(), kind);
        states.into_iter().map(|s| s.id).collect()
    }

    /// What was seeded, handed over to the test (which stops it from now on).
    fn finish(mut self) -> LocalLab {
        self.done = true;
        std::mem::take(&mut self.lab)
    }

    fn edge(&mut self, user: &str, used: &str) {
        self.lab.edges.insert((user.to_string(), used.to_string()));
    }
}

fn one(arns: Vec<String>) -> String {
    arns.into_iter().next().expect("one native")
}

/// Set a native's recorded creation time `days` back (the local cloud keeps it in the
/// native's `resource.json`; there is no API to create something in the past).
pub fn backdate(arn: &str, days: u64) {
    let path = Path::new(arn).join("resource.json");
    let text = std::fs::read_to_string(&path).expect("read resource.json");
    let mut rec: Value = serde_json::from_str(&text).expect("resource.json is JSON");
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        - days * 86_400;
    rec["created"] = json!(rfc3339(secs));
    std::fs::write(&path, serde_json::to_vec_pretty(&rec).expect("encode")).expect("write");
}

/// Seconds since the epoch as RFC 3339 UTC, the provider's format (the civil-from-days
/// algorithm).
pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Seeder {
    fn new(stack_dir: &Path, target: &str, helper: &Path, postgres: bool, noop: bool) -> Seeder {
        let src = stack_dir.join("lab-src");
        std::fs::create_dir_all(&src).expect("mkdir lab-src");
        std::fs::write(
            src.join("main.py"),
            "def handler(event, context=None):\n    return {'ok': True}\n",
        )
        .expect("write handler");
        let work_dir = stack_dir.join(".overcast");
        let root = std::path::absolute(work_dir.join("local").join(target)).expect("absolute");
        Seeder {
            target: target.into(),
            stack_dir: stack_dir.to_path_buf(),
            helper: helper.to_path_buf(),
            postgres,
            noop,
            providers: BTreeMap::new(),
            kinds: BTreeMap::new(),
            outputs: BTreeMap::new(),
            lab: LocalLab {
                target: target.into(),
                work_dir,
                root,
                ..LocalLab::default()
            },
            done: false,
        }
    }
}

/// Function properties: a Python handler from `lab-src`, plus `extra`.
fn f(extra: Value) -> Value {
    let mut props =
        json!({"runtime": "python3.12", "handler": "main.handler", "source": "lab-src"});
    if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    props
}

/// Seed target `target` of the stack directory `stack_dir` (natives under
/// `<stack_dir>/.overcast/local/<target>`, function sources under `<stack_dir>/lab-src`).
/// `helper` serves the cdn servers (the overcast binary); `postgres`: make one database a
/// real PostgreSQL cluster when PostgreSQL is usable here. Processes (instances, cdn
/// servers, a cluster) keep running until the natives are deleted: a test deletes them
/// (nuke) or kills them ([`LocalLab::kill_all`]).
pub async fn seed_local_lab(
    stack_dir: &Path,
    target: &str,
    helper: &Path,
    postgres: bool,
) -> LocalLab {
    let mut s = Seeder::new(stack_dir, target, helper, postgres, false);

    // owned: a cdn over a bucket, a function over a queue, and independent natives.
    let site = one(s.add(OWNED, "owned-site", Kind::Storage, json!({})).await);
    let edge = one(s
        .add(
            OWNED,
            "owned-edge",
            Kind::Cdn,
            json!({"origin": "${owned-site}"}),
        )
        .await);
    s.edge(&edge, &site);
    s.lab.cdn_over_bucket = (edge, site);
    let jobs = one(s.add(OWNED, "owned-jobs", Kind::Queue, json!({})).await);
    let worker = one(s
        .add(
            OWNED,
            "owned-worker",
            Kind::Function,
            f(json!({"trigger": {"type": "queue", "source": "${owned-jobs}"}})),
        )
        .await);
    s.edge(&worker, &jobs);
    s.lab.function_over_queue = (worker, jobs);
    s.add(
        OWNED,
        "owned-db",
        Kind::Database,
        json!({"engine": "mysql"}),
    )
    .await;
    s.add(OWNED, "owned-web", Kind::Compute, json!({})).await;
    s.add(OWNED, "owned-files", Kind::Storage, json!({})).await;
    s.add(OWNED, "owned-events", Kind::Queue, json!({"ordered": true}))
        .await;

    // other: a cdn over an instance, a function over a queue that also reads a database,
    // a function over a bucket, a chain of three (cdn -> bucket <- function).
    let web = s
        .add(
            OTHER,
            "other-web",
            Kind::Compute,
            json!({"count": 2, "ports": [8080]}),
        )
        .await;
    let front = one(s
        .add(
            OTHER,
            "other-front",
            Kind::Cdn,
            json!({"origin": "${other-web}"}),
        )
        .await);
    s.edge(&front, &web[0]);
    s.lab.cdn_over_instance = (front, web[0].clone());
    let ojobs = one(s
        .add(
            OTHER,
            "other-jobs",
            Kind::Queue,
            json!({"visibility_timeout": 60}),
        )
        .await);
    let odb = one(s
        .add(
            OTHER,
            "other-db",
            Kind::Database,
            json!({"engine": "mysql"}),
        )
        .await);
    let oworker = one(s
        .add(
            OTHER,
            "other-worker",
            Kind::Function,
            f(
                json!({"trigger": {"type": "queue", "source": "${other-jobs}"},
                     "env": {"DB": "${other-db.connection_string}"}}),
            ),
        )
        .await);
    s.edge(&oworker, &ojobs);
    s.edge(&oworker, &odb);
    let uploads = one(s
        .add(OTHER, "other-uploads", Kind::Storage, json!({}))
        .await);
    let thumbs = one(s
        .add(
            OTHER,
            "other-thumbs",
            Kind::Function,
            f(json!({"trigger": {"type": "storage", "source": "${other-uploads}"}})),
        )
        .await);
    s.edge(&thumbs, &uploads);
    let oedge = one(s
        .add(
            OTHER,
            "other-edge",
            Kind::Cdn,
            json!({"origin": "${other-uploads}"}),
        )
        .await);
    s.edge(&oedge, &uploads);
    s.add(
        OTHER,
        "other-api",
        Kind::Function,
        f(json!({"trigger": {"type": "http"}})),
    )
    .await;

    // Foreign stacks: what nobody remembers.
    for i in 1..=4 {
        s.add("lab-a", &format!("a-bucket-{i}"), Kind::Storage, json!({}))
            .await;
    }
    for i in 1..=3 {
        s.add("lab-a", &format!("a-queue-{i}"), Kind::Queue, json!({}))
            .await;
    }
    s.add("lab-a", "a-db", Kind::Database, json!({"engine": "mysql"}))
        .await;
    s.add(
        "lab-a",
        "a-cron",
        Kind::Function,
        f(json!({"trigger": {"type": "schedule", "schedule": "every 1h"}})),
    )
    .await;
    let bb = one(s
        .add(
            "lab-b",
            "b-bucket",
            Kind::Storage,
            json!({"versioning": true}),
        )
        .await);
    let be = one(s
        .add(
            "lab-b",
            "b-edge",
            Kind::Cdn,
            json!({"origin": "${b-bucket}"}),
        )
        .await);
    s.edge(&be, &bb);
    s.add("lab-b", "b-queue", Kind::Queue, json!({})).await;
    s.add(
        "lab-b",
        "b-worker",
        Kind::Compute,
        json!({"startup": "sleep 600"}),
    )
    .await;
    let legacy = [
        s.add("legacy", "legacy-bucket", Kind::Storage, json!({}))
            .await,
        s.add("legacy", "legacy-queue", Kind::Queue, json!({}))
            .await,
        // A real cluster when PostgreSQL is usable here (and asked for).
        s.add(
            "legacy",
            "legacy-db",
            Kind::Database,
            json!({"engine": "postgres", "database_name": "legacy"}),
        )
        .await,
        s.add("legacy", "legacy-fn", Kind::Function, f(json!({})))
            .await,
    ];
    for arn in legacy.into_iter().flatten() {
        backdate(&arn, 30);
        s.lab.old.insert(arn);
    }
    s.finish()
}

/// A `noop` target (the benchmarks' mode: one ledger line per native, nothing runs) with
/// natives of stacks [`OWNED`] and `lab-a`, chained as [`seed_local_lab`] chains them: a
/// cdn over a bucket, a cdn over an instance, a function over a queue that also reads a
/// database, plus independent natives. `old`, `keep` and `postgres` stay empty.
pub async fn seed_noop_lab(stack_dir: &Path, target: &str) -> LocalLab {
    let mut s = Seeder::new(stack_dir, target, Path::new("/nonexistent"), false, true);
    let site = one(s.add(OWNED, "site", Kind::Storage, json!({})).await);
    let edge = one(s
        .add(OWNED, "edge", Kind::Cdn, json!({"origin": "${site}"}))
        .await);
    s.edge(&edge, &site);
    s.lab.cdn_over_bucket = (edge, site);
    let web = one(s
        .add("lab-a", "web", Kind::Compute, json!({"ports": [80]}))
        .await);
    let front = one(s
        .add("lab-a", "front", Kind::Cdn, json!({"origin": "${web}"}))
        .await);
    s.edge(&front, &web);
    s.lab.cdn_over_instance = (front, web);
    let jobs = one(s.add(OWNED, "jobs", Kind::Queue, json!({})).await);
    let db = one(s.add("lab-a", "db", Kind::Database, json!({})).await);
    let worker = one(s
        .add(
            OWNED,
            "worker",
            Kind::Function,
            f(json!({"trigger": {"type": "queue", "source": "${jobs}"},
                     "env": {"DB": "${db.connection_string}"}})),
        )
        .await);
    s.edge(&worker, &jobs);
    s.edge(&worker, &db);
    s.lab.function_over_queue = (worker, jobs);
    for i in 0..10 {
        s.add("lab-a", &format!("free-{i}"), Kind::Queue, json!({}))
            .await;
    }
    s.finish()
}

/// [`seed_local_lab`] from synchronous code (not from inside a tokio runtime).
pub fn seed_local_lab_blocking(
    stack_dir: &Path,
    target: &str,
    helper: &Path,
    postgres: bool,
) -> LocalLab {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(seed_local_lab(stack_dir, target, helper, postgres))
}

impl LocalLab {
    /// The seeded natives still on disk (a native's directory with its `owner.json`; a
    /// `noop` lab has none: discover it instead).
    pub fn remaining(&self) -> BTreeSet<String> {
        self.all
            .iter()
            .filter(|arn| Path::new(arn).join("owner.json").exists())
            .cloned()
            .collect()
    }

    /// Pids the lab's natives recorded (instances and cdn servers).
    pub fn pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for arn in &self.all {
            for file in ["process.pid", "cdn.pid"] {
                if let Ok(s) = std::fs::read_to_string(Path::new(arn).join(file))
                    && let Ok(pid) = s.trim().parse::<i32>()
                {
                    out.push(pid);
                }
            }
        }
        out
    }

    /// Kill every process the lab's natives recorded, and stop its PostgreSQL cluster
    /// (what a test's cleanup does when a run left natives behind).
    pub fn kill_all(&self) {
        for pid in self.pids() {
            if pid > 1 {
                // SAFETY: kill(2) has no memory-safety preconditions; each pid leads the
                // process group its native started.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        if let Some(pg) = &self.postgres {
            let cluster = super::postgres_cluster_dir(Path::new(pg));
            if let Some(pid) = super::postmaster_pid(&cluster) {
                // SAFETY: as above; the postmaster of the lab's own cluster.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}
