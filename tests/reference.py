"""An independent, straightforward implementation of the Qwen3-Reranker model card's code.

Used only to check the backends: full forward pass over left-padded batches, full vocabulary
logits at the last position, log-softmax over ("no", "yes").
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PREFIX = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and "
    'the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
)
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
TASK = "Given a web search query, retrieve relevant passages that answer the query"


def model_card_scores(model_dir, queries, documents, instruction=None, max_length=8192):
    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    token_false_id = tokenizer.convert_tokens_to_ids("no")
    token_true_id = tokenizer.convert_tokens_to_ids("yes")
    prefix_tokens = tokenizer.encode(PREFIX, add_special_tokens=False)
    suffix_tokens = tokenizer.encode(SUFFIX, add_special_tokens=False)
    pairs = [
        f"<Instruct>: {instruction or TASK}\n<Query>: {q}\n<Document>: {d}"
        for q, d in zip(queries, documents)
    ]
    inputs = tokenizer(
        pairs, padding=False, truncation="longest_first", return_attention_mask=False,
        max_length=max_length - len(prefix_tokens) - len(suffix_tokens),
    )  # fmt: skip
    for i, ele in enumerate(inputs["input_ids"]):
        inputs["input_ids"][i] = prefix_tokens + ele + suffix_tokens
    inputs = tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=max_length)
    with torch.no_grad():
        batch_scores = model(**inputs).logits[:, -1, :]
    stacked = torch.stack([batch_scores[:, token_false_id], batch_scores[:, token_true_id]], dim=1)
    return torch.nn.functional.log_softmax(stacked, dim=1)[:, 1].exp().tolist()


def model_card_embeddings(model_dir, texts, max_length=8192):
    """Qwen3-Embedding's model-card code: left padding, last-token pool, L2 normalise (fp32).

    ``texts`` are already formatted (queries as ``Instruct: {task}\\nQuery:{query}``); the
    tokenizer appends ``<|endoftext|>`` itself, as Qwen3-Embedding's does.
    """
    from transformers import AutoModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"]
    if mask[:, -1].sum() == mask.shape[0]:  # left padding
        pooled = hidden[:, -1]
    else:
        pooled = hidden[torch.arange(hidden.shape[0]), mask.sum(dim=1) - 1]
    return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
