"""The gateway's exceptions, each carrying the stable code clients see in `extensions.code`.

    GatewayError
    ├── BadUserInput            BAD_USER_INPUT: a malformed id or argument
    │   └── InvalidCursor           INVALID_CURSOR (classification BAD_USER_INPUT): a cursor
    │                               this gateway did not issue to this caller for this filter
    │                               and these providers
    ├── FilterScanLimit         FILTER_SCAN_LIMIT: the page bound stopped a provider's scan
    ├── BackwardScanLimit       BACKWARD_SCAN_LIMIT: a stream is too long to read back to here
    ├── OrderScanLimit          ORDER_SCAN_LIMIT: a stream is too large to read whole and sort
    ├── LinkScanLimit           LINK_SCAN_LIMIT: an account too large to index for `sameAs`
    ├── TotalCountUnknown       TOTAL_COUNT_UNKNOWN: a provider cannot say how many match
    │                           (these three carry classification BAD_USER_INPUT: the caller
    │                           can ask differently; none is a server failure)
    ├── TenantError             UNAUTHENTICATED: no or unknown gateway key
    │   └── AccountsRejected        TOKEN_CLAIMS_INVALID: a token names accounts no caller
    │                               may read at once (too many, or not an account id)
    ├── FieldForbidden          FORBIDDEN: the caller lacks a scope `[auth.field_scopes]`
    │                           requires of a field; that field alone is null
    ├── ConfigError             (start-up only) settings that cannot work
    └── UpstreamError           a provider call failed; carries the provider
        ├── UpstreamUnavailable     UPSTREAM_UNAVAILABLE: connection failed, 5xx
        ├── UpstreamTimeout         UPSTREAM_TIMEOUT
        ├── UpstreamRateLimited     UPSTREAM_RATE_LIMITED, with retry_after seconds
        ├── UpstreamAuthError       UPSTREAM_AUTH: the provider refused our credentials
        ├── UpstreamBadResponse     UPSTREAM_BAD_RESPONSE: a body we could not read
        ├── RecordUnreadable        RECORD_UNREADABLE: one record of a readable body does not
        │                           fit the wire model or the mapping; it costs only itself
        └── UpstreamRejected        UPSTREAM_REJECTED: the provider refused the request (4xx)

Messages are fixed per class and never include an upstream body, URL, header or credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from gateway.domain.provider import Provider


class GatewayError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extensions(self) -> dict[str, object]:
        return {"code": self.code}


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"

    def extensions(self) -> dict[str, object]:
        extensions = super().extensions()
        if self.code != BadUserInput.code:
            # A narrower code keeps its family in `classification`, so generic clients and
            # tools (which know BAD_USER_INPUT) still see the caller's mistake, not a failure.
            extensions["classification"] = BadUserInput.code
        return extensions


class InvalidCursor(BadUserInput):
    code = "INVALID_CURSOR"


class FilterScanLimit(GatewayError):
    """Not a failure: the page is short because the scan stopped; `endCursor` continues it."""

    code = "FILTER_SCAN_LIMIT"

    def __init__(self, provider: Provider) -> None:
        super().__init__(
            f"{provider.value}: the filter matched too few customers in the pages read; "
            "page on with endCursor to continue the scan"
        )
        self.provider = provider

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "provider": self.provider.value}


class StreamScanLimit(GatewayError):
    """A page that needs a stream read further than the page bound allows: no page can be given
    without skipping customers or sorting part of them. The caller can ask differently, so it
    carries the BAD_USER_INPUT family, as generic clients know it."""

    # What the stream has too many pages of, and what the caller can do instead.
    what: ClassVar[str]

    def __init__(self, provider: Provider, account: str, max_pages: int) -> None:
        super().__init__(
            f"{provider.value}: account {account} has more than {max_pages} pages {self.what}"
        )
        self.provider = provider
        self.account = account

    def extensions(self) -> dict[str, object]:
        return {
            "code": self.code,
            "classification": BadUserInput.code,
            "provider": self.provider.value,
            "account": self.account,
        }


class BackwardScanLimit(StreamScanLimit):
    """A backward page re-reads each stream forwards from its start, up to the point asked for."""

    code = "BACKWARD_SCAN_LIMIT"
    what = (
        "before this point, too many to read backwards; page backwards from a nearer cursor, "
        "or forwards"
    )


class OrderScanLimit(StreamScanLimit):
    """An ordered page needs every matching customer of every stream."""

    code = "ORDER_SCAN_LIMIT"
    what = "of matching customers, too many to sort; narrow the filter or page without orderBy"


class LinkScanLimit(GatewayError):
    """Not a failure: `sameAs` read the account's first pages only, so links to and from the
    customers after them are missing (docs/links.md)."""

    code = "LINK_SCAN_LIMIT"

    def __init__(self, provider: Provider, account: str, max_pages: int) -> None:
        super().__init__(
            f"{provider.value}: account {account} has more than {max_pages} pages of customers; "
            "sameAs links only the customers on them"
        )
        self.provider = provider
        self.account = account

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "provider": self.provider.value, "account": self.account}


class TotalCountUnknown(GatewayError):
    """Not a failure: `totalCount` is null because these providers cannot give an exact count."""

    code = "TOTAL_COUNT_UNKNOWN"

    def __init__(self, unknown: Mapping[Provider, str]) -> None:
        names = ", ".join(p.value for p in unknown)
        super().__init__(f"totalCount is unknown: {names} cannot say how many customers match")
        self.unknown = dict(unknown)

    def extensions(self) -> dict[str, object]:
        reasons = [{"provider": p.value, "reason": r} for p, r in self.unknown.items()]
        # Not a server failure: what was asked cannot be answered for these providers, and the
        # caller can ask without it (the family generic clients and fuzzers know).
        return {"code": self.code, "classification": BadUserInput.code, "providers": reasons}


class TenantError(GatewayError):
    code = "UNAUTHENTICATED"


class AccountsRejected(TenantError):
    code = "TOKEN_CLAIMS_INVALID"


class FieldForbidden(GatewayError):
    """A field the caller may not read (`[auth.field_scopes]`): it resolves to null, with this
    error at its path, and the rest of the answer is intact."""

    code = "FORBIDDEN"

    def __init__(self, field: str, missing: Iterable[str]) -> None:
        self.field = field
        self.missing = tuple(sorted(missing))
        plural = "s" if len(self.missing) > 1 else ""
        super().__init__(
            f"{field} requires the scope{plural} {', '.join(self.missing)}, "
            "which the caller does not hold"
        )

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "field": self.field, "missingScopes": list(self.missing)}


class ConfigError(GatewayError):
    code = "CONFIG_ERROR"


class UpstreamError(GatewayError):
    code = "UPSTREAM_ERROR"
    default_message: ClassVar[str] = "The provider could not be read"

    def __init__(self, provider: Provider, message: str | None = None) -> None:
        super().__init__(message or f"{provider.value}: {self.default_message}")
        self.provider = provider

    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "provider": self.provider.value}


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"
    default_message = "the provider is unavailable"


class UpstreamTimeout(UpstreamError):
    code = "UPSTREAM_TIMEOUT"
    default_message = "the provider did not answer in time"


class UpstreamRateLimited(UpstreamError):
    code = "UPSTREAM_RATE_LIMITED"
    default_message = "the provider is rate limiting this tenant"

    def __init__(self, provider: Provider, retry_after: float | None) -> None:
        super().__init__(provider)
        self.retry_after = retry_after

    def extensions(self) -> dict[str, object]:
        extensions = super().extensions()
        if self.retry_after is not None:
            extensions["retryAfter"] = self.retry_after
        return extensions


class UpstreamAuthError(UpstreamError):
    code = "UPSTREAM_AUTH"
    default_message = "the provider refused the configured credentials"


class UpstreamBadResponse(UpstreamError):
    code = "UPSTREAM_BAD_RESPONSE"
    default_message = "the provider sent a response the gateway could not read"


class RecordUnreadable(UpstreamError):
    """One record the provider sent that the gateway cannot read: left out of its list page,
    null where it is read by id. `field` is where in the record reading failed (dotted wire
    field names, never a value), so the record can be found and mended in the provider."""

    code = "RECORD_UNREADABLE"
    default_message = "a customer record could not be read"

    def __init__(self, provider: Provider, provider_id: str | None, field: str | None) -> None:
        super().__init__(provider)
        self.provider_id = provider_id
        self.field = field

    def extensions(self) -> dict[str, object]:
        return super().extensions() | {"providerId": self.provider_id, "field": self.field}


class UpstreamRejected(UpstreamError):
    code = "UPSTREAM_REJECTED"
    default_message = "the provider rejected the request"


__all__ = [
    "AccountsRejected",
    "BackwardScanLimit",
    "BadUserInput",
    "ConfigError",
    "FieldForbidden",
    "FilterScanLimit",
    "GatewayError",
    "InvalidCursor",
    "LinkScanLimit",
    "OrderScanLimit",
    "RecordUnreadable",
    "StreamScanLimit",
    "TenantError",
    "TotalCountUnknown",
    "UpstreamAuthError",
    "UpstreamBadResponse",
    "UpstreamError",
    "UpstreamRateLimited",
    "UpstreamRejected",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
