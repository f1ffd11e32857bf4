"""The Knowledge tab's handlers without a browser: entries with history and rollback, a conflict,
CSV export and a previewed import, suggestions, gaps turned into entries, health, and an agent who
can look but not change anything."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from reranker.desk.desk import Desk
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.picks import Picks, Shown
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Team
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.keyword import search_base
from reranker.retrieval.slot import DenseSlot
from reranker.store import ShownAnswer
from reranker.ui import export_dir
from reranker.ui import knowledge_entries as entries
from reranker.ui import knowledge_review as review

ZH, EN = list(bundled_bases())
#: Questions no entry answers, close enough to be one topic.
MARS = ["Do you ship to Mars?", "Can you ship to Mars?", "Do you ship orders to Mars?", "Will you ship to Mars?"]


@pytest.fixture
def team(store) -> Team:
    for name, role in (("lea", "lead"), ("max", "lead"), ("bo", "agent")):
        store.add_user(name, f"{name} password", role)
    return Team(store)


def wire(desk: Desk, store, team: Team, folder: Path) -> Knowledge:
    return Knowledge.wire(Picks(store, desk.bases, team=team), SharedBases(store, desk.bases, folder))


@pytest.fixture
def knowledge(desk, store, team, tmp_path) -> Knowledge:
    return wire(desk, store, team, tmp_path / "shared")


def form(reply: tuple) -> dict[str, object]:
    """The status line and the form's values of a handler's reply, by name."""
    message, entry_id, question, answer, category, phrasings, opened, retire = reply
    box = entry_id if isinstance(entry_id, dict) else {"value": entry_id.value, "interactive": entry_id.interactive}
    return {"message": message, "id": box.get("value"), "id_editable": box.get("interactive"), "question": question,
            "answer": answer, "category": category, "phrasings": phrasings, "opened": opened,
            "retire": None if isinstance(retire, dict) else retire.value}  # fmt: skip


def opened(desk, knowledge, team, entry_id: str, lang="en") -> dict[str, object]:
    return form(entries.open_entry(knowledge.editor, EN, entry_id, lang))


def save(desk, knowledge, team, shown: dict[str, object], user="lea", lang="en", **changes) -> dict[str, object]:
    values = {**shown, **changes}
    return form(entries.save_entry(desk, knowledge, team, values["opened"], values["id"], values["question"],
                                   values["answer"], values["category"], values["phrasings"], user, lang))  # fmt: skip


def column(table: pd.DataFrame, index: int) -> list[object]:
    return table.iloc[:, index].tolist()


def record_none_of_these(knowledge: Knowledge, questions: list[str]) -> None:
    for question in questions:
        knowledge.gaps.picks.record(base=EN, question=question, chosen_id=None, user="bo")


# Entries -----------------------------------------------------------------------------------------


def test_the_table_lists_every_entry_and_the_filter_narrows_it(desk, knowledge):
    table = entries.entries_table(knowledge.editor, EN, "", "en")
    assert len(table) == len(desk.bases.named(EN))
    assert list(table.columns) == ["Id", "Status", "Question", "Phrasings", "Category", "Version", "Saved by",
                                   "Saved at"]  # fmt: skip
    assert set(column(table, 1)) == {""} and set(column(table, 6)) == {"(the base's file)"}
    refunds = entries.entries_table(knowledge.editor, EN, "REFUND", "zh")
    assert 0 < len(refunds) < len(table) and refunds.columns[0] == "编号"
    found = [knowledge.editor.entry(EN, entry_id) for entry_id in column(refunds, 0)]
    assert all("refund" in f"{e.question} {e.answer} {e.category} {' '.join(e.phrasings)}".casefold() for e in found)


def test_a_lead_opens_an_entry_edits_it_and_sees_the_version_saved(desk, knowledge, team):
    shown = opened(desk, knowledge, team, "en-004")
    assert shown["opened"] == entries.Opened(EN, "en-004", 1) and shown["id_editable"] is False
    assert "Editing en-004, version 1" in shown["message"] and shown["retire"] == "Retire"

    saved = save(desk, knowledge, team, shown, answer="Track it under Account > Orders.",
                 phrasings=f"{shown['phrasings']}\nWhere is my kettle?")  # fmt: skip

    assert "Saved en-004 as version 2." in saved["message"]
    assert "The keyword index was rebuilt" in saved["message"]  # the desk has no dense search
    assert saved["opened"] == entries.Opened(EN, "en-004", 2)
    assert search_base(desk.bases.named(EN), "where is my kettle", top_k=1)[0].entry.id == "en-004"
    history = entries.history_table(knowledge.editor, saved["opened"], "en")
    assert column(history, 0) == [2, 1] and column(history, 2) == ["lea", "lea"]
    assert column(history, 3) == ["edit", "copied from en_store_faq.csv"]
    row = entries.entries_table(knowledge.editor, EN, "en-004", "en").iloc[0].tolist()
    assert row[5] == 2 and row[6] == "lea" and row[3] == len(saved["phrasings"].splitlines())


def test_saving_an_unchanged_form_saves_nothing(desk, knowledge, team):
    shown = opened(desk, knowledge, team, "en-004")
    again = save(desk, knowledge, team, save(desk, knowledge, team, shown, answer="New."))
    assert "Nothing to save: en-004 is unchanged (version 2)" in again["message"]
    assert len(knowledge.editor.history(EN, "en-004")) == 2


def test_a_save_over_someone_elses_newer_version_shows_the_conflict_and_saves_nothing(desk, knowledge, team):
    lea = opened(desk, knowledge, team, "en-001")
    save(desk, knowledge, team, opened(desk, knowledge, team, "en-001"), user="max", answer="Max's answer.")

    refused = save(desk, knowledge, team, lea, answer="Lea's answer.", lang="zh")

    assert "desk-error" in refused["message"] and "max" in refused["message"] and "请重新加载后再修改" in refused["message"]
    assert refused["opened"] == {"__type__": "update"}  # the form keeps Lea's text for her to redo
    assert knowledge.editor.entry(EN, "en-001").answer == "Max's answer."


def test_a_new_entry_gets_the_next_id_and_cannot_take_one_in_use(desk, knowledge, team):
    blank = form(entries.new_entry(knowledge.editor, EN, "en"))
    assert blank["opened"] == entries.Opened(EN) and blank["id_editable"] is True
    assert blank["retire"] == "Retire" and blank["question"] == ""
    new_id = blank["id"]
    assert new_id not in {e.id for e in desk.bases.named(EN).entries}

    saved = save(desk, knowledge, team, blank, question="Do you sell gift cards?", answer="Yes, in every store.")
    taken = save(desk, knowledge, team, blank, id="en-001", question="Gift cards?", answer="Yes.")

    assert f"Saved {new_id} as version 1" in saved["message"] and saved["id_editable"] is False
    assert "already has an entry en-001" in taken["message"]
    assert desk.bases.named(EN).by_id(new_id).answer == "Yes, in every store."


def test_retire_hides_an_entry_from_searches_and_restore_brings_it_back(desk, knowledge, team):
    retired = form(entries.retire_entry(desk, knowledge.editor, team, opened(desk, knowledge, team, "en-004")["opened"],
                                        "lea", "en"))  # fmt: skip
    assert "Retired en-004 (version 2)" in retired["message"] and retired["retire"] == "Restore"
    assert "en-004" not in {e.id for e in desk.bases.named(EN).entries}
    assert entries.entries_table(knowledge.editor, EN, "en-004", "en").iloc[0, 1] == "RETIRED (not searched)"
    assert "it is retired" in opened(desk, knowledge, team, "en-004")["message"]

    restored = form(entries.retire_entry(desk, knowledge.editor, team, retired["opened"], "lea", "zh"))
    assert "已恢复 en-004（第 3 版）" in restored["message"] and restored["retire"] == "停用"
    assert "en-004" in {e.id for e in desk.bases.named(EN).entries}


def test_a_rollback_asks_first_then_saves_the_old_version_as_a_new_one(desk, knowledge, team):
    original = knowledge.editor.entry(EN, "en-004")
    edited = save(desk, knowledge, team, opened(desk, knowledge, team, "en-004"), answer="Wrong answer.")
    history = entries.history_table(knowledge.editor, edited["opened"], "en")
    chosen = entries.selected_cell(history.iloc[1].tolist())

    row, question = entries.ask_rollback(edited["opened"], chosen, "en")
    assert row.visible and question == "Make version 1 of en-004 current again? It is saved as version 3."
    rolled = form(entries.rollback_entry(desk, knowledge.editor, team, edited["opened"], chosen, "max", "en"))

    assert "Rolled en-004 back to version 1: saved as version 3." in rolled["message"]
    assert rolled["answer"] == original.answer and rolled["opened"].version == 3
    assert desk.bases.named(EN).by_id("en-004").answer == original.answer
    notes = column(entries.history_table(knowledge.editor, rolled["opened"], "zh"), 3)
    assert notes == ["回滚到第 1 版", "编辑", "复制自 en_store_faq.csv"]


def test_nothing_is_rolled_back_before_a_version_is_chosen(desk, knowledge, team):
    shown = opened(desk, knowledge, team, "en-004")
    assert entries.ask_rollback(shown["opened"], None, "en")[1] == "Select an entry, then a version in its history."
    assert "Select an entry" in form(entries.rollback_entry(desk, knowledge.editor, team, shown["opened"], None))["message"]
    assert not knowledge.editor.edited(EN)


# Import and export --------------------------------------------------------------------------------


def test_export_gives_the_base_as_csv_and_importing_it_back_changes_nothing(desk, knowledge, tmp_path):
    path, message = entries.export_file(knowledge.editor, EN, tmp_path, "en")
    assert message == "" and Path(path).name == "English-store-FAQ-en_store_faq.csv"
    exported = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(exported) == len(desk.bases.named(EN)) and list(exported.columns)[:3] == ["id", "question", "answer"]

    summary, table, apply = entries.preview_file(knowledge.editor, EN, path, "en")

    assert f"0 new, 0 changed, {len(exported)} unchanged, 0 invalid" in summary
    assert set(column(table, 2)) == {"unchanged"} and apply.interactive is False


def test_an_import_preview_says_what_each_row_would_do_with_its_line_and_reason(desk, knowledge, team, tmp_path):
    kb = desk.bases.named(ZH)
    first, second = kb.entries[0], kb.entries[1]
    upload = tmp_path / "导入.csv"
    with upload.open("w", encoding="utf-8", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["id", "question", "answer", "category", "similar_questions"])
        rows.writerow([first.id, first.question, first.answer, first.category, "|".join(first.similar_questions)])
        rows.writerow([second.id, second.question, "新的答案，\n分两行。", second.category,
                       "|".join(second.similar_questions)])  # lines 3-4: the answer changed  # fmt: skip
        rows.writerow(["zh-new", "可以开发票吗？", "可以，在订单页申请。", "", ""])  # line 5
        rows.writerow(["zh-bad", "", "", "", ""])  # line 6: neither question nor answer

    summary, table, apply = entries.preview_file(knowledge.editor, ZH, str(upload), "zh")

    assert "导入.csv：新增 1 条，有改动 1 条，无改动 1 条，无效 1 条。" in summary
    assert f"文件缺少知识库中的 {len(kb) - 2} 个条目" in summary
    assert list(table.columns) == ["行号", "编号", "状态", "改动的字段或无效原因"]
    rows = table.values.tolist()
    assert rows[:3] == [[2, first.id, "无改动", ""], [3, second.id, "有改动", "答案"], [5, "zh-new", "新增", ""]]
    assert rows[3][:3] == [6, "zh-bad", "无效"] and "既没有问题也没有答案" in rows[3][3]
    assert apply.interactive is True

    skipped = entries.import_file(desk, knowledge.editor, team, ZH, str(upload), "skip", "lea", "en")
    assert "1 added, 0 changed, 1 skipped, 1 unchanged, 1 invalid rows left out" in skipped
    assert desk.bases.named(ZH).by_id(second.id).answer == second.answer
    overwritten = entries.import_file(desk, knowledge.editor, team, ZH, str(upload), "overwrite", "lea", "zh")
    assert "修改 1 条" in overwritten and desk.bases.named(ZH).by_id(second.id).answer == "新的答案，\n分两行。"


def test_an_import_without_a_file_or_with_a_broken_one_says_what_to_do(knowledge, desk, team, tmp_path):
    assert "Upload a CSV first" in entries.import_file(desk, knowledge.editor, team, EN, None, "skip")
    broken = tmp_path / "faq.csv"
    broken.write_text("answer\nonly answers\n", encoding="utf-8")
    summary, table, apply = entries.preview_file(knowledge.editor, EN, str(broken), "en")
    assert "desk-error" in summary and "question" in summary and table.empty and apply.interactive is False


# Suggestions, gaps, health -------------------------------------------------------------------------


def test_a_lead_approves_or_rejects_the_phrasings_agents_suggested(desk, knowledge, team):
    picks = knowledge.gaps.picks
    for user in ("bo", "lea"):
        picks.record(base=EN, question="where is my kettle now", chosen_id="en-004", user=user)
    picks.record(base=EN, question="kettle???", chosen_id="en-004", user="bo")

    table = review.suggestions_table(knowledge, EN, "en")

    assert column(table, 1) == ["where is my kettle now", "kettle???"]  # more agents first
    assert column(table, 2) == ["en-004", "en-004"] and column(table, 4) == [2, 1] and table.iloc[0, 5] == "bo, lea"
    assert table.iloc[0, 3] == knowledge.editor.entry(EN, "en-004").question
    first, second = (entries.selected_cell(row) for row in table.values.tolist())
    approved = review.decide_suggestion(desk, knowledge, team, first, True, "lea", "en")
    rejected = review.decide_suggestion(desk, knowledge, team, second, False, "lea", "zh")

    assert "Added “where is my kettle now” to en-004 as a phrasing (version 2)." in approved
    assert "以后不再建议" in rejected and review.suggestions_table(knowledge, EN, "en").empty
    assert "where is my kettle now" in knowledge.editor.entry(EN, "en-004").phrasings
    assert "Select a suggestion" in review.decide_suggestion(desk, knowledge, team, None, True, "lea")


def test_a_gap_drafted_into_an_entry_leaves_the_gaps_and_its_questions_find_the_entry(desk, knowledge, team):
    record_none_of_these(knowledge, MARS)
    table, topics = review.gaps_view(knowledge.gaps, EN, "en")
    assert list(table.columns) == ["Representative question", "Questions", "First seen", "Last seen", "Sample questions"]
    row = table.iloc[0].tolist()
    assert row[1] == len(MARS) and len(row[2]) == 16 and row[0] in MARS
    gap_id = review.chosen_gap(topics, row)

    *reply, tabs = review.draft_gap(knowledge.gaps, EN, gap_id, "en")
    draft = form(tuple(reply))
    assert tabs.selected == review.ENTRIES_TAB and draft["opened"] == entries.Opened(EN, gap=gap_id)
    assert draft["question"] == row[0] and set(draft["phrasings"].splitlines()) == set(MARS) - {row[0]}
    assert draft["answer"] == "" and draft["id_editable"] is True and "write the answer" in draft["message"]

    saved = save(desk, knowledge, team, draft, answer="We ship to Earth addresses only.")

    assert f"Saved {draft['id']} as version 1" in saved["message"] and "left the gaps" in saved["message"]
    assert review.gaps_view(knowledge.gaps, EN, "en")[0].empty
    for question in MARS:
        assert search_base(desk.bases.named(EN), question, top_k=1)[0].entry.id == draft["id"]
    assert knowledge.editor.history(EN, draft["id"])[0].note == "from a gap"


def test_a_dismissed_gap_leaves_the_view(knowledge, team):
    record_none_of_these(knowledge, MARS[:2])
    table, topics = review.gaps_view(knowledge.gaps, EN, "zh")
    gap_id = review.chosen_gap(topics, table.iloc[0].tolist())

    said = review.dismiss_gap(knowledge.gaps, team, EN, gap_id, "lea", "zh")

    assert "已忽略" in said and "2 个问题" in said and review.gaps_view(knowledge.gaps, EN, "zh")[0].empty
    assert "Select a topic" in review.dismiss_gap(knowledge.gaps, team, EN, None, "lea")


def test_health_counts_shown_and_picked_filters_unpicked_entries_and_finds_confused_pairs(knowledge):
    picks = knowledge.gaps.picks
    shown = Shown(EN, "q", None, (ShownAnswer("en-001", 0.9, 1), ShownAnswer("en-002", 0.8, 2)))
    for n, chosen in enumerate(["en-001", "en-002", "en-001"]):
        picks.record(base=EN, question=f"question {n}", chosen_id=chosen, shown=shown, user="bo")

    health, pairs = review.health_view(knowledge, EN, None, "en")
    recent, _ = review.health_view(knowledge, EN, 7, "zh")

    by_id = {row[0]: row for row in health.values.tolist()}
    assert by_id["en-001"][2:4] == [3, 2] and by_id["en-002"][2:4] == [3, 1] and by_id["en-003"][2:] == [0, 0, "never"]
    assert "en-001" not in column(recent, 0) and "en-003" in column(recent, 0) and recent.iloc[0, 4] == "从未"
    assert pairs.values.tolist()[0][2:] == [3, 2, 1] and pairs.iloc[0, 0].startswith("en-001 · ")


# Who may change what -------------------------------------------------------------------------------


def test_an_agent_can_look_at_everything_but_change_nothing(desk, knowledge, team, tmp_path):
    picks = knowledge.gaps.picks
    picks.record(base=EN, question="where is my kettle now", chosen_id="en-004", user="bo")
    record_none_of_these(knowledge, MARS)
    shown = opened(desk, knowledge, team, "en-004")
    upload = tmp_path / "faq.csv"
    upload.write_text("id,question,answer\nen-900,Gift cards?,Yes.\n", encoding="utf-8")
    suggestion = entries.selected_cell(review.suggestions_table(knowledge, EN, "en").iloc[0].tolist())
    table, topics = review.gaps_view(knowledge.gaps, EN, "en")
    gap_id = review.chosen_gap(topics, table.iloc[0].tolist())
    draft = form(tuple(review.draft_gap(knowledge.gaps, EN, gap_id, "en")[:-1]))

    answers = [
        save(desk, knowledge, team, shown, user="bo", answer="Agent's answer."),
        save(desk, knowledge, team, form(entries.new_entry(knowledge.editor, EN)), user="bo", question="Q?", answer="A."),
        save(desk, knowledge, team, draft, user="bo", answer="Agent's answer."),
        form(entries.retire_entry(desk, knowledge.editor, team, shown["opened"], "bo")),
        form(entries.rollback_entry(desk, knowledge.editor, team, shown["opened"], "1", "bo")),
    ]
    said = [reply["message"] for reply in answers] + [
        entries.import_file(desk, knowledge.editor, team, EN, str(upload), "overwrite", "bo"),
        review.decide_suggestion(desk, knowledge, team, suggestion, True, "bo"),
        review.decide_suggestion(desk, knowledge, team, suggestion, False, "bo"),
        review.dismiss_gap(knowledge.gaps, team, EN, gap_id, "bo"),
    ]

    assert all("Only a lead can edit FAQ entries" in text and "desk-error" in text for text in said), said
    assert "只有组长" in save(desk, knowledge, team, shown, user="bo", lang="zh", answer="x")["message"]
    assert not knowledge.editor.edited(EN)
    assert len(review.suggestions_table(knowledge, EN, "en")) == 1 and not review.gaps_view(knowledge.gaps, EN)[0].empty


def test_nobody_signed_in_on_a_desk_with_logins_changes_nothing(desk, knowledge, team):
    refused = save(desk, knowledge, team, opened(desk, knowledge, team, "en-004"), user=None, answer="x")
    assert "Sign in first" in refused["message"] and not knowledge.editor.edited(EN)


# The dense index -------------------------------------------------------------------------------------


def test_an_edit_re_embeds_only_the_entry_it_changed(hf_scorer, qwen, store, team, tmp_path):
    dense = DenseSlot.ready("hybrid", qwen, cache_dir=tmp_path / "vectors")
    desk = Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases(), dense=dense)
    knowledge = wire(desk, store, team, tmp_path / "shared")
    assert entries.dense_index(desk, EN).computed == len(desk.bases.named(EN))  # the first embedding: every entry

    shown = opened(desk, knowledge, team, "en-004")
    phrased = save(desk, knowledge, team, shown, phrasings=f"{shown['phrasings']}\nWhere is my kettle?")
    answered = save(desk, knowledge, team, phrased, answer="Only the answer changed.", lang="zh")

    assert "The dense index re-embedded 1 entry; the others came from its cache." in phrased["message"]
    assert "向量索引重新计算了 0 个条目" in answered["message"]  # the answer is not embedded


def test_on_a_desk_without_logins_everyone_edits_as_before(desk, store, tmp_path):
    open_team = Team(store)
    knowledge = wire(desk, store, open_team, tmp_path / "shared")
    saved = save(desk, knowledge, open_team, opened(desk, knowledge, open_team, "en-004"), user=None, answer="Open desk.")
    assert "Saved en-004 as version 2" in saved["message"]
    assert knowledge.editor.entry(EN, "en-004").author is None
