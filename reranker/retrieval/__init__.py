"""First-stage retrieval: pick the candidates the reranker then orders.

Each retriever indexes a list of texts once and answers ``search(query, top_k)`` with
``(row, score)`` pairs, best first, where ``row`` indexes the texts it was built on.
"""

from reranker.retrieval.keyword import KeywordIndex, tokenize

__all__ = ["KeywordIndex", "tokenize"]
