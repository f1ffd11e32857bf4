"""Offline stand-ins for Qwen3-Reranker: random weights, the real Qwen tokenizer."""
