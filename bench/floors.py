"""The floors the gateway is measured against, served on their own:

- `static`: a bare Starlette route returning pre-encoded bytes (the same bytes the gateway
  returns for the benchmark query);
- `strawberry`: plain Strawberry, with parser and validation caches and orjson, over
  in-memory objects of the same shape as the gateway's answer.

Run: uvicorn --factory bench.floors:static_app  (or strawberry_app); BENCH_BODY_FILE and
BENCH_ITEMS say what to serve.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


def static_app() -> Starlette:
    body = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()

    async def answer(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/graphql", answer, methods=["GET", "POST"])])


@strawberry.type
class Address:
    type: str
    city: str | None
    country: str | None


@strawberry.type
class Node:
    provider: str
    display_name: str | None
    email: str | None
    status: str
    addresses: list[Address]


@strawberry.type
class Edge:
    cursor: str
    node: Node


@strawberry.type
class Connection:
    edges: list[Edge]


def _items() -> list[Edge]:
    raw: list[dict[str, Any]] = orjson.loads(Path(os.environ["BENCH_ITEMS"]).read_bytes())
    return [
        Edge(
            cursor=i["cursor"],
            node=Node(
                provider=i["node"]["provider"],
                display_name=i["node"]["displayName"],
                email=i["node"]["email"],
                status=i["node"]["status"],
                addresses=[Address(**a) for a in i["node"]["addresses"]],
            ),
        )
        for i in raw
    ]


class _OrjsonGraphQL(GraphQL):  # type: ignore[type-arg]
    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def strawberry_app() -> Starlette:
    items = _items()

    @strawberry.type
    class Query:
        @strawberry.field
        async def customers(self, first: int = 20) -> Connection:
            return Connection(edges=items[:first])

    schema = strawberry.Schema(
        query=Query,
        extensions=[partial(ParserCache, maxsize=256), partial(ValidationCache, maxsize=256)],
    )
    return Starlette(routes=[Route("/graphql", _OrjsonGraphQL(schema, graphql_ide=None))])
