"""The root Query: thin resolvers that read arguments, call the loaders or sources, and map."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.backward import list_customers_before
from gateway.context import Context, PartialError
from gateway.cursor import CursorKey
from gateway.domain.customer import Customer
from gateway.domain.filter import EMPTY_FILTER, CustomerFilter
from gateway.errors import BadUserInput
from gateway.federation import FederatedPage, list_customers
from gateway.ids import decode_id
from gateway.ledger import demanding_max_age
from gateway.loaders.external_ids import first_by_external_id
from gateway.ordered import list_customers_ordered
from gateway.providers.base import CustomerSource
from gateway.totals import count_customers
from resolvers.types.connection import CustomerConnection, CustomerEdge, PageInfo
from resolvers.types.customer import CustomerInterface, Node, customer_from_domain
from resolvers.types.enums import Provider
from resolvers.types.filter import CustomerFilterInput
from resolvers.types.order import CustomerOrderInput

GatewayInfo = Info[Context, None]
MAX_AGE = (
    "Seconds: cached data this old or older is read from the provider again before answering "
    "(0: always). If the provider then fails, the older data may still come, with freshness "
    "STALE (docs/freshness.md)."
)


async def load_customer(
    context: Context, global_id: str, max_age: int | None = None
) -> Customer | None:
    """The body of `node` and `customer` (the latter checks `max_age` first), shared with
    compiled operations (resolvers/compiled/)."""
    # Another tenant's account, or a provider this tenant has not connected, loads as None.
    return await context.customers_within(max_age).load(decode_id(global_id))


async def read_customer(context: Context, id: str, max_age: int | None = None) -> Customer | None:
    """`Query.customer`'s body: `maxAge` checked, then the customer loaded."""
    return await load_customer(context, id, _max_age(max_age))


async def _load(
    info: GatewayInfo, global_id: str, max_age: int | None = None
) -> CustomerInterface | None:
    customer = await load_customer(info.context, global_id, max_age)
    return customer_from_domain(customer) if customer else None


def _max_age(max_age: int | None) -> int | None:
    if max_age is not None and max_age < 0:
        raise BadUserInput("maxAge must be 0 or more seconds")
    return max_age


async def _count(sources: list[CustomerSource], filter: CustomerFilter, max_age: int | None) -> int:
    # Resolved after `customers` returns: its maxAge must hold for the count's reads too.
    with demanding_max_age(max_age):
        return await count_customers(sources, filter)


@dataclass(frozen=True, slots=True)
class CustomersRead:
    """What `customers` read: the page, and how to count every customer it pages through."""

    page: FederatedPage
    sources: tuple[CustomerSource, ...]
    filter: CustomerFilter
    max_age: int | None

    def count(self) -> Awaitable[int]:
        """`totalCount`: what an ordered page counted already, else the providers' totals."""
        if self.page.total is not None:
            return _known(self.page.total)
        return _count(list(self.sources), self.filter, self.max_age)


async def read_customers(
    context: Context,
    path: tuple[str | int, ...],
    *,
    providers: list[Provider] | None = None,
    filter: CustomerFilterInput | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    order_by: CustomerOrderInput | None = None,
    max_age: int | None = None,
) -> CustomersRead:
    """The body of `Query.customers`, shared with compiled operations (resolvers/compiled/):
    checks the arguments, reads the page and reports each failed provider at `path`."""
    max_age = _max_age(max_age)
    limits = context.settings.limits
    backward = _direction(first, after, last, before)
    asked = last if backward else first
    size = limits.default_page_size if asked is None else asked
    if not 0 < size <= limits.max_page_size:
        name = "last" if backward else "first"
        raise BadUserInput(f"{name} must be between 1 and {limits.max_page_size}")
    sources = context.tenant.sources
    wanted = set(providers) if providers is not None else {s.provider for s in sources}
    chosen = tuple(s for s in sources if s.provider in wanted)
    domain_filter = filter.to_domain() if filter else EMPTY_FILTER
    read = list_customers_before if backward else list_customers
    if order_by is not None:
        read = partial(list_customers_ordered, order=order_by.to_domain(), backward=backward)
    with demanding_max_age(max_age):
        page = await read(
            chosen,
            domain_filter,
            size,
            before if backward else after,
            tenant=context.tenant.id,
            key=CursorKey.of(context.settings.cursor_key),
            max_scan_pages=limits.max_filter_scan_pages,
        )
    context.partial_errors.extend(PartialError(e, path) for e in page.errors)
    return CustomersRead(page, chosen, domain_filter, max_age)


