"""Every sentence the desk and its UI show, in English and Chinese, keyed by message id.

One catalogue for both: the desk renders banners, tables and CSV headers with :func:`t`, and
the UI hands the same catalogue to ``gr.I18n`` for its labels (the browser picks the
language). To add a string, add one key with both languages to :data:`MESSAGES`; a test checks
that every key has every language. The instruction sent to the model is never translated.

>>> t("checked", "en", n=20, seconds=1.2)
'20 answers checked in 1.20 s'
>>> t("checked", "zh", n=20, seconds=1.2)
'已检查 20 条答案，用时 1.20 秒'
>>> language_of("zh-CN,zh;q=0.9,en;q=0.8"), language_of("en-GB"), language_of(None)
('zh', 'en', 'en')
"""

from __future__ import annotations

from typing import Literal

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

Lang = Literal["en", "zh"]
LANGUAGES: tuple[Lang, ...] = ("en", "zh")

MESSAGES: dict[str, dict[Lang, str]] = {
    # Knowledge: entries edited in the desk, their history, CSV import and export
    "lead_only_knowledge": {
        "en": "Only a lead can edit FAQ entries, import a base or decide on suggestions and gaps: ask a lead.",
        "zh": "只有组长可以编辑 FAQ 条目、导入知识库或处理建议与知识缺口：请联系组长。",
    },
    "err_entry_no_id": {
        "en": "Give the entry an id (for example en-101): picks and exports refer to it.",
        "zh": "请为条目填写编号（例如 en-101）：选择记录和导出都靠它识别条目。",
    },
    "err_entry_bad_id": {
        "en": "An entry id is one line of at most {limit} characters: shorten it.",
        "zh": "条目编号须为一行且不超过 {limit} 个字符：请缩短。",
    },
    "err_entry_empty": {
        "en": "Entry {id} has neither a question nor an answer: write at least one.",
        "zh": "条目 {id} 既没有问题也没有答案：请至少填写一项。",
    },
    "err_entry_bad_category": {
        "en": "A category has at most {limit} characters: shorten it.",
        "zh": "分类不超过 {limit} 个字符：请缩短。",
    },
    "err_entry_phrasing_pipe": {
        "en": "Write one phrasing per line, without \"|\" (the CSV uses it to separate phrasings).",
        "zh": "每行写一个相似问法，不要使用“|”（CSV 用它分隔问法）。",
    },
    "err_entry_not_found": {
        "en": "{base} has no entry {id}: reload the Knowledge tab to see its entries.",
        "zh": "{base} 中没有条目 {id}：请刷新知识库页面查看条目。",
    },
    "err_entry_version_not_found": {
        "en": "Entry {id} has no version {version}: open its history to choose one.",
        "zh": "条目 {id} 没有第 {version} 版：请打开历史记录选择版本。",
    },
    "err_entry_duplicate_id": {
        "en": "The id {id} is used by more than one entry: give each entry its own id.",
        "zh": "编号 {id} 被多个条目使用：请为每个条目设置不同的编号。",
    },
    "err_entry_id_taken": {
        "en": "{base} already has an entry {id}: choose another id, or edit that entry.",
        "zh": "{base} 中已有条目 {id}：请换一个编号，或直接编辑该条目。",
    },
    "err_entry_conflict": {
        "en": "Entry {id} was saved by {author} at {time} (version {version}) after you opened version {expected}: reload it, then make your change again.",
        "zh": "在你打开第 {expected} 版之后，{author} 于 {time} 保存了条目 {id}（第 {version} 版）：请重新加载后再修改。",
    },
    "err_entry_conflict_new": {
        "en": "Someone saved entry {id} in {base} at the same moment: reload it, then make your change again.",
        "zh": "有人同时保存了 {base} 中的条目 {id}：请重新加载后再修改。",
    },
    "err_entries_conflict": {
        "en": "Someone changed {base} during the import: preview the file again, then import.",
        "zh": "导入期间有人修改了 {base}：请重新预览文件后再导入。",
    },
    "err_entry_last_active": {
        "en": "This is the last active entry of {base}: add another before retiring it.",
        "zh": "这是 {base} 中最后一个有效条目：请先添加其他条目再停用它。",
    },
    "err_base_edited_in_desk": {
        "en": "{base} is edited in the desk: import the CSV in the Knowledge tab, which shows what changes first.",
        "zh": "{base} 已在工作台中编辑：请在知识库页面导入 CSV，导入前会先显示改动。",
    },
    "err_import_duplicate": {
        "en": "The id {id} is already used on line {line} of the file: give this row its own id.",
        "zh": "编号 {id} 已在文件第 {line} 行使用：请为这一行设置不同的编号。",
    },
    "err_eval_no_base": {
        "en": "Choose a bundled FAQ base or upload an FAQ CSV.",
        "zh": "请选择内置 FAQ 库，或上传 FAQ CSV 文件。",
    },
    "err_eval_no_queries": {
        "en": "Choose a bundled query set or upload a labelled queries CSV.",
        "zh": "请选择内置查询集，或上传带标注的查询 CSV 文件。",
    },
    "err_eval_no_picks": {
        "en": 'No agent has recorded a pick in {base} yet: use the desk\'s "Answers it" and "None of these" buttons, then evaluate again.',
        "zh": "{base} 中还没有客服记录过选择：请先在工作台使用“就是这条”和“都不对”按钮，然后再评估。",
    },
    "err_batch_no_question_column": {
        "en": "The questions file has {n} columns and none is named one of {names}. Name the questions column 'question' (and put questions that contain the separator in double quotes).",
        "zh": "问题文件有 {n} 列，但没有一列名为 {names} 之一。请把问题列命名为 question（含分隔符的问题请用英文双引号括起来）。",
    },
    "err_gap_not_found": {
        "en": "That gap is gone (its questions were answered or dismissed): reload the gaps.",
        "zh": "该知识缺口已不存在（问题已被解答或忽略）：请刷新缺口列表。",
    },
    "err_suggestion_not_found": {
        "en": "There is no suggestion {id}: reload the suggestions.",
        "zh": "没有编号为 {id} 的建议：请刷新建议列表。",
    },
    # The Knowledge tab (reranker/ui/knowledge_*.py): entries, history, import/export, suggestions, gaps, health
    "tab_knowledge": {"en": "Knowledge", "zh": "知识库"},
    "kn_intro": {
        "en": "Leads edit the FAQ base here; every save is a version with its author and time. Agents can look but not change.",
        "zh": "组长在这里编辑 FAQ 库；每次保存都是一个带作者和时间的新版本。客服可以查看，但不能修改。",
    },
    "kn_reload": {"en": "Reload", "zh": "刷新"},
    "kn_tab_entries": {"en": "Entries", "zh": "条目"},
    "kn_tab_import": {"en": "Import / export", "zh": "导入 / 导出"},
    "kn_tab_suggestions": {"en": "Suggestions", "zh": "问法建议"},
    "kn_tab_gaps": {"en": "Gaps", "zh": "知识缺口"},
    "kn_tab_health": {"en": "Health", "zh": "条目健康"},
    "kn_filter": {"en": "Filter (id, question, answer, category, phrasing)", "zh": "筛选（编号、问题、答案、分类、相似问法）"},
    "kn_entries": {"en": "Entries (select one to edit it)", "zh": "条目（选择一条进行编辑）"},
    "kn_col_id": {"en": "Id", "zh": "编号"},
    "kn_col_question": {"en": "Question", "zh": "问题"},
    "kn_col_phrasings": {"en": "Phrasings", "zh": "相似问法数"},
    "kn_col_category": {"en": "Category", "zh": "分类"},
    "kn_col_version": {"en": "Version", "zh": "版本"},
    "kn_col_saved_by": {"en": "Saved by", "zh": "保存人"},
    "kn_col_saved_at": {"en": "Saved at", "zh": "保存时间"},
    "kn_col_status": {"en": "Status", "zh": "状态"},
    "kn_retired": {"en": "RETIRED (not searched)", "zh": "已停用（不参与检索）"},
    "kn_from_file": {"en": "(the base's file)", "zh": "（知识库文件）"},
    "kn_answer": {"en": "Answer", "zh": "答案"},
    "kn_phrasings": {"en": "Other phrasings (one per line)", "zh": "相似问法（每行一个）"},
    "kn_save": {"en": "Save", "zh": "保存"},
    "kn_retire": {"en": "Retire", "zh": "停用"},
    "kn_restore": {"en": "Restore", "zh": "恢复"},
    "kn_new": {"en": "New entry", "zh": "新建条目"},
    "kn_editing": {
        "en": "Editing {id}, version {version}.",
        "zh": "正在编辑 {id}，第 {version} 版。",
    },
    "kn_editing_retired": {
        "en": "Editing {id}, version {version}: it is retired, searches do not find it (Restore brings it back).",
        "zh": "正在编辑 {id}，第 {version} 版：该条目已停用，检索不到（点击恢复即可重新启用）。",
    },
    "kn_new_hint": {
        "en": "New entry {id}: write the question and the answer, then Save.",
        "zh": "新条目 {id}：填写问题和答案后点击保存。",
    },
    "kn_open_first": {"en": "Select an entry in the table first.", "zh": "请先在表格中选择一个条目。"},
    "kn_saved": {"en": "Saved {id} as version {version}.", "zh": "已保存 {id}，第 {version} 版。"},
    "kn_unchanged": {
        "en": "Nothing to save: {id} is unchanged (version {version}).",
        "zh": "没有需要保存的改动：{id} 仍为第 {version} 版。",
    },
    "kn_retired_done": {
        "en": "Retired {id} (version {version}): searches no longer find it.",
        "zh": "已停用 {id}（第 {version} 版）：检索将不再找到它。",
    },
    "kn_restored_done": {
        "en": "Restored {id} (version {version}): searches find it again.",
        "zh": "已恢复 {id}（第 {version} 版）：检索可以再次找到它。",
    },
    "kn_reembedded_one": {
        "en": "The dense index re-embedded {n} entry; the others came from its cache.",
        "zh": "向量索引重新计算了 {n} 个条目，其余来自缓存。",
    },
    "kn_reembedded_many": {
        "en": "The dense index re-embedded {n} entries; the others came from its cache.",
        "zh": "向量索引重新计算了 {n} 个条目，其余来自缓存。",
    },
    "kn_keyword_rebuilt": {
        "en": "The keyword index was rebuilt (dense search is not in use for this base).",
        "zh": "关键词索引已重建（此知识库未使用向量检索）。",
    },
    "kn_reindexing": {
        "en": "The dense index is still being updated; until it is, this base is searched by keyword.",
        "zh": "向量索引仍在更新中；更新完成前，此知识库使用关键词检索。",
    },
    "kn_history": {"en": "History (select a version to roll back to it)", "zh": "历史版本（选择一个版本可回滚）"},
    "kn_col_time": {"en": "Time", "zh": "时间"},
    "kn_col_author": {"en": "Author", "zh": "作者"},
    "kn_col_note": {"en": "Note", "zh": "说明"},
    "kn_col_answer_start": {"en": "Answer (start)", "zh": "答案（开头）"},
    "kn_rollback": {"en": "Roll back to this version", "zh": "回滚到此版本"},
    "kn_rollback_ask": {
        "en": "Make version {version} of {id} current again? It is saved as version {next}.",
        "zh": "将 {id} 的第 {version} 版恢复为当前版本？它会保存为第 {next} 版。",
    },
    "kn_rollback_confirm": {"en": "Yes, roll back", "zh": "确认回滚"},
    "kn_cancel": {"en": "Cancel", "zh": "取消"},
    "kn_choose_version": {
        "en": "Select an entry, then a version in its history.",
        "zh": "请先选择一个条目，再在其历史记录中选择一个版本。",
    },
    "kn_rolled_back": {
        "en": "Rolled {id} back to version {version}: saved as version {saved}.",
        "zh": "已将 {id} 回滚到第 {version} 版：保存为第 {saved} 版。",
    },
    "kn_note_edit": {"en": "edit", "zh": "编辑"},
    "kn_note_new": {"en": "new", "zh": "新建"},
    "kn_note_retire": {"en": "retired", "zh": "停用"},
    "kn_note_restore": {"en": "restored", "zh": "恢复"},
    "kn_note_from_a_gap": {"en": "from a gap", "zh": "来自知识缺口"},
    "kn_note_file": {"en": "as in the base's file", "zh": "与知识库文件一致"},
    "kn_note_rollback": {"en": "rollback to {version}", "zh": "回滚到第 {version} 版"},
    "kn_note_import": {"en": "import {file}", "zh": "导入 {file}"},
    "kn_note_copied": {"en": "copied from {file}", "zh": "复制自 {file}"},
    "kn_note_approved": {"en": "approved suggestion ({n} picks)", "zh": "采纳的建议（{n} 次选择）"},
    "kn_note_learned": {"en": "learned from a pick by {user}", "zh": "从 {user} 的选择中学到"},
    "kn_export": {"en": "Export CSV", "zh": "导出 CSV"},
    "kn_export_file": {"en": "The base as CSV", "zh": "知识库 CSV 文件"},
    "kn_import_file": {
        "en": "CSV to import (id, question, answer, category, similar_questions): its preview shows first",
        "zh": "要导入的 CSV（编号、问题、答案、分类、相似问法）：先显示预览",
    },
    "kn_changed_rows": {"en": "Changed rows", "zh": "有改动的行"},
    "kn_overwrite": {"en": "Overwrite the entry", "zh": "覆盖现有条目"},
    "kn_skip": {"en": "Skip (keep the entry as it is)", "zh": "跳过（保留现有条目）"},
    "kn_import": {"en": "Import", "zh": "导入"},
    "kn_preview": {"en": "Preview: what importing each row would do", "zh": "预览：导入每一行会发生什么"},
    "kn_col_line": {"en": "Line", "zh": "行号"},
    "kn_col_detail": {"en": "Changed fields, or why not", "zh": "改动的字段或无效原因"},
    "kn_status_new": {"en": "new", "zh": "新增"},
    "kn_status_changed": {"en": "changed", "zh": "有改动"},
    "kn_status_unchanged": {"en": "unchanged", "zh": "无改动"},
    "kn_status_invalid": {"en": "invalid", "zh": "无效"},
    "kn_field_question": {"en": "question", "zh": "问题"},
    "kn_field_answer": {"en": "answer", "zh": "答案"},
    "kn_field_category": {"en": "category", "zh": "分类"},
    "kn_field_phrasings": {"en": "phrasings", "zh": "相似问法"},
    "kn_field_retired": {"en": "retired", "zh": "停用状态"},
    "kn_preview_counts": {
        "en": "{file}: {new} new, {changed} changed, {unchanged} unchanged, {invalid} invalid.",
        "zh": "{file}：新增 {new} 条，有改动 {changed} 条，无改动 {unchanged} 条，无效 {invalid} 条。",
    },
    "kn_preview_missing": {
        "en": "The file lacks {n} of the base's entries ({ids}): an import keeps them (retire them under Entries).",
        "zh": "文件缺少知识库中的 {n} 个条目（{ids}）：导入会保留它们（可在“条目”中停用）。",
    },
    "kn_import_no_file": {
        "en": "Upload a CSV first: its preview shows what importing it would do.",
        "zh": "请先上传 CSV：预览会显示导入后的变化。",
    },
    "kn_imported": {
        "en": "Imported {file} into {base}: {added} added, {changed} changed, {skipped} skipped, {unchanged} unchanged, {invalid} invalid rows left out.",
        "zh": "已将 {file} 导入 {base}：新增 {added} 条，修改 {changed} 条，跳过 {skipped} 条，无改动 {unchanged} 条，{invalid} 条无效行未导入。",
    },
    "kn_suggestions_intro": {
        "en": "Customers' questions that agents answered with an entry. Approve one to add it as a phrasing of that entry; "
        "a rejected one is never suggested again. Those more agents made come first.",
        "zh": "客服用某个条目回答过的客户问题。采纳后会添加为该条目的相似问法；拒绝后不再建议。更多客服提出的排在前面。",
    },
    "kn_col_suggestion": {"en": "No.", "zh": "序号"},
    "kn_col_customer_question": {"en": "Customer's question", "zh": "客户问题"},
    "kn_col_entry": {"en": "Entry", "zh": "条目"},
    "kn_col_entry_question": {"en": "Entry's question", "zh": "条目的问题"},
    "kn_col_picks": {"en": "Picks", "zh": "选择次数"},
    "kn_col_agents": {"en": "Agents", "zh": "客服"},
    "kn_col_last_seen": {"en": "Last seen", "zh": "最近出现"},
    "kn_approve": {"en": "Approve (add as a phrasing)", "zh": "采纳（添加为相似问法）"},
    "kn_reject": {"en": "Reject (never suggest again)", "zh": "拒绝（不再建议）"},
    "kn_choose_suggestion": {"en": "Select a suggestion in the table first.", "zh": "请先在表格中选择一条建议。"},
    "kn_approved": {
        "en": "Added “{question}” to {id} as a phrasing (version {version}).",
        "zh": "已将“{question}”添加为 {id} 的相似问法（第 {version} 版）。",
    },
    "kn_rejected": {
        "en": "Rejected “{question}” for {id}: it will not be suggested again.",
        "zh": "已拒绝将“{question}”作为 {id} 的问法：以后不再建议。",
    },
    "kn_gaps_intro": {
        "en": "Questions no entry answered (“None of these”, or below the base's threshold), grouped by topic, largest first.",
        "zh": "没有条目能回答的问题（“都不对”，或低于知识库阈值），按主题分组，问题最多的在前。",
    },
    "kn_col_gap_question": {"en": "Representative question", "zh": "代表问题"},
    "kn_col_count": {"en": "Questions", "zh": "问题数"},
    "kn_col_first_seen": {"en": "First seen", "zh": "首次出现"},
    "kn_col_samples": {"en": "Sample questions", "zh": "示例问题"},
    "kn_draft": {"en": "Draft an entry", "zh": "起草条目"},
    "kn_dismiss": {"en": "Dismiss", "zh": "忽略"},
    "kn_choose_gap": {"en": "Select a topic in the table first.", "zh": "请先在表格中选择一个主题。"},
    "kn_drafted": {
        "en": "New entry {id} for “{question}”: write the answer, then Save. The topic's {n} questions become its phrasings.",
        "zh": "为“{question}”新建条目 {id}：填写答案后点击保存。该主题的 {n} 个问题会成为它的相似问法。",
    },
    "kn_gap_answered": {
        "en": "The topic's questions are now its phrasings and have left the gaps.",
        "zh": "该主题的问题已成为它的相似问法，并已移出知识缺口。",
    },
    "kn_dismissed": {
        "en": "Dismissed “{question}” ({n} questions): they leave the gaps.",
        "zh": "已忽略“{question}”（{n} 个问题）：它们已移出知识缺口。",
    },
    "kn_unpicked_days": {
        "en": "Only entries not picked in the last N days (0: every entry)",
        "zh": "只看最近 N 天内未被选择的条目（0：全部条目）",
    },
    "kn_health": {"en": "Entry health", "zh": "条目健康"},
    "kn_col_shown": {"en": "Shown in top 3", "zh": "进入前 3 次数"},
    "kn_col_picked": {"en": "Picked", "zh": "被选次数"},
    "kn_col_last_picked": {"en": "Last picked", "zh": "最近被选"},
    "kn_never": {"en": "never", "zh": "从未"},
    "kn_pairs": {
        "en": "Entries agents confuse (often shown together in the top 3, each picked over the other)",
        "zh": "客服容易混淆的条目（经常一起进入前 3，互相被选）",
    },
    "kn_col_entry_a": {"en": "Entry A", "zh": "条目 A"},
    "kn_col_entry_b": {"en": "Entry B", "zh": "条目 B"},
    "kn_col_together": {"en": "Shown together", "zh": "同时出现次数"},
    "kn_col_a_over_b": {"en": "A picked over B", "zh": "选了 A 而非 B"},
    "kn_col_b_over_a": {"en": "B picked over A", "zh": "选了 B 而非 A"},
    # Team: sign-in and roles
    "signed_in_as": {"en": "Signed in as {name} ({role})", "zh": "已登录：{name}（{role}）"},
    "sign_out": {"en": "Sign out", "zh": "退出登录"},
    "role_lead": {"en": "lead", "zh": "组长"},
    "role_agent": {"en": "agent", "zh": "客服"},
    "err_sign_in": {
        "en": "Sign in first: this desk has logins.",
        "zh": "请先登录：此工作台需要登录。",
    },
    "err_account_off": {
        "en": "The account {name} is disabled or no longer exists: ask a lead, then sign in again.",
        "zh": "账号 {name} 已停用或已不存在：请联系组长后重新登录。",
    },
    "lead_only_threshold": {
        "en": "Only a lead can apply or remove a base's threshold: ask a lead to do it.",
        "zh": "只有组长可以应用或移除知识库的阈值：请联系组长。",
    },
    "lead_only_export": {
        "en": "Only a lead can export the agents' picks: ask a lead for the file.",
        "zh": "只有组长可以导出客服的选择：请向组长索取文件。",
    },
    "lead_only_bases": {
        "en": "Only a lead can upload or replace FAQ bases: ask a lead to add this file.",
        "zh": "只有组长可以上传或替换 FAQ 库：请让组长添加此文件。",
    },
    "share_name": {"en": "Name for the team", "zh": "团队知识库名称"},
    "share_save": {"en": "Save for the team", "zh": "保存为团队知识库"},
    "share_saved": {
        "en": "Saved {name} for the team: every desk lists it and searches it (leads can replace it by saving again).",
        "zh": "已将 {name} 保存为团队知识库：所有工作台都会列出并搜索它（组长再次保存即可替换）。",
    },
    "db_unavailable": {
        "en": "Database unavailable, retrying: try again in a moment. If it lasts, ask the operator to check the database server.",
        "zh": "数据库暂时不可用，正在重试：请稍后再试。如果持续出现，请联系运维检查数据库服务器。",
    },
    # Page and panels
    "app_title": {"en": "FAQ Rerank Desk", "zh": "FAQ 答案排序台"},
    "app_tagline": {
        "en": "Put the right answer first: paste candidate answers or search an FAQ base.",
        "zh": "把最合适的答案排在最前：粘贴候选答案，或在 FAQ 库中搜索。",
    },
    "tab_rerank": {"en": "Rerank", "zh": "排序"},
    "tab_evaluate": {"en": "Evaluate", "zh": "评估"},
    "tab_batch": {"en": "Batch", "zh": "批量"},
    "tab_paste": {"en": "Paste answers", "zh": "粘贴答案"},
    "tab_faq": {"en": "FAQ base", "zh": "FAQ 库"},
    "question": {"en": "Customer question", "zh": "客户问题"},
    "question_hint": {
        "en": "Ctrl+Enter ranks · Alt+N starts a new ticket",
        "zh": "Ctrl+Enter 排序 · Alt+N 新工单",
    },
    "new_ticket": {"en": "New ticket", "zh": "新工单"},
    "split": {"en": "How are the answers separated?", "zh": "答案之间如何分隔？"},
    "split_lines": {"en": "One answer per line", "zh": "每行一条答案"},
    "split_blank": {"en": "Blank line between answers", "zh": "答案之间空一行"},
    "pasted": {"en": "Candidate answers", "zh": "候选答案"},
    "pasted_hint": {"en": "Paste the answers you are choosing between.", "zh": "粘贴要比较的答案。"},
    "rank_pasted": {"en": "Rank answers", "zh": "排序答案"},
    "rank_faq": {"en": "Search and rank", "zh": "搜索并排序"},
    "source": {"en": "Answers come from", "zh": "答案来源"},
    "source_bundled": {"en": "A bundled FAQ base", "zh": "内置 FAQ 库"},
    "source_upload": {"en": "My uploaded CSV", "zh": "我上传的 CSV"},
    "base": {"en": "FAQ base", "zh": "FAQ 库"},
    "upload": {
        "en": "Upload an FAQ CSV (question, answer, id, category)",
        "zh": "上传 FAQ CSV（问题、答案、编号、分类）",
    },
    "settings": {"en": "Settings (remembered in this browser)", "zh": "设置（本浏览器会记住）"},
    "threshold": {"en": "Confidence threshold", "zh": "置信度阈值"},
    "threshold_info": {
        "en": "Below this score the question goes to a human agent.",
        "zh": "最高分低于此值时，问题转人工处理。",
    },
    "top_k": {
        "en": "FAQ entries to check (top K of the first stage)",
        "zh": "检查的 FAQ 条数（第一阶段检索前 K 条）",
    },
    "preset": {"en": "Kind of question", "zh": "问题类型"},
    "override": {
        "en": "Custom instruction (replaces the preset when filled in)",
        "zh": "自定义指令（填写后代替上面的类型）",
    },
    "examples": {"en": "Examples", "zh": "示例"},
    "best": {"en": "Best answer (you can edit it before copying)", "zh": "最佳答案（复制前可编辑）"},
    "best_unsure": {
        "en": "Not confident, check before sending",
        "zh": "把握不足，发送前请核对",
    },
    "stop": {"en": "Stop", "zh": "停止"},
    "download": {"en": "Download CSV", "zh": "下载 CSV"},
    "placeholder": {"en": "Ranked answers appear here.", "zh": "排序后的答案显示在这里。"},
    "stale": {
        "en": "Out of date: the ticket changed since these results. Rank again.",
        "zh": "已过期：工单在这些结果之后有改动，请重新排序。",
    },
    "results_for": {
        "en": "For: {question} · {base} · {instruction}",
        "zh": "针对：{question} · {base} · {instruction}",
    },
    "custom_instruction": {"en": "custom instruction", "zh": "自定义指令"},
    "pasted_source": {"en": "pasted answers", "zh": "粘贴的答案"},
    "instruction_sent": {"en": "instruction sent to the model", "zh": "发送给模型的指令"},
    "details": {"en": "Details", "zh": "详情"},
    "copy": {"en": "Copy", "zh": "复制"},
    "more": {"en": "more", "zh": "展开"},
    "less": {"en": "less", "zh": "收起"},
    "copied": {"en": "Copied", "zh": "已复制"},
    # The status chip under the title (the operator's text is behind its "details")
    "chip": {"en": "Reranker: {engine} · Search: {stage}", "zh": "排序模型：{engine} · 检索：{stage}"},
    "chip_engine_ready": {"en": "ready", "zh": "就绪"},
    "chip_engine_loading": {"en": "loading", "zh": "加载中"},
    "chip_engine_fallback": {"en": "ready (slower engine)", "zh": "就绪（较慢的引擎）"},
    "chip_engine_unavailable": {"en": "not loaded, keyword search only", "zh": "未加载，仅关键词检索"},
    "chip_stage_keyword": {"en": "keyword", "zh": "关键词"},
    "chip_stage_dense": {"en": "dense (embeddings)", "zh": "向量"},
    "chip_stage_hybrid": {"en": "hybrid (keyword + dense)", "zh": "混合（关键词 + 向量）"},
    "chip_means_loading": {
        "en": "Until it is ready, FAQ search shows keyword matches and pasted answers wait.",
        "zh": "加载完成前，FAQ 搜索显示关键词匹配，粘贴的答案需要等待。",
    },
    "chip_means_fallback": {
        "en": "Rankings are correct but slower. Tell your administrator (the fix is below).",
        "zh": "排序结果正确，但速度较慢。请告知管理员（修复方法见下）。",
    },
    "chip_means_unavailable": {
        "en": "FAQ search ranks by shared words only and pasted answers cannot be ranked. Tell your "
        "administrator (the fix is below).",
        "zh": "FAQ 搜索只按共同词语排序，粘贴的答案无法排序。请告知管理员（修复方法见下）。",
    },
    # The Evaluate tab
    "eval_queries": {"en": "Labelled queries", "zh": "带标注的问题集"},
    "eval_upload": {"en": "…or upload your own CSVs", "zh": "…或上传自己的 CSV"},
    "eval_faq_csv": {"en": "FAQ CSV (id, question, answer)", "zh": "FAQ CSV（编号、问题、答案）"},
    "eval_queries_csv": {
        "en": "Labelled queries CSV (query, relevant_ids joined by |)",
        "zh": "带标注的问题 CSV（问题、用 | 连接的正确编号）",
    },
    "eval_top_k": {
        "en": "Candidates per query (first-stage top K)",
        "zh": "每个问题的候选数（第一阶段前 K 条）",
    },
    "eval_run": {"en": "Run evaluation", "zh": "开始评估"},
    "eval_details": {"en": "Details: metrics, trade-off and misses", "zh": "详情：指标、取舍曲线与未命中"},
    "eval_metrics": {
        "en": "Metrics (recall@k: right answer in the top k)",
        "zh": "指标（recall@k：正确答案在前 k 条）",
    },
    "eval_bars": {"en": "Metrics by method", "zh": "各方法的指标"},
    "eval_curve": {
        "en": '"No confident answer" trade-off: each point is one threshold',
        "zh": "“没有可信答案”的取舍：每个点是一个阈值",
    },
    "eval_misses": {"en": "Queries where the right answer was not first", "zh": "正确答案未排第一的问题"},
    "eval_intro": {
        "en": "Does reranking put the right answer first on **your** questions? Run a labelled query set (or the "
        "agents' picks) through keyword, dense and hybrid search alone, and through hybrid search + reranking.",
        "zh": "排序模型能否把**你们**问题的正确答案排在第一？用带标注的问题集（或客服的选择）分别跑关键词、向量、混合检索，以及混合检索 + 重排。",
    },
    "eval_progress": {"en": "Reranking", "zh": "重排中"},
    "eval_method_keyword": {"en": "Keyword only (BM25)", "zh": "仅关键词（BM25）"},
    "eval_method_dense": {"en": "Dense only (embeddings)", "zh": "仅向量检索"},
    "eval_method_hybrid": {"en": "Hybrid (keyword + dense)", "zh": "混合（关键词 + 向量）"},
    "eval_method_rerank_keyword": {"en": "Keyword + rerank", "zh": "关键词 + 重排"},
    "eval_method_rerank_dense": {"en": "Dense + rerank", "zh": "向量 + 重排"},
    "eval_method_rerank_hybrid": {"en": "Hybrid + rerank", "zh": "混合 + 重排"},
    "eval_helps": {
        "en": "**Reranking helps**: the right answer comes first for {rerank} questions instead of {keyword}.",
        "zh": "**重排有帮助**：正确答案排第一的问题从 {keyword} 个增加到 {rerank} 个。",
    },
    "eval_hurts": {
        "en": "**Reranking does not help here**: the right answer comes first for {rerank} questions, {keyword} without it.",
        "zh": "**重排在这里没有帮助**：正确答案排第一的有 {rerank} 个问题，不重排时为 {keyword} 个。",
    },
    "eval_same": {
        "en": "**Reranking changes nothing here**: the right answer comes first for {rerank} questions either way.",
        "zh": "**重排在这里没有变化**：两种方式都是 {rerank} 个问题的正确答案排第一。",
    },
    "eval_suggested": {"en": "Suggested threshold:", "zh": "建议阈值："},
    "eval_sources": {"en": "Evaluated: {faq} with {queries}.", "zh": "评估对象：{faq}，问题集 {queries}。"},
    "eval_counts": {
        "en": "{in_scope} in-scope and {out_of_scope} out-of-scope queries, top {k} candidates per query.",
        "zh": "{in_scope} 个范围内问题和 {out_of_scope} 个超出范围的问题，每个问题取前 {k} 个候选。",
    },
    "eval_right_first": {
        "en": "{method}: right answer first for {right} of {total}.",
        "zh": "{method}：{total} 个中有 {right} 个正确答案排第一。",
    },
    "eval_no_dense": {
        "en": "No embedding model is loaded, so dense and hybrid search were not evaluated.",
        "zh": "没有加载向量模型，因此未评估向量检索和混合检索。",
    },
    "eval_no_reranker": {
        "en": "The reranker is not loaded, so reranking was not evaluated. Start the app with a model to compare "
        "it with reranking.",
        "zh": "排序模型未加载，因此未评估重排。请用模型启动应用后再比较。",
    },
    "eval_misses_of": {"en": "The misses below are those of {method}.", "zh": "下面的未命中来自：{method}。"},
    "eval_nothing_found": {"en": "nothing found", "zh": "没有找到"},
    "eval_not_in_top": {"en": "not in top {k}", "zh": "不在前 {k} 名"},
    "eval_col_method": {"en": "Method", "zh": "方法"},
    "eval_col_queries": {"en": "In-scope queries", "zh": "范围内问题数"},
    "eval_col_query": {"en": "Query", "zh": "问题"},
    "eval_col_expected": {"en": "Expected", "zh": "应为"},
    "eval_col_got": {"en": "Got", "zh": "实际第一"},
    "eval_col_right_rank": {"en": "Right answer's rank", "zh": "正确答案名次"},
    "question_placeholder": {
        "en": "e.g. Where is my order?",
        "zh": "例如：订单一直显示待发货怎么办？",
    },
    "override_placeholder": {
        "en": "Given a customer's question about …, judge whether the document …",
        "zh": "（发送给模型的英文指令，例如：Given a customer's question about …, judge whether the document …）",
    },
    # Desk messages
    "checked": {
        "en": "{n} answers checked in {seconds:.2f} s",
        "zh": "已检查 {n} 条答案，用时 {seconds:.2f} 秒",
    },
    "ranking": {
        "en": "Ranking… {scored} of {total} answers checked so far.",
        "zh": "排序中… 已检查 {scored}/{total} 条答案。",
    },
    "no_question": {"en": "The question is empty: type the customer's question first.", "zh": "问题为空：请先输入客户的问题。"},
    "error_title": {"en": "Cannot do that yet", "zh": "暂时无法完成"},
    # Gradio's own table toolbar (hard-coded English in its page code; assets/desk.js swaps them).
    "table_copy": {"en": "Copy table data", "zh": "复制表格数据"},
    "table_copied": {"en": "Copied to clipboard", "zh": "已复制到剪贴板"},
    "no_answers": {
        "en": "Paste at least one candidate answer (one per line, or separated by blank lines).",
        "zh": "请至少粘贴一条候选答案（每行一条，或用空行分隔）。",
    },
    "no_match": {
        "en": "No FAQ entry matches this question. Hand it to a human agent.",
        "zh": "没有匹配此问题的 FAQ 条目，请转人工处理。",
    },
    "keyword_only": {
        "en": "Keyword scores (BM25) only: the reranker is unavailable, so these answers are ordered by "
        "shared words, not judged for relevance, and there is no confidence score. Read the best match "
        "before sending it.",
        "zh": "仅有关键词分数（BM25）：排序模型不可用，答案只按共同词语排列，未判断相关性，也没有置信度。发送前请先阅读最佳匹配。",
    },
    "first_stage_only": {
        "en": "Search scores only: the reranker is unavailable, so these answers are ordered by the first stage "
        "(keyword and dense search), not judged for relevance, and there is no confidence score. Read the best "
        "match before sending it.",
        "zh": "仅有检索分数：排序模型不可用，答案按第一阶段（关键词与向量检索）排列，未判断相关性，也没有置信度。发送前请先阅读最佳匹配。",
    },
    "not_confident": {
        "en": "No confident answer: the best score is {score:.3f}, below the {threshold:.2f} threshold. "
        "Hand this question to a human agent.",
        "zh": "没有可信的答案：最高分 {score:.3f}，低于阈值 {threshold:.2f}。请转人工处理。",
    },
    "confident": {
        "en": "Confident answer: the best score is {score:.3f} (threshold {threshold:.2f}).",
        "zh": "可信的答案：最高分 {score:.3f}（阈值 {threshold:.2f}）。",
    },
    "stopped_scored": {"en": "Stopped: {scored} of {total} scored.", "zh": "已停止：已评分 {scored}/{total} 条。"},
    "status_stopped": {
        "en": "Stopped by the agent: {scored} of {total} pairs scored · rerank {ms}",
        "zh": "已由客服停止：已评分 {scored}/{total} 对 · 重排 {ms}",
    },
    "upload_rejected": {
        "en": "This upload cannot be used: {reason} Still in use: {fallback}.",
        "zh": "无法使用此上传文件：{reason} 目前仍在使用：{fallback}。",
    },
    "nothing_in_use": {
        "en": "nothing yet, upload a CSV or choose a bundled base",
        "zh": "暂无，请上传 CSV 或选择内置库",
    },
    "no_upload": {
        "en": "Upload a CSV first, or choose a bundled FAQ base.",
        "zh": "请先上传 CSV，或选择内置 FAQ 库。",
    },
    "upload_rows": {"en": "{name}: {rows} FAQ rows read.", "zh": "{name}：读取到 {rows} 条 FAQ。"},
    "upload_mismatch": {
        "en": "Check the file: it has {lines} lines after the header but {rows} rows were read. "
        'An unclosed quote (") joins lines into one row.',
        "zh": '请检查文件：表头之后有 {lines} 行，但只读取到 {rows} 条。未闭合的引号（"）会把多行并成一条。',
    },
    "upload_quote_lines": {
        "en": 'The quote (") on line {first} joins lines {first}-{last} into one row: close it on line {first} '
        "(or remove it) and upload the file again.",
        "zh": '第 {first} 行的引号（"）把第 {first}-{last} 行并成了一条：请在第 {first} 行闭合它（或删去），然后重新上传。',
    },
    "candidate_one": {"en": "{n} candidate", "zh": "{n} 条候选答案"},
    "candidate_many": {"en": "{n} candidates", "zh": "{n} 条候选答案"},
    "duplicate_one": {"en": "{n} duplicate", "zh": "{n} 条重复"},
    "duplicate_many": {"en": "{n} duplicates", "zh": "{n} 条重复"},
    "empty_line_one": {"en": "{n} empty line", "zh": "{n} 个空行"},
    "empty_line_many": {"en": "{n} empty lines", "zh": "{n} 个空行"},
    "list_sep": {"en": ", ", "zh": "、"},
    "removed": {"en": " ({what} removed)", "zh": "（已去掉{what}）"},
    "over_cap": {
        "en": "; only the first {cap} are kept (the limit per request), {n} more were left out",
        "zh": "；只保留前 {cap} 条（每次请求的上限），另外 {n} 条未计入",
    },
    "base_rows": {"en": "{label}: {n} FAQ rows{skipped}.", "zh": "{label}：{n} 条 FAQ{skipped}。"},
    "rows_skipped": {"en": " ({n} empty rows skipped)", "zh": "（跳过 {n} 个空行）"},
    # The ranked table and its CSV
    "col_rank": {"en": "Rank", "zh": "名次"},
    "col_score": {"en": "Score", "zh": "分数"},
    "col_keyword": {"en": "Keyword score (BM25)", "zh": "关键词分数（BM25）"},
    "col_search": {"en": "Search score (first stage)", "zh": "检索分数（第一阶段）"},
    "col_keyword_rank": {"en": "Keyword rank", "zh": "关键词名次"},
    "col_dense_rank": {"en": "Dense rank", "zh": "向量检索名次"},
    "col_answer": {"en": "Answer", "zh": "答案"},
    "col_faq_question": {"en": "FAQ question", "zh": "FAQ 问题"},
    "col_faq_id": {"en": "FAQ id", "zh": "FAQ 编号"},
    "col_category": {"en": "Category", "zh": "分类"},
    "col_truncated": {"en": "Truncated", "zh": "已截断"},
    "col_passage": {"en": "Best passage", "zh": "最佳段落"},
    "col_actions": {"en": "Actions", "zh": "操作"},
    "pick_answers": {"en": "Answers it", "zh": "就是这条"},
    "pick_none": {"en": "None of these", "zh": "都不对"},
    "pick_saved_undo": {"en": "✓ Saved · Undo", "zh": "✓ 已保存 · 撤销"},
    "badge_best": {"en": "Best", "zh": "最佳"},
    "badge_unsure": {"en": "Not confident", "zh": "把握不足"},
    "not_scored_yet": {"en": "not reranked yet", "zh": "尚未排序"},
    "partial_caption": {
        "en": "Not reranked yet ({scored}/{total} scored): scored answers move to the top as their scores arrive.",
        "zh": "尚未排完（已评分 {scored}/{total}）：评分到达后答案会移到上方。",
    },
    "no_candidates": {"en": "No candidates to show.", "zh": "没有可显示的候选答案。"},
    "cut_note": {
        "en": "Longer than the whole-document limit: its end was cut before scoring.",
        "zh": "超过整篇长度上限：评分前已截去结尾。",
    },
    "evidence_note": {
        "en": "Long answer: scored in {n} windows; the highlighted passage scored best.",
        "zh": "长答案：分 {n} 个窗口评分，高亮段落得分最高。",
    },
    "no_score": {"en": "no score", "zh": "无分数"},
    "stage_rank_kw": {"en": "kw #{rank}", "zh": "关键词 #{rank}"},
    "stage_rank_dense": {"en": "dense #{rank}", "zh": "向量 #{rank}"},
    "stage_ranks_title": {
        "en": "Where keyword search (kw) and dense search ranked this entry",
        "zh": "关键词检索与向量检索分别把此条目排在第几",
    },
    "uploaded_label": {"en": "{name} (uploaded)", "zh": "{name}（上传）"},
    # The pick panel
    "undo": {"en": "Undo", "zh": "撤销"},
    "picks_faq_only": {
        "en": "Picks are recorded for FAQ-base searches only: pasted answers and uploaded files have no "
        "FAQ ids in a base the desk serves.",
        "zh": "只记录 FAQ 库搜索中的选择：粘贴的答案和上传的文件在本台的库里没有 FAQ 编号。",
    },
    "nothing_to_pick": {
        "en": "Search an FAQ base first, then mark the answer that answers the question.",
        "zh": "请先搜索 FAQ 库，再标出能回答问题的那条答案。",
    },
    "saved_answers": {"en": "Saved: {chosen} answers it.", "zh": "已保存：{chosen} 能回答这个问题。"},
    "saved_none": {"en": "Saved: none of these answers it.", "zh": "已保存：这些答案都不对。"},
    "nothing_to_undo": {"en": "Nothing to undo.", "zh": "没有可撤销的操作。"},
    "undone": {"en": "Undone: the pick was removed.", "zh": "已撤销：这次选择已删除。"},
    "stored_threshold": {
        "en": "Using the threshold {threshold:.2f} stored for {base} (set in the Evaluate tab).",
        "zh": "正在使用为 {base} 保存的阈值 {threshold:.2f}（在“评估”页设置）。",
    },
    # The Batch tab
    "batch_intro": {
        "en": "Answer a whole file of customer questions: each gets the best FAQ answer and its score, "
        "and is marked **confident** or **escalate** (send it to a human).",
        "zh": "一次回答整个文件的客户问题：每个问题得到最佳 FAQ 答案及其分数，并标为**可信**或**转人工**。",
    },
    "batch_questions": {
        "en": "Questions CSV (a 'question' column, or one question per line)",
        "zh": "问题 CSV（含 question 列，或每行一个问题）",
    },
    "batch_top_k": {
        "en": "Candidates per question (keyword top K)",
        "zh": "每个问题的候选数（关键词检索前 K 条）",
    },
    "batch_run": {"en": "Answer the questions", "zh": "回答这些问题"},
    "batch_answers": {"en": "Answers", "zh": "答案"},
    "batch_progress": {"en": "Answering", "zh": "回答中"},
    "batch_no_file": {
        "en": "Upload a CSV of questions (a 'question' column, or one question per line).",
        "zh": "请上传问题 CSV（含 question 列，或每行一个问题）。",
    },
    "batch_summary": {
        "en": "{done} of {total} questions checked: {answered} got an FAQ answer ({confident} confident, "
        "{escalate} to escalate), {missing} got none and go to a human (threshold {threshold:.2f}, {source}).",
        "zh": "已检查 {done}/{total} 个问题：{answered} 个找到 FAQ 答案（{confident} 个可信，{escalate} 个需转人工），"
        "{missing} 个没有答案，转人工处理（阈值 {threshold:.2f}，{source}）。",
    },
    "batch_empty_question": {"en": "The question is empty.", "zh": "问题是空的。"},
    "batch_stored": {"en": "stored for this base", "zh": "此库保存的阈值"},
    "batch_default": {"en": "the default", "zh": "默认值"},
    "batch_row_failed": {"en": "- Row {row} not answered: {error}", "zh": "- 第 {row} 行未回答：{error}"},
    # The Batch table and its CSV: in English, the column names and verdicts of ``python -m reranker answer``
    "batch_col_row": {"en": "row", "zh": "行号"},
    "batch_col_question": {"en": "question", "zh": "问题"},
    "batch_col_faq_id": {"en": "faq_id", "zh": "FAQ 编号"},
    "batch_col_faq_question": {"en": "faq_question", "zh": "FAQ 问题"},
    "batch_col_answer": {"en": "answer", "zh": "答案"},
    "batch_col_score": {"en": "score", "zh": "分数"},
    "batch_col_verdict": {"en": "verdict", "zh": "结论"},
    "batch_col_error": {"en": "error", "zh": "错误"},
    "batch_head_verdict": {"en": "Verdict", "zh": "结论"},
    "batch_head_row": {"en": "Row", "zh": "行号"},
    "batch_head_question": {"en": "Customer question", "zh": "客户问题"},
    "batch_head_faq_id": {"en": "FAQ id", "zh": "FAQ 编号"},
    "batch_head_answer": {"en": "Best FAQ answer", "zh": "最佳 FAQ 答案"},
    "batch_head_score": {"en": "Score", "zh": "分数"},
    "batch_head_error": {"en": "Problem", "zh": "问题说明"},
    "batch_error": {"en": "not answered", "zh": "未回答"},
    "batch_confident": {"en": "confident", "zh": "可信"},
    "batch_escalate": {"en": "escalate", "zh": "转人工"},
    # The threshold goal (Evaluate tab)
    "goal_heading": {"en": "### Which threshold meets your goal?", "zh": "### 哪个阈值能达到你的目标？"},
    "goal_caught": {
        "en": 'Send at least this % of "none of these" to a human',
        "zh": "“都不对”的问题至少有这个百分比转人工",
    },
    "goal_escalated": {
        "en": "Escalate at most this % of answerable questions",
        "zh": "可回答的问题最多有这个百分比转人工",
    },
    "goal_not_yet": {
        "en": "Run an evaluation with reranking on a query set that has both answerable and out-of-scope questions.",
        "zh": "请在同时含有可回答和超出范围问题的问题集上运行带排序的评估。",
    },
    "goal_apply": {"en": "Apply to this base", "zh": "应用到此库"},
    "goal_not_upload": {
        "en": "A threshold is stored for one of the desk's bases, not an uploaded FAQ file.",
        "zh": "阈值只能保存给本台的内置库，不能保存给上传的 FAQ 文件。",
    },
    "goal_stored": {
        "en": "Stored: the desk and the API now use {threshold:.2f} for {base}.",
        "zh": "已保存：排序台和 API 现在对 {base} 使用 {threshold:.2f}。",
    },
    "goal_remove": {"en": "Remove the stored threshold", "zh": "删除已保存的阈值"},
    "goal_confirm_button": {"en": "Yes, store it", "zh": "确定保存"},
    "goal_cancel": {"en": "Cancel", "zh": "取消"},
    "goal_confirm": {
        "en": "Store {threshold:.2f} for {base}? Every agent's desk, the Batch tab and the API use it from their "
        "next ranking, instead of each agent's own threshold.",
        "zh": "为 {base} 保存 {threshold:.2f}？所有客服的排序台、批量页和 API 从下一次排序起都会使用它，而不是各自的阈值。",
    },
    "goal_confirm_replace": {
        "en": "Store {threshold:.2f} for {base}, replacing the stored {stored:.2f}? Every agent's desk, the Batch "
        "tab and the API use it from their next ranking.",
        "zh": "为 {base} 保存 {threshold:.2f}，替换已保存的 {stored:.2f}？所有客服的排序台、批量页和 API 从下一次排序起都会使用它。",
    },
    "goal_removed": {
        "en": "Removed: {base} has no stored threshold now; each agent's own threshold applies.",
        "zh": "已删除：{base} 现在没有保存的阈值，按各客服自己的阈值判断。",
    },
    "goal_current_stored": {
        "en": "Stored for {base} now: {threshold:.2f} (the desk, Batch and the API use it).",
        "zh": "{base} 现在保存的阈值：{threshold:.2f}（排序台、批量页和 API 都使用它）。",
    },
    "goal_current_none": {
        "en": "No threshold is stored for {base}: each agent's own threshold applies.",
        "zh": "{base} 没有保存的阈值：按各客服自己的阈值判断。",
    },
    "threshold_from_base": {
        "en": "Set for {base} by your team lead: {threshold:.2f}. Change it in the Evaluate tab.",
        "zh": "团队负责人为 {base} 设定：{threshold:.2f}。可在“评估”页修改。",
    },
    "threshold_from_agent": {
        "en": "Your own threshold (remembered in this browser). Below it the question goes to a human agent.",
        "zh": "你自己的阈值（本浏览器会记住）。最高分低于它时，问题转人工处理。",
    },
    # Errors the desk shows (their English text is also what the API and the CLI say)
    "err_threshold": {
        "en": "The threshold must be between 0 and 1, got {threshold}.",
        "zh": "阈值必须在 0 到 1 之间，收到的是 {threshold}。",
    },
    "err_no_base": {
        "en": "Pick an FAQ base (available: {known}) or upload a CSV file.",
        "zh": "请选择一个 FAQ 库（可选：{known}），或上传 CSV 文件。",
    },
    "err_top_k": {
        "en": "The number of candidates must be at least 1, got {top_k}.",
        "zh": "候选数至少为 1，收到的是 {top_k}。",
    },
    "err_csv_empty": {
        "en": "{name} is empty. Upload a CSV file with a header row and data rows.",
        "zh": "{name} 是空的。请上传带表头行和数据行的 CSV 文件。",
    },
    "err_csv_parse": {
        "en": "{name} could not be read as CSV ({error}). Wrap values that contain the "
        "separator or line breaks in double quotes.",
        "zh": "{name} 无法按 CSV 读取（{error}）。含分隔符或换行的值请用双引号括起来。",
    },
    "err_csv_fields": {
        "en": "{name}, line {line}: {saw} values where the header has {expected}. Put values that contain the "
        "separator in double quotes (or remove the extra ones), then upload the file again.",
        "zh": "{name} 第 {line} 行：有 {saw} 个值，而表头只有 {expected} 列。请把含分隔符的值用双引号括起来（或删去多余的值），然后重新上传。",
    },
    "err_csv_open_quote": {
        "en": '{name}, line {line}: a quote (") opens there and is never closed. Close it or remove it, then '
        "upload the file again.",
        "zh": '{name} 第 {line} 行：这里有一个引号（"）没有闭合。请补上或删去它，然后重新上传。',
    },
    "err_csv_no_rows": {
        "en": "{name} has a header row but no data rows.",
        "zh": "{name} 只有表头行，没有数据行。",
    },
    "err_csv_column": {
        "en": "{name} has no {role} column. Columns found: {found}. Name the {role} column one of: {accepted}.",
        "zh": "{name} 没有{role}列。找到的列：{found}。请把{role}列命名为以下之一：{accepted}。",
    },
    "err_csv_too_large": {
        "en": "{name} is {size}; the limit is {limit}. Split it into smaller files.",
        "zh": "{name} 大小为 {size}，上限是 {limit}。请拆分成较小的文件。",
    },
    "err_csv_binary": {
        "en": "{name} looks like an Excel/binary file, not CSV text. Save it as CSV "
        "(in Excel: File > Save As > CSV UTF-8) and upload that file.",
        "zh": "{name} 看起来是 Excel 或二进制文件，不是 CSV 文本。请另存为 CSV（Excel 中：文件 > 另存为 > CSV UTF-8）后上传。",
    },
    "err_csv_encoding": {
        "en": "{name} is not UTF-8 or GBK text, so its characters can't be read. Save it as CSV UTF-8 and upload it again.",
        "zh": "{name} 不是 UTF-8 或 GBK 文本，无法读取其中的字符。请另存为 CSV UTF-8 后重新上传。",
    },
    "err_csv_no_entries": {
        "en": "{name} has no row with a question or an answer.",
        "zh": "{name} 中没有含问题或答案的行。",
    },
    "err_pasted_unavailable": {
        "en": "Reranking is unavailable, so pasted answers cannot be ranked: {error} "
        "Use the FAQ base tab for keyword search, or restart the app with a working --model.",
        "zh": "排序模型不可用，无法对粘贴的答案排序：{error} 请在“FAQ 库”页使用关键词搜索，或用可用的 --model 重启应用。",
    },
    "err_unavailable": {
        "en": "The reranker could not be loaded: {error}",
        "zh": "排序模型无法加载：{error}",
    },
    "err_upload_gone": {
        "en": "The uploaded file is gone from the server; upload it again.",
        "zh": "上传的文件已不在服务器上，请重新上传。",
    },
    "calib_effect": {
        "en": "sends {caught} of {unanswerable} unanswerable questions to a human and escalates "
        "{escalated} of {answerable} answerable ones",
        "zh": "会把 {unanswerable} 个无法回答的问题中的 {caught} 个转人工，并把 {answerable} 个可回答的问题中的 {escalated} 个转人工",
    },
    "calib_goal": {
        "en": "at least {min_caught:.0%} of unanswerable questions to a human, "
        "at most {max_escalated:.0%} of answerable ones escalated",
        "zh": "无法回答的问题至少 {min_caught:.0%} 转人工，可回答的问题最多 {max_escalated:.0%} 转人工",
    },
    "calib_met": {
        "en": "A threshold of {threshold:.2f} {effect}. That meets the goal: {goal}.",
        "zh": "阈值 {threshold:.2f} {effect}。这达到了目标：{goal}。",
    },
    "calib_not_met": {
        "en": "No threshold meets the goal ({goal}). The closest is {threshold:.2f}: it {effect}.",
        "zh": "没有阈值能达到目标（{goal}）。最接近的是 {threshold:.2f}：它{effect}。",
    },
    "err_calib_both": {
        "en": "A threshold needs both kinds of labelled question: some answered by an FAQ and some "
        'marked "none of these" (got {answerable} and {none}). Record more picks in the desk, then try again.',
        "zh": "计算阈值需要两类带标注的问题：一些由 FAQ 回答，一些标为“都不对”（现有 {answerable} 和 {none} 个）。请在排序台记录更多选择后再试。",
    },
    # The base and the question's language
    "language_en": {"en": "English", "zh": "英文"},
    "language_zh": {"en": "Chinese", "zh": "中文"},
    "script_hint": {
        "en": "This question is in {language}, but {base} is not: choose {fits} under FAQ base for better matches.",
        "zh": "这个问题是{language}，但 {base} 不是：请在“FAQ 库”中选择 {fits}，匹配会更准。",
    },
    "script_hint_none": {
        "en": "This question is in {language}, but {base} is not, so matches may be poor: ask the question in "
        "the base's language, or upload a base in {language}.",
        "zh": "这个问题是{language}，但 {base} 不是，匹配可能不准：请用该库的语言提问，或上传{language}的 FAQ 库。",
    },
    # Instruction presets (the instruction itself stays English: it is what the model reads)
    "preset_general": {"en": "General questions", "zh": "一般问题"},
    "preset_orders": {"en": "Orders & shipping", "zh": "订单与发货"},
    "preset_refunds": {"en": "Refunds & returns", "zh": "退款与退货"},
    "preset_account": {"en": "Account & sign-in", "zh": "账户与登录"},
    "preset_finance": {"en": "Payments & charges", "zh": "付款与扣费"},
    "preset_legal": {"en": "Terms & privacy", "zh": "条款与隐私"},
    "preset_it": {"en": "Technical problems", "zh": "技术问题"},
    # The status line's details (behind the Details toggle).
    "status_not_reranked": {
        "en": "Not reranked yet ({scored}/{total} scored)",
        "zh": "尚未重排（已评分 {scored}/{total}）",
    },
    "status_pairs": {"en": "{n} pairs scored", "zh": "已评分 {n} 对"},
    "status_recall": {"en": "recall {ms}", "zh": "召回 {ms}"},
    "status_rerank": {"en": "rerank {ms}", "zh": "重排 {ms}"},
    "status_truncated": {"en": "{n} truncated", "zh": "截断 {n} 条"},
    "status_cache_hits": {"en": "{n} cache hits", "zh": "缓存命中 {n} 次"},
    "status_recall_only": {
        "en": "Reranker unavailable: {scores} only · {recall} · recall {ms}",
        "zh": "重排模型不可用：仅有{scores} · {recall} · 召回 {ms}",
    },
    "status_keyword_scores": {"en": "keyword (BM25) scores", "zh": "关键词（BM25）分数"},
    "status_stage_scores": {"en": "{stage} search scores", "zh": "{stage}检索分数"},
    "status_first_stage": {
        "en": "first stage: {label} over {rows} FAQ rows found {found} candidates ({reason})",
        "zh": "第一阶段：{label}在 {rows} 条 FAQ 中找到 {found} 个候选（{reason}）",
    },
    "status_picked": {
        "en": "{label} search picked {n} of them (top K = {k}).",
        "zh": "{label}检索从中选出 {n} 条（前 K = {k}）。",
    },
    "status_waiting": {
        "en": "waiting for the reranker to finish loading ({seconds} s so far)",
        "zh": "正在等待重排模型加载完成（已 {seconds} 秒）",
    },
    # Issue 19, second pass: the first stage, the engine and the score tooltips in the status details
    "first_stage_keyword": {"en": "keyword (BM25)", "zh": "关键词（BM25）"},
    "first_stage_dense": {"en": "dense (embeddings)", "zh": "向量（嵌入）"},
    "first_stage_hybrid": {"en": "hybrid (keyword + dense)", "zh": "混合（关键词 + 向量）"},
    "stage_keyword": {"en": "keyword search (BM25)", "zh": "关键词检索（BM25）"},
    "stage_off": {
        "en": "keyword search (BM25) only: dense search is off on this desk",
        "zh": "仅关键词检索（BM25）：此工作台未启用向量检索",
    },
    "stage_loading": {
        "en": "keyword search while the embedding model loads ({seconds} s so far)",
        "zh": "向量模型加载期间使用关键词检索（已 {seconds} 秒）",
    },
    "stage_unavailable": {
        "en": "keyword search only: the embedding model is not loaded (the log says why)",
        "zh": "仅关键词检索：向量模型未加载（原因见日志）",
    },
    "stage_ready": {"en": "embedding model {model}, {backend}", "zh": "向量模型 {model}，{backend}"},
    "stage_unsuitable": {
        "en": "keyword search: this base is mostly Chinese/Japanese/Korean text and the embedding model "
        "{model} is English-only, which would make search worse",
        "zh": "关键词检索：此库主要是中日韩文字，而向量模型 {model} 只支持英文，用它检索反而更差",
    },
    "stage_failed": {
        "en": "keyword search: embedding this base failed (the log says why)",
        "zh": "关键词检索：此库向量化失败（原因见日志）",
    },
    "stage_embedding": {
        "en": "keyword search while this base is embedded ({done} of {total} rows so far)",
        "zh": "此库向量化期间使用关键词检索（已完成 {done}/{total} 行）",
    },
    "engine_threads": {"en": "{n} threads", "zh": "{n} 个线程"},
    "engine_prefix_caching_on": {"en": "prefix caching on", "zh": "前缀缓存开启"},
    "engine_prefix_caching_off": {"en": "prefix caching off", "zh": "前缀缓存关闭"},
    "engine_remote": {
        "en": "remote vLLM at {url} ({model}{limit})",
        "zh": "远程 vLLM：{url}（{model}{limit}）",
    },
    "engine_max_tokens": {"en": ", max {n} tokens", "zh": "，最多 {n} 个词元"},
    "score_title_keyword": {
        "en": "Keyword (BM25) score: shared words, not a probability",
        "zh": "关键词（BM25）分数：按共同词语计算，不是概率",
    },
    "score_title_first_stage": {
        "en": "First-stage score (cosine similarity, or fused ranks): not a probability",
        "zh": "第一阶段分数（余弦相似度或融合名次）：不是概率",
    },
    # The status chip's details: the first stage in the agent's words, then the log's words for the operator
    "chip_stage_means_loading": {
        "en": "Until the embedding model is ready, FAQ search finds candidates by keyword.",
        "zh": "向量模型就绪前，FAQ 搜索按关键词查找候选。",
    },
    "chip_stage_means_unavailable": {
        "en": "The embedding model is not loaded, so FAQ search finds candidates by keyword only. Tell your "
        "administrator (the fix is below).",
        "zh": "向量模型未加载，FAQ 搜索只按关键词查找候选。请告知管理员（修复方法见下）。",
    },
    "chip_stage_means_embedding": {
        "en": "Bases still being embedded ({done} of {total} rows) are searched by keyword until they are done.",
        "zh": "仍在向量化的知识库（已完成 {done}/{total} 行）在完成前按关键词搜索。",
    },
    "chip_operator_log": {
        "en": "For the administrator, as the log says it:",
        "zh": "给管理员（日志原文）：",
    },
    # An error nobody expected (a bug): a short message, the traceback goes to the log
    "err_unexpected": {
        "en": "The desk hit an unexpected problem and did not finish this. Tell your administrator the "
        "reference {ref}: the log has the details.",
        "zh": "工作台遇到意外问题，此操作未完成。请把编号 {ref} 告诉管理员：日志中有详细信息。",
    },
    # Evaluate's charts (axis, legend and tooltip titles; the bars' method names)
    "chart_metric_and_method": {"en": "Metric and method", "zh": "指标与方法"},
    "chart_value": {"en": "Value", "zh": "数值"},
    "chart_threshold": {"en": "Threshold", "zh": "阈值"},
    "chart_in_scope_flagged": {"en": "In-scope wrongly flagged (%)", "zh": "可回答问题被误转人工（%）"},
    "chart_out_of_scope_caught": {"en": "Out-of-scope caught (%)", "zh": "无法回答问题被转人工（%）"},
    "chart_bar_keyword": {"en": "keyword", "zh": "关键词"},
    "chart_bar_dense": {"en": "dense", "zh": "向量"},
    "chart_bar_hybrid": {"en": "hybrid", "zh": "混合"},
    "chart_bar_rerank": {"en": "rerank", "zh": "重排"},
    # Batch: Stop keeps the rows answered so far
    "batch_stopped": {
        "en": "Stopped: {done} of {total} answered.",
        "zh": "已停止：已回答 {done}/{total} 个问题。",
    },
}


