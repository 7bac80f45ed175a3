"""Load from wrk (Debian's package) when it is installed: one thread, `connections`
connections, a Lua script for the request. Falls back to bench.load when wrk is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.load import Result

_SCRIPT = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
"""
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def wrk(
    url: str,
    *,
    method: str = "POST",
    body: str = "",
    headers: dict[str, str] | None = None,
    connections: int = 16,
    seconds: float = 5.0,
) -> Result:
    extra = "\n".join(f'wrk.headers["{k}"] = {_lua_string(v)}' for k, v in (headers or {}).items())
    script = _SCRIPT.format(method=method, body=_lua_string(body) if body else "nil", headers=extra)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, int(seconds))}s",
                "--latency",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    percentiles = {
        int(p): float(v) * _UNITS[u]
        for p, v, u in re.findall(r"\s(\d+)%\s+([\d.]+)(us|ms|s)\b", output)
    }
    # wrk gives percentiles, not samples: keep them as the latency list's key points.
    return Result(
        requests=total,
        seconds=total / rps if rps else seconds,
        latencies=[],
        errors=int(non_2xx.group(1)) if non_2xx else 0,
        percentiles=percentiles,
    )
