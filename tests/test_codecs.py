"""Property tests for the global-id and cursor codecs."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.cursor import Cursor, StreamPosition, decode_cursor, encode_cursor
from gateway.domain.customer import CustomerKey
from gateway.errors import BadUserInput
from gateway.ids import decode_id, encode_id
from tests.support import PROVIDERS

keys = st.builds(
    CustomerKey,
    st.sampled_from(list(PROVIDERS)),
    st.text(min_size=1, max_size=80),
    st.text(min_size=1, max_size=120),
)
positions = st.builds(
    StreamPosition,
    st.none() | st.text(max_size=60),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.booleans(),
)
cursors = st.builds(
    Cursor,
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
    # A stream is a provider account; an account id may hold any character, ":" included.
    st.dictionaries(
        st.tuples(st.sampled_from(list(PROVIDERS)), st.text(max_size=40)), positions, min_size=1
    ),
)


@given(keys)
def test_ids_round_trip_and_are_url_safe(key: CustomerKey) -> None:
    text = encode_id(key)
    assert decode_id(text) == key
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(st.text(max_size=300))
def test_arbitrary_text_is_an_id_or_bad_user_input(text: str) -> None:
    try:
        key = decode_id(text)
    except BadUserInput:
        return
    assert encode_id(key).rstrip("=") == text.rstrip("=")


@given(cursors)
def test_cursors_round_trip(cursor: Cursor) -> None:
    assert decode_cursor(encode_cursor(cursor)) == cursor


@given(st.text(max_size=300))
def test_arbitrary_text_is_a_cursor_or_bad_user_input(text: str) -> None:
    # Anything but BadUserInput escaping here would be a 500 for the client.
    with contextlib.suppress(BadUserInput):
        decode_cursor(text)


@pytest.mark.parametrize(
    "payload",
    [
        '{"v":1,"f":"x","p":{"LAYER":[null,-1,0,false]}}',
        '{"v":1,"f":"x","p":{"NOPE":[null,0,0,false]}}',
        '{"v":1,"f":"x","p":{"LAYER":[7,0,0,false]}}',
        '{"v":2,"f":"x","p":{}}',
    ],
)
def test_structurally_wrong_cursors_are_refused(payload: str) -> None:
    import base64

    text = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    with pytest.raises(BadUserInput):
        decode_cursor(text)
