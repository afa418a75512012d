"""Benchmark 6: nuke. Two measurements:

1. Deleting 2,000 resources on the local cloud with 50 ms injected per provider call: a
   few dependency chains, the rest independent. Along the dependency graph, at most
   --parallelism calls at once, the delete phase cannot beat its physical bound: the
   longest chain's deletes one after another, plus N x latency / parallelism for the rest.
2. Emptying an S3 bucket of many objects on moto: objects per second, and the command's
   peak memory at two bucket sizes (it must not grow with the bucket).

The resources are created first (the local ones by an apply of another stack with no
latency, the objects through boto3 straight to moto), never by the nuke being measured.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import emulators

CHAINS = 4
CHAIN_LEN = 25


def lab_stack(n):
    """N no-op natives on local target `lab`: CHAINS chains of CHAIN_LEN instances, each
    naming the one before in its startup script (a use the nuke must respect: it deletes
    the user first), the rest independent buckets."""
    lines = ["stack: lab", "targets:", "  lab:", "    provider: local", "    noop: true",
             "resources:"]
    for i in range(n):
        c, k = divmod(i, CHAIN_LEN)
        lines.append(f"  r{i}:")
        if c < CHAINS:
            lines += ["    kind: compute", "    size: nano"]
            if k > 0:
                lines.append(f'    startup: "curl ${{r{i - 1}.url}}"')
        else:
            lines.append("    kind: storage")
    return "\n".join(lines) + "\n"


def nuke_events(argv, cwd, env=None):
    """Run a nuke with --json; return (wall seconds, nuke phase seconds summed over rounds,
    the final report, peak RSS MiB)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.PIPE)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        err = proc.stderr.read().decode(errors="replace")
        out.seek(0)
        text = out.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}\n{text[-2000:]}\n{err[-2000:]}")
    phase, started, report = 0.0, None, None
    for line in text.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("type") == "phase_started" and ev.get("phase") == "nuke":
            started = ev["t_ms"]
        elif ev.get("type") == "phase_finished" and ev.get("phase") == "nuke" and started is not None:
            phase += (ev["t_ms"] - started) / 1000.0
            started = None
        elif "deleted" in ev and "dry_run" in ev:
            report = ev
    return wall, phase, report, rusage.ru_maxrss / 1024.0


def nuke_local(args, run_child, progress):
    n, lat, par = args.nuke_n, args.latency_ms / 1000.0, args.parallelism
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="ocn-") as d:
            with open(os.path.join(d, "overcast.yaml"), "w") as f:
                f.write(lab_stack(n))
            run_child([args.overcast, "--quiet", "apply", "--auto-approve"], d)
            argv = [args.overcast, "--json", "--no-color", "--parallelism", str(par), "nuke",
                    "--provider", "local", "--region", "lab", "--setting", "noop=true",
                    "--setting", f"latency_ms={args.latency_ms}", "--no-dry-run", "--yes"]
            wall, phase, report, _ = nuke_events(argv, d)
            deleted = len(report["deleted"]) if report else 0
            if deleted != n:
                raise RuntimeError(f"nuke deleted {deleted} of {n}: {json.dumps(report)[:2000]}")
            rows.append((wall, phase, report.get("rounds", 0)))
    # Deletes along a chain go one after another; everything else fills `par` slots. No
    # schedule beats the larger of the two (the lower bound); a greedy one that never idles
    # a slot while work is ready stays within their sum (Graham's bound, the goal).
    lower = max(CHAIN_LEN * lat, n * lat / par)
    bound = CHAIN_LEN * lat + n * lat / par
    wall = sorted(r[0] for r in rows)[len(rows) // 2]
    phase = sorted(r[1] for r in rows)[len(rows) // 2]
    progress(f"nuke local N={n}: delete phase {phase:.2f}s, bounds {lower:.2f}s .. {bound:.2f}s")
    print("\n### 6a. Nuke on the local cloud: %d natives (%d chains of %d, the rest independent), "
          "%d ms per provider call, --parallelism %d (median of %d)\n"
          % (n, CHAINS, CHAIN_LEN, args.latency_ms, par, args.repeat))
    print("Bounds: no schedule beats the longer of the longest chain's deletes one after another "
          "and N x latency / parallelism (lower bound); the goal is the sum of the two (the "
          "critical path plus N x latency / parallelism). The whole command adds discovery, "
          "linking and reading each resource for deletion.\n")
    print("| N | delete phase | lower bound | ratio | goal bound | ratio (goal <= 1) | whole command | rounds |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {n} | {phase:.2f} s | {lower:.2f} s | {phase / lower:.2f} | {bound:.2f} s | {phase / bound:.2f} "
          f"| {wall:.2f} s | {rows[0][2]} |")


SEED = r"""
import sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
endpoint, bucket, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing",
                  config=Config(max_pool_connections=32))
s3.create_bucket(Bucket=bucket)
def put(i):
    s3.put_object(Bucket=bucket, Key=f"objects/{i:07d}", Body=b"x")
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(n), chunksize=256))
"""


def nuke_bucket(args, run_child, progress):
    moto = args.moto_server
    if not moto:
        raise RuntimeError("benchmark 6b needs moto: pass --moto-server (bench.sh installs it)")
    python = os.path.join(os.path.dirname(moto), "python")
    # moto keeps each object in a spooled buffer sized for multi-megabyte uploads: at the
    # default, 10,000 one-byte objects took it past 8 GiB. Small buffers keep the emulator,
    # not the machine, the limit.
    os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", "1024")
    rows = []
    for n in [int(x) for x in args.bucket_sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="ocb-") as d, emulators.Emulator("moto", moto, d) as emu:
            t0 = time.monotonic()
            subprocess.run([python, "-c", SEED, emu.endpoint, "bench-bucket", str(n)], check=True)
            seed_s = time.monotonic() - t0
            env = emulators.overcast_env(d)
            argv = [args.overcast_aws, "--json", "--no-color", "nuke", "--provider", "aws",
                    "--region", "us-east-1", "--endpoint", emu.endpoint, "--type", "s3:bucket",
                    "--no-dry-run", "--yes"]
            wall, phase, report, rss = nuke_events(argv, d, env)
            if not report or len(report["deleted"]) != 1:
                raise RuntimeError(f"the bucket was not deleted: {json.dumps(report)[:2000]}")
            rows.append((n, seed_s, phase, wall, rss))
            progress(f"nuke bucket of {n}: {phase:.1f}s ({n / phase:.0f} objects/s), peak {rss:.0f} MiB")
    print("\n### 6b. Nuke of an S3 bucket on moto: every object deleted, then the bucket\n")
    print("Objects are listed a page (1,000) at a time and deleted in batches of 1,000 with a "
          "few batches in flight; memory must not grow with the bucket.\n")
    print("| objects | seeding (boto3, 16 threads) | delete phase | objects/s | whole command | peak memory |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, seed_s, phase, wall, rss in rows:
        print(f"| {n} | {seed_s:.1f} s | {phase:.1f} s | {n / phase:.0f} | {wall:.1f} s | {rss:.0f} MiB |")


if __name__ == "__main__":
    sys.exit("run through benches/bench.py --only nuke")
