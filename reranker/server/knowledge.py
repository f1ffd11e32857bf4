"""The Knowledge routes: a base's entries with history, CSV export and import, suggestions, gaps, health.

Reading is for everyone with access; changing is for leads (403 for an agent's key or login):

- ``GET /v1/faq/bases/{base}/entries`` (``?retired=true`` adds retired ones), ``POST`` a new entry
- ``GET|PATCH|DELETE /v1/faq/bases/{base}/entries/{id}`` (DELETE retires it; PATCH with
  ``{"retired": false}`` restores it), ``GET …/history``, ``POST …/rollback``
- ``GET /v1/faq/bases/{base}/export`` (CSV), ``POST /v1/faq/bases/{base}/import?changed=preview|overwrite|skip``
  (the CSV as the body; ``preview`` changes nothing)
- ``GET /v1/faq/bases/{base}/suggestions``, ``POST /v1/faq/suggestions/{id}`` (approve or reject)
- ``GET /v1/faq/gaps?base=`` (largest first), ``POST /v1/faq/gaps/{id}/entry|dismiss?base=``
- ``GET /v1/faq/bases/{base}/health?unpicked_days=N``

A PATCH or rollback may send ``expected_version`` (the version the caller read): when someone
saved since, the answer is 409 and nothing is saved.

>>> client.get("/v1/faq/gaps", params={"base": "English store FAQ (en_store_faq.csv)"}).json()["gaps"][0]["count"]  # doctest: +SKIP
4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends
from pydantic import BaseModel, Field

from reranker.feedback.gaps import Gap
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.knowledge_gaps import confused_pairs, entry_health, unpicked
from reranker.server.auth import caller_of
from reranker.store.entries import EntryDraft, SavedEntry, Suggestion

CSV_TYPE = "text/csv; charset=utf-8"


class Entry(BaseModel):
    id: str
    question: str
    answer: str
    category: str
    phrasings: list[str] = Field(description="Other ways customers ask the question.")
    retired: bool = Field(description="Hidden from searches.")
    version: int = Field(description="Send it back as expected_version when you change the entry.")
    author: str | None = Field(description="Who saved this version (null: read from the base's file).")
    time: datetime | None = Field(description="When this version was saved (null: from the file).")
    note: str = Field(description='Why this version exists: "edit", "rollback to 2", "import x.csv", ...')


class EntryList(BaseModel):
    base: str
    edited: bool = Field(description="The base is edited in the desk (else it is served from its file).")
    entries: list[Entry]


class EntryHistory(BaseModel):
    base: str
    id: str
    versions: list[Entry] = Field(description="Newest first.")


class NewEntry(BaseModel):
    id: str
    question: str
    answer: str = ""
    category: str = ""
    phrasings: list[str] = Field(default_factory=list)


class EntryChange(BaseModel):
    question: str | None = None
    answer: str | None = None
    category: str | None = None
    phrasings: list[str] | None = None
    retired: bool | None = None
    expected_version: int | None = Field(default=None, description="The version you read; 409 if it is not the latest.")


class Rollback(BaseModel):
    version: int = Field(description="The version to make current again.")
    expected_version: int | None = None


class ImportRow(BaseModel):
    line: int = Field(description="The file line the row starts on.")
    id: str
    status: Literal["new", "changed", "unchanged", "invalid"]
    changed: list[str] = Field(description="For changed rows: the fields that differ.")
    error: str | None = Field(description="For invalid rows: why.")


class ImportAnswer(BaseModel):
    base: str
    applied: bool = Field(description="False: a preview, nothing was saved.")
    counts: dict[str, int]
    rows: list[ImportRow]
    missing: list[str] = Field(description="Entries of the base that the file does not have (kept).")


class SuggestionOut(BaseModel):
    id: int
    entry_id: str
    question: str = Field(description="The customer's question, suggested as a phrasing of the entry.")
    status: str
    picks: int
    agents: list[str]
    first_seen: datetime
    last_seen: datetime


class SuggestionList(BaseModel):
    base: str
    suggestions: list[SuggestionOut] = Field(description="Suggestions more agents made first.")


class Decision(BaseModel):
    decision: Literal["approve", "reject"]


class GapOut(BaseModel):
    id: str
    question: str = Field(description="The question that represents the topic.")
    count: int
    first_seen: str
    last_seen: str
    samples: list[str]


class GapList(BaseModel):
    base: str
    grouped_by: Literal["embeddings", "keywords"] = Field(
        description="embeddings: the embedding model grouped the questions; keywords: TF-IDF over keyword tokens.")
    gaps: list[GapOut] = Field(description="Largest topic first.")


class GapEntry(BaseModel):
    id: str | None = Field(default=None, description="Default: the next id in the base's style.")
    question: str | None = Field(default=None, description="Default: the gap's representative question.")
    answer: str
    category: str = ""


class HealthRow(BaseModel):
    id: str
    question: str
    shown_top3: int
    picked: int
    last_picked: datetime | None


class PairOut(BaseModel):
    a: str
    b: str
    together: int = Field(description="Shown together in the top 3.")
    a_over_b: int
    b_over_a: int


class HealthAnswer(BaseModel):
    base: str
    entries: list[HealthRow]
    unpicked: list[str] | None = Field(description="With unpicked_days: entries not picked in that many days.")
    confused_pairs: list[PairOut]


def entry_out(saved: SavedEntry) -> Entry:
    from_file = saved.note == "file"
    return Entry(id=saved.id, question=saved.question, answer=saved.answer, category=saved.category,
                 phrasings=list(saved.phrasings), retired=saved.retired, version=saved.version,
                 author=saved.author, time=None if from_file else saved.time, note=saved.note)  # fmt: skip


def suggestion_out(s: Suggestion) -> SuggestionOut:
    return SuggestionOut(id=s.id, entry_id=s.entry_id, question=s.question, status=s.status, picks=s.picks,
                         agents=list(s.users), first_seen=s.first_seen, last_seen=s.last_seen)  # fmt: skip


def gap_out(gap: Gap) -> GapOut:
    return GapOut(id=gap.id, question=gap.question, count=gap.count, first_seen=gap.first_seen,
                  last_seen=gap.last_seen, samples=list(gap.samples))  # fmt: skip


def add_knowledge_routes(router: APIRouter, knowledge: Knowledge, dependencies: Sequence[Depends],
                         responses: dict[int | str, dict[str, Any]]) -> None:  # fmt: skip
    """Add the Knowledge routes to ``router`` (the API's, with its error answers and access)."""
    editor, learner, gaps = knowledge.editor, knowledge.learner, knowledge.gaps
    common: dict[str, Any] = dict(dependencies=list(dependencies), responses=responses)
    entries_path = "/v1/faq/bases/{base}/entries"

    @router.get(entries_path, response_model=EntryList, summary="A base's entries (current versions)", **common)
    def list_entries(base: str, retired: bool = False) -> EntryList:
        found = [entry_out(e) for e in editor.listing(base) if retired or not e.retired]
        return EntryList(base=base, edited=editor.edited(base), entries=found)

    @router.post(entries_path, response_model=Entry, status_code=201, summary="Add an entry (leads)", **common)
    def add_entry(base: str, body: NewEntry, http: Request) -> Entry:
        draft = EntryDraft(body.id, body.question, body.answer, body.category, tuple(body.phrasings))
        return entry_out(editor.create(base, draft, by=caller_of(http)))

    @router.get(entries_path + "/{entry_id}", response_model=Entry, summary="One entry", **common)
    def get_entry(base: str, entry_id: str) -> Entry:
        return entry_out(editor.entry(base, entry_id))

    @router.patch(entries_path + "/{entry_id}", response_model=Entry, summary="Change an entry (leads)", **common)
    def change_entry(base: str, entry_id: str, body: EntryChange, http: Request) -> Entry:
        current = editor.entry(base, entry_id).draft()
        changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
        if "phrasings" in changes:
            changes["phrasings"] = tuple(changes["phrasings"] or ())
        draft = replace(current, **{k: v for k, v in changes.items() if v is not None})
        note = "edit" if draft.retired == current.retired else ("retire" if draft.retired else "restore")
        return entry_out(editor.save(base, draft, by=caller_of(http), expected_version=body.expected_version, note=note))

    @router.delete(entries_path + "/{entry_id}", response_model=Entry, summary="Retire an entry (leads)", **common)
    def retire_entry(base: str, entry_id: str, http: Request) -> Entry:
        return entry_out(editor.retire(base, entry_id, by=caller_of(http)))

    @router.get(entries_path + "/{entry_id}/history", response_model=EntryHistory,
                summary="Every version of an entry, newest first", **common)  # fmt: skip
    def history(base: str, entry_id: str) -> EntryHistory:
        return EntryHistory(base=base, id=entry_id, versions=[entry_out(v) for v in editor.history(base, entry_id)])

    @router.post(entries_path + "/{entry_id}/rollback", response_model=Entry,
                 summary="Make an old version current again (leads)", **common)  # fmt: skip
    def rollback(base: str, entry_id: str, body: Rollback, http: Request) -> Entry:
        saved = editor.rollback(base, entry_id, body.version, by=caller_of(http), expected_version=body.expected_version)
        return entry_out(saved)

    @router.get("/v1/faq/bases/{base}/export", response_class=Response,
                summary="The base as CSV (id, question, answer, category, similar_questions)", **common)  # fmt: skip
    def export(base: str) -> Response:
        return Response(editor.export_csv(base), media_type=CSV_TYPE,
                        headers={"Content-Disposition": 'attachment; filename="faq-base.csv"'})  # fmt: skip

    @router.post("/v1/faq/bases/{base}/import", response_model=ImportAnswer,
                 summary="Preview or import a CSV into a base (leads import; the body is the CSV)", **common)  # fmt: skip
    async def import_csv(base: str, http: Request,
                         changed: Literal["preview", "overwrite", "skip"] = "preview",
                         filename: str = "the uploaded file") -> ImportAnswer:  # fmt: skip
        data = await http.body()
        if changed == "preview":
            preview = await run_in_threadpool(editor.preview_import, base, data, filename)
        else:
            by = caller_of(http)
            result = await run_in_threadpool(lambda: editor.apply_import(base, data, filename, changed=changed, by=by))
            preview = result.preview
        rows = [ImportRow(line=r.line, id=r.id, status=r.status, changed=list(r.changed),
                          error=None if r.error is None else str(r.error)) for r in preview.rows]  # fmt: skip
        return ImportAnswer(base=base, applied=changed != "preview", counts=preview.counts(), rows=rows,
                            missing=list(preview.missing))  # fmt: skip

    @router.get("/v1/faq/bases/{base}/suggestions", response_model=SuggestionList,
                summary="Customers' questions agents answered with an entry, waiting for a lead", **common)  # fmt: skip
    def suggestions(base: str) -> SuggestionList:
        return SuggestionList(base=base, suggestions=[suggestion_out(s) for s in learner.pending(base)])

    @router.post("/v1/faq/suggestions/{suggestion_id}", response_model=SuggestionOut,
                 summary="Approve (add as a phrasing) or reject a suggestion (leads)", **common)  # fmt: skip
    def decide(suggestion_id: int, body: Decision, http: Request) -> SuggestionOut:
        if body.decision == "approve":
            learner.approve(suggestion_id, by=caller_of(http))
        else:
            learner.reject(suggestion_id, by=caller_of(http))
        return suggestion_out(editor.entries.suggestion(suggestion_id))

    @router.get("/v1/faq/gaps", response_model=GapList,
                summary="Questions no entry answered, grouped by topic, largest first", **common)  # fmt: skip
    def list_gaps(base: str = Query(description="The FAQ base's name.")) -> GapList:
        return GapList(base=base, grouped_by=gaps.grouped_by(base), gaps=[gap_out(gap) for gap in gaps.find(base)])

    @router.post("/v1/faq/gaps/{gap_id}/entry", response_model=Entry, status_code=201,
                 summary="Answer a gap with a new entry; its questions become phrasings (leads)", **common)  # fmt: skip
    def gap_entry(gap_id: str, body: GapEntry, http: Request, base: str = Query()) -> Entry:
        gap = gaps.gap(base, gap_id)  # grouped once, for the draft and the save
        draft = gaps.draft(base, gap)
        filled = EntryDraft(body.id or draft.id, body.question or draft.question, body.answer, body.category,
                            draft.phrasings)  # fmt: skip
        return entry_out(gaps.create_entry(base, gap, filled, by=caller_of(http)))

    @router.post("/v1/faq/gaps/{gap_id}/dismiss", summary="Leave a gap's questions out (leads)", **common)
    def dismiss_gap(gap_id: str, http: Request, base: str = Query()) -> dict[str, int]:
        return {"dismissed": gaps.dismiss(base, gap_id, by=caller_of(http))}

    @router.get("/v1/faq/bases/{base}/health", response_model=HealthAnswer,
                summary="Per entry: shown in the top 3, picked, last picked; entries agents confuse", **common)  # fmt: skip
    def health(base: str, unpicked_days: int | None = Query(default=None, ge=0)) -> HealthAnswer:
        records = gaps.picks.store.records(base) if gaps.picks.store is not None else []
        rows = entry_health(editor.listing(base), records)
        stale = None if unpicked_days is None else [h.id for h in unpicked(rows, unpicked_days)]
        pairs = [PairOut(**p.__dict__) for p in confused_pairs(records)]
        return HealthAnswer(base=base, unpicked=stale, confused_pairs=pairs,
                            entries=[HealthRow(id=h.id, question=h.question, shown_top3=h.shown_top, picked=h.picked,
                                               last_picked=h.last_picked) for h in rows])  # fmt: skip
