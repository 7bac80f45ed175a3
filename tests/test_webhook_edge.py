"""The webhook route answers every request with JSON and a code, whatever its headers or
method, and logs no traceback (found by an adversarial probe: a timestamp header of a
non-ASCII digit reached `int()` and came back as uvicorn's plain-text 500)."""

from __future__ import annotations

import logging

import pytest

from tests.support import GatewayClient

STANDARD = {"webhook-id": "msg_1", "webhook-signature": "v1,x", "content-type": "application/json"}


@pytest.mark.parametrize(
    "timestamp",
    [b"\xb2", "\u0662\u0660".encode(), b"9" * 4400, b"-1", b"1e9", b" 17 ", b"0x10"],
    ids=[
        "superscript two",
        "arabic-indic digits",
        "4400 digits",
        "negative",
        "exponent",
        "spaces",
        "hex",
    ],
)
@pytest.mark.parametrize("provider", ["codat", "layer"])
async def test_a_malformed_timestamp_is_an_invalid_signature(
    gateway: GatewayClient, caplog: pytest.LogCaptureFixture, provider: str, timestamp: bytes
) -> None:
    with caplog.at_level(logging.INFO):
        response = await gateway.http.post(
            f"/webhooks/{provider}",
            content=b"{}",
            headers={**STANDARD, "webhook-timestamp": timestamp},  # type: ignore[dict-item]
        )
    assert response.status_code == 401
    assert response.json()["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not gateway.upstream.requests


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD"])
async def test_other_methods_get_a_json_405(gateway: GatewayClient, method: str) -> None:
    response = await gateway.http.request(method, "/webhooks/lago")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    if method != "HEAD":
        assert response.headers["content-type"] == "application/json"
        assert response.json()["code"] == "WEBHOOK_METHOD_NOT_ALLOWED"
