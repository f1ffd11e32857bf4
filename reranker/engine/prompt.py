"""The Qwen3-Reranker prompt, exactly as the model card defines it, and its tokenisation.

Pure functions: no model, no engine. Every backend scores the token ids built here, so all of
them see the same prompt and the same truncation.

>>> build_prompt("Where is my order?", "It ships in 24 hours.").endswith("</think>\\n\\n")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reranker.errors import InvalidInput

SYSTEM_PROMPT = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct "
    'provided. Note that the answer can only be "yes" or "no".'
)
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
PREFIX = f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n"
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
YES_TOKEN = "yes"
NO_TOKEN = "no"

MIN_MAX_LENGTH = 128
MAX_MAX_LENGTH = 32768
DEFAULT_MAX_LENGTH = 8192
#: A document longer than (token budget x this) characters is cut by characters before it is
#: tokenised, so a 1 MB answer is never tokenised whole: it is cut, flagged, and scored like
#: any other. Text averages 1-4 characters per token; only a document made mostly of runs of
#: spaces (the longest Qwen tokens, up to 128 characters) could lose text that would have fit.
MAX_CHARS_PER_TOKEN = 16


class Tokenizer(Protocol):
    """The slice of a Hugging Face tokenizer this module needs."""

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def decode(self, token_ids: list[int]) -> str: ...


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one full prompt, and whether the document had to be cut to fit."""

    token_ids: list[int]
    truncated: bool


def resolve_instruction(instruction: str | None) -> str:
    """The instruction to use: the caller's as given, or the model card's default when it is blank."""
    if instruction is None or not instruction.strip():
        return DEFAULT_INSTRUCTION
    return instruction


def format_pair(query: str, document: str, instruction: str | None = None) -> str:
    """The user turn of the prompt: ``<Instruct>: …\\n<Query>: …\\n<Document>: …``."""
    return f"<Instruct>: {resolve_instruction(instruction)}\n<Query>: {query}\n<Document>: {document}"


def build_prompt(query: str, document: str, instruction: str | None = None) -> str:
    """The whole prompt as text (system, user turn, empty-think assistant prefix)."""
    return PREFIX + format_pair(query, document, instruction) + SUFFIX


def validate_max_length(max_length: int) -> int:
    """Check a user-supplied max length and return it."""
    if not MIN_MAX_LENGTH <= max_length <= MAX_MAX_LENGTH:
        raise InvalidInput(
            f"max_length must be between {MIN_MAX_LENGTH} and {MAX_MAX_LENGTH} tokens (got {max_length})."
        )
    return max_length


class PromptEncoder:
    """Turns (query, document) pairs into prompt token ids that fit ``max_length``.

    Tokenises prefix, pair and suffix the way the model card does; when the pair is too long
    only the end of the *document* is cut (the template suffix always stays), and the result
    says so.

    >>> from transformers import AutoTokenizer
    >>> from reranker.testing.make_model import make_model   # the real Qwen vocabulary, offline
    >>> enc = PromptEncoder(AutoTokenizer.from_pretrained(make_model("tiny")), max_length=8192)
    >>> enc.encode("Where is my order?", ["It ships in 24 hours."])[0].truncated
    False
    """

    def __init__(self, tokenizer: Tokenizer, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self.tokenizer = tokenizer
        self.max_length = validate_max_length(max_length)
        self.prefix_ids = tokenizer.encode(PREFIX, add_special_tokens=False)
        self.suffix_ids = tokenizer.encode(SUFFIX, add_special_tokens=False)
        self.pair_budget = self.max_length - len(self.prefix_ids) - len(self.suffix_ids)

    def encode(
        self, query: str, documents: Sequence[str], instruction: str | None = None
    ) -> list[EncodedPair]:
        """Encode every document against the same query and instruction, in input order."""
        head_ids = self.tokenizer.encode(format_pair(query, "", instruction), add_special_tokens=False)
        if len(head_ids) >= self.pair_budget:
            raise InvalidInput(
                f"The query and instruction take {len(head_ids)} tokens, which leaves no room for "
                f"the answer within the {self.max_length}-token limit. Shorten the query or the "
                "instruction, or raise max_length."
            )
        encoded = []
        char_budget = self.pair_budget * MAX_CHARS_PER_TOKEN
        for document in documents:
            cut_by_chars = len(document) > char_budget
            pair_ids = self.tokenizer.encode(
                format_pair(query, document[:char_budget], instruction), add_special_tokens=False
            )
            truncated = cut_by_chars or len(pair_ids) > self.pair_budget
            if truncated:
                pair_ids = pair_ids[: self.pair_budget]
            encoded.append(EncodedPair(self.prefix_ids + pair_ids + self.suffix_ids, truncated))
        return encoded

    def cut_documents(self, documents: Sequence[str], max_tokens: int) -> tuple[list[str], list[int]]:
        """Each document cut to its first ``max_tokens`` tokens, and the indices of those cut.

        Cohere's ``max_tokens_per_doc``: applied to the document alone, before the prompt is built
        (where ``max_length`` may cut it further).
        """
        texts, cut = [], []
        for index, document in enumerate(documents):
            ids = self.tokenizer.encode(document, add_special_tokens=False)
            if len(ids) > max_tokens:
                document = self.tokenizer.decode(ids[:max_tokens])
                cut.append(index)
            texts.append(document)
        return texts, cut
