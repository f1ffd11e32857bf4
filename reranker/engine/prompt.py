"""The Qwen3-Reranker prompt, exactly as the model card defines it, and its tokenisation.

Pure functions: no model, no engine. Every backend scores the token ids built here, so all of
them see the same prompt and the same truncation.

>>> build_prompt("Where is my order?", "It ships in 24 hours.").endswith("</think>\\n\\n")
True
"""

from __future__ import annotations

import bisect
import re
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
#: Tokens per window (``--max-length``): a prompt of system, instruction, question and (a passage
#: of) the answer. FAQ answers (50-300 tokens) fit one window whole; a longer answer is scored in
#: overlapping windows, up to :data:`MAX_WINDOWS` of them (about 15,000 tokens of answer).
DEFAULT_MAX_LENGTH = 1024
#: A document longer than (token budget x this) characters is cut by characters before it is
#: tokenised, so a 1 MB answer is never tokenised whole: it is cut, flagged, and scored like
#: any other. Text averages 1-4 characters per token; only a document made mostly of runs of
#: spaces (the longest Qwen tokens, up to 128 characters) could lose text that would have fit.
MAX_CHARS_PER_TOKEN = 16
#: The whole-document limit: an answer longer than one window is scored in at most this many
#: windows (so up to about MAX_WINDOWS x max_length tokens); text beyond them is cut and flagged.
MAX_WINDOWS = 16
#: Consecutive windows share up to this share of a window's document tokens (whole sentences), so
#: a passage that straddles a boundary is seen whole by one of them.
WINDOW_OVERLAP = 1 / 8
#: Tokens a window keeps free for the few that tokenising the window on its own may add at its edges.
WINDOW_SLACK = 8
#: A sentence ends after . ! ? ; followed by a space (English), after 。！？；… (Chinese, no space
#: needed), or at a line break; closing quotes and brackets stay with their sentence.
_SENTENCE_END = re.compile(r"[.!?;][\"')\]’”]*\s+|[。！？；…!?]+[”’」』）)]*\s*|\n\s*")


class Tokenizer(Protocol):
    """The slice of a Hugging Face (fast) tokenizer this module needs."""

    def __call__(
        self, text: str, add_special_tokens: bool = ..., return_offsets_mapping: bool = ...
    ) -> dict: ...

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...

    def decode(self, token_ids: list[int]) -> str: ...


@dataclass(frozen=True)
class EncodedPair:
    """Token ids of one full prompt, and whether the document had to be cut to fit."""

    token_ids: list[int]
    truncated: bool


@dataclass(frozen=True)
class Window:
    """One scored passage of a document: its prompt's token ids and where it sits in the document.

    ``start``/``end`` are character offsets into the document (``document[start:end]`` is the
    passage the model saw).
    """

    token_ids: list[int]
    start: int
    end: int


@dataclass(frozen=True)
class EncodedDocument:
    """A document's prompts: one window when it fits ``max_length``, else overlapping windows.

    ``truncated``: the document is longer than :data:`MAX_WINDOWS` windows, and its end was cut.
    """

    windows: list[Window]
    truncated: bool


