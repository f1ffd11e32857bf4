"""Text as people type it: the one question check, and the cleaning done at the desk's edge.

The scorer and the REST API score exactly the text they are sent (as the model card's code and
``vllm serve`` do), so a document with a trailing space scores as it does there. What an agent
types or pastes into the desk, or what a CSV cell holds, is cleaned here first, so the desk
and the API agree on the same clean input.

>>> clean("  Cafe\\u0301 hours?\\n")
'Café hours?'
>>> require_question("  ")
Traceback (most recent call last):
...
reranker.errors.InvalidInput: The question is empty: type the customer's question first.
"""

from __future__ import annotations

import unicodedata

from reranker.errors import InvalidInput


def clean(text: str) -> str:
    """Unicode NFC, trimmed: ``"  Where is my order? "`` and ``"Where is my order?"`` are one question."""
    return unicodedata.normalize("NFC", text).strip()


def require_question(query: object) -> str:
    """The question as given; :class:`InvalidInput` ("type the question first") when it is blank."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput.of("no_question")
    return query


#: What a spreadsheet reads as the start of a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """Prefix a text cell starting with ``= + - @``, tab or CR with ``'`` so it stays text.

    >>> neutralise_formula("=SUM(A1:A9)"), neutralise_formula("Ships in 24h")
    ("'=SUM(A1:A9)", 'Ships in 24h')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """Undo :func:`neutralise_formula`: what a CSV export wrote as ``'=...`` is read back as ``=...``.

    >>> restore_formula("'=SUM(A1:A9)"), restore_formula("'quoted'")
    ('=SUM(A1:A9)', "'quoted'")
    """
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
