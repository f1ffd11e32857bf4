"""First-stage retrieval: which FAQ entries the reranker gets to see.

- :mod:`reranker.retrieval.keyword`: BM25 over question and answer (bm25s, PyStemmer, jieba).
- :mod:`reranker.retrieval.dense`: an embedding model (Qwen3-Embedding or any
  sentence-transformers directory), an on-disk embedding cache and a numpy cosine index.
- :mod:`reranker.retrieval.fusion`: reciprocal-rank fusion of the keyword and dense rankings.

Each index is built once over a list of texts and answers ``search(query, top_k)`` best first.
"""

from reranker.retrieval.keyword import KeywordIndex, SearchHit, search_base, tokenize

__all__ = ["KeywordIndex", "SearchHit", "search_base", "tokenize"]
