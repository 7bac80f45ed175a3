"""prometheus_client's multiprocess mode, for `serve --workers N`.

Each worker writes its figures to memory-mapped files in one directory, and whichever worker
answers /metrics reads them all, so counters and histograms add up across workers. The
directory comes from `PROMETHEUS_MULTIPROC_DIR`, which prometheus_client reads once, when it is
first imported: `serve` sets it (`metrics_directory`) before uvicorn spawns the workers, which
start as fresh interpreters and so import prometheus_client with it.

Usage (the parent): `with metrics_directory(workers, os.environ): uvicorn.run(..., workers=N)`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, values
from prometheus_client.multiprocess import mark_process_dead

# The variable prometheus_client takes its directory from.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_mode() -> bool:
    """Whether this process's metric values live in the shared directory: prometheus_client
    decided when it was imported, so it is asked rather than the environment read again."""
    return values.ValueClass is not values.MutexValue


@contextlib.contextmanager
def metrics_directory(workers: int, environ: MutableMapping[str, str]) -> Iterator[Path | None]:
    """With more than one worker: a fresh directory only this user can read, named in
    `environ` for the workers about to start, removed (with what they wrote) at exit. Never
    one left by an earlier run, whose counters would be added in. One worker: nothing."""
    if workers < 2:
        yield None
        return
    previous = environ.get(MULTIPROC_ENV)
    # mkdtemp makes it 0700: per-worker figures are nobody else's business.
    with tempfile.TemporaryDirectory(prefix="customer-gateway-metrics-") as path:
        environ[MULTIPROC_ENV] = path
        try:
            yield Path(path)
        finally:
            if previous is None:
                environ.pop(MULTIPROC_ENV, None)
            else:
                environ[MULTIPROC_ENV] = previous


def forget_dead_workers() -> None:
    """Drop the live gauges (in-flight requests, breakers, process figures) of workers that
    died without saying so (killed, crashed: uvicorn starts another in their place), so they
    stop counting. Their counters and histograms stay: what they served was served."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    for file in Path(directory).glob("gauge_live*_*.db"):
        pid = file.stem.rsplit("_", 1)[1]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), directory)  # type: ignore[no-untyped-call]


def mark_worker_gone() -> None:
    """This worker stops: its live gauges go with it."""
    mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerProcess:
    """This worker's `process_*` figures (memory, CPU, file descriptors, start time), written
    as gauges every worker shares: /metrics shows one series per live worker, labelled `pid`.
    prometheus_client's ProcessCollector cannot do this itself (it reads only the process it
    runs in, which would be whichever worker answered the scrape).

    Usage: `figures = WorkerProcess(registry)`, then `figures.refresh()` now and then."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._reader = ProcessCollector(registry=None)
        self._gauges: dict[str, Gauge] = {}

    def refresh(self) -> None:
        for family in self._reader.collect():
            for sample in family.samples:
                gauge = self._gauges.get(sample.name)
                if gauge is None:
                    gauge = self._gauges[sample.name] = Gauge(
                        sample.name,
                        family.documentation,
                        registry=self._registry,
                        multiprocess_mode="liveall",
                    )
                gauge.set(sample.value)


__all__ = [
    "MULTIPROC_ENV",
    "WorkerProcess",
    "forget_dead_workers",
    "mark_worker_gone",
    "metrics_directory",
    "multiprocess_mode",
]
