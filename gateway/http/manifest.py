"""The trusted-documents manifest: the operations a `require` (or `allow`) gateway runs by id.

Apollo's `apollo-persisted-query-manifest` format or a plain `{id: document}` map, read at
start (a broken file stops the gateway) and reloaded when the file changes (a broken file then
keeps the last good manifest).

Usage: `manifest = ManifestFile(path)`, `manifest.current.get(document_id)`, and
`await manifest.watch(interval)` in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from gateway.errors import ConfigError

log = logging.getLogger("gateway.persisted")


@dataclass(frozen=True, slots=True)
class Manifest:
    operations: Mapping[str, str]
    mtime: float = 0.0

    def get(self, document_id: str) -> str | None:
        return self.operations.get(document_id.removeprefix("sha256:"))


EMPTY_MANIFEST = Manifest({})


def parse_manifest(raw: bytes) -> Manifest:
    """Apollo's `apollo-persisted-query-manifest` format, or a plain `{id: document}` map."""
    data = orjson.loads(raw)
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ValueError("the manifest has no operations list")
        found = {}
        for op in operations:
            if not isinstance(op, dict) or not isinstance(op.get("id"), str):
                raise ValueError("every operation needs an id")
            if not isinstance(op.get("body"), str):
                raise ValueError(f"operation {op['id']} has no body")
            found[op["id"]] = op["body"]
        return Manifest(found)
    if isinstance(data, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        return Manifest({k.removeprefix("sha256:"): v for k, v in data.items()})
    raise ValueError("not a persisted-query manifest")


class ManifestFile:
    """The manifest, reloaded when the file changes. A request keeps the manifest it started
    with; a reload swaps the reference, so nothing in flight is dropped. A broken file keeps
    the last good manifest and logs why."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.current = EMPTY_MANIFEST
        if path is not None:
            try:
                self.current = self._load(path)
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"cannot load the persisted-query manifest {path}: {exc}"
                ) from exc

    def reload_if_changed(self) -> bool:
        if self.path is None:
            return False
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            log.warning("persisted-query manifest %s is missing; keeping the last one", self.path)
            return False
        if mtime == self.current.mtime:
            return False
        try:
            self.current = self._load(self.path)
        except (OSError, ValueError) as exc:
            log.warning("persisted-query manifest not reloaded: %s", exc)
            return False
        log.info("persisted-query manifest reloaded: %d operations", len(self.current.operations))
        return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.reload_if_changed()

    @staticmethod
    def _load(path: Path) -> Manifest:
        mtime = path.stat().st_mtime
        manifest = parse_manifest(path.read_bytes())
        return Manifest(manifest.operations, mtime)


__all__ = ["EMPTY_MANIFEST", "Manifest", "ManifestFile", "parse_manifest"]
