//! The local CDN server: a small caching HTTP/1.1 server (GET and HEAD) on 127.0.0.1 in
//! front of an origin, run as its own detached process by [`run_cdn_server`].
//!
//! Origins: `file://<dir>` serves the files of a storage bucket (`default_object` for
//! paths ending in `/`); `http://host:port[/base]` proxies to a compute instance.
//! Successful (200) responses are cached in memory for `cache_ttl_secs`, keyed by path
//! and query; every response says `X-Cache: HIT` or `MISS`. One thread per connection,
//! `Connection: close` after each response: simple, and ample for local use.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The hidden subcommand that runs [`run_cdn_server`]: `<exe> __local-cdn-serve <config>`.
pub const CDN_SERVE_SUBCOMMAND: &str = "__local-cdn-serve";

/// The server's configuration file (written by the provider).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnConfig {
    /// Port to listen on, on 127.0.0.1.
    pub port: u16,
    /// `file://<dir>` or `http://host:port[/base]`.
    pub origin_url: String,
    /// Seconds a response stays cached; 0 disables caching.
    pub cache_ttl_secs: u64,
    /// Object served for `/` (and any path ending in `/`) from a file origin.
    pub default_object: String,
    /// Where the server writes its pid, if anywhere.
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
}

/// At most this many connections are served at once; more get `503`.
const MAX_CONNECTIONS: usize = 256;
/// Bodies larger than this are served but not cached.
const MAX_CACHED_BODY: usize = 8 << 20;
/// At most this many entries are cached; the cache is cleared when full.
const MAX_CACHE_ENTRIES: usize = 4096;

#[derive(Clone)]
struct Response {
    status: u16,
    content_type: String,
    body: Arc<Vec<u8>>,
}

struct Server {
    config: CdnConfig,
    cache: Mutex<HashMap<String, (Instant, Response)>>,
    active: AtomicUsize,
}

/// Run the CDN server described by the JSON file at `config_path`. Blocks forever (until
/// the process is killed); returns an error when the config is unreadable or the port
/// cannot be bound.
pub fn run_cdn_server(config_path: &Path) -> io::Result<()> {
    let bytes = std::fs::read(config_path)?;
    let config: CdnConfig = serde_json::from_slice(&bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if let Some(pid_file) = &config.pid_file {
        crate::fsutil::write_atomic(pid_file, std::process::id().to_string().as_bytes())?;
    }
    let listener = TcpListener::bind(("127.0.0.1", config.port))?;
    eprintln!(
        "overcast local cdn: serving {} on http://127.0.0.1:{}/",
        config.origin_url, config.port
    );
    let server = Arc::new(Server {
        config,
        cache: Mutex::new(HashMap::new()),
        active: AtomicUsize::new(0),
    });
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let server = Arc::clone(&server);
        if server.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            server.active.fetch_sub(1, Ordering::SeqCst);
            let mut conn = conn;
            let _ = write_response(&mut conn, &text(503, "busy"), "MISS", false);
            continue;
        }
        std::thread::spawn(move || {
            let _ = server.handle(conn);
            server.active.fetch_sub(1, Ordering::SeqCst);
        });
    }
    Ok(())
}

fn text(status: u16, msg: &str) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8".into(),
        body: Arc::new(format!("{msg}\n").into_bytes()),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(conn: &mut TcpStream, r: &Response, cache: &str, head: bool) -> io::Result<()> {
    let header = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nX-Cache: {cache}\r\nServer: overcast-local-cdn\r\nConnection: close\r\n\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    conn.write_all(header.as_bytes())?;
    if !head {
        conn.write_all(&r.body)?;
    }
    conn.flush()
}

