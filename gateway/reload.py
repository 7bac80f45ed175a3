"""Configuration reload without a restart: tenants, their API keys and `[auth]`.

On SIGHUP, or when the settings file changes, the file is read and validated again. A bad
new configuration is refused with one log line and the running one kept. A good one is built
aside and swapped in: the tenant directory and the authenticator each replace their state in
one step, so a request in flight finishes with what it started with and no request is
dropped. A tenant whose settings did not change keeps its connections (and its views, pools
and tokens); a replaced or removed tenant's connections are closed once every request that
may hold them is past its deadline.

What a reload does not change (host, port, cache backend, limits, ...) takes a restart; a
reload that changes it says so in the log. Secrets rotate through the file as
`"${file:/run/secrets/key}"` references (gateway/settings/load.py) or by listing the new
API key beside the old one while clients move over.

Usage: `reloader = ConfigReload(...)`; in the app's lifespan `reloader.install_sighup()` and
`await reloader.watch(interval)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import Callable
from pathlib import Path

from gateway.auth.callers import Authenticator
from gateway.auth.jwt import JwtVerifier
from gateway.errors import ConfigError
from gateway.loaders.links import prewarm_links
from gateway.providers.registry import Registry
from gateway.settings.load import load_settings
from gateway.settings.model import JwtSettings, Settings
from gateway.tenants import SharedUpstream, Tenant, TenantDirectory, build_tenant

log = logging.getLogger("gateway.reload")

# The parts of the settings a reload applies; every other change waits for a restart.
RELOADED = frozenset({"tenants", "auth"})


class ConfigReload:
    def __init__(
        self,
        path: Path,
        settings: Settings,
        registry: Registry,
        shared: SharedUpstream,
        directory: TenantDirectory,
        authenticator: Authenticator,
        swap_schema: Callable[[Settings], None],
        verifier_for: Callable[[JwtSettings], JwtVerifier],
        *,
        load: Callable[[Path], Settings] = load_settings,
    ) -> None:
        self.path = path
        self.settings = settings
        self.registry = registry
        self.shared = shared
        self.directory = directory
        self.authenticator = authenticator
        self.swap_schema = swap_schema
        self.verifier_for = verifier_for
        self.load = load
        self._stamp = _stamp(path)
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Task[object]] = set()
        # Requests end by their deadline: past it, nothing holds a replaced connection.
        self.grace = settings.resilience.request_deadline_seconds + 1.0

    async def reload(self) -> bool:
        """Read the file again and serve it; False (and the running configuration kept) when
        it is not valid."""
        async with self._lock:
            self._stamp = _stamp(self.path)
            try:
                new = self.load(self.path)
                if self.settings.tenants and not new.tenants:
                    # An empty or truncated file (an editor saving in place, a half-synced
                    # volume) reads as "no tenants": never a reason to drop every tenant.
                    raise ConfigError("the file names no tenants; a reload keeps the running ones")
                tenants = self._tenants(new)
                self.registry.check(new)
            except ConfigError as exc:
                log.error("configuration reload refused, still serving the previous one: %s", exc)
                return False
            self._apply(new, tenants)
            return True

    async def watch(self, interval: float) -> None:
        """Reload when the file's modification time or size changes, or a secret file's it
        names (`${file:...}`): a secret store rotating a key in place is a change too."""
        while True:
            await asyncio.sleep(interval)
            if _stamp(self.path) != self._stamp:
                await self.reload()

    def install_sighup(self) -> None:
        """SIGHUP reloads (in the process that gets it: one gateway process, or one worker)."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)

    def remove_sighup(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)

    async def aclose(self) -> None:
        """At shutdown: close what replaced configurations left, now."""
        for task in list(self._closing):
            task.cancel()
        for task in list(self._closing):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the configuration from %s", self.path)
        task = asyncio.get_running_loop().create_task(self.reload())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _tenants(self, new: Settings) -> list[Tenant]:
        """The new configuration's tenants: the running one where its settings are equal."""
        running = {t.id: t for t in self.directory.tenants.values()}
        tenants = []
        for settings in new.tenants:
            same = running.get(settings.id)
            if same is not None and same.settings == settings:
                tenants.append(same)
            else:
                tenants.append(build_tenant(settings, self.registry, self.shared))
        return tenants

    def _apply(self, new: Settings, tenants: list[Tenant]) -> None:
        old_settings, old_tenants = self.settings, list(self.directory.tenants.values())
        kept = {id(t) for t in tenants}
        retired: list[Tenant] = [t for t in old_tenants if id(t) not in kept]
        old_verifier = self.authenticator.verifier
        verifier = old_verifier
        if new.auth.jwt != old_settings.auth.jwt:
            verifier = self.verifier_for(new.auth.jwt) if new.auth.jwt is not None else None
        if new.auth.field_scopes != old_settings.auth.field_scopes:
            self.swap_schema(new)
        # The swap: tenants, then how callers map to them. No await in between.
        self.directory.replace(tenants)
        if self.settings.cache.links_prewarm:
            for tenant in tenants:
                prewarm_links(tenant, self.settings.limits.max_filter_scan_pages)
        self.authenticator.configure(new.auth, verifier)
        self.settings = new
        unchanged = [
            name
            for name in type(new).model_fields
            if name not in RELOADED and getattr(new, name) != getattr(old_settings, name)
        ]
        if unchanged:
            log.warning(
                "configuration reloaded; changes to %s take effect on restart", ", ".join(unchanged)
            )
        log.info(
            "configuration reloaded: %d tenants (%d rebuilt)",
            len(tenants),
            sum(1 for t in tenants if all(t is not o for o in old_tenants)),
        )
        stale_verifier = old_verifier if verifier is not old_verifier else None
        if retired or stale_verifier is not None:
            task = asyncio.get_running_loop().create_task(self._retire(retired, stale_verifier))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _retire(self, tenants: list[Tenant], verifier: JwtVerifier | None) -> None:
        try:
            await asyncio.sleep(self.grace)
        finally:
            for tenant in tenants:
                await tenant.close()
            if verifier is not None:
                await verifier.aclose()


# A secret the file reads from another file: rotating it there is a change too.
_SECRET_FILE = re.compile(r"\$\{file:(/[^}]+)\}")
Stamp = tuple[tuple[str, int, int] | None, ...]


def ignore_sighup() -> Callable[[], None]:
    """With no settings file there is nothing to reload: SIGHUP is logged, not fatal (its
    default action ends the process). Returns what removes the handler."""
    loop = asyncio.get_running_loop()
    message = "SIGHUP: no settings file to reload (serve --config FILE); ignored"
    try:
        loop.add_signal_handler(signal.SIGHUP, log.info, message)
    except (NotImplementedError, RuntimeError, ValueError):
        return lambda: None
    return lambda: _remove_sighup(loop)


def _remove_sighup(loop: asyncio.AbstractEventLoop) -> None:
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.remove_signal_handler(signal.SIGHUP)


def _stamp(path: Path) -> Stamp:
    """The settings file's modification time and size, and each secret file's it names."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return (None,)
    return tuple(_file_stamp(p) for p in (str(path), *sorted(set(_SECRET_FILE.findall(text)))))


def _file_stamp(name: str) -> tuple[str, int, int] | None:
    try:
        stat = Path(name).stat()
    except OSError:
        return None
    return name, stat.st_mtime_ns, stat.st_size


__all__ = ["RELOADED", "ConfigReload", "ignore_sighup"]
