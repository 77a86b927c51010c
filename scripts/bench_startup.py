"""Start-up time: ``hlmshell -e 'di 1'`` against ``python -c 'import numpy'``, measured in one run.

    python scripts/bench_startup.py [--repeat 15]

Prints the median wall time of each (fresh processes, warm file cache) and their ratio; the goal
is a ratio of at most 3.  Also lists which heavy modules a ``di 1`` run imported (none should be).

The package's bytecode is compiled first, as ``pip install`` does for an installed package and as
Python does on a first run: without it (an editable install under PYTHONDONTWRITEBYTECODE=1, as on
the development machines) every start compiles each module again, which doubles the time and
measures the compiler rather than the shell.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HEAVY = ("pandas", "scipy", "prompt_toolkit", "matplotlib", "pyarrow")


def _time(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of ``repeat`` fresh processes; the CPU
    time hardly moves with the machine's load, the wall time does."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    import hlmshell

    compileall.compile_dir(hlmshell.__path__[0], quiet=1)
    exe = shutil.which("hlmshell")
    shell = [exe] if exe else [sys.executable, "-m", "hlmshell"]
    numpy = _time([sys.executable, "-c", "import numpy"], args.repeat)
    ours = _time([*shell, "-e", "di 1"], args.repeat)
    probe = ("import sys; from hlmshell.shell.cli import main; main(['-e', 'di 1']); "
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip().splitlines()[-1]
    print(f"load average {os.getloadavg()[0]:.2f}          wall       cpu")
    print(f"python -c 'import numpy'   {numpy[0] * 1000:7.1f} ms {numpy[1] * 1000:7.1f} ms")
    print(f"hlmshell -e 'di 1'         {ours[0] * 1000:7.1f} ms {ours[1] * 1000:7.1f} ms")
    print(f"ratio                      {ours[0] / numpy[0]:7.2f}    {ours[1] / numpy[1]:7.2f}"
          "  (goal <= 3)")
    print(f"heavy modules imported by di 1: {loaded}")


if __name__ == "__main__":
    main()
