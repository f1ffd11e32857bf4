"""The transformers engine: ``AutoModelForCausalLM`` with a shared-prefix key/value cache.

Every prompt of a rerank request starts with the same tokens (system prompt, instruction,
query). This engine runs that prefix once, keeps its key/value cache, and runs only the
remaining document + suffix tokens of each candidate against it, in length-sorted batches.
Only the hidden state of each prompt's last token is multiplied with the two rows of the
output embedding that matter (``no`` and ``yes``): the score is exactly the model card's
softmax over those two logits, without computing the other 151,934.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from reranker.engine.backends.base import Backend, EmbeddingBackend
from reranker.engine.backends.dtypes import resolve_torch_dtype
from reranker.errors import ModelUnavailable
from reranker.i18n import Lang, t

logger = logging.getLogger(__name__)

#: Most document+suffix tokens run in one forward pass (batch size x padded length).
MAX_BATCH_TOKENS = 4096
MAX_BATCH_SIZE = 64


def longest_common_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Length of the token prefix all prompts share, leaving each at least one own token."""
    first = prompts[0]
    limit = min(len(p) for p in prompts) - 1
    length = 0
    while length < limit and all(p[length] == first[length] for p in prompts):
        length += 1
    return length


def length_sorted_batches(lengths: Sequence[int]) -> list[list[int]]:
    """Group indices into batches of similar length (longest first) under the token budget."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches:
            batch = batches[-1]
            padded = lengths[batch[0]] * (len(batch) + 1)
            if len(batch) < MAX_BATCH_SIZE and padded <= MAX_BATCH_TOKENS:
                batch.append(i)
                continue
        batches.append([i])
    return batches


class TransformersBackend(Backend):
    """Runs Qwen3-Reranker with transformers on CPU or GPU."""

    name = "transformers"

    def __init__(self, model_path: Path, yes_id: int, no_id: int, dtype: str | None = None,
                 device: str | None = None) -> None:  # fmt: skip
        from transformers import AutoModelForCausalLM

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = resolve_torch_dtype(dtype, self.device)
        if self.device == "cpu":
            torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1))
        try:
            model = AutoModelForCausalLM.from_pretrained(model_path, dtype=self.dtype)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"transformers could not load the model in {model_path}: {exc}") from exc
        self.model = model.to(self.device).eval()
        self.pad_id = int(self.model.config.pad_token_id or 0)
        # Rows of the output embedding for "no" and "yes": logits = hidden @ rows.T
        self.no_yes_rows = self.model.get_output_embeddings().weight[[no_id, yes_id]].detach()
        self.threads = torch.get_num_threads() if self.device == "cpu" else None
        self.description = self.describe()

    def describe(self, lang: Lang = "en") -> str:
        """dtype, device and (on a CPU) threads: "float32, cpu, 8 threads"."""
        threads = [t("engine_threads", lang, n=self.threads)] if self.threads else []
        return ", ".join([str(self.dtype).removeprefix("torch."), self.device, *threads])

    @torch.inference_mode()
    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        if not prompts:
            return []
        prefix_len = longest_common_prefix(prompts) if len(prompts) > 1 else 0
        prefix_cache = self._prefix_cache(prompts[0][:prefix_len]) if prefix_len else None
        rests = [p[prefix_len:] for p in prompts]
        scores = [0.0] * len(prompts)
        for batch in length_sorted_batches([len(r) for r in rests]):
            batch_scores = self._score_batch([rests[i] for i in batch], prefix_len, prefix_cache)
            for i, score in zip(batch, batch_scores):
                scores[i] = score
        return scores

    def _prefix_cache(self, prefix: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        ids = torch.tensor([list(prefix)], device=self.device)
        out = self.model.model(input_ids=ids, use_cache=True)
        cache = out.past_key_values
        return [(layer.keys, layer.values) for layer in cache.layers]

    def _score_batch(self, rests: list[Sequence[int]], prefix_len: int,
                     prefix_cache: list[tuple[torch.Tensor, torch.Tensor]] | None) -> list[float]:  # fmt: skip
        from transformers import DynamicCache

        size = len(rests)
        width = max(len(r) for r in rests)
        ids = torch.full((size, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((size, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        for row, rest in enumerate(rests):
            ids[row, : len(rest)] = torch.tensor(list(rest))
            mask[row, prefix_len : prefix_len + len(rest)] = 1
        positions = torch.arange(prefix_len, prefix_len + width).unsqueeze(0).expand(size, -1)
        cache = None
        if prefix_cache is not None:
            cache = DynamicCache(config=self.model.config)
            for layer, (keys, values) in enumerate(prefix_cache):
                cache.update(keys.expand(size, -1, -1, -1), values.expand(size, -1, -1, -1), layer)
        hidden = self.model.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            past_key_values=cache,
            use_cache=cache is not None,
        ).last_hidden_state
        last = torch.tensor([len(r) - 1 for r in rests], device=self.device)
        final = hidden[torch.arange(size, device=self.device), last]
        logits = final.float() @ self.no_yes_rows.float().T
        return torch.softmax(logits, dim=-1)[:, 1].tolist()


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool right-padded hidden states ``[batch, tokens, dim]``: "cls", "lasttoken" or "mean".

    "lasttoken" reads the last position the attention mask keeps (the pad id may equal a real
    token, e.g. Qwen's ``<|endoftext|>``, so ids cannot tell).
    """
    if mode == "cls":
        return hidden[:, 0]
    if mode == "lasttoken":
        last = mask.sum(dim=1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class TransformersEmbeddingBackend(EmbeddingBackend):
    """An ``AutoModel`` encoder or decoder, length-sorted batches padded on the right."""

    name = "transformers"

    def __init__(self, model_path: Path, pooling: str, normalize: bool, pad_id: int,
                 dtype: str | None = None) -> None:  # fmt: skip
        from transformers import AutoModel

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.dtype = resolve_torch_dtype(dtype, self.device)
        try:
            model = AutoModel.from_pretrained(model_path, dtype=self.dtype)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"transformers could not load the model in {model_path}: {exc}") from exc
        self.model = model.to(self.device).eval()
        self.pooling, self.normalize, self.pad_id = pooling, normalize, pad_id
        self.description = f"{str(self.dtype).removeprefix('torch.')}, {self.device}"

    def embed_token_ids(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        out = np.zeros((len(inputs), int(self.model.config.hidden_size)), dtype=np.float32)
        for batch in length_sorted_batches([len(ids) for ids in inputs]):
            out[batch] = self._forward([inputs[i] for i in batch])
        return out

    @torch.inference_mode()
    def _forward(self, batch: list[Sequence[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        hidden = self.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
        pooled = pool(hidden.float(), mask, self.pooling)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy()
