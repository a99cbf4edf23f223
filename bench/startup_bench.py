"""Start-up time of the `litmon` command (issue 16, point 10): `litmon --help` and
`litmon queue claim` on an empty queue (what a worker's shell loop runs every few seconds),
each as a fresh process, against `python -c pass` measured in the same run.

Prints the median and the spread of the wall times over --runs runs (after one warm-up,
so that the files are in the page cache), and the ratio to `python -c pass`; also the CPU
time (user + system) of the children, which a busy machine inflates less than wall time.
Target: at most 0.35 s wall for both commands on an otherwise idle 2-core machine.

    python bench/startup_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(argv: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``runs`` runs of ``argv`` (after one warm-up)."""
    walls, cpus = [], []
    for attempt in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if attempt:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    litmon = shutil.which("litmon") or sys.exit("litmon is not installed in this environment")
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "empty.db"
        env = {**os.environ, "LITMON_DB": str(db_path)}
        env.pop("LITMON_CONFIG", None)  # the shipped defaults, as a new deployment has
        # an empty queue in an existing database, made as `litmon init` leaves it
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from litmon.db.schema import open_db; open_db({str(db_path)!r})",
            ],
            check=True,
        )  # noqa: E501
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "litmon --help": [litmon, "--help"],
            "litmon queue claim (empty queue)": [litmon, "queue", "claim", "--worker", "bench"],
        }
        results = {name: measure(argv, runs, env) for name, argv in cases.items()}
    baseline = statistics.median(results["python -c pass"][0])
    print(f"{runs} runs each, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'command':36} {'median wall':>11} {'min-max wall':>15} {'median CPU':>10} {'x pass':>7}"
    )
    for name, (walls, cpus) in results.items():
        median = statistics.median(walls)
        print(
            f"{name:36} {median:10.3f}s {min(walls):6.3f}-{max(walls):.3f}s"
            f" {statistics.median(cpus):9.3f}s {median / baseline:7.1f}"
        )


if __name__ == "__main__":
    main()
