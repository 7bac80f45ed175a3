"""The GraphQL-only rules: token, selection, depth, alias and cost limits, beside the schema.

    extension.py   the limits as Strawberry extensions, and `limit_extensions` for the schema
    refusals.py    each limit's request error: code and message
    analysis.py    a document's shape (depth, aliases, expanded selections) in one linear pass
    graph.py       the walk under it: each selection set once, dependencies first
    cost.py        fields and provider calls of the operation that will run
    analyses.py    recent documents' analyses (LRU, by document identity)
    validation.py  graphql-core's validation, cached, with a budget for overlapping fields

Usage: `extensions=[ParserCache, *limit_extensions(settings.limits)]`.
"""

from resolvers.limits.extension import limit_extensions

__all__ = ["limit_extensions"]
