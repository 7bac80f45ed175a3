"""Deterministic sandbox data: each provider's documented example customer, verbatim, then
generated customers with realistic variety, some of them the same real-world customer seen
through two or three providers (same email, external id, tax or registration number, a Lago
integration link naming the Codat record: sandbox/seed/overlaps.py).

Records are stored as each provider's wire JSON, so the simulators serve them as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

from sandbox.seed.codat import codat_customers
from sandbox.seed.custom import CustomRecords, merge_custom
from sandbox.seed.generator import JSON, Generator, draw_identities
from sandbox.seed.lago import lago_customers
from sandbox.seed.layer import layer_customers
from sandbox.seed.overlaps import add_overlaps

SEED = 20261122
GENERATED_PER_PROVIDER = 260


@dataclass
class SandboxData:
    """Every simulated account, as wire JSON. Mutations go through the sandbox apps."""

    layer_businesses: dict[str, list[JSON]] = field(default_factory=dict)
    codat_companies: dict[str, list[JSON]] = field(default_factory=dict)
    # Lago keys are organisation-scoped: one customer list per API key.
    lago_organizations: dict[str, list[JSON]] = field(default_factory=dict)


def example(name: str) -> JSON:
    """A provider's documented example customer, byte-for-byte from its documentation."""
    text = resources.files("sandbox.examples").joinpath(f"{name}_customer.json")
    loaded: JSON = json.loads(text.read_text(encoding="utf-8"))
    return loaded


def build_sandbox_data(
    accounts: list[tuple[str, str, str]], seed: int = SEED, custom: CustomRecords | None = None
) -> SandboxData:
    """Seed one (Layer business, Codat company, Lago key) account per entry of `accounts`.

    The first account gets the documented example customers and the `custom` records (a
    `--data` file: sandbox/seed/custom.py), served first; every account gets the shared
    identities and its own generated customers.
    """
    data = SandboxData()
    for index, (business_id, company_id, lago_key) in enumerate(accounts):
        gen = Generator(seed + index)
        identities = draw_identities(gen)
        count = GENERATED_PER_PROVIDER if index == 0 else 40
        layer = layer_customers(gen, identities, count)
        codat = codat_customers(gen, identities, count)
        lago = lago_customers(gen, identities, count, start=2)
        add_overlaps(identities, layer, codat, lago)
        if index == 0:
            layer.insert(0, example("layer"))
            codat.insert(0, example("codat"))
            lago.insert(0, example("lago"))
            if custom is not None:
                layer = merge_custom("layer", layer, custom)
                codat = merge_custom("codat", codat, custom)
                lago = merge_custom("lago", lago, custom)
        data.layer_businesses[business_id] = layer
        data.codat_companies[company_id] = codat
        data.lago_organizations[lago_key] = lago
    return data


__all__ = ["GENERATED_PER_PROVIDER", "SEED", "SandboxData", "build_sandbox_data", "example"]
