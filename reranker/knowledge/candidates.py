"""Turn pasted text into a clean list of candidate answers, and say what was removed.

The agent chooses how answers are separated (one per line, or blank lines between multi-line
answers); nothing is guessed. Empty entries and repeats are dropped, and at most
``max_candidates`` are kept, in the order they were pasted.

>>> parsed = parse_candidates("Ships in 24h\\n\\nShips in 24h\\nRefunds take 5 days\\n", "lines", 500)
>>> parsed.texts
['Ships in 24h', 'Refunds take 5 days']
>>> parsed.summary()
'2 candidates (1 duplicate, 1 empty line removed)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from reranker.errors import InvalidInput
from reranker.i18n import Lang, t, t_count

SplitMode = Literal["lines", "blank_lines"]
SPLIT_MODES: tuple[str, ...] = get_args(SplitMode)
_BLANK_LINES = re.compile(r"\n[ \t\f\v]*\n\s*")


@dataclass(frozen=True)
class ParsedCandidates:
    """The candidates to score, in pasted order, and how many entries were removed and why."""

    texts: list[str]
    max_candidates: int
    duplicates_removed: int = 0
    empty_removed: int = 0
    dropped_over_cap: int = 0

    def summary(self, lang: Lang = "en") -> str:
        """One sentence for the agent, e.g. "3 candidates (1 duplicate, 2 empty lines removed)"."""
        removed = []
        if self.duplicates_removed:
            removed.append(t_count("duplicate", lang, self.duplicates_removed))
        if self.empty_removed:
            removed.append(t_count("empty_line", lang, self.empty_removed))
        sentence = t_count("candidate", lang, len(self.texts))
        if removed:
            sentence += t("removed", lang, what=t("list_sep", lang).join(removed))
        if self.dropped_over_cap:
            sentence += t("over_cap", lang, cap=self.max_candidates, n=self.dropped_over_cap)
        return sentence


def parse_candidates(text: str, mode: SplitMode, max_candidates: int) -> ParsedCandidates:
    """Split ``text`` into candidates: ``"lines"`` (one per line) or ``"blank_lines"``.

    In ``"blank_lines"`` mode an answer may span several lines; one or more blank lines end
    it (there they are separators, so ``empty_removed`` counts only ``"lines"`` mode's blank
    lines). Candidates are compared ignoring whitespace differences; the first copy is kept.
    """
    if mode not in SPLIT_MODES:
        raise InvalidInput(f"Unknown split mode {mode!r}; choose one of: {', '.join(SPLIT_MODES)}.")
    if max_candidates < 1:
        raise InvalidInput(f"The candidate limit must be at least 1, got {max_candidates}.")
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    if mode == "lines":
        pieces = normalised.split("\n")
        if pieces and pieces[-1] == "":
            pieces.pop()  # the newline that ends the last line is not an empty line
    else:
        pieces = _BLANK_LINES.split(normalised.strip()) if normalised.strip() else []
    entries = [piece.strip() for piece in pieces]
    non_empty = [entry for entry in entries if entry]
    first_copies: dict[str, str] = {}
    for entry in non_empty:
        first_copies.setdefault(" ".join(entry.split()), entry)
    unique = list(first_copies.values())
    return ParsedCandidates(
        texts=unique[:max_candidates],
        max_candidates=max_candidates,
        duplicates_removed=len(non_empty) - len(unique),
        empty_removed=len(entries) - len(non_empty),
        dropped_over_cap=max(0, len(unique) - max_candidates),
    )
