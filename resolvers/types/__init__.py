"""GraphQL types, one concern per module, each built from the domain by `from_domain`."""