def window_prompts(documents: Sequence[EncodedDocument]) -> list[list[int]]:
    """Every window's token ids, document after document: the prompts one engine call scores."""
    return [window.token_ids for doc in documents for window in doc.windows]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, covering it whole (separators stay with
    the sentence they end).

    >>> text = "Ships in 24h. Track it online! 通常24小时内发出。请耐心等待"
    >>> [text[s:e] for s, e in sentence_spans(text)]
    ['Ships in 24h. ', 'Track it online! ', '通常24小时内发出。', '请耐心等待']
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            spans.append((start, match.end()))
            start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


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

    def encode_windows(
        self, query: str, documents: Sequence[str], instruction: str | None = None
    ) -> list[EncodedDocument]:
        """Every document as the prompts it is scored by, in input order: never cut, but chunked.

        A document that fits ``max_length`` is one window with exactly :meth:`encode`'s token
        ids (the model card's prompt). A longer one is split on sentence boundaries into
        overlapping windows of at most ``max_length`` tokens each, every window encoded as a
        document of its own; only beyond :data:`MAX_WINDOWS` windows is the rest cut (flagged).

        >>> from transformers import AutoTokenizer
        >>> from reranker.testing.make_model import make_model
        >>> enc = PromptEncoder(AutoTokenizer.from_pretrained(make_model("tiny")), max_length=128)
        >>> [doc] = enc.encode_windows("Returns?", ["Unused items can be returned. " * 20])
        >>> len(doc.windows) > 1, doc.truncated, max(len(w.token_ids) for w in doc.windows) <= 128
        (True, False, True)
        """
        fitting = self.encode(query, documents, instruction)  # also checks the query leaves room
        head_tokens = len(
            self.tokenizer.encode(format_pair(query, "", instruction), add_special_tokens=False)
        )
        encoded = []
        for document, pair in zip(documents, fitting):
            if not pair.truncated:
                encoded.append(EncodedDocument([Window(pair.token_ids, 0, len(document))], False))
            else:
                encoded.append(self._chunk(query, document, instruction, self.pair_budget - head_tokens))
        return encoded

    def _chunk(self, query: str, document: str, instruction: str | None, room: int) -> EncodedDocument:
        """Overlapping sentence-aligned windows of ``document``, each with at most ``room`` tokens."""
        limit = room * MAX_CHARS_PER_TOKEN * MAX_WINDOWS
        text = document[:limit]
        offsets = [start for start, _ in self.tokenizer(text, add_special_tokens=False,
                                                        return_offsets_mapping=True)["offset_mapping"]]  # fmt: skip
        budget = max(1, room - WINDOW_SLACK)

        def tokens(start: int, end: int) -> int:
            return bisect.bisect_left(offsets, end) - bisect.bisect_left(offsets, start)

        pieces = []  # sentences, a sentence longer than a window split at token boundaries
        for start, end in sentence_spans(text):
            while tokens(start, end) > budget:
                cut = offsets[bisect.bisect_left(offsets, start) + budget]
                pieces.append((start, cut))
                start = cut
            pieces.append((start, end))
        windows: list[Window] = []
        first = 0
        while first < len(pieces) and len(windows) < MAX_WINDOWS:
            last = first
            while last + 1 < len(pieces) and tokens(pieces[first][0], pieces[last + 1][1]) <= budget:
                last += 1
            windows.append(self._window(query, text, pieces[first][0], pieces[last][1], instruction))
            if last + 1 == len(pieces):
                break
            first = self._overlap_start(pieces, first, last, tokens, budget)
        covered = windows[-1].end >= len(text.rstrip())
        return EncodedDocument(windows, truncated=len(text) < len(document) or not covered)

    @staticmethod
    def _overlap_start(pieces: list[tuple[int, int]], first: int, last: int, tokens, budget: int) -> int:
        """Where the window after ``pieces[first..last]`` starts: with its last sentences, up to
        :data:`WINDOW_OVERLAP` of the budget (at least the last one, if it takes at most half)."""
        start = last + 1
        while start - 1 > first:
            overlap = tokens(pieces[start - 1][0], pieces[last][1])
            if overlap > budget * WINDOW_OVERLAP and not (start == last + 1 and overlap <= budget // 2):
                break
            start -= 1
        return start

    def _window(self, query: str, text: str, start: int, end: int, instruction: str | None) -> Window:
        """The prompt of ``text[start:end]`` (surrounding whitespace left out), as a document of its own."""
        passage = text[start:end]
        start += len(passage) - len(passage.lstrip())
        end = start + len(passage.strip())
        [pair] = self.encode(query, [text[start:end]], instruction)
        return Window(pair.token_ids, start, end)

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
