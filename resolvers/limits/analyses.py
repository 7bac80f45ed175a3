"""Recent documents' analyses, found by the document object itself.

Strawberry's parser cache hands the same `DocumentNode` to every request with the same text,
so a repeated query is recognised by identity, without hashing its tree, and analysed once.
Each entry holds its document, so the id it is filed under cannot be reused while it is held.
"""

from __future__ import annotations

from collections import OrderedDict

from graphql import DocumentNode

from resolvers.limits.analysis import Coverage, DocumentAnalysis, analyse

ANALYSIS_CACHE_SIZE = 256


class Analyses:
    """A bounded LRU of analyses. Usage: `analysis = ANALYSES.of(document, covers)`; an
    analysis is reused for the same document under the same schema's coverage."""

    def __init__(self, maxsize: int = ANALYSIS_CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[int, DocumentAnalysis] = OrderedDict()

    def of(self, document: DocumentNode, covers: Coverage) -> DocumentAnalysis:
        key = id(document)
        held = self._entries.get(key)
        if held is not None and held.document is document and held.covers is covers:
            self.hits += 1
            self._entries.move_to_end(key)
            return held
        self.misses += 1
        analysis = analyse(document, covers=covers)
        self._entries[key] = analysis
        self._entries.move_to_end(key)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return analysis


# Module level, like the parser and validation caches: shared by every request.
ANALYSES = Analyses()

__all__ = ["ANALYSES", "ANALYSIS_CACHE_SIZE", "Analyses"]
