//! Everything the user sees while a command runs goes through one [`Reporter`]: indicatif
//! progress on a terminal, plain lines when not a terminal, NDJSON events with `--json`.
//! Plan rendering lives in [`render`].

pub mod render;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use overcast_core::NativeAddr;
use serde_json::json;

use crate::plan::Action;

/// Something that happened while a command runs.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A phase (`refresh`, `apply`) with this many steps starts.
    PhaseStarted {
        /// Phase name.
        name: &'a str,
        /// Number of steps.
        total: usize,
    },
    /// One step of a phase is done.
    PhaseProgress {
        /// Phase name.
        name: &'a str,
    },
    /// A tally within a phase starts: one bar of a breakdown (a nuke's per-type bars).
    TallyStarted {
        /// The tally's name (a resource type).
        name: &'a str,
        /// Its steps.
        total: usize,
    },
    /// One step of a tally is done.
    TallyProgress {
        /// The tally's name.
        name: &'a str,
    },
    /// The phase is over.
    PhaseFinished {
        /// Phase name.
        name: &'a str,
    },
    /// An operation on a native starts.
    OpStarted {
        /// Native.
        addr: &'a NativeAddr,
        /// Operation.
        action: Action,
    },
    /// It finished.
    OpFinished {
        /// Native.
        addr: &'a NativeAddr,
        /// Operation.
        action: Action,
        /// How long it took.
        elapsed: Duration,
    },
    /// It failed.
    OpFailed {
        /// Native.
        addr: &'a NativeAddr,
        /// Operation.
        action: Action,
        /// The error.
        error: &'a str,
    },
    /// It was not attempted.
    OpSkipped {
        /// Native.
        addr: &'a NativeAddr,
        /// Operation that was planned.
        action: Action,
        /// Why.
        reason: &'a str,
    },
    /// A call failed with a retryable error and is tried again.
    Retrying {
        /// What the call is about: a native address, or `discover on target x`.
        subject: &'a str,
        /// Attempt that failed (1-based).
        attempt: usize,
        /// The error.
        error: &'a str,
    },
    /// A long operation says what it is doing ("creating, 42s").
    OpProgress {
        /// What the operation is about (a native address).
        subject: &'a str,
        /// The provider's status line.
        status: &'a str,
    },
    /// Information.
    Note(&'a str),
    /// A warning.
    Warn(&'a str),
}

/// Receives events. Implementations must be cheap: they are called from the scheduler.
pub trait Reporter: Send + Sync {
    /// Handle one event.
    fn event(&self, e: Event<'_>);
    /// Hide progress bars while `f` writes to the terminal (prompts, plan output).
    fn suspend(&self, f: &mut dyn FnMut()) {
        f()
    }
    /// Clear any progress display.
    fn finish(&self) {}
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Progress bars (stderr is a terminal).
    Interactive,
    /// One line per event on stderr.
    Plain,
    /// NDJSON events on stdout.
    Json,
    /// Nothing but errors.
    Quiet,
}

impl OutputMode {
    /// Pick the mode: `--json` wins, then `--quiet`, then terminal detection.
    pub fn detect(json: bool, quiet: bool) -> OutputMode {
        if json {
            OutputMode::Json
        } else if quiet {
            OutputMode::Quiet
        } else if std::io::stderr().is_terminal() {
            OutputMode::Interactive
        } else {
            OutputMode::Plain
        }
    }
}

/// The reporter for a mode.
pub fn reporter(mode: OutputMode) -> Arc<dyn Reporter> {
    match mode {
        OutputMode::Interactive => Arc::new(ProgressReporter::new()),
        OutputMode::Plain => Arc::new(PlainReporter),
        OutputMode::Json => Arc::new(JsonReporter::new()),
        OutputMode::Quiet => Arc::new(QuietReporter),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Prints nothing but failures.
pub struct QuietReporter;

impl Reporter for QuietReporter {
    fn event(&self, e: Event<'_>) {
        if let Event::OpFailed {
            addr,
            action,
            error,
        } = e
        {
            // Not eprintln!: a closed stderr must not abort the command.
            let _ = writeln!(
                std::io::stderr().lock(),
                "{addr}: {} failed: {error}",
                action.progressive()
            );
        }
    }
}

/// One line per event, for logs and CI.
pub struct PlainReporter;

impl Reporter for PlainReporter {
    fn event(&self, e: Event<'_>) {
        let line = match e {
            Event::PhaseStarted { name, total } => format!("{name}: {total} resource(s)"),
            Event::PhaseProgress { .. }
            | Event::PhaseFinished { .. }
            | Event::TallyStarted { .. }
            | Event::TallyProgress { .. } => return,
            Event::OpStarted { addr, action } => format!("{addr}: {}...", action.progressive()),
            Event::OpFinished {
                addr,
                action,
                elapsed,
            } => format!("{addr}: {} after {}", action.past(), secs(elapsed)),
            Event::OpFailed {
                addr,
                action,
                error,
            } => format!("{addr}: {} FAILED: {error}", action.progressive()),
            Event::OpSkipped {
                addr,
                action,
                reason,
            } => format!("{addr}: {} skipped: {reason}", action.progressive()),
            Event::Retrying {
                subject,
                attempt,
                error,
            } => format!("{subject}: attempt {attempt} failed ({error}); retrying"),
            Event::OpProgress { subject, status } => format!("{subject}: {status}"),
            Event::Note(m) => m.to_string(),
            Event::Warn(m) => format!("warning: {m}"),
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

/// NDJSON events on stdout, one object per line, for CI. Every event carries `t_ms`:
/// milliseconds since the reporter was made (at command start, on a monotonic clock), so
/// a phase's duration is the difference of its `phase_started` and `phase_finished`.
pub struct JsonReporter {
    start: std::time::Instant,
}

impl JsonReporter {
    /// A reporter whose clock starts now.
    pub fn new() -> Self {
        JsonReporter {
            start: std::time::Instant::now(),
        }
    }
}

impl Default for JsonReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for JsonReporter {
    fn event(&self, e: Event<'_>) {
        let t_ms = (self.start.elapsed().as_secs_f64() * 1e6).round() / 1e3;
        let mut v = match e {
            Event::PhaseStarted { name, total } => {
                json!({"type": "phase_started", "phase": name, "total": total})
            }
            Event::PhaseProgress { .. } | Event::TallyProgress { .. } => return,
            Event::TallyStarted { name, total } => {
                json!({"type": "tally_started", "tally": name, "total": total})
            }
            Event::PhaseFinished { name } => json!({"type": "phase_finished", "phase": name}),
            Event::OpStarted { addr, action } => {
                json!({"type": "op_started", "addr": addr.to_string(), "action": action})
            }
            Event::OpFinished {
                addr,
                action,
                elapsed,
            } => {
                json!({"type": "op_finished", "addr": addr.to_string(), "action": action, "elapsed_ms": elapsed.as_millis() as u64})
            }
            Event::OpFailed {
                addr,
                action,
                error,
            } => {
                json!({"type": "op_failed", "addr": addr.to_string(), "action": action, "error": error})
            }
            Event::OpSkipped {
                addr,
                action,
                reason,
            } => {
                json!({"type": "op_skipped", "addr": addr.to_string(), "action": action, "reason": reason})
            }
            Event::Retrying {
                subject,
                attempt,
                error,
            } => {
                json!({"type": "retrying", "addr": subject, "attempt": attempt, "error": error})
            }
            Event::OpProgress { subject, status } => {
                json!({"type": "op_progress", "addr": subject, "status": status})
            }
            Event::Note(m) => json!({"type": "note", "message": m}),
            Event::Warn(m) => json!({"type": "warning", "message": m}),
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("t_ms".into(), json!(t_ms));
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
    }
}

/// indicatif progress: an overall bar per phase and one spinner line per in-flight native.
pub struct ProgressReporter {
    multi: MultiProgress,
    phase: Mutex<Option<ProgressBar>>,
    tallies: Mutex<HashMap<String, ProgressBar>>,
    ops: Mutex<HashMap<NativeAddr, (ProgressBar, Instant)>>,
}

impl ProgressReporter {
    /// A reporter drawing on stderr.
    pub fn new() -> Self {
        ProgressReporter {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            phase: Mutex::new(None),
            tallies: Mutex::new(HashMap::new()),
            ops: Mutex::new(HashMap::new()),
        }
    }

    fn println(&self, s: &str) {
        let _ = self.multi.println(s);
    }
}

impl Default for ProgressReporter {
    fn default() -> Self {
        Self::new()
    }
}

impl Reporter for ProgressReporter {
    fn event(&self, e: Event<'_>) {
        match e {
            Event::PhaseStarted { name, total } => {
                let bar = self.multi.add(ProgressBar::new(total as u64));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(name.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut p) = self.phase.lock() {
                    *p = Some(bar);
                }
            }
            Event::PhaseProgress { .. } => {
                if let Ok(p) = self.phase.lock()
                    && let Some(b) = p.as_ref()
                {
                    b.inc(1)
                }
            }
            Event::PhaseFinished { .. } => {
                if let Ok(mut p) = self.phase.lock()
                    && let Some(b) = p.take()
                {
                    b.finish_and_clear();
                    self.multi.remove(&b);
                }
            }
            Event::TallyStarted { name, total } => {
                let bar = self.multi.add(ProgressBar::new(total as u64));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>28} [{bar:20}] {pos}/{len}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_prefix(name.to_string());
                if let Ok(mut t) = self.tallies.lock()
                    && let Some(old) = t.insert(name.to_string(), bar)
                {
                    self.multi.remove(&old);
                }
            }
            Event::TallyProgress { name } => {
                if let Ok(t) = self.tallies.lock()
                    && let Some(b) = t.get(name)
                {
                    b.inc(1)
                }
            }
            Event::OpStarted { addr, action } => {
                let sp = self.multi.add(ProgressBar::new_spinner());
                sp.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                sp.set_message(format!("{} {addr}", action.progressive()));
                sp.enable_steady_tick(Duration::from_millis(100));
                if let Ok(mut ops) = self.ops.lock() {
                    ops.insert(addr.clone(), (sp, Instant::now()));
                }
            }
            Event::OpFinished {
                addr,
                action,
                elapsed,
            } => {
                self.clear_op(addr);
                self.println(&format!(
                    "  {} {addr}: {} after {}",
                    console::style("✓").green(),
                    action.past(),
                    secs(elapsed)
                ));
                self.event(Event::PhaseProgress { name: "" });
            }
            Event::OpFailed {
                addr,
                action,
                error,
            } => {
                self.clear_op(addr);
                self.println(&format!(
                    "  {} {addr}: {} failed: {error}",
                    console::style("✗").red(),
                    action.progressive()
                ));
                self.event(Event::PhaseProgress { name: "" });
            }
            Event::OpSkipped {
                addr,
                action,
                reason,
            } => {
                self.println(&format!(
                    "  {} {addr}: {} skipped: {reason}",
                    console::style("-").yellow(),
                    action.progressive()
                ));
                self.event(Event::PhaseProgress { name: "" });
            }
            Event::Retrying {
                subject,
                attempt,
                error,
            } => {
                self.println(&format!(
                    "  {} {subject}: attempt {attempt} failed ({error}); retrying",
                    console::style("↻").yellow()
                ));
            }
            Event::OpProgress { subject, status } => {
                // The spinner of the operation shows the provider's latest status.
                if let Ok(addr) = subject.parse::<NativeAddr>()
                    && let Ok(ops) = self.ops.lock()
                    && let Some((sp, _)) = ops.get(&addr)
                {
                    let verb = sp.message();
                    let verb = verb.split(" (").next().unwrap_or_default().to_string();
                    sp.set_message(format!("{verb} ({status})"));
                }
            }
            Event::Note(m) => self.println(m),
            Event::Warn(m) => self.println(&format!(
                "{} {m}",
                console::style("warning:").yellow().bold()
            )),
        }
    }

    fn suspend(&self, f: &mut dyn FnMut()) {
        self.multi.suspend(f)
    }

    fn finish(&self) {
        if let Ok(mut ops) = self.ops.lock() {
            for (_, (b, _)) in ops.drain() {
                b.finish_and_clear();
            }
        }
        if let Ok(mut t) = self.tallies.lock() {
            for (_, b) in t.drain() {
                b.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }
}

impl ProgressReporter {
    fn clear_op(&self, addr: &NativeAddr) {
        if let Ok(mut ops) = self.ops.lock()
            && let Some((b, _)) = ops.remove(addr)
        {
            b.finish_and_clear();
            self.multi.remove(&b);
        }
    }
}
