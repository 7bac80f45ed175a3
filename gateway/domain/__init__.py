"""The unified customer model: frozen dataclasses, free of HTTP and GraphQL concerns."""
