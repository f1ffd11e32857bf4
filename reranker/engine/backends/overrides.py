"""How vLLM must load the original Qwen3-Reranker checkpoint, in-process or in ``vllm serve``."""

QWEN3_RERANKER_HF_OVERRIDES = {
    # Load the causal LM as a one-label classifier...
    "architectures": ["Qwen3ForSequenceClassification"],
    # ...whose weight is lm_head[yes] - lm_head[no], so sigmoid(logit) equals softmax(no, yes)[yes]:
    # exactly the model card's score. vLLM resolves these with convert_tokens_to_ids.
    "classifier_from_token": ["no", "yes"],
    # Tells vLLM this is the original checkpoint (no classifier head of its own).
    "is_original_qwen3_reranker": True,
}
