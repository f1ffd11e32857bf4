"""What the REST routes say about long documents: windows scored, and the passage that earned the score.

A document longer than the model's max length is scored in overlapping windows
(:meth:`reranker.prompt.PromptEncoder.encode_windows`); its score is the best window's.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from reranker.scorer import RankedDocument


class Evidence(BaseModel):
    """Where the passage that earned a document's score sits in it."""

    start: int = Field(description="Character offset of the passage's first character in the document.")
    end: int = Field(description="Character offset just past its last character (document[start:end]).")
    text: str = Field(description="The passage.")

    @classmethod
    def of(cls, document: RankedDocument) -> Evidence:
        start, end = document.evidence or (0, len(document.text))
        return cls(start=start, end=end, text=document.evidence_text)


CHUNKS_SCORED = Field(
    default=1,
    description="Windows the document was scored in: 1 when it fits the model's max length; a longer "
    "one is split on sentence boundaries into overlapping windows, and its score is the best window's (0: not reranked).",
)
EVIDENCE = Field(default=None, description="With return_evidence: the passage that earned the score.")
