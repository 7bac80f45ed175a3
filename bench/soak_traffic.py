"""The soak's mixed traffic: one `Shot` (a request, what it must get, what to check) at a time.

Kinds, drawn by weight, for either tenant at random:

- good reads: `customers` pages with and without filters, paging on with `endCursor`,
  `node`/`nodes`, `customerByExternalId`, ids of the other tenant's customers (must come
  back empty), valid queries under ever new operation names, trusted documents by
  `documentId` over GET, APQ hashes over GET (registered by POST on a miss);
- every bad input of issue 10: the fragment-doubling document, an unknown fragment, an
  `operationName` naming nothing, several operations without one, an unknown variable type,
  undeclared junk variables, a huge `first` by variable default, tampered and other-tenant
  cursors, HEAD, `Accept` with q=0, unauthenticated requests under random operation names
  and garbage bodies, bodies over 1 MiB;
- webhooks, signed as each provider signs: fresh events, replays of the same delivery (same
  event id), Lago events older than the cached customer, Standard Webhooks deliveries
  signed too long ago, and bad signatures.

Every pool the traffic keeps (cursors, sent events) is bounded.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from bench.soak_leaks import leaks_in
from bench.soak_tenants import SoakTenant, Triple
from gateway.domain.provider import Provider
from gateway.providers.lago import LAGO
from gateway.providers.lago.webhook import lago_signature
from gateway.providers.layer import LAYER
from gateway.webhooks.signatures import standard_signature

GQL = "application/graphql-response+json"
TRACE = {"x-gateway-trace": "upstream"}
# A replay picks among the events sent before the last this many (see _webhook_replay).
REPLAY_DISTANCE = 64
FIELDS = "id provider scope providerId email"
PAGE = (
    "query SoakPage($first: Int, $after: String, $providers: [Provider!], "
    "$filter: CustomerFilter) { customers(first: $first, after: $after, providers: $providers, "
    f"filter: $filter) {{ edges {{ cursor node {{ {FIELDS} }} }} "
    "pageInfo { hasNextPage endCursor } } }"
)
NODE = f"query SoakNode($id: ID!) {{ node(id: $id) {{ id ... on Customer {{ {FIELDS} }} }} }}"
NODES = (
    f"query SoakNodes($ids: [ID!]!) {{ nodes(ids: $ids) {{ id ... on Customer {{ {FIELDS} }} }} }}"
)
BY_EXTERNAL_ID = (
    "query SoakByExternalId($provider: Provider!, $externalId: String!) { "
    f"customerByExternalId(provider: $provider, externalId: $externalId) {{ {FIELDS} }} }}"
)
# Trusted documents (the manifest) and the APQ document.
TRUSTED = {
    "SoakTrustedPage": "query SoakTrustedPage($first: Int) { customers(first: $first) "
    f"{{ edges {{ node {{ {FIELDS} }} }} pageInfo {{ endCursor }} }} }}",
    "SoakTrustedLago": "query SoakTrustedLago($first: Int) { customers(first: $first, "
    f"providers: [LAGO]) {{ edges {{ node {{ {FIELDS} }} }} }} }}",
}
APQ = f"query SoakApq($first: Int) {{ customers(first: $first) {{ edges {{ node {{ {FIELDS} }} }} }} }}"  # noqa: E501
LIST = "customers(first: 2) { edges { cursor } }"
SEARCHES = ("an", "co", "ltd", "smith", "zz-nothing", "inc", "e")
# One expected answer set per family of kinds.
OK = frozenset({200})
REFUSED = frozenset({400, 422})
# Bodies the gateway refuses at the edge (1 MiB and a little).
OVERSIZED = 1024 * 1024 + 4096


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def manifest() -> dict[str, str]:
    return {sha256(document): document for document in TRUSTED.values()}


def doubling(count: int = 20) -> str:
    """`count` fragments, each spreading the one before twice (issue 10, item 1)."""
    fragments = ["fragment F0 on Customer { id displayName }"]
    fragments += [
        f"fragment F{i} on Customer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, count)
    ]
    operation = (
        f"query Doubling {{ customers(first: 1) {{ edges {{ node {{ ...F{count - 1} }} }} }} }}"
    )
    return "\n".join([operation, *fragments])


def json_body(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


Check = Callable[[httpx.Response, Any], list[str]]


@dataclass(frozen=True)
class Shot:
    kind: str
    request: httpx.Request
    expect: frozenset[int]
    describe: str
    tenant: SoakTenant | None = None
    # What else is wrong with the answer (empty: nothing); leaks are checked for every shot
    # with a tenant.
    check: Check | None = None
    # A request the answer calls for (an APQ registration after a miss).
    follow: Callable[[Any], Shot | None] | None = None
    # What the traffic learns from the answer (cursors to page on with).
    learn: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class _Page:
    tenant: SoakTenant
    variables: dict[str, Any]
    cursor: str


@dataclass(frozen=True)
class _Sent:
    tenant: SoakTenant
    provider: str
    event_id: str
    body: bytes


def _codes(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    return [
        str((e.get("extensions") or {}).get("code"))
        for e in errors
        if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
    ]


def error_codes(body: Any) -> list[str]:
    """The `extensions.code` of each GraphQL error, or the webhook refusal's `code`."""
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        return [body["code"]]
    return _codes(body)


