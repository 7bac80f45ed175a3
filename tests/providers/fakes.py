"""MockTransport handlers that answer with the providers' real error bodies, and a source
that only lists, for federation tests of misbehaving providers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from gateway.domain.customer import Customer
from gateway.domain.filter import CustomerFilter
from gateway.providers.base import Page
from gateway.providers.lago import LAGO

Handler = Callable[[httpx.Request], httpx.Response]


def answering(status: int, body: object | bytes, headers: dict[str, str] | None = None) -> Handler:
    """Every API call gets this answer; Layer's token endpoint still issues tokens."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(
                200, json={"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
            )
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handle


def client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://mock.invalid")


class ListingSource:
    """A `CustomerSource` whose reads by id find nothing; subclasses say what `list_page` does
    and count its calls in `calls`."""

    provider = LAGO
    account = "org"

    def __init__(self) -> None:
        self.calls = 0

    def can_match(self, filter: CustomerFilter) -> bool:
        return True

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page:
        raise NotImplementedError

    async def get(self, native_id: str) -> Customer | None:
        return None

    async def get_by_external_id(self, external_id: str) -> Customer | None:
        return None

    async def peek(self, native_id: str) -> Customer | None:
        return None

    async def get_many(self, native_ids: Sequence[str]) -> dict[str, Any]:
        return {}
