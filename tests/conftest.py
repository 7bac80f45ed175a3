from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox import Sandbox
from tests.support import GatewayClient, gateway_client


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
async def gateway(sandbox: Sandbox) -> AsyncIterator[GatewayClient]:
    async with gateway_client(sandbox=sandbox) as client:
        yield client


@pytest.fixture
async def sandbox_http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose every request lands on the in-process sandbox."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sandbox.app), base_url="http://sandbox.invalid"
    ) as http:
        yield http
