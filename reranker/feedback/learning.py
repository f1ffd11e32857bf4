"""Picks become phrasings: the customer's question an agent answered with an entry is suggested as
another way to ask it, so the next customer who asks that way finds the entry.

``--learn-phrasings`` chooses what happens to a pick of entry E for question Q:

- ``review`` (the default): Q becomes a pending suggestion for E; a lead approves it (Q is added to
  E's phrasings, a new version) or rejects it (never suggested again). Suggestions that more
  agents made come first.
- ``auto``: Q is added to E at once (teams that trust their agents; tests).
- ``off``: nothing is learned.

A question that is already E's question or one of its phrasings is not suggested. An agent's
Undo withdraws their pick from the suggestion. Picks arrive through
:meth:`reranker.feedback.picks.Picks.record`, so REST ``POST /v1/feedback`` teaches the same way.

>>> learner = PhrasingLearner(editor, "review")                                   # doctest: +SKIP
>>> picks.add_listener(learner)                                                  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Literal, get_args

from reranker.errors import NotFound
from reranker.feedback.editor import FaqEditor
from reranker.feedback.team import Member, require_lead
from reranker.store import PickRecord, question_key
from reranker.store.entries import EntryDraft, SavedEntry, Suggestion

log = logging.getLogger(__name__)

LearnMode = Literal["review", "auto", "off"]
LEARN_MODES: tuple[str, ...] = get_args(LearnMode)
DEFAULT_LEARN_MODE: LearnMode = "review"
#: Who saves the phrasings ``auto`` adds (the picking agent is named in the version's note).
AUTO_AUTHOR = "learned from picks"


class PhrasingLearner:
    """Turns picks into phrasing suggestions (or phrasings) of the picked entries."""

    def __init__(self, editor: FaqEditor, mode: LearnMode = DEFAULT_LEARN_MODE) -> None:
        if mode not in LEARN_MODES:
            raise ValueError(f"learn mode {mode!r}: use one of {', '.join(LEARN_MODES)}")
        self.editor, self.mode = editor, mode
        self.entries = editor.entries

    # Picks ---------------------------------------------------------------------------------------

    def picked(self, pick: PickRecord) -> Suggestion | None:
        """Learn from one recorded pick; returns the suggestion it made or added to (None: nothing learned)."""
        if self.mode == "off" or pick.chosen_id is None:
            return None
        entry = self.editor.entry(pick.base, pick.chosen_id)
        if _knows(entry, pick.question):
            return None
        suggestion = self.entries.suggest(pick.base, pick.chosen_id, pick.question, user=pick.user)
        if self.mode == "auto" and suggestion.status == "pending":
            self._add(suggestion, author=AUTO_AUTHOR, note=f"learned from a pick by {pick.user or 'an agent'}")
            suggestion = self.entries.decide(suggestion.id, "approved", by=AUTO_AUTHOR)
        return suggestion

    def withdrawn(self, pick: PickRecord) -> None:
        """An agent undid a pick: it no longer supports the suggestion it made."""
        if self.mode != "off" and pick.chosen_id is not None:
            self.entries.withdraw(pick.base, pick.chosen_id, pick.question, user=pick.user)

    # A lead's review -------------------------------------------------------------------------------

    def pending(self, base: str) -> list[Suggestion]:
        """The base's suggestions waiting for a lead, most agents first (entries since retired left out)."""
        active = {entry.id: entry for entry in self.editor.listing(base) if not entry.retired}
        return [s for s in self.entries.suggestions(base) if s.entry_id in active
                and not _knows(active[s.entry_id], s.question)]  # fmt: skip

    def approve(self, suggestion_id: int, *, by: Member) -> SavedEntry:
        """Add the suggested question to its entry's phrasings (a new version by the lead)."""
        require_lead(by, "knowledge")
        suggestion = self.entries.suggestion(suggestion_id)
        saved = self._add(suggestion, author=by.name, note=f"approved suggestion ({suggestion.picks} picks)")
        self.entries.decide(suggestion_id, "approved", by=by.name)
        return saved

    def reject(self, suggestion_id: int, *, by: Member) -> Suggestion:
        """Never suggest this question for this entry again."""
        require_lead(by, "knowledge")
        return self.entries.decide(suggestion_id, "rejected", by=by.name)

    def _add(self, suggestion: Suggestion, *, author: str | None, note: str) -> SavedEntry:
        entry = self.editor.entry(suggestion.base, suggestion.entry_id)
        if entry.retired:
            raise NotFound.of("err_entry_not_found", id=entry.id, base=entry.base)
        if _knows(entry, suggestion.question):
            return entry
        draft = EntryDraft(entry.id, entry.question, entry.answer, entry.category,
                           (*entry.phrasings, suggestion.question))  # fmt: skip
        saved = self.editor.save(entry.base, draft, by=Member(author, "lead", "learning"), note=note)
        log.info("entry %s of %r learned the phrasing %r (%s)", entry.id, entry.base, suggestion.question, note)
        return saved


def _knows(entry: SavedEntry, question: str) -> bool:
    """Whether ``question`` is already the entry's question or one of its phrasings."""
    key = question_key(question)
    return any(question_key(text) == key for text in (entry.question, *entry.phrasings))
