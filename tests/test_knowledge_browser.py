"""The Knowledge tab in a real browser (issue 22): a lead edits an entry and rolls it back, previews an
import (in Chinese), turns a knowledge gap into an entry that its questions then find; an agent
changes nothing. One desk with logins for the module; each test signs in on a page of its own."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reranker.desk.desk import Desk
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Team
from reranker.i18n import Lang, t
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.keyword import search_base
from reranker.store import Store, open_store
from reranker.ui import export_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZH, EN = list(bundled_bases())
#: "None of these" questions close enough to be one gap.
MARS = ["Do you ship to Mars?", "Can you ship to Mars?", "Do you ship orders to Mars?", "Will you ship to Mars?"]


@dataclass
class App:
    url: str
    desk: Desk
    knowledge: Knowledge
    picks: Picks


@pytest.fixture(scope="module")
def team_store(tmp_path_factory) -> Store:
    store = open_store(tmp_path_factory.mktemp("knowledge"), bcrypt_rounds=4)
    store.add_user("lea", "lea password", "lead")
    store.add_user("bo", "bo password", "agent")
    return store


@pytest.fixture(scope="module")
def app(hf_scorer, team_store, launch_desk, tmp_path_factory) -> App:
    desk = Desk(hf_scorer, export_dir=export_dir(), bases=bundled_bases())
    picks = Picks(team_store, desk.bases, team=Team(team_store))
    shared = SharedBases(team_store, desk.bases, tmp_path_factory.mktemp("shared"))
    knowledge = Knowledge.wire(picks, shared)
    return App(launch_desk(desk, picks, shared=shared, knowledge=knowledge), desk, knowledge, picks)


class Lead:
    """A signed-in browser page on the Knowledge tab, in one language."""

    def __init__(self, page: Page, lang: Lang) -> None:
        self.page, self.lang = page, lang

    def text(self, key: str, **params: object) -> str:
        return t(key, self.lang, **params)

    def view(self, key: str) -> None:
        self.page.get_by_role("tab", name=self.text(key), exact=True).click()

    def rows(self, table: str):
        """The body rows of a table (Gradio renders only those in view)."""
        return self.page.locator(f"#{table} [role=row]:has([role=gridcell])")

    def select(self, table: str, row: int = 0) -> None:
        self.rows(table).nth(row).locator("[role=gridcell]").first.click()

    def open_entry(self, entry_id: str) -> None:
        """Filter the entries down to ``entry_id`` and open it."""
        self.page.fill("#kn-filter input", entry_id)
        expect(self.rows("kn-entries").first).to_contain_text(entry_id)
        self.rows("kn-entries").filter(has_text=entry_id).first.locator("[role=gridcell]").first.click()
        expect(self.page.locator("#kn-id input")).to_have_value(entry_id)

    def message(self, elem_id: str = "kn-message"):
        return self.page.locator(f"#{elem_id}")


@pytest.fixture
def sign_in(browser, app):
    contexts = []

    def open_page(user: str, locale: str = "en-US", base: str = EN) -> Lead:
        context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        assert page.request.post(f"{app.url}login", form={"username": user, "password": f"{user} password"}).ok
        page.goto(app.url)
        page.wait_for_selector("#signed-in")
        lead = Lead(page, "zh" if locale.startswith("zh") else "en")
        lead.view("tab_knowledge")
        expect(page.locator("#kn-base input")).to_have_value(base)  # the base in the browser's language
        expect(page.locator("#kn-id input")).not_to_have_value("")  # the entries are listed, the form is ready
        return lead

    yield open_page
    for context in contexts:
        context.close()


def test_a_lead_edits_an_entry_sees_the_new_version_and_rolls_it_back(sign_in, app):
    original = app.knowledge.editor.entry(EN, "en-006")
    lead = sign_in("lea")
    lead.open_entry("en-006")
    expect(lead.message()).to_contain_text("Editing en-006, version 1.")

    lead.page.fill("#kn-answer textarea", "Wait one day, then ask the courier.")
    lead.page.click("#kn-save")

    expect(lead.message()).to_contain_text("Saved en-006 as version 2.")
    expect(lead.message()).to_contain_text("The keyword index was rebuilt")
    expect(lead.rows("kn-history")).to_have_count(2)
    expect(lead.rows("kn-history").first).to_contain_text("lea")
    expect(lead.rows("kn-entries").filter(has_text="en-006")).to_contain_text("lea")
    assert app.desk.bases.named(EN).by_id("en-006").answer == "Wait one day, then ask the courier."

    lead.select("kn-history", 1)
    lead.page.click("#kn-rollback")
    expect(lead.page.locator("#kn-rollback-text")).to_have_text(
        "Make version 1 of en-006 current again? It is saved as version 3.")  # fmt: skip
    lead.page.click("#kn-rollback-confirm")

    expect(lead.message()).to_contain_text("Rolled en-006 back to version 1: saved as version 3.")
    expect(lead.page.locator("#kn-answer textarea")).to_have_value(original.answer)
    expect(lead.rows("kn-history")).to_have_count(3)
    assert app.desk.bases.named(EN).by_id("en-006").answer == original.answer


def test_an_import_preview_in_chinese_says_what_each_row_would_do_with_its_line_and_reason(sign_in, app, tmp_path):
    kb = app.desk.bases.named(ZH)
    first, second = kb.entries[0], kb.entries[1]
    upload = tmp_path / "导入.csv"
    with upload.open("w", encoding="utf-8", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["id", "question", "answer", "category", "similar_questions"])
        rows.writerow([first.id, first.question, first.answer, first.category, "|".join(first.similar_questions)])
        rows.writerow([second.id, second.question, "新的答案。", second.category, "|".join(second.similar_questions)])
        rows.writerow(["zh-new", "可以开发票吗？", "可以，在订单页申请。", "", ""])
        rows.writerow(["zh-bad", "", "", "", ""])
    lead = sign_in("lea", "zh-CN", ZH)
    lead.view("kn_tab_import")

    lead.page.locator("#kn-import-file input[type=file]").set_input_files(str(upload))

    summary = lead.message("kn-preview-summary")
    expect(summary).to_contain_text("导入.csv：新增 1 条，有改动 1 条，无改动 1 条，无效 1 条。")
    expect(summary).to_contain_text(f"文件缺少知识库中的 {len(kb) - 2} 个条目")
    preview = lead.rows("kn-preview")
    expect(preview).to_have_count(4)
    for index, words in enumerate([["2", first.id, "无改动"], ["3", second.id, "有改动", "答案"], ["4", "zh-new", "新增"],
                                   ["5", "zh-bad", "无效", "既没有问题也没有答案"]]):  # fmt: skip
        for word in words:
            expect(preview.nth(index)).to_contain_text(word)
    lead.page.get_by_label(t("kn_overwrite", "zh")).check()
    lead.page.click("#kn-import")
    expect(lead.message("kn-import-message")).to_contain_text("新增 1 条，修改 1 条，跳过 0 条")
    assert app.desk.bases.named(ZH).by_id(second.id).answer == "新的答案。"


def test_a_gap_becomes_an_entry_that_its_questions_find_first(sign_in, app):
    for question in MARS:
        app.picks.record(base=EN, question=question, chosen_id=None, user="bo")
    lead = sign_in("lea")
    lead.view("kn_tab_gaps")
    topic = lead.rows("kn-gaps").first
    expect(topic).to_contain_text("Mars")
    expect(topic).to_contain_text(str(len(MARS)))

    lead.select("kn-gaps")
    lead.page.click("#kn-draft")

    expect(lead.message()).to_contain_text("write the answer, then Save")
    new_id = lead.page.locator("#kn-id input").input_value()
    expect(lead.page.locator("#kn-question textarea")).to_have_value(re.compile("Mars"))
    lead.page.fill("#kn-answer textarea", "We deliver to addresses on Earth only.")
    lead.page.click("#kn-save")

    expect(lead.message()).to_contain_text(f"Saved {new_id} as version 1.")
    expect(lead.message()).to_contain_text("left the gaps")
    lead.view("kn_tab_gaps")
    expect(lead.rows("kn-gaps").filter(has_text="Mars")).to_have_count(0)
    for question in MARS:
        assert search_base(app.desk.bases.named(EN), question, top_k=1)[0].entry.id == new_id


def test_an_agent_can_open_an_entry_but_not_change_it(sign_in, app):
    before = app.knowledge.editor.entry(EN, "en-010")
    agent = sign_in("bo")
    agent.open_entry("en-010")

    agent.page.fill("#kn-answer textarea", "An agent's answer.")
    agent.page.click("#kn-save")

    expect(agent.message()).to_contain_text("Only a lead can edit FAQ entries")
    agent.open_entry("en-011")
    expect(agent.message()).to_contain_text("Editing en-011")
    agent.page.click("#kn-retire")
    expect(agent.message()).to_contain_text("Only a lead can edit FAQ entries")
    assert app.knowledge.editor.entry(EN, "en-010") == before
    assert [v.version for v in app.knowledge.editor.history(EN, "en-010")] == [before.version]


def test_the_exported_csv_downloads(sign_in, app, tmp_path):
    lead = sign_in("lea")
    lead.view("kn_tab_import")
    lead.page.click("#kn-export")
    link = lead.page.locator("#kn-export-file a").first
    with lead.page.expect_download() as download:
        link.click()
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    assert Path(saved).read_bytes() == app.knowledge.editor.export_csv(EN)


def test_the_page_reopens_on_the_knowledge_tab_in_this_browser(sign_in):
    lead = sign_in("lea")
    lead.view("tab_rerank")
    stored = "() => localStorage.getItem('faq-rerank-desk-settings')"
    before = lead.page.evaluate(stored)
    lead.view("tab_knowledge")
    lead.page.wait_for_function(f"before => ({stored})() !== before", arg=before)  # the browser stored it

    lead.page.reload()

    expect(lead.page.get_by_role("tab", name=lead.text("tab_knowledge"), exact=True)).to_have_attribute(
        "aria-selected", "true")  # fmt: skip
    expect(lead.page.locator("#kn-entries")).to_be_visible()
