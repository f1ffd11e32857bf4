"""Which first stage searches a base: the modes, and when dense retrieval does not suit a base.

``keyword`` is BM25 alone, ``dense`` the embedding index alone, ``hybrid`` their reciprocal-rank
fusion (:mod:`reranker.retrieval.fusion`). A base is embedded once per model
(:func:`index_base`; the vectors are cached on disk) and searched by the pipeline.

An English-only embedder makes Chinese retrieval worse, not better (all-MiniLM-L6-v2 on the
bundled Chinese set: MRR@10 0.29 dense vs 0.88 keyword; docs/retrieval.md), so a base whose text
is mostly CJK keeps keyword search when the embedder's model card lists English only.

>>> check_retrieval("hybrid")
'hybrid'
>>> mostly_cjk(["订单一直显示待发货怎么办？", "Where is my order?"])
False
>>> mostly_cjk(["订单一直显示待发货怎么办？", "退款多久到账？"])
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self, cast, get_args

import yaml

from reranker.errors import InvalidInput
from reranker.i18n import Lang, t
from reranker.knowledge.bases import KnowledgeBase
from reranker.retrieval.dense import DEFAULT_CACHE_DIR, DenseIndex, Embedder, Progress, faq_text

Retrieval = Literal["keyword", "dense", "hybrid"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(Retrieval)
#: How deep each stage ranks before fusion (the fusion measurements, and Qwen3-Reranker's runs, use 100).
FUSION_DEPTH = 100
#: A base is "mostly CJK" when at least this share of its letters are CJK characters.
CJK_SHARE = 0.5
#: How the status line and ``/health`` name each first stage (in English; :func:`stage_label` in any language).
LABELS = {mode: t(f"first_stage_{mode}") for mode in RETRIEVAL_MODES}


def stage_label(retrieval: Retrieval, lang: Lang = "en") -> str:
    """ "keyword (BM25)", "dense (embeddings)" or "hybrid (keyword + dense)", in ``lang``."""
    return t(f"first_stage_{retrieval}", lang)


@dataclass(frozen=True)
class FirstStage:
    """What searches one base now: the mode, the base's dense index (None for keyword), and why.

    ``reason`` is the operator's English sentence (``/health``, the API, the log); ``key`` and
    ``params``, when given, say it to an agent in any language (:meth:`reason_in`).
    """

    retrieval: Retrieval
    index: DenseIndex | None
    reason: str
    key: str = ""
    params: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, retrieval: Retrieval, index: DenseIndex | None, key: str, **params: object) -> Self:
        """The stage whose reason is the catalogue's ``key`` (English ``reason``, the id kept for the UI)."""
        return cls(retrieval, index, t(key, "en", **params), key, params)

    @property
    def label(self) -> str:
        return LABELS[self.retrieval]

    def reason_in(self, lang: Lang) -> str:
        """Why this stage, in ``lang`` (the English ``reason`` when it has no message id)."""
        return t(self.key, lang, **self.params) if self.key else self.reason


#: Keyword search alone: where no embedder is in play (the batch CLI, tests).
KEYWORD_STAGE = FirstStage.of("keyword", None, "stage_keyword")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def check_retrieval(mode: str) -> Retrieval:
    """``mode`` when it is a first stage, else :class:`InvalidInput` listing the choices."""
    if mode not in RETRIEVAL_MODES:
        raise InvalidInput(f"Unknown first stage {mode!r}; choose one of: {', '.join(RETRIEVAL_MODES)}.")
    return cast(Retrieval, mode)


def mostly_cjk(texts: Iterable[str]) -> bool:
    """Whether at least half of the letters in ``texts`` are Chinese, Japanese or Korean characters."""
    letters = cjk = 0
    for text in texts:
        letters += sum(char.isalpha() for char in text)
        cjk += len(_CJK.findall(text))
    return letters > 0 and cjk / letters >= CJK_SHARE


def model_card_languages(directory: Path) -> tuple[str, ...]:
    """The ``language:`` of a model card's YAML front matter (README.md); ``()`` when it has none.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "README.md").write_text("---\\nlanguage: en\\nlicense: mit\\n---\\n# Model")
    >>> model_card_languages(folder)
    ('en',)
    """
    try:
        text = (directory / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    parts = text.split("---", 2)
    if len(parts) < 3 or parts[0].strip():
        return ()
    try:
        front = yaml.safe_load(parts[1])
    except yaml.YAMLError:
        return ()
    languages = front.get("language") if isinstance(front, dict) else None
    if isinstance(languages, str):
        languages = [languages]
    return tuple(str(lang) for lang in languages) if isinstance(languages, list) else ()


def english_only(embedder: Embedder) -> bool:
    """True when the embedder's model card lists English as its only language.

    Qwen3-Embedding is multilingual (its card: 100+ languages); a card without a language list
    is taken at its word, as covering the base's language.
    """
    if embedder.spec.instruct_queries:
        return False
    return model_card_languages(embedder.directory) == ("en",)


def dense_unsuitable(embedder: Embedder, kb: KnowledgeBase) -> str | None:
    """Why dense retrieval should not search ``kb`` with ``embedder`` (None: it may)."""
    if english_only(embedder) and mostly_cjk(faq_text(entry) for entry in kb.entries):
        return (
            f"this base is mostly Chinese/Japanese/Korean text and the embedding model "
            f"{embedder.name} is English-only, which would make search worse; "
            "keyword search is used for it"
        )
    return None


def index_base(
    embedder: Embedder,
    kb: KnowledgeBase,
    *,
    cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
    progress: Progress | None = None,
) -> DenseIndex:
    """The dense index of ``kb`` (row ``i`` is ``kb.entries[i]``): cached rows are read, others embedded."""
    return DenseIndex.build(embedder, [faq_text(entry) for entry in kb.entries], cache_dir=cache_dir,
                            progress=progress)  # fmt: skip
