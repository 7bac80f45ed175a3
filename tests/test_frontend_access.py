"""Frontend-safe access over HTTP: end-user JWTs verified against a JWKS served on loopback by
tests/idp.py, the accounts a token allows enforced on every read path, per-user limits, and
persisted-only documents for JWT callers, while API keys keep working for servers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from pydantic import SecretStr

from gateway.domain.customer import CustomerKey
from gateway.ids import encode_id
from gateway.providers.lago import LAGO
from gateway.resilience.policy import Timer
from gateway.settings.load import tenant_settings
from gateway.settings.model import AuthSettings, PersistedSettings, Settings
from sandbox import DEMO_ACCOUNT, SECOND_ACCOUNT, tenant_config
from tests.idp import OMIT, IdentityProvider
from tests.support import IN_PROCESS_SANDBOX, GatewayClient, gateway_client

API_KEY = "server-key-acme"
PAGE = """query($first: Int, $after: String) {
  customers(first: $first, after: $after) {
    edges { node { id provider account } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Customer { account } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
BY_EXTERNAL = """query($provider: Provider!, $account: String) {
  customerByExternalId(provider: $provider, externalId: "shared-000", account: $account) {
    id account
  }
}"""
DEMO = {
    "layer": [DEMO_ACCOUNT.layer_business_id],
    "codat": [DEMO_ACCOUNT.codat_company_id],
    "lago": [DEMO_ACCOUNT.lago_organization_id],
}
SECOND = {
    "layer": [SECOND_ACCOUNT.layer_business_id],
    "codat": [SECOND_ACCOUNT.codat_company_id],
    "lago": [SECOND_ACCOUNT.lago_organization_id],
}


def acme(**overrides: Any) -> dict[str, Any]:
    """Tenant "acme" on both sandbox accounts, with one server API key."""
    config = tenant_config(
        "acme",
        IN_PROCESS_SANDBOX,
        DEMO_ACCOUNT,
        SECOND_ACCOUNT,
        allow_anonymous=False,
        api_keys=(API_KEY,),
    )
    return {**config, **overrides}


def settings_for(
    idp: IdentityProvider,
    tenant: dict[str, Any] | None = None,
    persisted: PersistedSettings | None = None,
    **auth: Any,
) -> Settings:
    return Settings(
        tenants=(tenant_settings(tenant or acme()),),
        auth=AuthSettings(jwt=idp.settings(), **auth),
        persisted=persisted or PersistedSettings(),
        cursor_key=SecretStr("cursor-key-for-tests"),
    )


@contextlib.contextmanager
def identity_provider() -> Iterator[IdentityProvider]:
    with IdentityProvider() as idp:
        yield idp


@contextlib.asynccontextmanager
async def jwt_gateway(**auth: Any) -> AsyncIterator[tuple[GatewayClient, IdentityProvider]]:
    tenant = auth.pop("tenant", None)
    with identity_provider() as idp:
        async with gateway_client(settings_for(idp, tenant, **auth)) as gateway:
            yield gateway, idp


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def post(
    gateway: GatewayClient, query: str, variables: dict[str, Any] | None, token: str
) -> Any:
    return await gateway.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
    )


async def all_nodes(gateway: GatewayClient, token: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        response = await post(gateway, PAGE, {"first": 50, "after": after}, token)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        page = body["data"]["customers"]
        nodes.extend(e["node"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def accounts_read(gateway: GatewayClient) -> set[str]:
    """The accounts the upstream calls so far were made for (their URL names them)."""
    seen = set()
    for request in gateway.upstream.requests:
        url = str(request.url)
        for account in (*DEMO.values(), *SECOND.values()):
            if account[0] in url:
                seen.add(account[0])
        # Lago names its organisation by API key, in the Authorization header.
        auth = request.headers.get("authorization", "")
        if DEMO_ACCOUNT.lago_api_key in auth:
            seen.add(DEMO_ACCOUNT.lago_organization_id)
        if SECOND_ACCOUNT.lago_api_key in auth:
            seen.add(SECOND_ACCOUNT.lago_organization_id)
    return seen


# --- authentication ---------------------------------------------------------------------


async def test_a_valid_token_reads_and_an_api_key_still_works() -> None:
    async with jwt_gateway() as (gateway, idp):
        by_token = await post(gateway, PAGE, {"first": 5}, idp.token())
        by_key = await post(gateway, PAGE, {"first": 5}, API_KEY)
    assert by_token.status_code == 200
    assert "errors" not in by_token.json()
    assert by_key.status_code == 200
    assert "errors" not in by_key.json()
    assert len(by_token.json()["data"]["customers"]["edges"]) == 5


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (lambda idp: idp.token({"exp": 1_000_000}), "TOKEN_EXPIRED"),
        (lambda idp: idp.token({"nbf": 4_000_000_000}), "TOKEN_NOT_YET_VALID"),
        (lambda idp: idp.token({"iss": "https://evil.test/"}), "TOKEN_INVALID_ISSUER"),
        (lambda idp: idp.token({"aud": "someone-else"}), "TOKEN_INVALID_AUDIENCE"),
        (lambda idp: idp.token(alg="none"), "TOKEN_ALGORITHM_NOT_ALLOWED"),
        (lambda idp: idp.hmac_with_public_key(), "TOKEN_ALGORITHM_NOT_ALLOWED"),
        (
            lambda idp: idp.tampered(idp.token(), {"tenant": "acme", "sub": "admin"}),
            "TOKEN_INVALID_SIGNATURE",
        ),
        (lambda idp: idp.token(kid="no-such-key"), "TOKEN_UNKNOWN_KEY"),
        (lambda idp: idp.token({"tenant": OMIT}), "TOKEN_CLAIMS_INVALID"),
        (lambda idp: idp.token({"tenant": "globex"}), "TOKEN_CLAIMS_INVALID"),
        (lambda idp: idp.token({"accounts": {"layer": "not-a-list"}}), "TOKEN_CLAIMS_INVALID"),
    ],
)
async def test_a_bad_token_is_401_invalid_token_with_no_upstream_call(bad: Any, code: str) -> None:
    async with jwt_gateway() as (gateway, idp):
        response = await post(gateway, PAGE, {"first": 5}, bad(idp))
        calls = len(gateway.upstream.requests)
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    assert "data" not in body
    assert calls == 0


async def test_a_rotated_key_is_fetched_on_its_first_use_at_most_once_a_minute() -> None:
    now = [1000.0]
    with identity_provider() as idp:
        timer = Timer(clock=lambda: now[0])
        async with gateway_client(settings_for(idp), timer=timer) as gateway:
            assert (await post(gateway, PAGE, {"first": 1}, idp.token())).status_code == 200
            idp.rotate("ES256", replace=True)
            # The keys were read a moment ago: an unknown key does not send the gateway back
            # to the identity provider yet (a flood of made-up kids cannot hammer it).
            early = await post(gateway, PAGE, {"first": 1}, idp.token(alg="ES256"))
            fetches_early = idp.fetches
            now[0] += 61
            rotated = await post(gateway, PAGE, {"first": 1}, idp.token(alg="ES256"))
            old_key = await post(
                gateway, PAGE, {"first": 1}, idp.token(signer=idp.keys["rs256-start"])
            )
    assert early.json()["errors"][0]["extensions"]["code"] == "TOKEN_UNKNOWN_KEY"
    assert fetches_early == 1
    assert rotated.status_code == 200, rotated.text
    assert idp.fetches == 2
    # The RSA key was replaced: tokens it signs no longer verify.
    assert old_key.status_code == 401


async def test_an_unreachable_identity_provider_is_503_not_401() -> None:
    async with jwt_gateway() as (gateway, idp):
        idp.down = True
        response = await post(gateway, PAGE, {"first": 1}, idp.token())
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "JWKS_UNAVAILABLE"
    assert gateway.upstream.requests == []


# --- accounts -----------------------------------------------------------------------------


async def test_listing_reads_only_the_accounts_the_token_allows() -> None:
    async with jwt_gateway() as (gateway, idp):
        nodes = await all_nodes(gateway, idp.token({"accounts": DEMO}))
        read = accounts_read(gateway)
    assert {n["account"] for n in nodes} == {a[0] for a in DEMO.values()}
    assert read == {a[0] for a in DEMO.values()}


async def test_no_accounts_claim_reads_every_account_and_an_empty_list_none_of_a_provider() -> None:
    async with jwt_gateway() as (gateway, idp):
        every = await all_nodes(gateway, idp.token())
        no_lago = await all_nodes(gateway, idp.token({"accounts": {**DEMO, "lago": []}}))
    assert {n["account"] for n in every} == {a[0] for a in (*DEMO.values(), *SECOND.values())}
    assert {n["provider"] for n in no_lago} == {"LAYER", "CODAT"}


async def test_a_provider_the_claim_leaves_out_is_not_read() -> None:
    async with jwt_gateway() as (gateway, idp):
        nodes = await all_nodes(gateway, idp.token({"accounts": {"layer": DEMO["layer"]}}))
        hosts = {r.url.path.split("/")[1] for r in gateway.upstream.requests}
    assert {n["provider"] for n in nodes} == {"LAYER"}
    assert hosts <= {"layer", "layer-auth"}


async def test_ids_of_another_account_read_as_nothing_on_node_and_nodes() -> None:
    mine = encode_id(CustomerKey(LAGO, DEMO_ACCOUNT.lago_organization_id, "shared-000"))
    theirs = encode_id(CustomerKey(LAGO, SECOND_ACCOUNT.lago_organization_id, "shared-000"))
    async with jwt_gateway() as (gateway, idp):
        token = idp.token({"accounts": DEMO})
        node = (await post(gateway, NODE, {"id": theirs}, token)).json()
        nodes = (await post(gateway, NODES, {"ids": [mine, theirs]}, token)).json()
        read = accounts_read(gateway)
    assert node == {"data": {"node": None}}
    assert nodes["data"]["nodes"][0]["id"] == mine
    assert nodes["data"]["nodes"][1] is None
    assert SECOND_ACCOUNT.lago_organization_id not in read


async def test_a_filter_naming_another_account_reads_nothing() -> None:
    async with jwt_gateway() as (gateway, idp):
        token = idp.token({"accounts": DEMO})
        theirs = await post(
            gateway,
            BY_EXTERNAL,
            {"provider": "LAGO", "account": SECOND_ACCOUNT.lago_organization_id},
            token,
        )
        mine = await post(
            gateway,
            BY_EXTERNAL,
            {"provider": "LAGO", "account": DEMO_ACCOUNT.lago_organization_id},
            token,
        )
        read = accounts_read(gateway)
    assert theirs.json()["data"]["customerByExternalId"] is None
    assert (
        mine.json()["data"]["customerByExternalId"]["account"] == DEMO_ACCOUNT.lago_organization_id
    )
    assert SECOND_ACCOUNT.lago_organization_id not in read


async def test_a_cursor_issued_for_other_accounts_is_refused_before_any_call() -> None:
    async with jwt_gateway() as (gateway, idp):
        wide = await post(gateway, PAGE, {"first": 3}, idp.token())
        cursor = wide.json()["data"]["customers"]["pageInfo"]["endCursor"]
        gateway.upstream.reset()
        narrow = await post(
            gateway, PAGE, {"first": 3, "after": cursor}, idp.token({"accounts": DEMO})
        )
    assert narrow.json()["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    assert gateway.upstream.requests == []


async def test_users_of_different_accounts_never_share_a_cached_answer() -> None:
    async with jwt_gateway() as (gateway, idp):
        first = await gateway.http.get(
            "/graphql",
            params={"query": PAGE, "variables": orjson.dumps({"first": 5}).decode()},
            headers=bearer(idp.token({"accounts": DEMO, "sub": "a"})),
        )
        second = await gateway.http.get(
            "/graphql",
            params={"query": PAGE, "variables": orjson.dumps({"first": 5}).decode()},
            headers=bearer(idp.token({"accounts": SECOND, "sub": "b"})),
        )
    accounts_a = {e["node"]["account"] for e in first.json()["data"]["customers"]["edges"]}
    accounts_b = {e["node"]["account"] for e in second.json()["data"]["customers"]["edges"]}
    assert accounts_a
    assert accounts_b
    assert not accounts_a & accounts_b
    assert second.headers.get("x-response-cache") != "hit"


async def test_two_users_of_one_account_share_its_cached_reads() -> None:
    async with jwt_gateway() as (gateway, idp):
        await all_nodes(gateway, idp.token({"accounts": DEMO, "sub": "a"}))
        gateway.upstream.reset()
        # Another user, another document over the same records: served from the upstream cache.
        query = "query { customers(first: 50) { edges { node { id displayName } } } }"
        body = (await post(gateway, query, None, idp.token({"accounts": DEMO, "sub": "b"}))).json()
    assert "errors" not in body
    assert body["data"]["customers"]["edges"]
    assert gateway.upstream.requests == []


async def test_too_many_accounts_in_a_token_are_refused() -> None:
    many = {"layer": [f"business-{i}" for i in range(13)]}
    async with jwt_gateway(tenant=_from_claims_tenant()) as (gateway, idp):
        response = await post(gateway, PAGE, {"first": 1}, idp.token({"accounts": many}))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_CLAIMS_INVALID"
    assert gateway.upstream.requests == []


def _from_claims_tenant() -> dict[str, Any]:
    """acme with Layer and Codat reading whatever businesses and companies tokens name."""
    config = acme()
    for provider, field in (("layer", "business_id"), ("codat", "company_id")):
        table = dict(config[provider][0])
        del table[field]
        config[provider] = {**table, "accounts": "from_claims"}
    return config


async def test_from_claims_reads_the_business_the_token_names_with_no_file_entry() -> None:
    async with jwt_gateway(tenant=_from_claims_tenant()) as (gateway, idp):
        token = idp.token({"accounts": {"layer": SECOND["layer"], "codat": SECOND["codat"]}})
        nodes = await all_nodes(gateway, token)
        key_nodes = await all_nodes(gateway, API_KEY)
    assert {(n["provider"], n["account"]) for n in nodes} == {
        ("LAYER", SECOND_ACCOUNT.layer_business_id),
        ("CODAT", SECOND_ACCOUNT.codat_company_id),
    }
    # An API key has no claims: it reads what the file configures (Lago's two organisations).
    assert {n["provider"] for n in key_nodes} == {"LAGO"}


# --- per-user limits and persisted-only ------------------------------------------------


async def test_each_subject_has_its_own_rate_limit_within_the_tenant() -> None:
    async with jwt_gateway(subject_requests_per_second=0.001, subject_burst=2) as (gateway, idp):
        ann = idp.token({"sub": "ann"})
        statuses = [(await post(gateway, PAGE, {"first": 1}, ann)).status_code for _ in range(3)]
        bob = await post(gateway, PAGE, {"first": 1}, idp.token({"sub": "bob"}))
        server = await post(gateway, PAGE, {"first": 1}, API_KEY)
        limited = await post(gateway, PAGE, {"first": 1}, ann)
    assert statuses == [200, 200, 429]
    assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert "retry-after" in limited.headers
    assert bob.status_code == 200
    assert server.status_code == 200


async def test_jwt_callers_may_be_held_to_trusted_documents_while_api_keys_send_any(
    tmp_path: Any,
) -> None:
    import hashlib

    manifest = tmp_path / "manifest.json"
    document = "query Trusted { customers(first: 2) { edges { node { id } } } }"
    sha = hashlib.sha256(document.encode()).hexdigest()
    manifest.write_bytes(orjson.dumps({sha: document}))
    with identity_provider() as idp:
        persisted = PersistedSettings(manifest_path=manifest, mode="allow")
        settings = settings_for(idp, persisted=persisted, jwt_persisted_only=True)
        async with gateway_client(settings) as gateway:
            token = idp.token()
            free_form = await post(gateway, PAGE, {"first": 1}, token)
            trusted = await gateway.http.post(
                "/graphql", json={"documentId": f"sha256:{sha}"}, headers=bearer(token)
            )
            by_key = await post(gateway, PAGE, {"first": 1}, API_KEY)
    assert free_form.status_code == 400
    assert free_form.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    assert trusted.status_code == 200, trusted.text
    assert len(trusted.json()["data"]["customers"]["edges"]) == 2
    assert by_key.status_code == 200


def test_jwt_persisted_only_without_a_manifest_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="manifest_path"):
        Settings(auth=AuthSettings(jwt_persisted_only=True))


async def test_a_one_account_credential_cannot_take_accounts_from_claims() -> None:
    from gateway.errors import ConfigError

    config = acme()
    lago = dict(config["lago"][0])
    config["lago"] = {**lago, "accounts": "from_claims"}
    with pytest.raises(ConfigError, match=r"lago\.accounts"):
        tenant_settings(config)


async def test_server_keys_see_every_configured_account() -> None:
    async with jwt_gateway() as (gateway, _idp):
        nodes = await all_nodes(gateway, API_KEY)
    assert {n["account"] for n in nodes} == {a[0] for a in (*DEMO.values(), *SECOND.values())}


# --- field scopes ---------------------------------------------------------------------------

TAXES = "query { customers(first: 6) { edges { node { id taxes { name } } } } }"
TAX_SCOPES = {"Customer.taxes": ("customers:tax",)}


def forbidden_paths(body: dict[str, Any]) -> list[list[Any]]:
    return [e["path"] for e in body.get("errors", ()) if e["extensions"]["code"] == "FORBIDDEN"]


async def test_a_token_without_the_scope_gets_the_field_null_and_the_rest_intact() -> None:
    async with jwt_gateway(field_scopes=TAX_SCOPES) as (gateway, idp):
        plain = (await post(gateway, TAXES, None, idp.token({"scope": "customers:read"}))).json()
        taxed = await post(
            gateway, TAXES, None, idp.token({"scope": "customers:read customers:tax"})
        )
    edges = plain["data"]["customers"]["edges"]
    assert len(edges) == 6
    assert all(e["node"]["id"] and e["node"]["taxes"] is None for e in edges)
    assert forbidden_paths(plain) == [["customers", "edges", i, "node", "taxes"] for i in range(6)]
    assert "errors" not in taxed.json()
    assert all(
        isinstance(e["node"]["taxes"], list) for e in taxed.json()["data"]["customers"]["edges"]
    )


async def test_api_keys_hold_every_scope_unless_their_tenant_narrows_them() -> None:
    async with jwt_gateway(field_scopes=TAX_SCOPES) as (gateway, _idp):
        unrestricted = (await post(gateway, TAXES, None, API_KEY)).json()
    narrowed = acme(api_key_scopes=["customers:read"])
    async with jwt_gateway(tenant=narrowed, field_scopes=TAX_SCOPES) as (gateway, _idp):
        restricted = (await post(gateway, TAXES, None, API_KEY)).json()
    assert "errors" not in unrestricted
    assert len(forbidden_paths(restricted)) == 6


async def test_a_cached_answer_with_a_scoped_field_is_never_served_to_a_caller_without_it() -> None:
    params = {"query": TAXES}
    async with jwt_gateway(field_scopes=TAX_SCOPES) as (gateway, idp):
        full = await gateway.http.get(
            "/graphql", params=params, headers=bearer(idp.token({"scope": "customers:tax"}))
        )
        again = await gateway.http.get(
            "/graphql", params=params, headers=bearer(idp.token({"scope": "customers:tax"}))
        )
        narrow = await gateway.http.get(
            "/graphql", params=params, headers=bearer(idp.token({"scope": ""}))
        )
    assert "errors" not in full.json()
    assert again.headers.get("x-response-cache") == "hit"
    assert len(forbidden_paths(narrow.json())) == 6


async def test_a_forbidden_root_field_costs_no_upstream_call() -> None:
    async with jwt_gateway(field_scopes={"Query.customers": ("customers:read",)}) as (gateway, idp):
        response = await post(gateway, PAGE, {"first": 5}, idp.token({"scope": "other"}))
        calls = len(gateway.upstream.requests)
    body = response.json()
    assert body["data"]["customers"] is None
    assert forbidden_paths(body) == [["customers"]]
    assert calls == 0


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://idp.example.com/.well-known/jwks.json", True),
        ("http://127.0.0.1:8080/jwks.json", True),
        ("http://localhost/jwks.json", True),
        ("http://idp.example.com/.well-known/jwks.json", False),
        ("file:///etc/jwks.json", False),
        ("ftp://idp.example.com/jwks.json", False),
    ],
)
def test_the_jwks_comes_over_https_except_from_loopback(url: str, accepted: bool) -> None:
    from pydantic import ValidationError

    from gateway.settings.model import JwtSettings

    values = {"jwks_url": url, "issuer": "https://idp.example.com/", "audience": "gw"}
    if accepted:
        assert JwtSettings(**values).jwks_url == url
    else:
        with pytest.raises(ValidationError, match="https"):
            JwtSettings(**values)


# A rule guards data, not one name: every field or argument that exposes the same data.
async def test_raw_and_aliases_are_guarded_with_the_fields_they_expose() -> None:
    rules = {
        "Customer.taxes": ("billing:read",),
        "Customer.email": ("pii",),
        "Customer.emails": ("pii",),
        "Customer.account": ("accounts",),
        "Address.formatted": ("pii",),
    }
    query = """{ customers(first: 9, providers: [LAGO]) { edges { node {
        id raw scope addresses { raw } ... on LagoCustomer { lagoEmail } } } } }"""
    async with jwt_gateway(field_scopes=rules) as (gateway, idp):
        narrow = (await post(gateway, query, None, idp.token({"scope": "customers:read"}))).json()
        every = "billing:read pii accounts"
        full = (await post(gateway, query, None, idp.token({"scope": every}))).json()
    nodes = [e["node"] for e in narrow["data"]["customers"]["edges"]]
    assert nodes
    for node in nodes:
        assert node["id"]
        assert node["raw"] is None
        assert node["scope"] is None
        assert node["lagoEmail"] is None
        assert all(a["raw"] is None for a in node["addresses"])
    refused = {e["extensions"]["field"] for e in narrow["errors"]}
    assert {"LagoCustomer.raw", "LagoCustomer.scope", "LagoCustomer.lagoEmail"} <= refused
    assert "errors" not in full
    assert all(e["node"]["raw"] for e in full["data"]["customers"]["edges"])


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ('filter: {email: "someone@example.com"}', "customers(filter.email)"),
        ('filter: {search: "luc"}', "customers(filter.search)"),
        ("orderBy: {field: NAME}", "customers(orderBy.field: NAME)"),
    ],
)
async def test_arguments_that_select_by_guarded_data_are_refused_before_any_call(
    arguments: str, field: str
) -> None:
    rules = {"Customer.email": ("pii",), "Customer.displayName": ("pii",)}
    query = f"{{ customers(first: 5, {arguments}) {{ edges {{ node {{ id }} }} }} }}"
    async with jwt_gateway(field_scopes=rules) as (gateway, idp):
        refused = (await post(gateway, query, None, idp.token({"scope": "other"}))).json()
        calls = len(gateway.upstream.requests)
        allowed = (await post(gateway, query, None, idp.token({"scope": "pii"}))).json()
    assert refused["data"]["customers"] is None
    assert [e["extensions"]["field"] for e in refused["errors"]] == [field]
    assert calls == 0
    assert "errors" not in allowed


