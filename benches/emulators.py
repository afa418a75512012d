"""Benchmark 4: the same apply / no-op plan / destroy of N AWS resources on each AWS
emulator (moto, ministack), to show whether overcast's provider path or the emulator
bounds the time.

Every command runs twice per repeat: straight at the emulator, and through a recording
reverse proxy on 127.0.0.1 that timestamps each API call from the moment it is handed to
the emulator to the moment the emulator's whole response is back. From the trace: the
number of calls, the time the emulator was busy (union of the in-flight intervals), and
the part of overcast's wall time with no call in flight (process start, spec and state,
planning, and overcast's own work between calls). The direct run shows what the proxy
costs; CPU time of overcast (its rusage) and of the emulator (/proc) come from it too.
"""

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import parse_qs

# ---------------------------------------------------------------------------------------
# Emulators: started on 127.0.0.1 on a free port, stopped by PID.


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """One emulator process. `with Emulator(...) as e:` stops it (by its PID) on any exit."""

    def __init__(self, name, executable, log_dir):
        self.name = name
        self.executable = executable
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.proc = None

    def __enter__(self):
        env = dict(os.environ)
        if self.name == "moto":
            argv = [self.executable, "-H", "127.0.0.1", "-p", str(self.port)]
        else:  # ministack reads its address from the environment
            argv = [self.executable]
            env.update(GATEWAY_PORT=str(self.port), BIND_HOST="127.0.0.1")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it serves
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on {self.endpoint} within {timeout:.0f} s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cpu_seconds(self):
        """User + system CPU time the emulator has used so far (each emulator is one process)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            # Fields after the parenthesised command name; utime and stime are 14 and 15.
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------
# The recording proxy: just enough HTTP/1.1 for the AWS SDK and the emulators (fixed-length,
# chunked and read-to-close bodies, keep-alive, Expect: 100-continue). One upstream
# connection per client connection, so the emulator sees the same concurrency as without.


class RecordingProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = None
        self._records = []  # (start, end, operation, resource); times on time.monotonic()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None

    def __enter__(self):
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def take(self):
        """The calls recorded since the last take()."""
        with self._lock:
            out, self._records = self._records, []
        return out

    async def _listen(self):
        self._server = await asyncio.start_server(self._serve_client, "127.0.0.1", 0,
                                                  backlog=1024, limit=1 << 20)
        return self._server.sockets[0].getsockname()[1]

    async def _close(self):
        self._server.close()
        await self._server.wait_closed()

    async def _serve_client(self, client_r, client_w):
        up_r = up_w = None
        try:
            while True:
                req = await read_head(client_r)
                if req is None:
                    break
                method, target, headers = parse_head(req)
                if headers.get("expect", "").lower() == "100-continue":
                    # Answer it here: the emulator gets the whole request at once.
                    client_w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    req = strip_header(req, b"expect")
                body, _ = await read_body(client_r, headers)
                op, resource = operation(method, target, headers, body)
                if up_w is None:
                    up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port,
                                                               limit=1 << 20)
                start = time.monotonic()
                up_w.write(req + body)
                await up_w.drain()
                resp = await read_head(up_r)
                if resp is None:
                    raise ConnectionError("the emulator closed the connection")
                status, rheaders = parse_status(resp)
                no_body = method == "HEAD" or status in (204, 304)
                rbody, to_close = (b"", False) if no_body else await read_body(up_r, rheaders, response=True)
                end = time.monotonic()
                with self._lock:
                    self._records.append((start, end, op, resource))
                client_w.write(resp + rbody)
                await client_w.drain()
                if to_close or rheaders.get("connection", "").lower() == "close":
                    up_w.close()
                    up_r = up_w = None
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            for w in (client_w, up_w):
                if w is not None:
                    w.close()


async def read_head(reader):
    """Bytes of a request or status line and headers, through the blank line; None at EOF."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if e.partial:
            raise
        return None


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    return method, target, header_map(lines[1:])


def parse_status(head):
    lines = head.decode("latin-1").split("\r\n")
    return int(lines[0].split(" ", 2)[1]), header_map(lines[1:])


def header_map(lines):
    out = {}
    for line in lines:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip().lower()] = v.strip()
    return out


def strip_header(head, name):
    keep = [l for l in head.split(b"\r\n") if not l.lower().startswith(name + b":")]
    return b"\r\n".join(keep)


