"""What `sameAs` adds to a page, with each account's link index kept between requests.

Run: python3 -m bench.same_as [--rounds 5 --seconds 5 --extra 2000]

Starts the gateway on its sandbox as bench.run does (one worker, the bench's limits), with
`--extra` more customers in the demo Codat company and Lago organisation (`--sandbox-data`),
so the view holds 261 + 2 x (261 + extra) customers to link. Two cases, driven by wrk in
interleaved rounds after a warm-up:

- page: the 20-customer page, executed (`Cache-Control: no-cache` skips the whole-response
  cache; the upstream cache is warm);
- page + sameAs: the same page, each customer with its links' evidence and ids.

Before measuring it checks that the page has links to show and that, warm, neither case makes
an upstream call. Prints each case's median requests per second with its min-max spread, and
the per-round ratio of page + sameAs to page: what linking costs, whatever the accounts' size.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.cases import NO_CACHE, Shot
from bench.run import Case, interleaved, zero_upstream_calls
from bench.servers import gateway
from bench.stats import median, spread
from sandbox import DEMO_ACCOUNT, Sandbox

PAGE = "query($n: Int) { customers(first: $n) { edges { node { id %s } } } }"
LINKS = "sameAs { evidence customer { id } }"


def extra_records(count: int) -> dict[str, list[dict[str, Any]]]:
    """`count` more Codat and Lago customers: copies of a generated one, with no evidence of
    their own (so the links stay the sandbox's), each indexed all the same."""
    data = Sandbox().data
    codat = data.codat_companies[DEMO_ACCOUNT.codat_company_id][-1]
    lago = data.lago_organizations[DEMO_ACCOUNT.lago_api_key][-1]
    records: dict[str, list[dict[str, Any]]] = {"codat": [], "lago": []}
    for n in range(count):
        c = copy.deepcopy(codat) | {"id": f"bench-{n:05d}", "emailAddress": None}
        records["codat"].append(c | {"taxNumber": None, "registrationNumber": None})
        x = copy.deepcopy(lago) | {"lago_id": f"00000000-0000-4000-9000-{n:012d}"}
        x |= {"external_id": f"bench-{n:05d}", "email": None, "integration_customers": []}
        records["lago"].append(x | {"tax_identification_number": None, "legal_number": None})
    return records


def page(url: str, fields: str) -> Shot:
    return Shot(url, "POST", json.dumps({"query": PAGE % fields, "variables": {"n": 20}}), NO_CACHE)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--extra", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "extra.json"
        data.write_text(json.dumps(extra_records(args.extra)))
        with gateway(sandbox_data=data) as gw:
            plain, linked = page(gw.url, ""), page(gw.url, LINKS)
            body = linked.send().json()
            if "errors" in body or not any(
                e["node"]["sameAs"] for e in body["data"]["customers"]["edges"]
            ):
                raise SystemExit(f"the page shows no links: {json.dumps(body)[:300]}")
            for shot, what in ((plain, "page"), (linked, "page + sameAs")):
                zero_upstream_calls(shot, what)
            series = interleaved(
                [Case("page", plain), Case("page + sameAs", linked)], args.rounds, args.seconds
            )
    a, b = series["page"], series["page + sameAs"]
    rounds = [y.rps / x.rps for x, y in zip(a.samples, b.samples, strict=True)]
    customers = 261 + 2 * (261 + args.extra)
    print(f"\nview of {customers} customers; {args.rounds} rounds of {args.seconds:g} s")
    for s in (a, b):
        low, high = s.rps_spread
        print(
            f"{s.name:15} {s.rps:8.1f} req/s (min {low:.1f}, max {high:.1f})  p50 {s.p50_ms:.1f} ms"
        )
    low, high = spread(rounds)
    print(
        f"page + sameAs / page: {median(rounds):.2f}x median (min {low:.2f}, max {high:.2f}); "
        f"rounds: {', '.join(f'{r:.2f}' for r in rounds)}"
    )


if __name__ == "__main__":
    main()