def t(key: str, lang: Lang = "en", **params: object) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in (``KeyError`` for an unknown key)."""
    text = MESSAGES[key][lang]
    return text.format(**params) if params else text


def t_count(key: str, lang: Lang, n: int) -> str:
    """``key_one`` or ``key_many`` by ``n`` (English needs both; Chinese says the same twice)."""
    return t(f"{key}_{'one' if n == 1 else 'many'}", lang, n=n)


def language_of(accept_language: str | None) -> Lang:
    """The language of ours the browser prefers most (its Accept-Language header, q-values honoured).

    A language counts by its primary subtag (``zh-TW`` is ``zh``); ``en`` when none of ours is listed.

    >>> language_of("zh-CN,zh;q=0.9,en;q=0.8"), language_of("fr-FR,zh;q=0.9,en;q=0.5"), language_of("en;q=0.1,zh-TW;q=0.5")
    ('zh', 'zh', 'zh')
    >>> language_of("en-US,en;q=0.9,zh-CN;q=0.8"), language_of(None), language_of("zh;q=0")
    ('en', 'en', 'en')
    """
    for tag, quality in parse_accept_header(accept_language, LanguageAccept):  # best first
        primary = tag.lower().replace("_", "-").split("-")[0]
        if quality > 0 and primary in LANGUAGES:
            return primary  # type: ignore[return-value]
    return "en"


def catalogue(lang: Lang) -> dict[str, str]:
    """Every message in one language: what ``gr.I18n`` takes."""
    return {key: texts[lang] for key, texts in MESSAGES.items()}