async def read_body(reader, headers, response=False):
    """The raw body (chunked bodies kept chunked) and whether it ended the connection."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            out += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    t = await reader.readuntil(b"\r\n")
                    out += t
                    if t == b"\r\n":
                        return bytes(out), False
            out += await reader.readexactly(size + 2)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"])), False
    if response:  # neither length nor chunks: the body runs to the end of the connection
        return await reader.read(), True
    return b"", False  # a request without a body


# S3 is REST: a bucket-level operation is its method and subresource (the query's first
# key). Only those this benchmark's resources use are named; others show as method?key.
S3_OPERATIONS = {
    ("PUT", ""): "CreateBucket",
    ("HEAD", ""): "HeadBucket",
    ("DELETE", ""): "DeleteBucket",
    ("PUT", "tagging"): "PutBucketTagging",
    ("GET", "tagging"): "GetBucketTagging",
    ("GET", "versioning"): "GetBucketVersioning",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "lifecycle"): "GetBucketLifecycleConfiguration",
    ("PUT", "lifecycle"): "PutBucketLifecycleConfiguration",
    ("GET", "publicAccessBlock"): "GetPublicAccessBlock",
    ("PUT", "publicAccessBlock"): "PutPublicAccessBlock",
    ("DELETE", "publicAccessBlock"): "DeletePublicAccessBlock",
    ("GET", "policy"): "GetBucketPolicy",
    ("PUT", "policy"): "PutBucketPolicy",
    ("DELETE", "policy"): "DeleteBucketPolicy",
    ("GET", "versions"): "ListObjectVersions",
}


def operation(method, target, headers, body):
    """The API operation of a request, e.g. `sqs:CreateQueue` or `s3:PutBucketTagging`,
    and the resource it is about (a bucket or queue name; "" for others)."""
    if "x-amz-target" in headers:  # JSON protocols (SQS): Service.Operation
        service, _, op = headers["x-amz-target"].rpartition(".")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        queue = params.get("QueueName") or params.get("QueueUrl", "").rsplit("/", 1)[-1]
        return ("sqs:" if "SQS" in service else service + ":") + op, queue
    if body.startswith(b"Action=") or b"&Action=" in body:  # query protocols (STS, old SQS)
        action = parse_qs(body.decode("latin-1")).get("Action", ["?"])[0]
        return "query:" + action, ""
    path, _, query = target.partition("?")
    keys = [k.split("=")[0] for k in query.split("&") if k and not k.startswith("x-id")]
    sub = keys[0] if keys else ""
    bucket = path.strip("/").split("/")[0]
    return "s3:" + S3_OPERATIONS.get((method, sub), f"{method}?{sub}"), bucket


# ---------------------------------------------------------------------------------------
# What a trace says about one command.


def busy_intervals(records):
    """The union of the calls' [start, end] intervals, merged and sorted."""
    merged = []
    for start, end, _, _ in sorted(records):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def trace_summary(records, t0, t1):
    """Calls, summed service time, busy time and the uncovered wall time of one command
    that ran from t0 to t1, split into before the first call, between calls, and after
    the last."""
    merged = busy_intervals(records)
    busy = sum(e - s for s, e in merged)
    service = sum(r[1] - r[0] for r in records)
    before = merged[0][0] - t0 if merged else t1 - t0
    after = t1 - merged[-1][1] if merged else 0.0
    between = sum(merged[i + 1][0] - merged[i][1] for i in range(len(merged) - 1))
    return {
        "calls": len(records),
        "service": service,
        "busy": busy,
        "before": before,
        "between": between,
        "after": after,
        "peak": peak_in_flight(records),
        "ops": Counter(r[2] for r in records),
        "per_resource_peak": per_resource_peak(records),
    }


def per_resource_peak(records):
    """The most calls about one same resource ever in flight together (1: each resource's
    calls run strictly one after another)."""
    by = {}
    for r in records:
        if r[3]:
            by.setdefault(r[3], []).append(r)
    return max((peak_in_flight(rs) for rs in by.values()), default=0)


def peak_in_flight(records):
    events = sorted([(r[0], 1) for r in records] + [(r[1], -1) for r in records])
    peak = cur = 0
    for _, d in events:
        cur += d
        peak = max(peak, cur)
    return peak


