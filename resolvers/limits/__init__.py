"""The GraphQL-only rules: token, selection, depth, alias and cost limits, beside the schema."""