def _invalid_cursor(response: httpx.Response, body: Any) -> list[str]:
    problems = []
    if _codes(body) != ["INVALID_CURSOR"]:
        problems.append(f"codes {_codes(body)} instead of ['INVALID_CURSOR']")
    upstream = (body.get("extensions") or {}).get("upstream") if isinstance(body, dict) else None
    calls = upstream.get("calls") if isinstance(upstream, dict) else None
    if calls != 0:
        problems.append(f"{calls} upstream calls for a refused cursor")
    return problems


def _refused_first(response: httpx.Response, body: Any) -> list[str]:
    """A `first` past the limits, literal or by default: refused by the cost estimate (422),
    or by the resolver (BAD_USER_INPUT, no data), never with an upstream call."""
    if response.status_code == 422:
        return []
    if not isinstance(body, dict):
        return ["an answer that is not JSON"]
    problems = []
    if _codes(body) != ["BAD_USER_INPUT"] or body.get("data") is not None:
        problems.append(f"codes {_codes(body)} instead of a refusal")
    upstream = (body.get("extensions") or {}).get("upstream")
    calls = upstream.get("calls") if isinstance(upstream, dict) else None
    if calls != 0:
        problems.append(f"{calls} upstream calls for a refused page size")
    return problems


def _action(*allowed: str) -> Check:
    def check(response: httpx.Response, body: Any) -> list[str]:
        action = body.get("action") if isinstance(body, dict) else None
        if response.status_code == 200 and action not in allowed:
            return [f"action {action!r}, expected one of {allowed}"]
        return []

    return check


def _code(expected: str) -> Check:
    def check(response: httpx.Response, body: Any) -> list[str]:
        codes = error_codes(body)
        return [] if expected in codes else [f"codes {codes}, expected {expected}"]

    return check


