"""A lead edits the FAQ base in the desk: versions with author and time, rollback, retire, CSV round trip."""

from __future__ import annotations

import pytest

from reranker.errors import Conflict, Forbidden, InvalidInput, NotFound
from reranker.feedback.editor import FaqEditor
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Member
from reranker.knowledge.bases import bundled_bases, load_faq
from reranker.knowledge.registry import BaseRegistry
from reranker.retrieval.dense import DenseIndex
from reranker.retrieval.keyword import search_base
from reranker.retrieval.slot import DenseSlot
from reranker.store import open_store
from reranker.store.entries import EntryDraft

EN = "English store FAQ (en_store_faq.csv)"
LEAD, OTHER_LEAD, AGENT = Member("lea", "lead"), Member("max", "lead"), Member("bo", "agent")


def make_editor(store, tmp_path, name: str = "a") -> FaqEditor:
    registry = BaseRegistry(bundled_bases())
    return FaqEditor(store, SharedBases(store, registry, tmp_path / name / "shared"))


@pytest.fixture
def editor(store, tmp_path) -> FaqEditor:
    return make_editor(store, tmp_path)


def served(editor: FaqEditor, base: str = EN):
    return editor.registry.named(base)


def test_a_base_is_listed_from_its_file_until_a_lead_first_saves(editor):
    listing = editor.listing(EN)

    assert not editor.edited(EN)
    assert [e.id for e in listing] == [e.id for e in served(editor).entries]
    assert {e.version for e in listing} == {1}


def test_an_edit_is_a_new_version_that_searches_find_at_once(editor):
    before = editor.entry(EN, "en-004")
    draft = EntryDraft("en-004", before.question, "Track it under Account > Orders; the courier link is in the email.",
                       before.category, (*before.phrasings, "Where is my kettle?"))  # fmt: skip

    saved = editor.save(EN, draft, by=LEAD, expected_version=1)

    assert (saved.version, saved.author, saved.note) == (2, "lea", "edit")
    assert served(editor).by_id("en-004").answer.startswith("Track it under Account")
    assert search_base(served(editor), "where is my kettle", top_k=1)[0].entry.id == "en-004"
    history = editor.history(EN, "en-004")
    assert [(v.version, v.author) for v in history] == [(2, "lea"), (1, "lea")]
    assert history[1].note.startswith("copied from en_store_faq.csv")
    assert history[1].answer == before.answer


def test_rollback_makes_an_old_version_current_as_a_new_version(editor):
    original = editor.entry(EN, "en-004")
    editor.save(EN, EntryDraft("en-004", original.question, "Wrong answer."), by=LEAD, expected_version=1)

    rolled = editor.rollback(EN, "en-004", 1, by=OTHER_LEAD, expected_version=2)

    assert (rolled.version, rolled.author, rolled.note) == (3, "max", "rollback to 1")
    assert rolled.draft() == original.draft()
    assert served(editor).by_id("en-004").answer == original.answer


def test_saving_over_someone_elses_newer_version_is_refused_and_names_them(editor):
    entry = editor.entry(EN, "en-001")
    editor.save(EN, EntryDraft("en-001", entry.question, "Lea's answer."), by=LEAD, expected_version=1)

    with pytest.raises(Conflict, match=r"saved by lea .* \(version 2\) after you opened version 1"):
        editor.save(EN, EntryDraft("en-001", entry.question, "Max's answer."), by=OTHER_LEAD, expected_version=1)

    assert served(editor).by_id("en-001").answer == "Lea's answer."


def test_a_new_entry_cannot_take_an_existing_id(editor):
    with pytest.raises(Conflict, match="already has an entry en-001"):
        editor.create(EN, EntryDraft("en-001", "Do you sell gift cards?", "Yes."), by=LEAD)


def test_only_a_lead_edits(editor):
    with pytest.raises(Forbidden, match="Only a lead"):
        editor.create(EN, EntryDraft("en-900", "Gift cards?", "Yes."), by=AGENT)
    assert not editor.edited(EN)


def test_a_retired_entry_leaves_searches_and_can_come_back(editor):
    editor.retire(EN, "en-004", by=LEAD)

    assert "en-004" not in {e.id for e in served(editor).entries}
    assert editor.entry(EN, "en-004").retired
    editor.retire(EN, "en-004", by=LEAD, retired=False)
    assert "en-004" in {e.id for e in served(editor).entries}


