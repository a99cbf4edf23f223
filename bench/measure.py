"""What every bench script measures the same way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def peak_rss_kib() -> int:
    """This process's peak resident set size (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run_child(script: str, flag: str, path: Path) -> list[str]:
    """Run ``script FLAG PATH`` in a fresh interpreter (a process of its own, so its peak
    RSS is its own) and return the words it printed."""
    return subprocess.run(
        [sys.executable, script, flag, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
