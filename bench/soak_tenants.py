"""The soak's two keyed tenants on the standalone sandbox, and what each may ever be shown.

Tenant A connects the demo account, tenant B the second account. Both read the same seeded
data the sandbox process builds (one seed), so the soak knows every customer of each account
and can tell a customer of the other tenant apart from its own, even for the identities both
accounts share (same native id, other scope, other contents).

Secrets (tenant keys, webhook secrets) are drawn per run and reach the gateway through
environment variables, as a TOML file may only refer to them (`"${VAR}"`).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.domain.customer import CustomerKey, Provider
from gateway.ids import encode_id
from gateway.providers.codat import CODAT
from gateway.providers.lago import LAGO
from gateway.providers.layer import LAYER
from sandbox import (
    CODAT_API_KEY,
    DEMO_ACCOUNT,
    LAYER_CLIENT_ID,
    LAYER_CLIENT_SECRET,
    SECOND_ACCOUNT,
    SandboxAccount,
)
from sandbox.layer import SANDBOX_SCOPE
from sandbox.seed import SandboxData

Record = dict[str, Any]
# (provider, scope, native id): one customer of one provider account.
Triple = tuple[Provider, str, str]


def _standard_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass
class SoakTenant:
    """One configured tenant: its key, accounts, webhook secrets and seeded customers."""

    id: str
    env_prefix: str
    account: SandboxAccount
    key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    layer_webhook_secret: str = field(default_factory=_standard_secret)
    codat_webhook_secret: str = field(default_factory=_standard_secret)
    lago_hmac_key: str = field(default_factory=lambda: secrets.token_hex(24))
    # Every customer of the tenant's accounts, with its wire JSON lower-cased as one string.
    records: dict[Triple, Record] = field(default_factory=dict)
    blobs: dict[Triple, str] = field(default_factory=dict)

    @property
    def scopes(self) -> dict[Provider, str]:
        a = self.account
        return {
            LAYER: a.layer_business_id,
            CODAT: a.codat_company_id,
            LAGO: a.lago_organization_id,
        }

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}

    def global_id(self, triple: Triple) -> str:
        return encode_id(CustomerKey(*triple))

    def load(self, data: SandboxData) -> None:
        a = self.account
        natives = (
            (LAYER, data.layer_businesses[a.layer_business_id], "id"),
            (CODAT, data.codat_companies[a.codat_company_id], "id"),
            (LAGO, data.lago_organizations[a.lago_api_key], "external_id"),
        )
        for provider, records, id_field in natives:
            for record in records:
                triple = (provider, self.scopes[provider], str(record[id_field]))
                self.records[triple] = record
                self.blobs[triple] = orjson.dumps(record).decode().lower()

    def environment(self) -> dict[str, str]:
        """The variables the generated TOML refers to for this tenant."""
        p = self.env_prefix
        return {
            f"{p}_KEY": self.key,
            f"{p}_LAGO_API_KEY": self.account.lago_api_key,
            f"{p}_LAYER_WEBHOOK": self.layer_webhook_secret,
            f"{p}_CODAT_WEBHOOK": self.codat_webhook_secret,
            f"{p}_LAGO_HMAC": self.lago_hmac_key,
        }

    def toml(self, sandbox_url: str) -> str:
        p, a = self.env_prefix, self.account
        return f"""
[[tenants]]
id = "{self.id}"
api_keys = ["${{{p}_KEY}}"]

[tenants.layer]
business_id = "{a.layer_business_id}"
client_id = "${{SOAK_LAYER_CLIENT_ID}}"
client_secret = "${{SOAK_LAYER_CLIENT_SECRET}}"
base_url = "{sandbox_url}/layer"
token_url = "{sandbox_url}/layer-auth/oauth2/token"
token_scope = "{SANDBOX_SCOPE}"
webhook_secret = "${{{p}_LAYER_WEBHOOK}}"

[tenants.codat]
company_id = "{a.codat_company_id}"
api_key = "${{SOAK_CODAT_API_KEY}}"
base_url = "{sandbox_url}/codat"
webhook_secret = "${{{p}_CODAT_WEBHOOK}}"

[tenants.lago]
api_key = "${{{p}_LAGO_API_KEY}}"
base_url = "{sandbox_url}/lago/api/v1"
organization_id = "{a.lago_organization_id}"
webhook_hmac_key = "${{{p}_LAGO_HMAC}}"
"""


def soak_tenants(data: SandboxData) -> tuple[SoakTenant, SoakTenant]:
    a = SoakTenant("soak-a", "SOAK_A", DEMO_ACCOUNT)
    b = SoakTenant("soak-b", "SOAK_B", SECOND_ACCOUNT)
    a.load(data)
    b.load(data)
    return a, b


def shared_environment() -> dict[str, str]:
    """The sandbox's own provider credentials, shared by both tenants' connections."""
    return {
        "SOAK_LAYER_CLIENT_ID": LAYER_CLIENT_ID,
        "SOAK_LAYER_CLIENT_SECRET": LAYER_CLIENT_SECRET,
        "SOAK_CODAT_API_KEY": CODAT_API_KEY,
    }


def gateway_toml(tenants: tuple[SoakTenant, ...], sandbox_url: str, manifest: str) -> str:
    """Development mode (trace header honoured), trusted documents allowed beside free-form
    queries; every limit at its default."""
    head = f"""
[persisted]
mode = "allow"
manifest_path = "{manifest}"
"""
    return head + "".join(t.toml(sandbox_url) for t in tenants)


__all__ = [
    "Record",
    "SoakTenant",
    "Triple",
    "gateway_toml",
    "shared_environment",
    "soak_tenants",
]
