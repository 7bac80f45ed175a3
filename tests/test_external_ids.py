"""`customerByExternalId` over several accounts: which answer wins, and when it is an error."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import GatewayError, UpstreamUnavailable
from gateway.loaders.external_ids import first_by_external_id
from gateway.providers.lago import LAGO


class Account:
    """A source that answers `get_by_external_id` with `answer` (raised if an error)."""

    provider = LAGO

    def __init__(self, account: str, answer: Any) -> None:
        self.account = account
        self.answer = answer
        self.asked: list[str] = []

    async def get_by_external_id(self, external_id: str) -> Any:
        self.asked.append(external_id)
        if isinstance(self.answer, GatewayError):
            raise self.answer
        return self.answer


async def test_every_account_is_asked_and_the_first_configured_answer_wins() -> None:
    sources = [Account("a", None), Account("b", "from-b"), Account("c", "from-c")]
    assert await first_by_external_id(sources, "x") == "from-b"  # type: ignore[arg-type]
    assert [s.asked for s in sources] == [["x"], ["x"], ["x"]]


async def test_a_failure_before_the_answer_is_the_error_not_skipped() -> None:
    failure = UpstreamUnavailable(LAGO)
    sources = [Account("a", failure), Account("b", "from-b")]
    with pytest.raises(UpstreamUnavailable):
        await first_by_external_id(sources, "x")  # type: ignore[arg-type]


async def test_a_failure_after_the_answer_does_not_matter() -> None:
    sources = [Account("a", "from-a"), Account("b", UpstreamUnavailable(LAGO))]
    assert await first_by_external_id(sources, "x") == "from-a"  # type: ignore[arg-type]


async def test_no_account_with_the_id_is_none() -> None:
    assert await first_by_external_id([Account("a", None), Account("b", None)], "x") is None  # type: ignore[list-item]
    assert await first_by_external_id([], "x") is None
