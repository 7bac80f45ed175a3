"""customer-gateway: one GraphQL endpoint over live Layer, Codat and Lago customer reads."""

__version__ = "0.1.0"