# ---------------------------------------------------------------------------------------
# The stack and one command.


def aws_stack(n, endpoint):
    """N cheap AWS resources: half S3 buckets (storage), half SQS queues."""
    lines = [
        "stack: bench-emu",
        "targets:",
        "  aws:",
        "    provider: aws",
        "    region: us-east-1",
        f"    endpoint_url: {endpoint}",
        "resources:",
    ]
    for i in range(n):
        kind = "storage" if i % 2 == 0 else "queue"
        lines += [f"  {kind[0]}{i}:", f"    kind: {kind}"]
    return "\n".join(lines) + "\n"


def overcast_env(d):
    """Dummy credentials for the emulator, and nothing of the machine's own AWS setup."""
    empty = os.path.join(d, "aws-empty-config")
    open(empty, "w").close()
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=empty,
               AWS_SHARED_CREDENTIALS_FILE=empty)
    return env


COMMANDS = [
    ("apply", ["apply", "--auto-approve"]),
    # --detailed-exitcode: exit 2 (a failure here) if the plan after apply is not empty.
    ("no-op plan (refresh)", ["plan", "--detailed-exitcode"]),
    ("destroy", ["destroy", "--auto-approve"]),
]


def run_cycle(run_child, overcast, n, emulator, proxy):
    """apply, no-op plan, destroy of the N-resource stack in a fresh directory, through
    the proxy when one is given. Returns {command: sample}."""
    endpoint = f"http://127.0.0.1:{proxy.port}" if proxy else emulator.endpoint
    out = {}
    with tempfile.TemporaryDirectory(prefix="oce-") as d:
        with open(os.path.join(d, "overcast.yaml"), "w") as f:
            f.write(aws_stack(n, endpoint))
        env = overcast_env(d)
        for name, args in COMMANDS:
            if proxy:
                proxy.take()
            cpu0 = emulator.cpu_seconds()
            t0, seconds, rusage = run_child([overcast, "--quiet", "--no-color"] + args, d, env)
            t1 = t0 + seconds
            sample = {
                "wall": seconds,
                "overcast_cpu": rusage.ru_utime + rusage.ru_stime,
                "emulator_cpu": emulator.cpu_seconds() - cpu0,
            }
            if proxy:
                sample.update(trace_summary(proxy.take(), t0, t1))
            out[name] = sample
    return out


# ---------------------------------------------------------------------------------------
# The benchmark and its tables.


def median_of(samples, key):
    return statistics.median(s[key] for s in samples)


def emulator_benchmark(args, run_child, progress):
    executables = {"moto": args.moto_server, "ministack": args.ministack}
    ns = [int(x) for x in args.emulator_sizes.split(",")]
    # (emulator, n) -> {command: {"direct": [samples], "proxied": [samples]}}, or the error
    # text when that emulator failed at that size (reported in the table, the rest goes on).
    results = {}
    with tempfile.TemporaryDirectory(prefix="oce-logs-") as logs:
        for name in args.emulators.split(","):
            exe = executables.get(name)
            if not exe or not os.access(exe, os.X_OK):
                raise RuntimeError(f"no {name} executable ({exe!r}): scripts/bench.sh installs it")
            for n in ns:
                try:
                    results[(name, n)] = measure_emulator(args, run_child, name, exe, n, logs)
                except RuntimeError as e:
                    results[(name, n)] = str(e)
                    progress(f"emulators {name} N={n} FAILED: {e}")
                    continue
                progress(f"emulators {name} N={n}: " + ", ".join(
                    f"{c} {median_of(v['direct'], 'wall'):.2f}s" for c, v in results[(name, n)].items()))
    print_tables(args, results, ns)


def measure_emulator(args, run_child, name, exe, n, logs):
    """--repeat cycles at size n on a fresh emulator (earlier sizes leave nothing behind),
    each once straight at it and once through the proxy."""
    with Emulator(name, exe, logs) as emu, RecordingProxy(emu.port) as proxy:
        try:
            # Unmeasured: the emulators load a service's code on its first call.
            run_cycle(run_child, args.overcast_aws, 2, emu, None)
            cell = {c: {"direct": [], "proxied": []} for c, _ in COMMANDS}
            for _ in range(args.repeat):
                for mode, p in (("direct", None), ("proxied", proxy)):
                    for c, sample in run_cycle(run_child, args.overcast_aws, n, emu, p).items():
                        cell[c][mode].append(sample)
            return cell
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{name} log: {tail(emu.log_path)}") from None


