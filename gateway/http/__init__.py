"""GraphQL over HTTP: the `/graphql` and `/webhooks/{provider}` routes and what they need."""
