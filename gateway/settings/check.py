"""`customer-gateway check-config FILE`: validate a settings file the way `serve` would, and say
either what it configures in one line or every problem it has, one per line.

    $ customer-gateway check-config gateway.toml
    ok: 2 tenants, 4 provider accounts (layer 1, codat 1, lago 2); production mode; ...

Nothing it prints holds a secret or a URL (a Redis URL may carry a password).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from gateway.errors import ConfigError
from gateway.providers.registry import Registry, default_connectors
from gateway.settings.load import load_settings
from gateway.settings.model import Settings

# A usage or settings error, as for argparse's.
EXIT_INVALID = 2


def check_config(
    path: Path, environ: Mapping[str, str] | None = None, registry: Registry | None = None
) -> int:
    """Print the summary (stdout) and return 0, or every problem (stderr) and return 2."""
    registry = registry or Registry(default_connectors())
    try:
        settings = load_settings(path, os.environ if environ is None else environ, registry)
    except ConfigError as exc:
        print(f"customer-gateway: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(summary(settings, registry))
    return 0


def summary(settings: Settings, registry: Registry) -> str:
    """What valid settings configure, in one line."""
    accounts: Counter[str] = Counter()
    for tenant in settings.tenants:
        for key, connections in tenant.connections.items():
            accounts[key] += len(connections)
    tenants = f"{len(settings.tenants)} tenant{'s' if len(settings.tenants) != 1 else ''}"
    if settings.uses_sandbox:
        tenants += " (serve runs the sandbox's demo tenant)"
    else:
        # Registry order: the order `customers` interleaves providers.
        each = ", ".join(
            f"{c.provider.key} {accounts[c.provider.key]}"
            for c in registry
            if c.provider.key in accounts
        )
        total = sum(accounts.values())
        tenants += f", {total} provider account{'s' if total != 1 else ''} ({each})"
    auth = "api keys" + (", jwt" if settings.auth.jwt is not None else "")
    parts = [
        tenants,
        f"{settings.mode} mode",
        f"cache {'redis' if settings.cache.url else 'memory'}",
        f"persisted queries {settings.persisted_mode}",
        f"auth {auth}",
        f"cors {len(settings.cors_origins)} origin{'s' if len(settings.cors_origins) != 1 else ''}",
    ]
    return "ok: " + "; ".join(parts)


__all__ = ["EXIT_INVALID", "check_config", "summary"]
