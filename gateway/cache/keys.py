"""The only place cache keys are built. Tenant first, always.

    cg1:<tenant>:<provider>:<account>:g<generation>:<resource>:<hash of parameters>

Every part but the hash is percent-encoded, so no value can forge a separator. The generation
belongs to (tenant, provider, account); bumping it retires every entry of that account at once
(what a Codat `read.completed` webhook asks for).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from gateway.domain.provider import Provider

VERSION = "cg1"


@dataclass(frozen=True, slots=True)
class Account:
    """Whose data: the tenant, the provider and the provider account."""

    tenant: str
    provider: Provider
    id: str

    def prefix(self) -> str:
        return f"{VERSION}:{_part(self.tenant)}:{self.provider.value}:{_part(self.id)}"


def generation_key(account: Account) -> str:
    return f"{account.prefix()}:generation"


def change_key(account: Account, generation: int) -> str:
    """What a webhook changed to bring `account` to `generation`: outside every generation's
    prefix, so it outlives the entries the bump retired (gateway/loaders/account_index.py)."""
    return f"{account.prefix()}:change:{generation}"


def generation_prefix(account: Account, generation: int) -> str:
    """What every entry key of `account` in `generation` starts with."""
    return f"{account.prefix()}:g{generation}:"


def entry_key(account: Account, generation: int, resource: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{_part(k)}={_part(v)}" for k, v in sorted(params.items()))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:32]
    return f"{generation_prefix(account, generation)}{_part(resource)}:{digest}"


def persisted_query_key(tenant: str, sha256: str) -> str:
    """An APQ registration: per tenant, so one tenant cannot probe another's operations."""
    return f"{VERSION}:{_part(tenant)}:apq:{_part(sha256)}"


def lock_key(key: str) -> str:
    return f"{key}:lock"


@functools.lru_cache(maxsize=8192)
def _part(value: str) -> str:
    # Kept: the same tenant, account and resource names are encoded on every cache read.
    return quote(value, safe="")


__all__ = [
    "VERSION",
    "Account",
    "entry_key",
    "generation_key",
    "generation_prefix",
    "lock_key",
    "persisted_query_key",
]
