//! State scale: a stack of N resources (default 100,000) whose state is fully recorded:
//! load it (spec parse, expansion, state snapshot), diff it against the spec without
//! refresh (a no-op plan), and save it (an atomic snapshot write). Goal: under 2 s and
//! under 500 MiB all together.
//!
//! The state is built in a setup step; the measurement runs in a fresh child process of
//! this same binary so its peak memory (VmHWM) counts only load + diff + save.
//! Run: `cargo bench --bench state_scale` (`OVERCAST_BENCH_STATE_N` to change N).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use overcast::call::RetryPolicy;
use overcast::plan::diff::{DiffOptions, diff};
use overcast::plan::refresh::refresh;
use overcast::session::{Session, SessionOptions, StateAccess};
use overcast::state::Change;
use overcast::ui::{OutputMode, reporter};
use overcast_core::NativeState;

/// The allocator of the `overcast` binary (see `src/main.rs`), so that this measures it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MEASURE_ENV: &str = "OVERCAST_STATE_BENCH_DIR";
/// Set to a directory: run the setup into it and stop (to profile the measured part alone).
const SETUP_ONLY_ENV: &str = "OVERCAST_BENCH_SETUP_ONLY";

fn options() -> SessionOptions {
    SessionOptions {
        access: StateAccess::Lock("bench"),
        parallelism: 64,
        policy: RetryPolicy::default(),
        reporter: reporter(OutputMode::Quiet),
        cancel: Default::default(),
    }
}

fn spec(n: usize) -> String {
    let mut s = String::with_capacity(n * 40);
    s.push_str(
        "stack: scale\ntargets:\n  local:\n    provider: local\n    noop: true\nresources:\n",
    );
    for i in 0..n {
        s.push_str(&format!("  r{i}:\n    kind: storage\n"));
        if i > 0 && i % 10 != 0 {
            s.push_str(&format!("    depends_on: [r{}]\n", i - 1));
        }
    }
    s
}

/// Record every desired native in state, as a completed apply would have.
fn setup(dir: &Path, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::write(dir.join("overcast.yaml"), spec(n))?;
    let stack = overcast::spec::load(&dir.join("overcast.yaml"), &BTreeMap::new())?;
    let mut session = Session::open(stack, options())?;
    let puts: Vec<Change> = session
        .desired
        .natives
        .values()
        .map(|d| {
            Change::Put(NativeState {
                addr: d.addr.clone(),
                kind: d.kind,
                type_name: d.spec.type_name.clone(),
                id: format!("bench/{}", d.addr),
                inputs: d.spec.inputs.clone(),
                outputs: serde_json::Map::new(),
                depends_on: session.desired.deps_of(&d.addr).cloned().collect(),
                sensitive: Vec::new(),
                force_new: d.spec.force_new.clone(),
                protect: false,
            })
        })
        .collect();
    let store = session.stores.get_mut("local").ok_or("no local store")?;
    store.apply_changes(puts)?;
    store.compact()?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&dest)?;
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The measured part, in a fresh process.
fn measure(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let t0 = Instant::now();
    let stack = overcast::spec::load(&dir.join("overcast.yaml"), &BTreeMap::new())?;
    let t_parse = t0.elapsed();
    let mut session = Session::open(stack, options())?;
    let t_load = t0.elapsed();
    let live = rt.block_on(refresh(&session, false))?;
    let changes = diff(&session, &live, DiffOptions::default())?;
    let t_diff = t0.elapsed();
    let changed = changes
        .iter()
        .filter(|c| c.action != overcast::plan::Action::NoOp)
        .count();
    if changed != 0 {
        return Err(format!("expected a no-op diff, got {changed} changes").into());
    }
    let n = live.states.len();
    drop(live);
    // Force a snapshot write: a new outputs map makes the state dirty.
    let store = session.stores.get_mut("local").ok_or("no local store")?;
    let mut outputs = serde_json::Map::new();
    outputs.insert(
        "bench".into(),
        serde_json::json!({"value": t0.elapsed().as_nanos().to_string(), "sensitive": false}),
    );
    store.set_outputs(outputs)?;
    store.compact()?;
    let t_save = t0.elapsed();
    println!(
        "| {n} | {:.3} s | {:.3} s | {:.3} s | {:.3} s | {:.3} s | {:.0} MiB |",
        t_parse.as_secs_f64(),
        (t_load - t_parse).as_secs_f64(),
        (t_diff - t_load).as_secs_f64(),
        (t_save - t_diff).as_secs_f64(),
        t_save.as_secs_f64(),
        peak_mib()
    );
    drop(session);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Ok(dir) = std::env::var(MEASURE_ENV) {
        return measure(Path::new(&dir));
    }
    let n: usize = std::env::var("OVERCAST_BENCH_STATE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let repeat: usize = std::env::var("OVERCAST_BENCH_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir()?;
    eprintln!("state_scale: recording {n} resources in state (setup, not measured)...");
    setup(dir.path(), n)?;
    if let Ok(keep) = std::env::var(SETUP_ONLY_ENV) {
        // For profiling: keep the recorded state and stop; measure it with
        // `OVERCAST_STATE_BENCH_DIR=<dir> <this binary>` under perf or valgrind.
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep)?;
        copy_dir(dir.path(), keep)?;
        eprintln!("state_scale: state kept in {}", keep.display());
        return Ok(());
    }
    let _keep: Arc<()> = Arc::new(());
    println!(
        "\n### 3. State scale: load + no-op diff (no refresh) + save (goal: < 2 s and < 500 MiB)\n"
    );
    println!(
        "| resources | spec parse | expand + state load | no-op diff | save | total | peak memory |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for _ in 0..repeat {
        let out = Command::new(std::env::current_exe()?)
            .env(MEASURE_ENV, dir.path())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "measurement failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(())
}
