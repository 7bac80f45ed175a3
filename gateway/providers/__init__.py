"""Provider adapters: one package per provider behind the `CustomerSource` protocol."""
