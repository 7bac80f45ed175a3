"""Per-request DataLoaders: deduplicate keys, group them by provider account, batch."""
