"""bench.profile's reading of py-spy's raw (collapsed-stack) output, from made-up stacks."""

from __future__ import annotations

from bench.profile_report import Frame, parse, parse_frame, render, summarise

MAIN = "<module> (gateway/__main__.py:1)"
HANDLE = "handle (gateway/http/endpoint.py:167)"
EXECUTE = "execute (graphql/execution/executor.py:10)"
RESOLVE = "resolve (resolvers/query.py:40)"
RAW = "\n".join(
    [
        f"{MAIN};{HANDLE};{EXECUTE};{RESOLVE};replace (dataclasses.py:1453) 6",
        f"{MAIN};{HANDLE};{EXECUTE} 3",
        f"{MAIN};walk (gateway/scan.py:44);walk (gateway/scan.py:44);__init__ (<string>:2) 1",
        "not a profile line",
    ]
)


def test_parse_frame() -> None:
    assert parse_frame("scan (gateway/scan.py:44)") == Frame("scan", "gateway/scan.py", 44)
    assert parse_frame("run (<frozen runpy>:65)") == Frame("run", "<frozen runpy>", 65)
    assert parse_frame("odd") == Frame("odd", "", None)


def test_project_and_package_classification() -> None:
    assert Frame("f", "/work/wt/x/gateway/scan.py", 1).own
    assert Frame("f", "resolvers/query.py", 1).package == "resolvers"
    assert not Frame("f", "site-packages/gateway/x.py", 1).own
    assert Frame("f", "graphql/execution/executor.py", 1).package == "graphql"
    assert Frame("f", "dataclasses.py", 1).package == "stdlib"
    assert Frame("f", "asyncio/runners.py", 1).package == "stdlib"


def test_summarise_own_total_and_own_code() -> None:
    profile = summarise(parse(RAW))
    handle = Frame("handle", "gateway/http/endpoint.py", 167)
    execute = Frame("execute", "graphql/execution/executor.py", 10)
    resolve = Frame("resolve", "resolvers/query.py", 40)
    walk = Frame("walk", "gateway/scan.py", 44)
    assert profile.samples == 10
    assert profile.own[Frame("replace", "dataclasses.py", 1453)] == 6
    assert profile.own[execute] == 3
    assert profile.total[handle] == 9
    assert profile.total[execute] == 9
    assert profile.total[walk] == 1  # recursion: once per sample
    # Each sample charged to the deepest project frame (the process frames excepted).
    assert profile.own_code[resolve] == 6
    assert profile.own_code[handle] == 3
    assert profile.own_code[walk] == 1
    assert Frame("<module>", "gateway/__main__.py", 1) not in profile.own_code
    assert profile.packages == {"stdlib": 6, "graphql": 3, "<string>": 1}


def test_render_lists_the_top_functions() -> None:
    text = render(summarise(parse(RAW)), top=3)
    assert "10 samples" in text
    assert " 60.0%        6  replace (dataclasses.py:1453)" in text
    assert "resolve (resolvers/query.py:40)" in text
    assert "<module> (gateway/__main__.py:1)" not in text.split("gateway's own functions")[1]
    assert render(summarise([])).startswith("no samples")