def test_the_last_active_entry_cannot_be_retired(editor):
    editor.apply_import("Tiny", b"id,question,answer\nt-1,Hours?,9 to 5.\n", "tiny.csv", changed="skip", by=LEAD)

    with pytest.raises(InvalidInput, match="last active entry"):
        editor.retire("Tiny", "t-1", by=LEAD)


def test_drafts_are_checked_before_anything_is_saved(editor):
    with pytest.raises(InvalidInput, match="neither a question nor an answer"):
        editor.create(EN, EntryDraft("en-900", "  ", ""), by=LEAD)
    with pytest.raises(InvalidInput, match="one phrasing per line"):
        editor.create(EN, EntryDraft("en-900", "Gift cards?", "Yes.", phrasings=("a | b",)), by=LEAD)
    with pytest.raises(NotFound, match="no entry en-999"):
        editor.rollback(EN, "en-999", 1, by=LEAD)
    assert not editor.edited(EN)


def test_another_desk_serves_the_edit_after_its_next_sync(store, tmp_path, editor):
    other = make_editor(store, tmp_path, "b")
    entry = editor.entry(EN, "en-002")

    editor.save(EN, EntryDraft("en-002", entry.question, "Edited on desk A."), by=LEAD, expected_version=1)

    assert other.registry.named(EN).by_id("en-002").answer != "Edited on desk A."
    assert other.shared.sync() == [EN]
    assert other.registry.named(EN).by_id("en-002").answer == "Edited on desk A."
    assert other.shared.sync() == []  # unchanged: nothing reloaded


def test_a_forgotten_base_goes_back_to_its_file(editor):
    bundled = editor.registry.paths[EN]
    editor.retire(EN, "en-004", by=LEAD)
    assert editor.registry.paths[EN] != bundled

    editor.entries.forget_base(EN)
    editor.shared.sync()

    assert editor.registry.paths[EN] == bundled
    assert "en-004" in {e.id for e in served(editor).entries}


TRICKY = (
    "id,question,answer,category,similar_questions\n"
    'x-1,"Price, with a comma?","Line one\nline two, ""quoted""",Billing,How much? | Cost?\n'
    "x-2,=SUM(A1:A2),-5 € off,Promo,+1 question\n"
    "x-3,订单一直显示待发货怎么办？,请耐心等待 48 小时。,物流,还没发货 | 多久发货\n"
)


def test_an_exported_base_imports_back_to_the_same_base(editor):
    editor.apply_import("Tricky", TRICKY.encode(), "tricky.csv", changed="skip", by=LEAD)
    exported = editor.export_csv("Tricky")

    assert exported.startswith(b"\xef\xbb\xbf")
    assert b"'=SUM(A1:A2)" in exported  # a spreadsheet shows it as text
    assert editor.preview_import("Tricky", exported, "export.csv").counts() == {
        "new": 0, "changed": 0, "unchanged": 3, "invalid": 0}  # fmt: skip
    editor.apply_import("Copy", exported, "export.csv", changed="skip", by=LEAD)
    assert [e.draft() for e in editor.listing("Copy")] == [e.draft() for e in editor.listing("Tricky")]
    first = editor.entry("Copy", "x-1")
    assert (first.answer, first.phrasings) == ('Line one\nline two, "quoted"', ("How much?", "Cost?"))
    assert editor.entry("Copy", "x-2").question == "=SUM(A1:A2)"
    assert load_faq(exported).by_id("x-3").similar_questions == ("还没发货", "多久发货")  # any desk reads it


