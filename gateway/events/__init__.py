"""Live updates: changes verified webhooks report, fanned out to a tenant's subscribers."""
