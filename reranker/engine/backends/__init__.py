"""Engines that turn prompt token ids into P("yes") scores. One module per engine."""

from reranker.engine.backends.base import Backend

__all__ = ["Backend"]