def test_the_import_preview_says_what_each_row_would_do_and_where(editor):
    editor.apply_import("Shop", b"id,question,answer\ns-1,Hours?,9 to 5.\ns-2,Phone?,555-0100.\n", "v1.csv",
                        changed="skip", by=LEAD)  # fmt: skip
    upload = (
        b"id,question,answer\n"
        b's-1,Hours?,"9 to 6,\nweekdays."\n'  # changed, spans lines 2-3
        b"s-2,Phone?,555-0100.\n"  # unchanged
        b"s-3,,\n"  # invalid: empty
        b"s-4,Parking?,Free.\n"  # new
        b"s-4,Parking?,Paid.\n"  # invalid: duplicate
        b",Returns?,30 days.\n"  # new, id generated
    )

    preview = editor.preview_import("Shop", upload, "v2.csv")

    assert [(r.line, r.id, r.status) for r in preview.rows] == [
        (2, "s-1", "changed"), (4, "s-2", "unchanged"), (5, "s-3", "invalid"), (6, "s-4", "new"),
        (7, "s-4", "invalid"), (8, "new-1", "new")]  # fmt: skip
    assert preview.rows[0].changed == ("answer",)
    assert "neither a question nor an answer" in preview.rows[2].error.message("en")
    assert "already used on line 6" in preview.rows[4].error.message("en")
    assert "第 6 行" in preview.rows[4].error.message("zh")
    assert preview.missing == ()


def test_the_lead_chooses_whether_changed_rows_overwrite(editor):
    editor.apply_import("Shop", b"id,question,answer\ns-1,Hours?,9 to 5.\n", "v1.csv", changed="skip", by=LEAD)
    upload = b"id,question,answer\ns-1,Hours?,9 to 6.\ns-2,Phone?,555-0100.\n"

    skipped = editor.apply_import("Shop", upload, "v2.csv", changed="skip", by=LEAD)
    assert (skipped.added, skipped.changed, skipped.skipped) == (1, 0, 1)
    assert editor.entry("Shop", "s-1").answer == "9 to 5."

    overwritten = editor.apply_import("Shop", upload, "v2.csv", changed="overwrite", by=LEAD)
    assert (overwritten.added, overwritten.changed, overwritten.unchanged) == (0, 1, 1)
    assert editor.entry("Shop", "s-1").answer == "9 to 6."
    assert editor.history("Shop", "s-1")[0].note == "import v2.csv"


def test_an_import_keeps_entries_the_file_does_not_have_and_says_so(editor):
    preview = editor.preview_import(EN, b"id,question,answer\nen-001,Q?,A.\n", "one.csv")

    assert "en-002" in preview.missing and "en-001" not in preview.missing


def test_a_restart_serves_the_edited_base_from_the_database(tmp_path, editor):
    editor.retire(EN, "en-004", by=LEAD)
    editor.entries.store.close()

    reopened = make_editor(open_store(tmp_path / "data", bcrypt_rounds=4), tmp_path, "restarted")
    reopened.shared.sync()

    assert "en-004" not in {e.id for e in reopened.registry.named(EN).entries}


def test_editing_one_entry_of_5000_re_embeds_only_that_entry(qwen, editor, tmp_path):
    rows = "".join(f"b-{i},How do I use feature {i}?,Open settings and switch feature {i} on.\n" for i in range(5000))
    editor.apply_import("Big", ("id,question,answer\n" + rows).encode(), "big.csv", changed="skip", by=LEAD)
    slot = DenseSlot.ready("dense", qwen, cache_dir=tmp_path / "vectors")

    def embedded() -> DenseIndex:
        kb = editor.registry.named("Big")
        return slot.index_now(kb)

    assert embedded().computed == 5000
    entry = editor.entry("Big", "b-42")
    editor.save("Big", EntryDraft("b-42", entry.question, entry.answer, phrasings=("Turn on feature 42?",)),
                by=LEAD, expected_version=1)  # fmt: skip

    after = embedded()
    assert (after.computed, len(after)) == (1, 5000)


def test_an_import_without_some_columns_keeps_what_the_entries_hold(editor):
    entry = editor.entry(EN, "en-004")
    assert entry.category and entry.phrasings

    preview = editor.preview_import(EN, b"id,question,answer\nen-004,How do I track my order?,Open Account > Orders.\n")

    assert preview.rows[0].changed == ("answer",)
    editor.apply_import(EN, b"id,question,answer\nen-004,How do I track my order?,Open Account > Orders.\n",
                        changed="overwrite", by=LEAD)  # fmt: skip
    after = editor.entry(EN, "en-004")
    assert (after.answer, after.category, after.phrasings) == ("Open Account > Orders.", entry.category, entry.phrasings)
