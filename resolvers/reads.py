"""What a field or an argument reads besides itself, for `[auth.field_scopes]`.

A field rule guards data, not just one name: `Customer.scope` is `account` again, `raw` is
the provider's whole record, and a filter on `email` tells a caller whether an email matches.
A field or an input field that exposes other fields' data says so in its Strawberry metadata,
`metadata={READS: ("email", "emails")}` (names of the Customer fields it reads) or
`{READS: EVERYTHING}`; resolvers/scopes.py then requires their scopes of it too.
"""

from __future__ import annotations

from typing import Final

READS: Final = "reads"
# Everything any field rule guards.
EVERYTHING: Final = "*"

__all__ = ["EVERYTHING", "READS"]
