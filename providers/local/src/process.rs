//! Detached, supervised local processes (compute instances, the CDN server, PostgreSQL).
//!
//! A process is started in a new session (`setsid`), so it has its own process group, no
//! controlling terminal and outlives overcast. Its group leader's pid goes to a pid file.
//! Every such process carries the environment variable [`MARKER_ENV`] set to its
//! resource directory: before signalling a pid read from a file, the provider checks the
//! marker (on Linux, through `/proc`), so a pid reused by an unrelated process is never
//! killed and never mistaken for a live resource.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fsutil;

/// Environment variable that tags a process with the resource directory it belongs to.
pub const MARKER_ENV: &str = "OVERCAST_LOCAL_DIR";

/// Ask the OS for a free TCP port on 127.0.0.1. The port is released before the child
/// binds it, so another program may take it in between: callers that can see a bind
/// failure (the CDN server) retry with a new port; compute cannot, and documents it.
pub(crate) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Start `cmd` detached: new session, stdin from /dev/null, stdout and stderr appended to
/// `log`, [`MARKER_ENV`] set to `marker`. Writes the pid to `pid_file` and returns it.
/// A thread reaps the child if it exits while this process lives, so that it never
/// lingers as a zombie that looks alive.
pub(crate) fn spawn_detached(
    mut cmd: Command,
    log: &Path,
    pid_file: &Path,
    marker: &Path,
) -> io::Result<u32> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .env(MARKER_ENV, marker);
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent; it is the
    // only call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    fsutil::write_atomic(pid_file, pid.to_string().as_bytes())?;
    Ok(pid)
}

/// The pid recorded in a pid file, if any.
pub(crate) fn read_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p: &i32| *p > 1)
}

/// State letter of a process from `/proc/<pid>/stat` (`R`, `S`, `Z`, ...) and its process
/// group; `None` when the process does not exist.
#[cfg(target_os = "linux")]
fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether `pid` carries the marker of `dir`. Unreadable environments (another user's
/// process) count as not ours.
#[cfg(target_os = "linux")]
fn has_marker(pid: i32, dir: &Path) -> bool {
    let want = format!("{MARKER_ENV}={}", dir.display());
    // A process in the middle of an exec (the supervising shell `exec`s the startup
    // command) briefly shows an empty environment: look again for a moment before
    // deciding it is not ours. Found by the conformance suite on a loaded machine, where a
    // read right after a restart saw the instance as stopped.
    for _ in 0..20 {
        match std::fs::read(format!("/proc/{pid}/environ")) {
            Ok(env) if !env.is_empty() => {
                return env.split(|b| *b == 0).any(|kv| kv == want.as_bytes());
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(_) => return false,
        }
    }
    false
}

/// Whether `pid` is a live (not zombie) process belonging to the resource at `dir`.
pub(crate) fn is_alive(pid: i32, dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        matches!(proc_stat(pid), Some((s, _)) if s != 'Z' && s != 'X') && has_marker(pid, dir)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        // SAFETY: signal 0 only checks that the process exists.
        unsafe { libc::kill(pid, 0) == 0 }
    }
}

/// Live members of process group `pgid` that belong to the resource at `dir`.
#[cfg(target_os = "linux")]
fn group_members(pgid: i32, dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| matches!(proc_stat(*pid), Some((s, g)) if g == pgid && s != 'Z' && s != 'X'))
        .filter(|pid| has_marker(*pid, dir))
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn group_members(pgid: i32, _dir: &Path) -> Vec<i32> {
    // SAFETY: signal 0 only checks that the group exists.
    if unsafe { libc::kill(-pgid, 0) } == 0 {
        vec![pgid]
    } else {
        Vec::new()
    }
}

/// Whether any process of the group led by `pgid` still runs for the resource at `dir`.
pub(crate) fn group_alive(pgid: i32, dir: &Path) -> bool {
    !group_members(pgid, dir).is_empty()
}

/// Stop the process group `pgid` of the resource at `dir`: SIGTERM, wait up to `grace`,
/// then SIGKILL. Nothing to stop is a success; groups whose processes do not carry the
/// resource's marker are left alone.
pub(crate) fn stop_group(pgid: i32, dir: &Path, grace: Duration) {
    if !group_alive(pgid, dir) {
        return;
    }
    // SAFETY: plain signal sends to a process group we verified is ours.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !group_alive(pgid, dir) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    // SIGKILL cannot be ignored; give the kernel a moment to tear the group down.
    let deadline = Instant::now() + Duration::from_secs(2);
    while group_alive(pgid, dir) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stop the group recorded in `pid_file` (if any) and remove the pid file.
pub(crate) fn stop_recorded(pid_file: &Path, dir: &Path) {
    if let Some(pid) = read_pid(pid_file) {
        stop_group(pid, dir, Duration::from_secs(5));
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`, or `pid` dies, or
/// `timeout` passes. Returns whether the port answered.
pub(crate) fn wait_for_port(port: u16, pid: i32, dir: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return true;
        }
        if !is_alive(pid, dir) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    false
}

/// The last `max` bytes of a log file, for error messages.
pub(crate) fn log_tail(log: &Path, max: usize) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return String::new();
    };
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawned_process_is_detected_and_stopped_with_its_group() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("sh");
        // A child in the same group, to check that the whole group is stopped.
        cmd.arg("-c").arg("sleep 300 & while :; do sleep 1; done");
        let pid_file = d.path().join("pid");
        let pid =
            spawn_detached(cmd, &d.path().join("log"), &pid_file, d.path()).expect("spawn") as i32;
        struct Guard(i32);
        impl Drop for Guard {
            fn drop(&mut self) {
                unsafe { libc::kill(-self.0, libc::SIGKILL) };
            }
        }
        let _guard = Guard(pid);
        assert_eq!(read_pid(&pid_file), Some(pid));
        assert!(is_alive(pid, d.path()));
        assert!(
            !is_alive(pid, Path::new("/somewhere/else")),
            "marker must be checked"
        );
        stop_recorded(&pid_file, d.path());
        assert!(!group_alive(pid, d.path()));
        assert!(!is_alive(pid, d.path()));
    }
}