@strawberry.type
class Query:
    # Exactly `node(id: ID!): Node`, as Relay's compiler requires of the field it refetches
    # through: a maximum age goes in `Cache-Control: max-age`, or through `customer(maxAge:)`.
    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: GatewayInfo, id: strawberry.ID) -> Node | None:
        return await _load(info, id, None)

    @strawberry.field(
        description="Several objects by global id, in the order asked (at most 100). Reads are "
        "batched per provider account; an id that fails nulls only its own position.",
        # Each position is awaited on its own, so one failure nulls one position only.
        graphql_type=list[Node | None],
    )
    def nodes(
        self,
        info: GatewayInfo,
        ids: list[strawberry.ID],
        max_age: Annotated[int | None, strawberry.argument(description=MAX_AGE)] = None,
    ) -> list[Awaitable[Node | None]]:
        limit = info.context.settings.limits.max_nodes
        if len(ids) > limit:
            raise BadUserInput(f"nodes takes at most {limit} ids")
        max_age = _max_age(max_age)
        return [_load(info, i, max_age) for i in ids]

    @strawberry.field(description="A customer by its global id; null when there is none.")
    async def customer(
        self,
        info: GatewayInfo,
        id: strawberry.ID,
        max_age: Annotated[int | None, strawberry.argument(description=MAX_AGE)] = None,
    ) -> CustomerInterface | None:
        customer = await read_customer(info.context, id, max_age)
        return customer_from_domain(customer) if customer else None

    @strawberry.field(
        description="A customer by your own id. Codat keeps no external ids, so CODAT gives "
        "null. With `account`, only that account of the provider is asked (null when the "
        "tenant has no such account); without, every account of the provider is asked at "
        "once, and the first in the order the tenant configures them that has the id wins."
    )
    async def customer_by_external_id(
        self,
        info: GatewayInfo,
        provider: Provider,
        external_id: str,
        account: str | None = None,
        max_age: Annotated[int | None, strawberry.argument(description=MAX_AGE)] = None,
    ) -> CustomerInterface | None:
        max_age = _max_age(max_age)
        if not 0 < len(external_id) <= 255:
            raise BadUserInput("externalId must be 1 to 255 characters")
        if account is not None and not 0 < len(account) <= 255:
            raise BadUserInput("account must be 1 to 255 characters")
        tenant = info.context.tenant
        if account is None:
            sources = tenant.sources_of(provider)
        else:
            source = tenant.source(provider, account)
            sources = (source,) if source is not None else ()
        with demanding_max_age(max_age):
            customer = await first_by_external_id(sources, external_id)
        return customer_from_domain(customer) if customer else None

    @strawberry.field(
        description="Customers of the requested providers (default: all connected), read "
        "concurrently. When a provider fails, the others' customers still come back, with one "
        "error per failed provider. A filter a provider cannot apply itself reads a bounded "
        "number of its pages per request: a short page then comes with a FILTER_SCAN_LIMIT "
        "error, and endCursor continues the scan. A cursor is valid only for the caller, "
        "filter and providers it came from (INVALID_CURSOR otherwise). `last`/`before` page "
        "backwards through the same sequence: each such page re-reads every provider from its "
        "first page up to `before` (FILTER_SCAN_LIMIT when that takes more pages than the "
        "scan bound). With `orderBy`, every page reads each provider account whole (up to "
        "the scan bound's pages, cached between pages) and sorts across all of them: an "
        "account with more is refused with ORDER_SCAN_LIMIT, never sorted in part; cursors "
        "then hold their customer's place and work only with the same orderBy."
    )
    async def customers(
        self,
        info: GatewayInfo,
        providers: list[Provider] | None = None,
        filter: CustomerFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: CustomerOrderInput | None = None,
        max_age: Annotated[int | None, strawberry.argument(description=MAX_AGE)] = None,
    ) -> CustomerConnection:
        read = await read_customers(
            info.context,
            tuple(info.path.as_list()),
            providers=providers,
            filter=filter,
            first=first,
            after=after,
            last=last,
            before=before,
            order_by=order_by,
            max_age=max_age,
        )
        page = read.page
        return CustomerConnection(
            edges=[
                CustomerEdge(cursor=e.cursor, node=customer_from_domain(e.customer, e.freshness))
                for e in page.edges
            ],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            count=read.count,
        )


async def _known(total: int) -> int:
    # An ordered page read every matching customer, so it has counted them already.
    return total


def _direction(first: int | None, after: str | None, last: int | None, before: str | None) -> bool:
    """True for a backward page (`last`, `before`); refuses a mix of the two directions."""
    backward = last is not None or before is not None
    if backward and (first is not None or after is not None):
        # One direction per page: Relay's pagination never sends both.
        raise BadUserInput("page with first/after or with last/before, not both")
    if before is not None and last is None:
        raise BadUserInput("before needs last")
    return backward


__all__ = ["CustomersRead", "Query", "load_customer", "read_customer", "read_customers"]
