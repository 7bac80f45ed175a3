"""The seams every provider implements: a connector, the customer source it opens, its webhooks.

A provider is one folder under gateway/providers/ and one `Connector` in the registry
(gateway/providers/registry.py). Everything outside the folder reaches the provider through
these protocols: settings loading validates its connection model, tenants open its sources,
the webhook route hands it deliveries, and the cache and gates take its default policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import SecretStr

from gateway.cache.keys import Account
from gateway.cache.upstream import UpstreamCache
from gateway.domain.change import ChangeKind
from gateway.domain.customer import Customer
from gateway.domain.filter import CustomerFilter
from gateway.domain.freshness import Freshness
from gateway.domain.provider import Provider
from gateway.errors import GatewayError, RecordUnreadable
from gateway.providers.transport import RetryAfterReader, retry_after_seconds
from gateway.providers.upstream import Upstream
from gateway.settings.model import CachePolicySettings, ProviderLimits, Section
from gateway.webhooks.signatures import Verdict

ConnectionT = TypeVar("ConnectionT", bound=Section, contravariant=True)
# Invariant: a connector both names its connection model and takes its instances.
ConnectionModelT = TypeVar("ConnectionModelT", bound=Section)


@dataclass(frozen=True, slots=True)
class Page:
    """One upstream page: the items in the provider's order and the token of the next page.

    `unreadable` holds the records of the page the gateway could not read, each with the
    number of `items` before it, so a listing reports each one once, where it would have been.
    `freshness` is how fresh this read of the page is: its items are shared by every read of
    the same cached bytes, so they do not carry it (a page of 100 copied on every read cost
    more than the rest of a request); a listing hands it on beside each customer it shows.
    """

    items: tuple[Customer, ...]
    next_token: str | None
    # Records of the page that could not be read, each after the customers before it.
    unreadable: tuple[tuple[int, RecordUnreadable], ...] = ()
    # How many customers the query sent matches in all, when the provider says (totalCount).
    total: int | None = None
    freshness: Freshness | None = None


class CustomerSource(Protocol):
    """One tenant's connection to one provider account.

    `list_page` sends the provider a superset query for `filter` (push-down) and returns the page
    as received; the caller applies `filter.matches` to the items.
    """

    @property
    def provider(self) -> Provider: ...

    @property
    def account(self) -> str: ...

    def can_match(self, filter: CustomerFilter) -> bool:
        """False when no customer of this provider can pass `filter`, so no call is needed."""
        ...

    async def list_page(self, filter: CustomerFilter, token: str | None) -> Page: ...

    async def get(self, native_id: str) -> Customer | None:
        """None when there is no such customer; raises `RecordUnreadable` when there is one
        the gateway cannot read."""
        ...

    async def get_by_external_id(self, external_id: str) -> Customer | None: ...

    async def peek(self, native_id: str) -> Customer | None:
        """The customer as a fresh cache entry holds it (a read's, or a webhook's), never a
        provider call; None when the cache holds no readable one."""
        ...

    async def get_many(
        self, native_ids: Sequence[str]
    ) -> dict[str, Customer | GatewayError | None]:
        """Several customers at once; a failed id carries its error, the others their data."""
        ...


@runtime_checkable
class AccountListing(Protocol):
    """A source that lists its whole account in larger pages than `list_page` takes, for an
    account-wide index (`sameAs`, docs/links.md); a source without it is indexed through
    `list_page`. Usage: `page = await source.index_page(page.next_token)`, from None."""

    async def index_page(self, token: str | None) -> Page:
        """Every customer of the account, unfiltered, one large page at a time; the first
        page is taken from the cache when a `list_page` answer there already holds them all."""
        ...


@dataclass(frozen=True, slots=True)
class Policy:
    """A provider's defaults: what `[limits.<key>]` and `[cache.<key>]` override, and how its
    rate-limit answers say when to come back."""

    limits: ProviderLimits
    cache: CachePolicySettings = field(default_factory=CachePolicySettings)
    retry_after: RetryAfterReader = retry_after_seconds


class WebhookReceiver(Protocol[ConnectionT]):
    """How a provider's deliveries are checked and what they do to the cache."""

    def secret(self, connection: ConnectionT) -> SecretStr | None:
        """The connection's signing secret; None: this connection takes no webhooks."""
        ...

    def event_id(self, headers: Mapping[str, str]) -> str | None:
        """The id the provider keeps across redeliveries of one event."""
        ...

    async def verify(
        self,
        secret: str,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        tolerance: float,
        *,
        connection: ConnectionT,
        http: httpx.AsyncClient,
    ) -> Verdict:
        """Whether the delivery is the provider's. `http` is the connection's own client (its
        gate, breaker and credential's route), for a provider whose verification needs a call
        of its own, such as Lago's public key for JWT signatures."""
        ...

    async def apply(
        self,
        account: Account,
        connection: ConnectionT,
        cache: UpstreamCache,
        event: dict[str, Any],
    ) -> str:
        """What the event did: "replaced", "retired", "stale" or "ignored"."""
        ...

    def changed(self, event: dict[str, Any]) -> tuple[str, ChangeKind] | None:
        """The customer (its native id) a verified event says changed, and how; None when
        the event names no one customer (live subscribers hear of it only then)."""
        ...


class Connector(Protocol[ConnectionModelT]):
    """One provider: its identity, its settings model, its defaults, and how to open it."""

    @property
    def provider(self) -> Provider: ...

    @property
    def connection(self) -> type[ConnectionModelT]:
        """The model of a tenant's `[tenants.<key>]` table."""
        ...

    @property
    def details(self) -> type:
        """The dataclass of the provider's own fields in `Customer.details`."""
        ...

    @property
    def policy(self) -> Policy: ...

    @property
    def webhook(self) -> WebhookReceiver[ConnectionModelT] | None: ...

    @property
    def account_field(self) -> str | None:
        """The connection model's field that names the account, when one credential reaches
        many accounts (Layer businesses, Codat companies): a tenant may then read any account
        its callers' tokens name (`accounts = "from_claims"`). None: one account a credential.
        """
        ...

    def account(self, connection: ConnectionModelT) -> str:
        """The provider account the connection reads: in ids, cache keys and cursors."""
        ...

    def credential(self, connection: ConnectionModelT) -> str:
        """What the provider limits and fails by (a key, a client id, a company): the gate
        and the breaker are shared by every connection with the same credential."""
        ...

    def source(self, connection: ConnectionModelT, upstream: Upstream) -> CustomerSource: ...


__all__ = ["AccountListing", "Connector", "CustomerSource", "Page", "Policy", "WebhookReceiver"]
