"""The official OpenAPI files, loaded once, and a bridge from httpx messages to openapi-core."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.support import VENDOR

LAGO_HOST = "https://api.getlago.com"
CODAT_HOST = "https://api.codat.io"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(path: str) -> dict[str, Any]:
    with (VENDOR / "specs" / path).open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_LOADER)  # noqa: S506 - safe loader
    return loaded


@cache
def lago_spec() -> OpenAPI:
    return OpenAPI.from_dict(_load("lago/openapi.yaml"))


@cache
def codat_spec() -> OpenAPI:
    """Codat's file, read with OpenAPI 3.0 schema semantics, plus one stated amendment.

    The file says `openapi: 3.1.0` but marks optional values with 3.0's `nullable: true`, which
    a 3.1 validator ignores, so every documented null would fail; 3.0 semantics read it as its
    authors meant. The amendment: Codat's own documented example customer (vendor/reference)
    sends `modifiedDate: null` and `sourceModifiedDate: null`, which the shared "Date time"
    schema does not allow; that one schema is made nullable here, and nothing else is changed.
    """
    spec = copy.deepcopy(_load("codat/Codat-Sync-Expenses.yaml"))
    date_time = spec["components"]["schemas"]["TransferTransactionRequest"]["properties"]["date"][
        "allOf"
    ][1]
    assert date_time["title"] == "Date time"
    date_time["nullable"] = True
    from openapi_core import Config, V30RequestValidator, V30ResponseValidator

    config = Config(
        request_validator_cls=V30RequestValidator, response_validator_cls=V30ResponseValidator
    )
    return OpenAPI.from_dict(spec, config=config)


def as_spec_request(request: httpx.Request, mount: str, host: str, prefix: str = "") -> MockRequest:
    """The sandbox request as if it had been sent to the provider's own host."""
    path = request.url.path
    assert path.startswith(mount), path
    return MockRequest(
        host,
        request.method.lower(),
        prefix + path[len(mount) :],
        args=list(request.url.params.multi_items()),
        headers=dict(request.headers),
    )


def as_spec_response(response: httpx.Response) -> MockResponse:
    return MockResponse(
        response.content,
        status_code=response.status_code,
        content_type=response.headers["content-type"].split(";")[0],
        headers=dict(response.headers),
    )
