"""Profile the gateway process while wrk drives one of bench.run's cases.

Run: python3 -m pip install py-spy && python3 -m bench.profile --case executed20 [--seconds 15]

Starts the gateway on its sandbox as bench.run does (one worker, the bench's limits; with
100 ms of latency in front of each provider for the fan-out cases), warms the case and checks
it as bench.run does, then samples the gateway with `py-spy record --format raw --function`
while the case's load runs. Prints the top functions by own and by total time, the gateway's
own functions (gateway/, resolvers/) apart, and keeps the raw profile (collapsed stacks, which
flame-graph tools read) under /tmp.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.cases import NO_CACHE, Fan, Load, Shot, measure, page_post, persisted_get, register_apq
from bench.profile_report import parse, render, summarise
from bench.run import BIG, LATENCY_MS, PROVIDERS, zero_upstream_calls
from bench.servers import gateway


@dataclass(frozen=True, slots=True)
class ProfileCase:
    description: str
    load: Callable[[str], Load]
    latency: bool = False


CASES = {
    "cached": ProfileCase(
        "persisted GET of 20 from the response cache", lambda url: persisted_get(url, 20)
    ),
    "executed20": ProfileCase(
        "executed, 20 customers (no-cache)", lambda url: page_post(url, 20, NO_CACHE)
    ),
    "executed100": ProfileCase(
        "executed, 100 customers (no-cache)", lambda url: page_post(url, 100, NO_CACHE)
    ),
    "executed1000": ProfileCase(
        "executed, first: 1000 (no-cache)", lambda url: page_post(url, BIG, NO_CACHE)
    ),
    "persisted1000": ProfileCase(
        "first: 1000 as a persisted document (APQ GET, no-cache)",
        lambda url: persisted_get(url, BIG, NO_CACHE),
    ),
    "fanout3": ProfileCase(
        "fan-out over 3 providers at 100 ms each", lambda url: Fan(url, None), latency=True
    ),
    "fanout1": ProfileCase(
        "fan-out over 1 provider at 100 ms", lambda url: Fan(url, ("LAGO",)), latency=True
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--case", choices=sorted(CASES), default="executed20")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples a second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--output", type=Path, default=None, help="the raw profile (default /tmp)")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        sys.exit("bench.profile: py-spy is not installed (python3 -m pip install py-spy)")
    case = CASES[args.case]
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    output = args.output or Path(tempfile.gettempdir()) / f"bench-profile-{args.case}-{stamp}.txt"
    faults = [f"{p}=latency:{LATENCY_MS}" for p in PROVIDERS] if case.latency else []
    with gateway(faults=faults) as gw:
        register_apq(gw.url)
        load = case.load(gw.url)
        load.send()
        load.send()  # the second read is served from a warm upstream (and response) cache
        if isinstance(load, Shot) and load.headers.get("cache-control") == "no-cache":
            zero_upstream_calls(load, case.description)
        measure(load, 1.0)
        # The load runs a second longer than the profile on both sides, so every sample is
        # taken under load.
        sampler = subprocess.Popen(
            [
                *(spy, "record", "--pid", str(gw.pid), "--rate", str(args.rate)),
                *("--duration", str(args.seconds), "--format", "raw", "--function"),
                *("--output", str(output), "--nonblocking"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        result: dict[str, object] = {}
        driver = threading.Thread(
            target=lambda: result.update(sample=measure(load, args.seconds + 2)), daemon=True
        )
        driver.start()
        _, errors = sampler.communicate(timeout=args.seconds + 120)
        driver.join()
    if sampler.returncode != 0 or not output.exists():
        sys.exit(f"bench.profile: py-spy failed ({sampler.returncode}): {errors.strip()}")
    print(f"case {args.case}: {case.description}; load during the profile: {result['sample']}")
    print(render(summarise(parse(output.read_text())), args.top))
    print(f"\nraw profile (collapsed stacks): {output}")


if __name__ == "__main__":
    main()
