"""What a benchmark ran on and when: CPU, cores, memory, Python, load, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    python: str
    system: str


def machine() -> Machine:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 0,
        memory_gib=memory,
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()}",
    )


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def commit() -> str:
    """The commit measured, with `+dirty` when the work tree differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git(
        "status", "--porcelain", "--untracked-files=no", "--", "gateway", "resolvers", "sandbox"
    )
    return f"{head}+dirty" if dirty else head


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat), all cores."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return float("nan")
    # user nice system idle iowait irq softirq steal: everything but idle and iowait.
    ticks = [int(v) for v in first[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of every child it has waited for (the servers, their
    sandboxes and workers, wrk): the benchmark's own share of the machine's busy time."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
