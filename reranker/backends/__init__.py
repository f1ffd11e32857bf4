"""Engines that turn prompt token ids into P("yes") scores. One module per engine."""

from reranker.backends.base import Backend

__all__ = ["Backend"]
