"""A fourth provider that exists only in the tests: it proves a provider is one folder, one
connector and one GraphQL type, added through create_app without touching the gateway."""
