"""First-stage retrieval: which FAQ entries the reranker gets to see.

- :mod:`reranker.retrieval.dense`: an embedding model (Qwen3-Embedding or any
  sentence-transformers directory), an on-disk embedding cache and a numpy cosine index.
- :mod:`reranker.retrieval.fusion`: reciprocal-rank fusion of the keyword and dense rankings.
"""
