"""Which language a base and a question are in: the base an agent starts on, and the hint to switch.

An English browser should open on an English base, a Chinese one on a Chinese base; a question
typed in one script against a base in the other gets a hint naming a base that fits.

>>> script_of("Where is my order?"), script_of("订单一直显示待发货怎么办？"), script_of("A1 ?")
('en', 'zh', None)
>>> default_base(["中文电商 FAQ", "English store FAQ"], {"中文电商 FAQ": "zh", "English store FAQ": "en"}.get, "en")
'English store FAQ'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from reranker.i18n import Lang, t
from reranker.knowledge.bases import KnowledgeBase
from reranker.retrieval.first_stage import mostly_cjk

#: A question with fewer letters than this says nothing about its language ("A1 ?").
MIN_LETTERS = 3


def script_of(text: str) -> Lang | None:
    """``zh`` for mostly Chinese text, ``en`` for other letters, None when it has too few letters to tell."""
    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        return None
    return "zh" if mostly_cjk([text]) else "en"


@functools.lru_cache(maxsize=64)
def base_language(kb: KnowledgeBase) -> Lang:
    """The language of a base's questions and answers (``zh`` when mostly Chinese)."""
    return "zh" if mostly_cjk(f"{entry.question} {entry.answer}" for entry in kb.entries) else "en"


def default_base(names: Sequence[str], language: Callable[[str], Lang | None], lang: Lang) -> str | None:
    """The first base in the browser's language ``lang``, else the first base (None: no base)."""
    return next((name for name in names if language(name) == lang), names[0] if names else None)


def switch_hint(question: str, base: str, base_lang: Lang, others: dict[str, Lang], lang: Lang) -> str | None:
    """A sentence (in ``lang``) when the question's script does not match the base's language.

    ``others``: the other bases and their languages; the hint names the first that fits.
    """
    asked = script_of(question)
    if asked is None or asked == base_lang:
        return None
    fits = next((name for name, other in others.items() if other == asked and name != base), None)
    language = t(f"language_{asked}", lang)
    if fits is None:
        return t("script_hint_none", lang, language=language, base=base)
    return t("script_hint", lang, language=language, base=base, fits=fits)