async def test_a_lookup_by_a_guarded_external_id_is_refused() -> None:
    query = '{ customerByExternalId(provider: LAGO, externalId: "shared-000") { id } }'
    async with jwt_gateway(field_scopes={"Customer.externalId": ("ids",)}) as (gateway, idp):
        refused = (await post(gateway, query, None, idp.token())).json()
        calls = len(gateway.upstream.requests)
    assert refused["data"]["customerByExternalId"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert calls == 0


async def test_a_user_over_its_own_limit_does_not_spend_the_tenants() -> None:
    tenant = acme(requests_per_second=0.001, burst=10)
    async with jwt_gateway(tenant=tenant, subject_requests_per_second=0.001, subject_burst=2) as (
        gateway,
        idp,
    ):
        mallory = idp.token({"sub": "mallory"})
        statuses = [
            (await post(gateway, PAGE, {"first": 1}, mallory)).status_code for _ in range(10)
        ]
        bob = await post(gateway, PAGE, {"first": 1}, idp.token({"sub": "bob"}))
        server = await post(gateway, PAGE, {"first": 1}, API_KEY)
    assert statuses == [200, 200] + [429] * 8
    assert bob.status_code == 200
    assert server.status_code == 200


async def test_a_token_without_a_subject_is_limited_as_one_anonymous_user_of_its_tenant() -> None:
    async with jwt_gateway(subject_requests_per_second=0.001, subject_burst=2) as (gateway, idp):
        no_sub = idp.token({"sub": OMIT})
        statuses = [(await post(gateway, PAGE, {"first": 1}, no_sub)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("account", ["..", ".", "a/b", "x" * 129])
async def test_a_claimed_account_that_is_no_path_segment_is_refused(account: str) -> None:
    async with jwt_gateway(tenant=_from_claims_tenant()) as (gateway, idp):
        token = idp.token({"accounts": {"layer": [account]}})
        response = await post(gateway, PAGE, {"first": 1}, token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_CLAIMS_INVALID"
    assert gateway.upstream.requests == []


async def test_links_whose_evidence_reads_a_guarded_field_are_guarded_with_it() -> None:
    query = "{ customers(first: 3) { edges { node { id sameAs { evidence } } } } }"
    async with jwt_gateway(field_scopes={"Customer.taxId": ("tax",)}) as (gateway, idp):
        narrow = (await post(gateway, query, None, idp.token())).json()
        allowed = (await post(gateway, query, None, idp.token({"scope": "tax"}))).json()
    assert {e["extensions"]["code"] for e in narrow["errors"]} == {"FORBIDDEN"}
    assert all(e["node"]["sameAs"] is None for e in narrow["data"]["customers"]["edges"])
    assert "errors" not in allowed