def tail(path, n=1500):
    with open(path, "rb") as f:
        return f.read()[-n:].decode(errors="replace")


def package_version(executable, package):
    """The version of `package` in the venv of an emulator's executable."""
    python = os.path.join(os.path.dirname(executable), "python")
    r = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version('{package}'))"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "?"


def print_tables(args, results, ns):
    versions = {"moto": package_version(args.moto_server, "moto") if args.moto_server else "?",
                "ministack": package_version(args.ministack, "ministack") if args.ministack else "?"}
    print("\n### 4. Provider overhead on AWS emulators: N resources (half S3 buckets, half SQS "
          "queues), --parallelism 64 (median of %d)\n" % args.repeat)
    print("*wall, direct*: the overcast command straight at the emulator; *via proxy*: the same "
          "through the recording proxy, whose trace gives the other columns. *emulator busy*: "
          "time with at least one API call in flight at the emulator (the union of the calls' "
          "intervals); *wall / busy* near 1 means overcast spent its time waiting on the "
          "emulator. *no call in flight* is the rest of the wall time: before the first call "
          "(process start, spec, state, credentials), between calls (overcast's own work with "
          "nothing outstanding) and after the last (state save, exit). CPU columns are from "
          "the direct run: overcast's own rusage, and the emulator process's CPU time during "
          "the command.\n")
    for name in args.emulators.split(","):
        print(f"\n#### {name} {versions.get(name, '?')}\n")
        print("| N | command | API calls | wall, direct | wall, via proxy | emulator busy | "
              "wall / busy | no call in flight: before / between / after | calls in flight: "
              "mean / peak | overcast CPU | emulator CPU |")
        print("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        for n in ns:
            if isinstance(results[(name, n)], str):
                first_line = results[(name, n)].strip().splitlines()[0][:200]
                print(f"| {n} | failed: {first_line} |" + " |" * 9)
                continue
            for c, v in results[(name, n)].items():
                d, p = v["direct"], v["proxied"]
                pm = {k: median_of(p, k) for k in
                      ("calls", "wall", "busy", "service", "before", "between", "after", "peak")}
                print(f"| {n} | {c} | {pm['calls']:.0f} | {median_of(d, 'wall'):.2f} s | "
                      f"{pm['wall']:.2f} s | {pm['busy']:.2f} s | {pm['wall'] / pm['busy']:.2f} | "
                      f"{pm['before']:.2f} / {pm['between']:.2f} / {pm['after']:.2f} s | "
                      f"{pm['service'] / pm['busy']:.1f} / {pm['peak']:.0f} | "
                      f"{median_of(d, 'overcast_cpu'):.2f} s | {median_of(d, 'emulator_cpu'):.2f} s |")
    print_calls_per_resource(results)


def print_calls_per_resource(results):
    """The API calls of each command per resource, from the last traced run of the largest
    size that worked: what the provider does for one bucket and one queue."""
    done = [k for k, v in results.items() if not isinstance(v, str)]
    if not done:
        return
    name, n = max(done, key=lambda k: k[1])
    print(f"\nAPI calls per resource ({name}, N={n}: {n // 2 + n % 2} buckets, {n // 2} queues; "
          "*at once*: the most calls about one same resource ever in flight together):\n")
    print("| command | calls per bucket | calls per queue | other calls | at once |")
    print("|---|---|---|---|---:|")
    per = {"s3": n // 2 + n % 2, "sqs": n // 2}
    for c, v in results[(name, n)].items():
        ops = v["proxied"][-1]["ops"]
        cols = []
        for svc in ("s3", "sqs"):
            parts = [f"{op.split(':', 1)[1]} {k / per[svc]:g}"
                     for op, k in sorted(ops.items()) if op.startswith(svc + ":")]
            cols.append(", ".join(parts) or "—")
        other = [f"{op.split(':', 1)[1]} {k}" for op, k in sorted(ops.items())
                 if op.split(":")[0] not in per]
        at_once = v["proxied"][-1]["per_resource_peak"]
        print(f"| {c} | {cols[0]} | {cols[1]} | {', '.join(other) or '—'} | {at_once} |")
