"""The GraphQL layer: Strawberry types mapped from the domain, and thin resolvers."""
