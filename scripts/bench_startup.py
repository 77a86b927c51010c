"""Start-up time: ``hlmshell -e 'di 1'`` against ``python -c 'import numpy'``, measured in one run.

    python scripts/bench_startup.py [--repeat 15]

Prints the median wall time of each (fresh processes, warm file cache) and their ratio; the goal
is a ratio of at most 3.  Also lists which heavy modules a ``di 1`` run imported (none should be).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "scipy", "prompt_toolkit", "matplotlib", "pyarrow")


def _time(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    exe = shutil.which("hlmshell")
    shell = [exe] if exe else [sys.executable, "-m", "hlmshell"]
    numpy = _time([sys.executable, "-c", "import numpy"], args.repeat)
    ours = _time([*shell, "-e", "di 1"], args.repeat)
    probe = ("import sys; from hlmshell.shell.cli import main; main(['-e', 'di 1']); "
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip().splitlines()[-1]
    print(f"python -c 'import numpy'   {numpy * 1000:7.1f} ms")
    print(f"hlmshell -e 'di 1'         {ours * 1000:7.1f} ms")
    print(f"ratio                      {ours / numpy:7.2f}  (goal <= 3)")
    print(f"heavy modules imported by di 1: {loaded}")


if __name__ == "__main__":
    main()
