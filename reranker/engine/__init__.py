"""The engine: prompt token ids, the scorer and its cache, loading, backends (vLLM, transformers, remote), the background loader."""
