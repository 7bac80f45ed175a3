"""The seeded random source generated customers come from, and the real-world customers
(identities) that several providers share."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.seed.words import (
    CITIES,
    COMPANY_STEMS,
    COMPANY_SUFFIXES,
    FIRST_NAMES,
    LAST_NAMES,
    STREETS,
)

JSON = dict[str, Any]

SHARED_IDENTITIES = 12
BASE_TIME = datetime(2024, 1, 8, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Identity:
    """A real-world customer that several providers know."""

    company: str
    person_first: str
    person_last: str
    email: str
    external_id: str
    tax_number: str
    city: tuple[str, str, str, str]


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, items: list[Any]) -> Any:
        return self.rng.choice(items)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def moment(self, spread_days: int = 700) -> datetime:
        return BASE_TIME + timedelta(seconds=self.rng.randrange(spread_days * 86400))

    def person(self) -> tuple[str, str]:
        return self.pick(FIRST_NAMES), self.pick(LAST_NAMES)

    def company(self) -> str:
        return f"{self.pick(COMPANY_STEMS)} {self.pick(COMPANY_SUFFIXES)}"

    def email(self, first: str, last: str, domain: str) -> str:
        local = "".join(
            c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == ".")
        )
        return f"{local or 'contact'}{self.rng.randrange(100)}@{domain}"

    def domain(self, company: str) -> str:
        stem = "".join(c for c in company.lower() if c.isascii() and c.isalnum())
        return f"{stem or 'example'}.test"

    def phone(self) -> str:
        r = self.rng.randrange
        return f"+{r(1, 99)} {r(100, 999)} {r(1000000, 9999999)}"

    def street(self) -> str:
        return f"{self.rng.randrange(1, 999)} {self.pick(STREETS)}"


def iso(moment: datetime, micro: bool = False) -> str:
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def draw_identities(gen: Generator) -> list[Identity]:
    identities = []
    for i in range(SHARED_IDENTITIES):
        first, last = gen.person()
        company = f"{gen.pick(COMPANY_STEMS)} Shared {i:02d} {gen.pick(COMPANY_SUFFIXES)}"
        identities.append(
            Identity(
                company=company,
                person_first=first,
                person_last=last,
                email=f"billing{i:02d}@{gen.domain(company)}",
                external_id=f"shared-{i:03d}",
                tax_number=f"GB{gen.rng.randrange(100000000, 999999999)}",
                city=gen.pick(CITIES),
            )
        )
    return identities


__all__ = [
    "BASE_TIME",
    "JSON",
    "SHARED_IDENTITIES",
    "Generator",
    "Identity",
    "draw_identities",
    "iso",
]
