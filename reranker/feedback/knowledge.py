"""The knowledge tools of a desk in one place: the editor, the phrasing learner and the gaps.

:func:`Knowledge.wire` builds them over the team's picks and shared bases and makes every pick
teach (``--learn-phrasings``); the Knowledge tab and the REST routes take one :class:`Knowledge`.

>>> knowledge = Knowledge.wire(picks, shared, learn="review")                    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from reranker.errors import InvalidInput
from reranker.feedback.editor import FaqEditor
from reranker.feedback.knowledge_gaps import EmbedderFor, KnowledgeGaps
from reranker.feedback.learning import DEFAULT_LEARN_MODE, LearnMode, PhrasingLearner
from reranker.feedback.picks import FEEDBACK_OFF, Picks
from reranker.feedback.shared_bases import SharedBases


@dataclass(frozen=True)
class Knowledge:
    """The editor of the desk's bases, the learner that turns picks into phrasings, and the gaps."""

    editor: FaqEditor
    learner: PhrasingLearner
    gaps: KnowledgeGaps

    @classmethod
    def wire(cls, picks: Picks, shared: SharedBases, *, learn: LearnMode = DEFAULT_LEARN_MODE,
             embedder_for: EmbedderFor | None = None) -> Knowledge:  # fmt: skip
        """The tools over ``picks``' store; every pick recorded from now on teaches ``learner``.
        ``embedder_for``: the desk's ``dense.question_embedder`` (gaps are grouped by embeddings
        when it gives one, else by keyword vectors)."""
        if picks.store is None:
            raise InvalidInput(FEEDBACK_OFF)
        editor = FaqEditor(picks.store, shared)
        learner = PhrasingLearner(editor, learn)
        picks.add_listener(learner)
        return cls(editor, learner, KnowledgeGaps(picks, editor, embedder_for))