class Traffic:
    """Usage: `shot = traffic.next()`; send `shot.request`; judge the answer with the shot."""

    def __init__(
        self,
        base_url: str,
        tenants: tuple[SoakTenant, SoakTenant],
        seed: int,
        skip: tuple[str, ...] = (),
    ) -> None:
        self.base = base_url.rstrip("/")
        self.tenants = tenants
        self.rng = random.Random(seed)
        self.pages: deque[_Page] = deque(maxlen=256)
        self.sent: deque[_Sent] = deque(maxlen=4 * REPLAY_DISTANCE)
        self.triples = {t.id: list(t.records) for t in tenants}
        self.kinds: dict[str, tuple[float, Callable[[SoakTenant], Shot]]] = {
            "page": (14, self._page),
            "page_filtered": (8, self._page_filtered),
            "page_next": (8, self._page_next),
            "node": (5, self._node),
            "nodes": (4, self._nodes),
            "by_external_id": (4, self._by_external_id),
            "other_tenant_ids": (2, self._other_tenant_ids),
            "new_operation_name": (3, self._new_operation_name),
            "persisted_document_get": (6, self._document_get),
            "apq_get": (5, self._apq_get),
            "bad_doubling": (1.5, self._doubling),
            "bad_unknown_fragment": (1, self._unknown_fragment),
            "bad_unknown_operation": (1, self._unknown_operation),
            "bad_several_operations": (1, self._several_operations),
            "bad_unknown_type": (1, self._unknown_type),
            "junk_variables": (2, self._junk_variables),
            "bad_huge_default": (1, self._huge_default),
            "bad_cursor_tampered": (2, self._tampered_cursor),
            "bad_cursor_other_tenant": (2, self._other_tenant_cursor),
            "bad_head": (1, self._head),
            "bad_accept_q0": (1, self._accept_q0),
            "unauth_named": (2, self._unauthenticated_named),
            "unauth_garbage": (2, self._unauthenticated_garbage),
            "bad_oversized": (0.3, self._oversized),
            "webhook": (3, self._webhook),
            "webhook_replay": (2, self._webhook_replay),
            "webhook_lago_old": (1, self._lago_old),
            "webhook_signed_long_ago": (1, self._signed_long_ago),
            "webhook_bad_signature": (0.5, self._bad_signature),
        }
        for kind in [k for k in self.kinds if k.startswith(skip)] if skip else []:
            del self.kinds[kind]
        self._names = list(self.kinds)
        self._weights = [w for w, _ in self.kinds.values()]
        # Distinct operation names sent that no tenant may turn into series of their own.
        self.random_names = 0

    def next(self) -> Shot:
        kind = self.rng.choices(self._names, self._weights)[0]
        tenant = self.rng.choice(self.tenants)
        return self.kinds[kind][1](tenant)

    # --- plumbing -------------------------------------------------------------------------

    def _post(
        self,
        kind: str,
        tenant: SoakTenant | None,
        payload: dict[str, Any],
        expect: frozenset[int] = OK,
        *,
        headers: dict[str, str] | None = None,
        check: Check | None = None,
        learn: Callable[[Any], None] | None = None,
    ) -> Shot:
        content = orjson.dumps(payload)
        request = httpx.Request(
            "POST",
            f"{self.base}/graphql",
            content=content,
            headers={
                "content-type": "application/json",
                "accept": GQL,
                **(tenant.auth if tenant else {}),
                **(headers or {}),
            },
        )
        describe = f"POST /graphql as {tenant.id if tenant else 'nobody'}: {content[:300]!r}"
        return Shot(kind, request, expect, describe, tenant, check, learn=learn)

    def _name(self) -> str:
        self.random_names += 1
        return f"Soak{self.rng.getrandbits(48):012x}"

    def _triple(self, tenant: SoakTenant, provider: Provider | None = None) -> Triple:
        triples = self.triples[tenant.id]
        for _ in range(100):
            triple = self.rng.choice(triples)
            if provider is None or triple[0] is provider:
                return triple
        return triples[0]

    def _other(self, tenant: SoakTenant) -> SoakTenant:
        return self.tenants[1] if tenant is self.tenants[0] else self.tenants[0]

    # --- good reads ---------------------------------------------------------------------

    def _remember(self, tenant: SoakTenant, variables: dict[str, Any]) -> Callable[[Any], None]:
        def learn(body: Any) -> None:
            try:
                info = body["data"]["customers"]["pageInfo"]
            except (KeyError, TypeError):
                return
            if info.get("hasNextPage") and isinstance(info.get("endCursor"), str):
                self.pages.append(_Page(tenant, variables, info["endCursor"]))

        return learn

    def _page_of(self, kind: str, tenant: SoakTenant, variables: dict[str, Any]) -> Shot:
        payload = {"query": PAGE, "operationName": "SoakPage", "variables": variables}
        return self._post(kind, tenant, payload, learn=self._remember(tenant, variables))

    def _page(self, tenant: SoakTenant) -> Shot:
        return self._page_of("page", tenant, {"first": self.rng.choice((5, 10, 20, 50))})

    def _page_filtered(self, tenant: SoakTenant) -> Shot:
        variables: dict[str, Any] = {"first": self.rng.choice((5, 10, 20))}
        choice = self.rng.randrange(4)
        if choice == 0:
            variables["filter"] = {"search": self.rng.choice(SEARCHES)}
        elif choice == 1:
            variables["filter"] = {"status": [self.rng.choice(("ACTIVE", "ARCHIVED"))]}
        elif choice == 2:
            variables["providers"] = self.rng.sample(["LAYER", "CODAT", "LAGO"], 2)
        else:
            variables["filter"] = {"name": self.rng.choice(SEARCHES)}
            variables["providers"] = [self.rng.choice(["LAYER", "CODAT", "LAGO"])]
        return self._page_of("page_filtered", tenant, variables)

    def _issued(self, tenant: SoakTenant | None) -> _Page | None:
        pages = [p for p in self.pages if tenant is None or p.tenant is tenant]
        return self.rng.choice(pages) if pages else None

    def _page_next(self, tenant: SoakTenant) -> Shot:
        issued = self._issued(tenant)
        if issued is None:
            return self._page(tenant)
        return self._page_of("page_next", tenant, {**issued.variables, "after": issued.cursor})

    def _node(self, tenant: SoakTenant) -> Shot:
        variables = {"id": tenant.global_id(self._triple(tenant))}
        payload = {"query": NODE, "operationName": "SoakNode", "variables": variables}
        return self._post("node", tenant, payload)

    def _nodes(self, tenant: SoakTenant) -> Shot:
        count = self.rng.randint(2, 30)
        ids = [tenant.global_id(self._triple(tenant)) for _ in range(count)]
        payload = {"query": NODES, "operationName": "SoakNodes", "variables": {"ids": ids}}
        return self._post("nodes", tenant, payload)

    def _by_external_id(self, tenant: SoakTenant) -> Shot:
        provider = self.rng.choice((LAYER, LAGO))
        record = tenant.records[self._triple(tenant, provider)]
        variables = {"provider": provider.value, "externalId": str(record.get("external_id"))}
        payload = {
            "query": BY_EXTERNAL_ID,
            "operationName": "SoakByExternalId",
            "variables": variables,
        }
        return self._post("by_external_id", tenant, payload)

    def _other_tenant_ids(self, tenant: SoakTenant) -> Shot:
        """The other tenant's global ids: nothing of theirs may come back."""
        other = self._other(tenant)
        ids = [other.global_id(self._triple(other)) for _ in range(self.rng.randint(1, 5))]
        payload = {"query": NODES, "operationName": "SoakNodes", "variables": {"ids": ids}}
        return self._post("other_tenant_ids", tenant, payload)

    def _new_operation_name(self, tenant: SoakTenant) -> Shot:
        name = self._name()
        query = f"query {name} {{ {LIST} }}"
        return self._post("new_operation_name", tenant, {"query": query, "operationName": name})

    def _get(self, kind: str, tenant: SoakTenant, params: dict[str, str]) -> httpx.Request:
        return httpx.Request(
            "GET", f"{self.base}/graphql", params=params, headers={"accept": GQL, **tenant.auth}
        )

    def _document_get(self, tenant: SoakTenant) -> Shot:
        document = self.rng.choice(list(TRUSTED.values()))
        params = {
            "documentId": f"sha256:{sha256(document)}",
            "variables": orjson.dumps({"first": self.rng.choice((5, 10, 20))}).decode(),
        }
        request = self._get("persisted_document_get", tenant, params)
        describe = f"GET /graphql as {tenant.id}: {params}"
        return Shot("persisted_document_get", request, OK, describe, tenant)

    def _apq_get(self, tenant: SoakTenant) -> Shot:
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(APQ)}}
        variables = {"first": self.rng.choice((5, 10, 20))}
        params = {
            "extensions": orjson.dumps(extensions).decode(),
            "variables": orjson.dumps(variables).decode(),
        }
        request = self._get("apq_get", tenant, params)

        def follow(body: Any) -> Shot | None:
            # Apollo's protocol: a miss is answered by sending the document with its hash.
            if "PERSISTED_QUERY_NOT_FOUND" not in _codes(body):
                return None
            payload = {"query": APQ, "variables": variables, "extensions": extensions}
            return self._post("apq_register", tenant, payload)

        describe = f"GET /graphql as {tenant.id}: {params}"
        return Shot("apq_get", request, OK, describe, tenant, follow=follow)

    # --- bad inputs -----------------------------------------------------------------------

    def _doubling(self, tenant: SoakTenant) -> Shot:
        return self._post("bad_doubling", tenant, {"query": doubling()}, REFUSED)

    def _unknown_fragment(self, tenant: SoakTenant) -> Shot:
        query = "query UnknownFragment { customers(first: 1) { ...Nope } }"
        return self._post("bad_unknown_fragment", tenant, {"query": query}, REFUSED)

    def _unknown_operation(self, tenant: SoakTenant) -> Shot:
        payload = {"query": f"query A {{ {LIST} }}", "operationName": self._name()}
        return self._post("bad_unknown_operation", tenant, payload, REFUSED)

    def _several_operations(self, tenant: SoakTenant) -> Shot:
        if self.rng.random() < 0.5:
            query = f"query A {{ {LIST} }} query B {{ {LIST} }}"
        else:
            query = f"{{ {LIST} }} {{ {LIST} }}"
        return self._post("bad_several_operations", tenant, {"query": query}, REFUSED)

    def _unknown_type(self, tenant: SoakTenant) -> Shot:
        query = f"query UnknownType($x: {self._name()}) {{ {LIST} }}"
        payload = {"query": query, "variables": {"x": 1}}
        return self._post("bad_unknown_type", tenant, payload, REFUSED)

    def _junk_variables(self, tenant: SoakTenant) -> Shot:
        """Undeclared variables: ignored by execution, so a normal answer."""
        junk = {self._name(): self.rng.getrandbits(32) for _ in range(self.rng.randint(1, 20))}
        variables = {"first": 5, **junk}
        payload = {"query": PAGE, "operationName": "SoakPage", "variables": variables}
        return self._post("junk_variables", tenant, payload)

    def _huge_default(self, tenant: SoakTenant) -> Shot:
        first = self.rng.choice((1_000, 100_000, 2_147_483_647))
        query = (
            f"query HugeDefault($n: Int = {first}) {{ customers(first: $n) "
            f"{{ edges {{ node {{ {FIELDS} }} }} }} }}"
        )
        return self._post(
            "bad_huge_default",
            tenant,
            {"query": query},
            frozenset({200, 422}),
            headers=TRACE,
            check=_refused_first,
        )

    def _tampered_cursor(self, tenant: SoakTenant) -> Shot:
        issued = self._issued(tenant)
        cursor = issued.cursor if issued else "c" * 40
        variables = issued.variables if issued else {"first": 5}
        choice = self.rng.randrange(4)
        if choice == 0:
            middle = len(cursor) // 2
            cursor = (
                cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
            )
        elif choice == 1:
            cursor = cursor[: max(1, len(cursor) - self.rng.randint(1, 12))]
        elif choice == 2:
            cursor = self.rng.randbytes(self.rng.randint(1, 200)).hex()
        else:
            cursor = cursor + cursor[::-1]
        payload = {
            "query": PAGE,
            "operationName": "SoakPage",
            "variables": {**variables, "after": cursor},
        }
        return self._post(
            "bad_cursor_tampered", tenant, payload, headers=TRACE, check=_invalid_cursor
        )

    def _other_tenant_cursor(self, tenant: SoakTenant) -> Shot:
        issued = self._issued(self._other(tenant))
        if issued is None:
            return self._tampered_cursor(tenant)
        variables = {**issued.variables, "after": issued.cursor}
        payload = {"query": PAGE, "operationName": "SoakPage", "variables": variables}
        return self._post(
            "bad_cursor_other_tenant", tenant, payload, headers=TRACE, check=_invalid_cursor
        )

    def _head(self, tenant: SoakTenant) -> Shot:
        request = httpx.Request("HEAD", f"{self.base}/graphql", headers=tenant.auth)
        return Shot("bad_head", request, frozenset({405}), "HEAD /graphql", tenant)

    def _accept_q0(self, tenant: SoakTenant) -> Shot:
        accept = self.rng.choice(("application/json;q=0", f"{GQL};q=0, application/json;q=0"))
        payload = {"query": f"query Q0 {{ {LIST} }}"}
        return self._post(
            "bad_accept_q0", tenant, payload, frozenset({406}), headers={"accept": accept}
        )

    def _unauthenticated_named(self, tenant: SoakTenant) -> Shot:
        name = self._name()
        payload = {"query": f"query {name} {{ {LIST} }}", "operationName": name}
        headers = {"authorization": f"Bearer {self.rng.getrandbits(64):x}"}
        if self.rng.random() < 0.5:
            headers = {}
        return self._post("unauth_named", None, payload, frozenset({401}), headers=headers)

    def _unauthenticated_garbage(self, tenant: SoakTenant) -> Shot:
        garbage = self.rng.randbytes(self.rng.randint(1, 4096))
        request = httpx.Request(
            "POST",
            f"{self.base}/graphql",
            content=garbage,
            headers={"content-type": self.rng.choice(("application/json", "text/plain"))},
        )
        describe = f"POST /graphql as nobody: {len(garbage)} random bytes"
        return Shot("unauth_garbage", request, frozenset({401}), describe)

    def _oversized(self, tenant: SoakTenant) -> Shot:
        padding = "x" * OVERSIZED
        keyed = self.rng.random() < 0.5
        payload = {"query": f"query Big {{ {LIST} }} # {padding}"}
        shot = self._post(
            "bad_oversized", tenant if keyed else None, payload, frozenset({401, 413})
        )
        expect = frozenset({413}) if keyed else frozenset({401, 413})
        describe = f"POST /graphql as {tenant.id if keyed else 'nobody'}: {OVERSIZED} bytes"
        return Shot(shot.kind, shot.request, expect, describe, shot.tenant)

    # --- webhooks ------------------------------------------------------------------------

    def _deliver(
        self,
        kind: str,
        sent: _Sent,
        expect: frozenset[int],
        check: Check | None,
        *,
        signed_at: float | None = None,
        bad_signature: bool = False,
    ) -> Shot:
        tenant = sent.tenant
        headers = {"content-type": "application/json"}
        if sent.provider == "lago":
            key = tenant.lago_hmac_key if not bad_signature else "not-the-key"
            headers |= {
                "X-Lago-Signature": lago_signature(key, sent.body),
                "X-Lago-Signature-Algorithm": "hmac",
                "X-Lago-Unique-Key": sent.event_id,
            }
        else:
            secret = (
                tenant.layer_webhook_secret
                if sent.provider == "layer"
                else tenant.codat_webhook_secret
            )
            timestamp = int(signed_at if signed_at is not None else time.time())
            signature = standard_signature(secret, sent.event_id, timestamp, sent.body)
            if bad_signature:
                signature = signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")
            headers |= {
                "webhook-id": sent.event_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature,
            }
        request = httpx.Request(
            "POST",
            f"{self.base}/webhooks/{sent.provider}?tenant={tenant.id}",
            content=sent.body,
            headers=headers,
        )
        describe = f"POST /webhooks/{sent.provider} for {tenant.id}, event {sent.event_id}: {sent.body[:200]!r}"  # noqa: E501
        return Shot(kind, request, expect, describe, check=check)

    def _event(self, tenant: SoakTenant, provider: str, updated_at: str | None = None) -> _Sent:
        if provider == "lago":
            record = dict(tenant.records[self._triple(tenant, LAGO)])
            record["updated_at"] = updated_at or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            event = {"webhook_type": "customer.updated", "object_type": "customer"}
            event["customer"] = record  # type: ignore[assignment]
            event_id = str(uuid.uuid4())
        elif provider == "layer":
            native = self._triple(tenant, LAYER)[2]
            event = {"id": str(uuid.uuid4()), "type": "customer.updated", "data": {"id": native}}  # type: ignore[dict-item]
            event_id = f"msg_{uuid.uuid4().hex}"
        else:
            event = {
                "id": str(uuid.uuid4()),
                "eventType": "read.completed",
                "payload": {  # type: ignore[dict-item]
                    "referenceCompany": {"id": tenant.account.codat_company_id},
                    "dataTypes": [{"dataType": "customers", "recordsModified": True}],
                },
            }
            event_id = f"msg_{uuid.uuid4().hex}"
        return _Sent(tenant, provider, event_id, orjson.dumps(event))

    def _webhook(self, tenant: SoakTenant) -> Shot:
        sent = self._event(tenant, self.rng.choice(("layer", "codat", "lago")))
        self.sent.append(sent)
        # 409: another delivery for the same Lago customer was being applied.
        return self._deliver(
            "webhook", sent, frozenset({200, 409}), _action("replaced", "retired", "stale")
        )

    def _webhook_replay(self, tenant: SoakTenant) -> Shot:
        # Replay only events sent a while ago: an event is recorded when its shot is built,
        # so a replay of the newest could arrive first and turn the original into the
        # duplicate (seen once in 4,687 webhooks of a ten-minute run).
        if len(self.sent) <= REPLAY_DISTANCE:
            return self._webhook(tenant)
        sent = self.rng.choice(list(self.sent)[:-REPLAY_DISTANCE])
        # Applied again by a worker that has not seen it (each keeps its own receipts without
        # Redis), but never an error.
        return self._deliver(
            "webhook_replay",
            sent,
            frozenset({200, 409}),
            _action("duplicate", "replaced", "retired", "stale"),
        )

    def _lago_old(self, tenant: SoakTenant) -> Shot:
        """Yesterday's (here: 2020's) event must never overwrite what the cache holds."""
        sent = self._event(tenant, "lago", updated_at="2020-01-01T00:00:00Z")
        return self._deliver(
            "webhook_lago_old", sent, frozenset({200, 409}), _action("stale", "retired")
        )

    def _signed_long_ago(self, tenant: SoakTenant) -> Shot:
        sent = self._event(tenant, self.rng.choice(("layer", "codat")))
        return self._deliver(
            "webhook_signed_long_ago",
            sent,
            frozenset({401}),
            _code("WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"),
            signed_at=time.time() - 3600,
        )

    def _bad_signature(self, tenant: SoakTenant) -> Shot:
        sent = self._event(tenant, self.rng.choice(("layer", "codat", "lago")))
        return self._deliver(
            "webhook_bad_signature",
            sent,
            frozenset({401}),
            _code("WEBHOOK_SIGNATURE_INVALID"),
            bad_signature=True,
        )


def problems_with(shot: Shot, response: httpx.Response, body: Any) -> tuple[list[str], list[str]]:
    """(what is wrong with the answer, cross-tenant leaks in it)."""
    problems = []
    if response.status_code not in shot.expect:
        problems.append(f"status {response.status_code}, expected {sorted(shot.expect)}")
    if shot.check is not None:
        problems += shot.check(response, body)
    leaks = leaks_in(body, shot.tenant) if shot.tenant is not None else []
    return problems, leaks


__all__ = [
    "APQ",
    "TRUSTED",
    "Shot",
    "Traffic",
    "doubling",
    "error_codes",
    "json_body",
    "manifest",
    "problems_with",
]
