"""Provider webhooks: verify the signature, then update or retire the cached entries."""