impl Server {
    fn handle(&self, mut conn: TcpStream) -> io::Result<()> {
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut reader = BufReader::new(conn.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        // Drain the headers: a GET or HEAD needs none of them.
        let mut total = request_line.len();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
                break;
            }
            total += line.len();
            if total > 64 * 1024 {
                return write_response(
                    &mut conn,
                    &text(400, "request header too large"),
                    "MISS",
                    false,
                );
            }
        }
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return write_response(&mut conn, &text(400, "bad request"), "MISS", false);
        };
        let head = method == "HEAD";
        if method != "GET" && !head {
            return write_response(&mut conn, &text(405, "only GET and HEAD"), "MISS", false);
        }
        let key = target.to_string();
        let ttl = Duration::from_secs(self.config.cache_ttl_secs);
        if !ttl.is_zero() {
            let cached = {
                let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                cache
                    .get(&key)
                    .filter(|(at, _)| at.elapsed() < ttl)
                    .map(|(_, r)| r.clone())
            };
            if let Some(r) = cached {
                return write_response(&mut conn, &r, "HIT", head);
            }
        }
        let r = self.fetch(target);
        if !ttl.is_zero() && r.status == 200 && r.body.len() <= MAX_CACHED_BODY {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key, (Instant::now(), r.clone()));
        }
        write_response(&mut conn, &r, "MISS", head)
    }

    fn fetch(&self, target: &str) -> Response {
        let origin = &self.config.origin_url;
        if let Some(dir) = origin.strip_prefix("file://") {
            serve_file(Path::new(dir), target, &self.config.default_object)
        } else if let Some(rest) = origin.strip_prefix("http://") {
            proxy(rest, target).unwrap_or_else(|e| text(502, &format!("origin {origin}: {e}")))
        } else {
            text(502, &format!("unsupported origin {origin}"))
        }
    }
}

/// Decode `%XX` escapes; `None` for malformed ones or non-UTF-8 results.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn serve_file(root: &Path, target: &str, default_object: &str) -> Response {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let Some(mut rel) = percent_decode(path) else {
        return text(400, "bad path");
    };
    if rel.ends_with('/') {
        rel.push_str(default_object);
    }
    let rel = PathBuf::from(rel.trim_start_matches('/'));
    // Only plain names: no `..`, no absolute paths, nothing that escapes the bucket.
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return text(403, "forbidden path");
    }
    let full = root.join(&rel);
    match std::fs::read(&full) {
        Ok(body) => Response {
            status: 200,
            content_type: content_type(&full).into(),
            body: Arc::new(body),
        },
        Err(_) => text(404, "not found"),
    }
}

/// GET `target` from `host:port[/base]` (the part of an http URL after `http://`).
fn proxy(rest: &str, target: &str) -> io::Result<Response> {
    let (authority, base) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let mut conn = TcpStream::connect(authority)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        conn,
        "GET {base}{target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: overcast-local-cdn\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn parse_response(raw: &[u8]) -> io::Result<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut content_type = "application/octet-stream".to_string();
    let mut chunked = false;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "content-type" {
            content_type = v.to_string();
        } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(Response {
        status,
        content_type,
        body: Arc::new(body),
    })
}

fn dechunk(mut b: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("bad chunk"))?;
        let size_str = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(b.get(..size).ok_or_else(|| bad("short chunk"))?);
        b = b.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_served_safely() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::write(d.path().join("index.html"), "<h1>hi</h1>").expect("write");
        std::fs::write(d.path().join("a b.txt"), "x").expect("write");
        let r = serve_file(d.path(), "/", "index.html");
        assert_eq!(
            (r.status, r.content_type.as_str()),
            (200, "text/html; charset=utf-8")
        );
        assert_eq!(
            serve_file(d.path(), "/a%20b.txt?v=1", "index.html").status,
            200
        );
        assert_eq!(
            serve_file(d.path(), "/../etc/passwd", "index.html").status,
            403
        );
        assert_eq!(serve_file(d.path(), "/missing", "index.html").status, 404);
    }

    #[test]
    fn proxied_responses_are_parsed_chunked_or_not() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello")
            .expect("parse");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n")
            .expect("parse");
        assert_eq!(r.body.as_slice(), b"hello");
    }
}
