"""Benchmark ``mixed ... using file.parquet`` (the streaming fit); prints its time and peak memory.

Writes a Parquet file of y, x (float64) and g (int32) with a random intercept and slope per group,
row groups of 1,000,000 rows, every group's rows spread over all of them (the files are not
committed; they go to /tmp), then fits ``mixed y x using FILE || g: x, cov(unstructured)`` in a
fresh process and reports the time and the process's peak RSS.  ``--check-rows N`` also fits the
first N rows both ways (loaded with ``use``, and streamed) and prints the largest differences.

Usage: python scripts/bench_stream.py [--rows 100000000] [--groups 100000] [--check-rows 2000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1_000_000

FIT = """
import json, resource, time
import numpy as np
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.session import Session
s = Session()
if {in_memory}:
    t = time.perf_counter(); assert run_line(s, "use {path}") == 0; t_use = time.perf_counter() - t
    cmd = "mixed y x || g: x, cov(unstructured) nolog"
else:
    t_use, cmd = 0.0, "mixed y x using {path} || g: x, cov(unstructured) nolog"
t = time.perf_counter(); assert run_line(s, "qui " + cmd) == 0; secs = time.perf_counter() - t
e = s.e
print(json.dumps({{"use": t_use, "secs": secs, "ll": e.scalars["ll"], "N": e.scalars["N"],
                  "b": e.matrices["b"].values[0].tolist(),
                  "se": np.sqrt(np.diag(e.matrices["V"].values)).tolist(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def write(path: Path, rows: int, groups: int, seed: int = 2024) -> None:
    import pyarrow as pa
    from pyarrow import parquet as pq

    rng = np.random.default_rng(seed)
    u0, u1 = rng.normal(0, 1.5, groups), rng.normal(0, 0.5, groups)
    schema = pa.schema([("y", pa.float64()), ("x", pa.float64()), ("g", pa.int32())])
    with pq.ParquetWriter(path, schema) as out:
        for start in range(0, rows, CHUNK):
            m = min(CHUNK, rows - start)
            g = rng.integers(0, groups, m)
            x = rng.normal(size=m)
            y = 1.0 + 0.5 * x + u0[g] + u1[g] * x + rng.normal(0, 2.0, m)
            out.write_table(pa.table({"y": y, "x": x, "g": g.astype(np.int32)}, schema=schema))


def fit(path: Path, in_memory: bool) -> dict:
    code = FIT.format(path=path, in_memory=in_memory)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=float, default=1e8)
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--check-rows", type=float, default=2e6)
    a = ap.parse_args()
    rows, check = int(a.rows), int(a.check_rows)
    if check:
        small = Path(f"/tmp/stream_{check}_{a.groups}.parquet")
        if not small.exists():
            write(small, check, a.groups)
        mem, streamed = fit(small, True), fit(small, False)
        print(f"{check:,} rows both ways: ll {mem['ll']:.6f} (use + mixed) vs {streamed['ll']:.6f} "
              f"(using); max |b| difference {np.max(np.abs(np.subtract(mem['b'], streamed['b']))):.2e}, "
              f"max |se| difference {np.max(np.abs(np.subtract(mem['se'], streamed['se']))):.2e}; "
              f"in memory {mem['use'] + mem['secs']:.1f} s and {mem['rss_mb']:.0f} MiB, "
              f"streamed {streamed['secs']:.1f} s and {streamed['rss_mb']:.0f} MiB")
    path = Path(f"/tmp/stream_{rows}_{a.groups}.parquet")
    if not path.exists():
        free = shutil.disk_usage("/tmp").free / 2**30
        print(f"writing {path} ({rows * 20 / 2**30:.1f} GiB of numbers; {free:.0f} GiB free)")
        t = time.perf_counter()
        write(path, rows, a.groups)
        print(f"  written in {time.perf_counter() - t:.0f} s, {path.stat().st_size / 2**30:.2f} GiB")
    load = os.getloadavg()
    r = fit(path, False)
    print(f"{rows:,} rows, {a.groups:,} groups, random slope: {r['secs']:.1f} s, peak RSS "
          f"{r['rss_mb']:.0f} MiB, N = {r['N']:,.0f}, ll {r['ll']:.4f}; b = "
          f"{' '.join(f'{v:.6g}' for v in r['b'])}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before, "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} after")


if __name__ == "__main__":
    main()
