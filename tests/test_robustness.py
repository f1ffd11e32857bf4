"""Bad input, failures and probing never break the launched app, and nothing outside it is exposed.

One app for the module, launched as ``python app.py`` launches it (UI and REST API on one port,
the documented default limits). Every bad input goes end to end: through the UI's Gradio API
(``gradio_client``; a user error arrives as ``AppError`` carrying the message the page shows) or
through ``POST /v1/rerank`` (a 4xx ``{"error": ...}``). After each case the app must still
answer a normal request on both paths. The parsing rules themselves are unit-tested in
test_candidates.py, test_knowledge_base.py and test_api.py.
"""

from __future__ import annotations

import html
import http.client
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import gradio as gr
import httpx
import pytest
from fastapi.testclient import TestClient
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from reranker.config import AppConfig
from reranker.desk.desk import Desk
from reranker.engine.load import load_scorer
from reranker.engine.prompt import MAX_WINDOWS
from reranker.errors import InvalidInput
from reranker.knowledge.bases import bundled_bases
from reranker.knowledge.labelled import bundled_query_sets
from reranker.knowledge.presets import get_preset
from reranker.server import serve
from reranker.server.schemas import DEFAULT_MAX_DOCUMENT_CHARS, INTERNAL_ERROR
from reranker.server.serve import create_server
from reranker.ui import build_demo, export_dir

ROOT = Path(__file__).resolve().parent.parent
QUERY = "Where is my order?"
GENERAL = get_preset("general").instruction
NORMAL_CANDIDATES = [
    "Orders ship within 24 hours of payment.",
    "Reset your password from the sign-in page.",
    "Refunds reach your card in 5-10 business days.",
]
ZH_BASE, EN_BASE = list(bundled_bases())
ZH_QUERIES, EN_QUERIES = list(bundled_query_sets())
ANSWER_CELL = re.compile(r'<div class="answer(?: folded)?">(.*?)</div>', re.S)
#: The highlight around a long answer's best passage (the browser shows the text inside it).
EVIDENCE_MARK = re.compile(r'</?mark(?: class="evidence")?>')
FAQ_ID_CELL = re.compile(r'<td class="faq-id">([^<]*)')  # the id; the stage ranks follow it in the cell
TIMEOUT = 60


@dataclass(frozen=True)
class Served:
    url: str
    client: Client
    desk: Desk
    config: AppConfig
    demo: gr.Blocks


@pytest.fixture(scope="module")
def served(hf_scorer, launch_desk) -> Served:
    config = AppConfig()
    desk = Desk(
        hf_scorer,
        export_dir=export_dir(),
        bases=bundled_bases(),
        max_candidates=config.max_candidates,
        max_upload_bytes=config.max_upload_bytes,
    )
    url = launch_desk(desk)
    return Served(url, Client(url, verbose=False), desk, config, launch_desk.demos[url])


def shown_answers(table_html: str) -> list[str]:
    """The answer texts of the ranked table, top row first, as the browser displays them."""
    return [html.unescape(EVIDENCE_MARK.sub("", cell)) for cell in ANSWER_CELL.findall(table_html)]


def rank_pasted(served: Served, query: str, text: str, mode: str = "lines", threshold: float = 0.5):
    job = served.client.submit(query, "general", "", text, mode, threshold, api_name="/rank_pasted")
    return job.result(timeout=TIMEOUT)


def rerank_rest(served: Served, **kwargs) -> httpx.Response:
    return httpx.post(f"{served.url}v1/rerank", timeout=TIMEOUT, **kwargs)


def assert_still_answers(served: Served, scorer) -> None:
    """A normal request on each path gets the scorer's ranking."""
    expected = scorer.rank(QUERY, NORMAL_CANDIDATES, GENERAL)
    _, best, table_html, _, _, _ = rank_pasted(served, QUERY, "\n".join(NORMAL_CANDIDATES))
    assert best["value"] == expected[0].text
    assert shown_answers(table_html) == [d.text for d in expected]
    response = rerank_rest(served, json={"query": QUERY, "documents": NORMAL_CANDIDATES})
    assert response.status_code == 200
    assert [r["index"] for r in response.json()["results"]] == [
        d.index for d in scorer.rank(QUERY, NORMAL_CANDIDATES)
    ]


# --- pasted answers through the UI ----------------------------------------------------------------

REFUSED_PASTES = {
    "empty-query": (dict(query=""), "type the customer's question first"),
    "whitespace-query": (dict(query=" \t\n\u3000 "), "type the customer's question first"),
    "no-candidates": (dict(text=""), "Paste at least one candidate answer"),
    "only-blank-lines": (dict(text="\n  \n\t\n"), "Paste at least one candidate answer"),
    "only-blank-lines-in-blank-line-mode": (dict(text="\n\n \n", mode="blank_lines"), "Paste at least one"),
    "unknown-split-mode": (dict(mode="commas"), "not in the list of choices"),
    "threshold-above-1": (dict(threshold=1.5), "greater than maximum value 1"),
    "question-longer-than-the-model-takes": (dict(query="where is my order " * 3000), "Shorten the query"),
}


@pytest.mark.parametrize(("fields", "message"), list(REFUSED_PASTES.values()), ids=list(REFUSED_PASTES))
def test_unusable_pastes_get_a_message_saying_what_to_do(served, hf_scorer, fields, message):
    request = dict(query=QUERY, text="\n".join(NORMAL_CANDIDATES)) | fields
    with pytest.raises(AppError, match=re.escape(message)):
        rank_pasted(served, **request)
    assert_still_answers(served, hf_scorer)


EVIL = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "javascript:alert(document.cookie)",
    "</div></td></tr></table><b>broken out</b>",
    "&lt;already escaped&gt; &amp;",
]
BIG = "Your parcel is on its way and will arrive soon. " * 21_000  # ~1 MB, one line
# (pasted text, what is scored, a fragment of the summary/status)
ACCEPTED_PASTES = {
    "one-candidate": ("Orders ship within 24 hours.", ["Orders ship within 24 hours."], "1 candidate\n"),
    "duplicates-deduped-and-counted": (
        "Ships in 24h\nShips in 24h\n  Ships   in 24h \nRefunds take 5 days\n",
        ["Ships in 24h", "Refunds take 5 days"],
        "2 candidates (2 duplicates removed)",
    ),
    "5000-candidates-capped-at-500": (
        "\n".join(f"Answer number {i}: orders ship in {i} hours." for i in range(5000)),
        [f"Answer number {i}: orders ship in {i} hours." for i in range(500)],
        "500 candidates; only the first 500 are kept (the limit per request), 4500 more were left out",
    ),
    "one-1MB-candidate-truncated-and-marked": (
        f"{BIG}\nOrders ship within 24 hours.",
        [BIG.strip(), "Orders ship within 24 hours."],
        "1 truncated",
    ),
    "control-characters": (
        "NUL\x00inside\nbell\x07 ring\nescape \x1b[31mred\x1b[0m\ntab\tinside\nform\x0cfeed inside\nDEL\x7f",
        [
            "NUL\x00inside",
            "bell\x07 ring",
            "escape \x1b[31mred\x1b[0m",
            "tab\tinside",
            "form\x0cfeed inside",
            "DEL\x7f",
        ],
        "6 candidates",
    ),
    "zero-width-and-right-to-left": (
        "zero\u200bwidth\u200d joiner\ufeff\n\u202eevil.exe\u202c reversed\n"
        "يتم شحن طلبك خلال 24 ساعة\nההזמנה תישלח תוך 24 שעות",
        [
            "zero\u200bwidth\u200d joiner\ufeff",
            "\u202eevil.exe\u202c reversed",
            "يتم شحن طلبك خلال 24 ساعة",
            "ההזמנה תישלח תוך 24 שעות",
        ],
        "4 candidates",
    ),
    "emoji": (
        "📦 Ships in 24h 🚚\n👩🏽‍💻 Support is online 24/7\n🇩🇪 We ship to Germany",
        ["📦 Ships in 24h 🚚", "👩🏽‍💻 Support is online 24/7", "🇩🇪 We ship to Germany"],
        "3 candidates",
    ),
    "mixed-scripts": (
        "订单 order заказ 注文 주문 طلب\nΗ παραγγελία σας αποστέλλεται σήμερα\n您的 parcel ist unterwegs",
        [
            "订单 order заказ 注文 주문 طلب",
            "Η παραγγελία σας αποστέλλεται σήμερα",
            "您的 parcel ist unterwegs",
        ],
        "3 candidates",
    ),
    "html-and-javascript": ("\n".join(EVIL), EVIL, "6 candidates"),
}


@pytest.mark.parametrize(
    ("text", "scored", "note"), list(ACCEPTED_PASTES.values()), ids=list(ACCEPTED_PASTES)
)
def test_odd_but_usable_pastes_are_ranked_and_shown_as_text(served, hf_scorer, text, scored, note):
    _, best, table_html, status, _, _ = rank_pasted(served, QUERY, text)
    expected = [d.text for d in hf_scorer.rank(QUERY, scored, GENERAL)]
    assert shown_answers(table_html) == expected
    assert best["value"] == expected[0]
    assert note in html.unescape(status)
    assert not re.search(r"<(script|img|svg|b)\b", table_html)
    assert_still_answers(served, hf_scorer)


def test_a_truncated_candidate_is_marked_in_the_table(served, hf_scorer):
    _, _, table_html, _, _, _ = rank_pasted(served, QUERY, f"{BIG}\nOrders ship within 24 hours.")
    assert html.unescape(table_html).count("Longer than the whole-document limit: its end was cut") == 1
    assert html.unescape(table_html).count(f"scored in {MAX_WINDOWS} windows") == 1
    assert_still_answers(served, hf_scorer)


# --- FAQ CSV uploads through the UI ---------------------------------------------------------------

SHIPPING = "how long does shipping take"
# (file name, file bytes, question, error message or the FAQ ids that must be ranked)
CSV_UPLOADS = {
    "empty-file": ("faq.csv", b"", SHIPPING, "is empty"),
    "header-only": ("faq.csv", b"question,answer\n", SHIPPING, "has a header row but no data rows"),
    "missing-question-column": (
        "faq.csv", b"heading,body\nShipping,3-5 days\n", SHIPPING,
        "has no question column. Columns found: heading, body",
    ),
    "duplicate-ids": (
        "faq.csv", b"id,question,answer\nq1,How long does shipping take?,3-5 days\nq1,Shipping cost?,Free\n",
        SHIPPING, "uses the id 'q1' more than once (data rows 1, 2)",
    ),
    "excel-workbook-renamed-csv": ("faq.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), SHIPPING,
                                   "looks like an Excel/binary file"),
    "binary-file": ("faq.csv", bytes(range(256)) * 8, SHIPPING, "looks like an Excel/binary file"),
    "semicolon-separated": (
        "faq.csv", b"id;question;answer\ns1;How long does shipping take?;3-5 days, sometimes 7\n"
        b"s2;Do you ship abroad?;Yes, shipping to 40 countries\n", SHIPPING, {"s1", "s2"},
    ),
    "tab-separated": (
        "faq.tsv.csv", b"id\tquestion\tanswer\nt1\tHow long does shipping take?\t3-5 days\n"
        b"t2\tShipping cost?\tFree over $50\n", SHIPPING, {"t1", "t2"},
    ),
    "gbk-encoded": (
        "faq.csv", "编号,问题,答案\ng1,多久发货？,付款后24小时内发货。\ng2,怎么退货？,在订单页申请退货。\n".encode("gbk"),
        "多久发货", {"g1", "g2"},  # 发货 and 退货 share 货
    ),
    "utf8-with-bom": (
        "faq.csv", "\ufeffid,question,answer\nb1,How long does shipping take?,3-5 days\n".encode(), SHIPPING, {"b1"},
    ),
    "excel-unicode-text-utf16": (
        "faq.csv", "id\tquestion\tanswer\nu1\tHow long does shipping take?\t3-5 days\n".encode("utf-16"),
        SHIPPING, {"u1"},
    ),
    "quoted-newlines": (
        "faq.csv", b'id,question,answer\nn1,"How long does\nshipping take?","3-5 days.\nExpress: 1 day."\n',
        SHIPPING, {"n1"},
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "data", "query", "outcome"), list(CSV_UPLOADS.values()), ids=list(CSV_UPLOADS)
)
def test_uploaded_csv_files_are_read_or_refused_with_the_reason(served, hf_scorer, tmp_path, name, data, query,
                                                               outcome):  # fmt: skip
    upload = tmp_path / name
    upload.write_bytes(data)
    job = served.client.submit(query, "general", "", "upload", ZH_BASE, handle_file(str(upload)), 20, 0.5,
                               api_name="/rank_faq")  # fmt: skip
    if isinstance(outcome, str):
        with pytest.raises(AppError, match=re.escape(outcome)):
            job.result(timeout=TIMEOUT)
    else:
        _, _, table_html, status, _, _ = job.result(timeout=TIMEOUT)
        assert set(FAQ_ID_CELL.findall(table_html)) == outcome
        assert f"{name} (uploaded)" in html.unescape(status)
    assert_still_answers(served, hf_scorer)


def test_markup_in_csv_cells_is_escaped_in_every_column(served, hf_scorer, tmp_path):
    upload = tmp_path / "evil.csv"
    upload.write_text(
        "id,question,answer,category\n"
        '"<img src=x onerror=alert(1)>","How long does shipping take? <script>alert(1)</script>",'
        '"<svg onload=alert(1)> 3-5 days","<b>VIP</b>"\n',
        encoding="utf-8",
    )
    _, _, table_html, _, _, _ = served.client.predict(
        SHIPPING, "general", "", "upload", ZH_BASE, handle_file(str(upload)), 20, 0.5, api_name="/rank_faq"
    )
    assert not re.search(r"<(script|img|svg|b)\b", table_html)
    assert "&lt;img src=x onerror=alert(1)&gt;" in table_html and "&lt;b&gt;VIP&lt;/b&gt;" in table_html
    assert shown_answers(table_html) == ["<svg onload=alert(1)> 3-5 days"]
    assert_still_answers(served, hf_scorer)


def test_a_top_k_above_the_sliders_maximum_is_refused(served, hf_scorer):
    with pytest.raises(AppError, match="Value 101 is greater than maximum value 100"):
        served.client.predict(
            SHIPPING, "general", "", "bundled", EN_BASE, None, 101, 0.5, api_name="/rank_faq"
        )
    assert_still_answers(served, hf_scorer)


def test_an_upload_over_the_size_limit_is_refused_with_413(served, hf_scorer):
    too_big = b"question,answer\n" + b"x" * served.config.max_upload_bytes
    response = httpx.post(
        f"{served.url}gradio_api/upload", files={"files": ("big.csv", too_big)}, timeout=TIMEOUT
    )
    assert response.status_code == 413
    assert_still_answers(served, hf_scorer)


# --- labelled query files through the Evaluate tab ------------------------------------------------

QUERY_FILES = {
    "unknown-ids": (b"query,relevant_ids\nwhere is my parcel,en-999|en-001\n",
                    "refers to 1 id(s) that are not in the knowledge base: en-999"),
    "header-only": (b"query,relevant_ids\n", "has a header row but no data rows"),
    "no-relevant-ids-column": (b"query,answer\nwhere is my parcel,en-001\n", "has no relevant ids column"),
    "binary": (b"\xd0\xcf\x11\xe0" + bytes(100), "looks like an Excel/binary file"),
}  # fmt: skip


@pytest.mark.parametrize(("data", "message"), list(QUERY_FILES.values()), ids=list(QUERY_FILES))
def test_unusable_labelled_query_files_are_refused_with_the_reason(
    served, hf_scorer, tmp_path, data, message
):
    queries = tmp_path / "queries.csv"
    queries.write_bytes(data)
    with pytest.raises(AppError, match=re.escape(message)):
        served.client.predict(EN_BASE, EN_QUERIES, None, handle_file(str(queries)), 5, api_name="/evaluate")
    assert_still_answers(served, hf_scorer)


# --- the REST API ---------------------------------------------------------------------------------

JSON_HEADERS = {"content-type": "application/json"}
DOCS = ["Orders ship within 24 hours.", "Refunds take 5 days."]
REFUSED_BODIES = {
    "not-json": (dict(content=b"where is my order?", headers=JSON_HEADERS), 422, "not valid JSON"),
    "form-encoded": (dict(data={"query": QUERY}), 422, "Content-Type: application/json"),
    "empty-body": (dict(content=b"", headers=JSON_HEADERS), 422, "must be a JSON object"),
    "json-null": (dict(content=b"null", headers=JSON_HEADERS), 422, "must be a JSON object"),
    "json-list": (dict(json=[QUERY, DOCS]), 422, "must be a JSON object"),
    "missing-query": (dict(json={"documents": DOCS}), 422, "query: is required."),
    "missing-documents": (dict(json={"query": QUERY}), 422, "documents: is required."),
    "query-is-a-number": (dict(json={"query": 42, "documents": DOCS}), 422, "query: must be a string."),
    "documents-is-an-object": (dict(json={"query": QUERY, "documents": {"0": "a"}}), 422, "documents: must be a list."),
    "document-is-null": (dict(json={"query": QUERY, "documents": [None]}), 422, "documents[0]: must be a string"),
    "top-n-is-a-string": (dict(json={"query": QUERY, "documents": DOCS, "top_n": "3"}), 422,
                          "top_n: must be an integer."),
    "top-n-is-a-float": (dict(json={"query": QUERY, "documents": DOCS, "top_n": 1.5}), 422,
                         "top_n: must be an integer."),
    "top-n-is-true": (dict(json={"query": QUERY, "documents": DOCS, "top_n": True}), 422,
                      "top_n: must be an integer."),
    "top-n-negative": (dict(json={"query": QUERY, "documents": DOCS, "top_n": -5}), 422,
                       "top_n: must be at least 1."),
    "instruction-is-a-list": (dict(json={"query": QUERY, "documents": DOCS, "instruction": ["x"]}), 422,
                              "instruction: must be a string."),
    "blank-query": (dict(json={"query": " \n\t", "documents": DOCS}), 400, "query is empty"),
    "no-documents": (dict(json={"query": QUERY, "documents": []}), 400, "documents is empty"),
    "over-max-candidates": (dict(json={"query": QUERY, "documents": ["d"] * 501}), 400,
                            "Too many documents: 501 given, at most 500 per request."),
    "query-over-the-limit": (dict(json={"query": "q" * (DEFAULT_MAX_DOCUMENT_CHARS + 1), "documents": DOCS}), 400,
                             "query has 100,001 characters; the limit is 100,000."),
    "emoji-cut-in-half": (
        dict(content=b'{"query": "where is my order?", "documents": ["ok", "cut \\ud83d here"]}',
             headers=JSON_HEADERS),
        400, "documents[1] contains half of a UTF-16 surrogate pair",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("request_kwargs", "status", "message"), list(REFUSED_BODIES.values()), ids=list(REFUSED_BODIES)
)
def test_unusable_rest_bodies_get_a_json_error_saying_what_to_fix(served, hf_scorer, request_kwargs, status,
                                                                  message):  # fmt: skip
    response = rerank_rest(served, **request_kwargs)
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]
    assert_still_answers(served, hf_scorer)


ODD_DOCUMENTS = {
    "control-characters": ["NUL\x00inside", "bell\x07", "escape \x1b[31mred\x1b[0m"],
    "zero-width-and-right-to-left": ["zero\u200bwidth\ufeff", "\u202eevil.exe\u202c", "يتم شحن طلبك خلال 24 ساعة"],
    "emoji-and-mixed-scripts": ["📦 Ships in 24h 🚚", "👩🏽‍💻 Support 24/7", "订单 order заказ 注文 주문"],
    "html-and-javascript": EVIL,
    "duplicates-keep-their-own-index": ["Ships in 24h", "Refunds take 5 days", "Ships in 24h"],
}  # fmt: skip


@pytest.mark.parametrize("documents", list(ODD_DOCUMENTS.values()), ids=list(ODD_DOCUMENTS))
def test_odd_documents_are_scored_and_echoed_verbatim(served, hf_scorer, documents):
    response = rerank_rest(served, json={"query": QUERY, "documents": documents})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["index"] for r in results] == [d.index for d in hf_scorer.rank(QUERY, documents)]
    assert [r["document"]["text"] for r in results] == [documents[r["index"]] for r in results]
    assert_still_answers(served, hf_scorer)


def test_a_huge_top_n_returns_every_document(served, hf_scorer):
    response = rerank_rest(served, json={"query": QUERY, "documents": NORMAL_CANDIDATES, "top_n": 10**9})
    assert response.status_code == 200
    assert len(response.json()["results"]) == len(NORMAL_CANDIDATES)
    assert_still_answers(served, hf_scorer)


@pytest.mark.parametrize(
    "size, cut", [(DEFAULT_MAX_DOCUMENT_CHARS, []), (1_000_000, [1])], ids=["100k", "1MB"]
)
def test_a_huge_document_is_chunked_cut_beyond_the_limit_and_never_refused(served, hf_scorer, size, cut):
    response = rerank_rest(served, json={"query": QUERY, "documents": ["short", "x" * size]})
    assert response.status_code == 200
    assert response.json()["meta"]["truncated"] == cut
    assert next(r for r in response.json()["results"] if r["index"] == 1)["chunks_scored"] > 1
    assert_still_answers(served, hf_scorer)


def test_an_emoji_cut_in_half_in_a_paste_is_refused_naming_the_candidate(served, hf_scorer):
    events = sse_of_a_call(
        served.url, "rank_pasted", [QUERY, "general", "", "ok\ncut \ud83d here", "lines", 0.5]
    )
    assert "event: error" in events
    assert "Candidate 2 contains U+D83D, half of a UTF-16 surrogate pair" in events
    assert_still_answers(served, hf_scorer)


# --- failures inside the app ----------------------------------------------------------------------


def fail_once(monkeypatch, backend) -> None:
    """The engine raises once (like a CUDA error mid-batch), then works again."""
    original = backend.score_token_ids
    failures = [RuntimeError("simulated device-side assert in /secret/engine.cu")]

    def flaky(prompts):
        if failures:
            raise failures.pop()
        return original(prompts)

    monkeypatch.setattr(backend, "score_token_ids", flaky)


def test_an_engine_crash_in_the_ui_is_a_bare_error_and_the_next_request_works(served, hf_scorer, monkeypatch):
    fail_once(monkeypatch, hf_scorer.backend)
    with pytest.raises(AppError) as error:
        rank_pasted(served, "engine failure seen by the UI", "\n".join(NORMAL_CANDIDATES))
    assert "secret" not in str(error.value) and "Try again" not in str(error.value)
    assert_still_answers(served, hf_scorer)


def test_an_engine_crash_in_the_api_is_a_logged_500_and_the_next_request_works(
    served, hf_scorer, monkeypatch
):
    fail_once(monkeypatch, hf_scorer.backend)
    response = rerank_rest(served, json={"query": "engine failure seen by the API", "documents": DOCS})
    assert response.status_code == 500
    assert response.json() == {"error": INTERNAL_ERROR}
    assert "secret" not in response.text
    assert_still_answers(served, hf_scorer)


def sse_of_a_call(url: str, api_name: str, data: list) -> str:
    """The raw server-sent events of one Gradio API call: exactly what a browser receives.

    The body is sent as ASCII JSON, so it can carry what no UTF-8 encoder accepts (lone surrogates).
    """
    body = json.dumps({"data": data}).encode("ascii")
    started = httpx.post(
        f"{url}gradio_api/call/{api_name}",
        content=body,
        headers={"content-type": "application/json"},
        timeout=TIMEOUT,
    )
    started.raise_for_status()
    event_id = started.json()["event_id"]
    return httpx.get(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=TIMEOUT).text


def test_a_bug_in_the_ui_path_shows_a_bare_error_without_its_text(served, hf_scorer, monkeypatch):
    def bug(*args, **kwargs):
        raise KeyError("/secret/path/of/the/server")

    monkeypatch.setattr(served.desk, "rank_pasted_stream", bug)
    events = sse_of_a_call(served.url, "rank_pasted", [QUERY, "general", "", "a\nb", "lines", 0.5])
    assert "event: error" in events
    assert not any(leak in events for leak in ("secret", "KeyError", "Traceback"))
    monkeypatch.undo()
    assert_still_answers(served, hf_scorer)


def test_a_bug_in_the_api_path_is_a_500_json_error_without_its_text(served, hf_scorer, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("/secret/path/of/the/server")

    monkeypatch.setattr(hf_scorer, "score_detailed", bug)
    response = rerank_rest(served, json={"query": QUERY, "documents": DOCS})
    assert response.status_code == 500
    assert response.json() == {"error": INTERNAL_ERROR}
    monkeypatch.undo()
    assert_still_answers(served, hf_scorer)


# --- exposure -------------------------------------------------------------------------------------


def raw_get(url: str, path: str) -> tuple[int, str]:
    """GET ``path`` byte for byte (httpx would resolve "../" before sending)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


SERVER_FILES = {
    "file-absolute": "/gradio_api/file=/etc/passwd",
    "file-without-api-prefix": "/file=/etc/passwd",
    "file-relative-dot-dot": "/gradio_api/file=../../../../../../etc/passwd",
    "file-encoded-dot-dot": "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "deprecated-file-route": "/gradio_api/file/etc/passwd",
    "project-source": f"/gradio_api/file={ROOT / 'app.py'}",
    "project-source-relative": "/gradio_api/file=app.py",
    "project-faq-data": f"/gradio_api/file={ROOT / 'knowledge_base' / 'en_store_faq.csv'}",
    "static-dot-dot": "/static/../../app.py",
    "assets-dot-dot": "/assets/../app.py",
}


@pytest.mark.parametrize("path", list(SERVER_FILES.values()), ids=list(SERVER_FILES))
def test_files_outside_the_upload_and_cache_folders_are_never_served(served, hf_scorer, path):
    status, body = raw_get(served.url, path)
    assert status in (403, 404)
    assert not any(leak in body for leak in ("root:x:0:0", "def create_desk", "en-001,"))
    assert_still_answers(served, hf_scorer)


def test_the_file_route_does_not_fetch_loopback_urls_for_a_caller(served):
    status, body = raw_get(served.url, f"/gradio_api/file=http://127.0.0.1:{served.config.port}/health")
    assert status == 403
    assert "model_loaded" not in body


def test_a_server_file_passed_as_an_upload_is_refused_without_its_content(served, hf_scorer, tmp_path):
    secret = tmp_path / "secrets.csv"
    secret.write_text("question,answer\nWhat is the admin password?,hunter2\n", encoding="utf-8")
    forged = {"path": str(secret), "meta": {"_type": "gradio.FileData"}, "orig_name": "secrets.csv"}
    events = sse_of_a_call(
        served.url, "rank_faq", ["admin password", "general", "", ZH_BASE, forged, 20, 0.5]
    )
    assert "event: error" in events and "hunter2" not in events
    assert_still_answers(served, hf_scorer)


def test_the_app_serves_no_extra_folders_hides_bug_details_and_caps_uploads(served):
    assert served.demo.allowed_paths == []
    assert served.demo.show_error is False
    assert served.demo.max_file_size == served.config.max_upload_bytes == 5 * 1024 * 1024


def test_the_ui_mounted_next_to_the_api_hides_bug_details_too(hf_scorer, tmp_path):
    config = AppConfig()
    desk = Desk(hf_scorer, export_dir=tmp_path, bases=bundled_bases())
    demo = serve.enable_queue(build_demo(desk, config), config)
    mounted = create_server(demo, serve.create_rest_api(desk, config), **serve.serving_options(config))
    with TestClient(mounted) as browser:
        assert browser.get("/config").json()["show_error"] is False


def test_gradio_keeps_the_inputs_and_outputs_of_at_most_max_sessions(hf_scorer, tmp_path, launch_desk):
    url = launch_desk(Desk(hf_scorer, export_dir=tmp_path, bases=bundled_bases()), max_sessions=3)
    for number in range(8):  # each bare call of the Gradio API is a session of its own
        text = f"{number}: " + "a long pasted answer " * 5_000
        events = sse_of_a_call(url, "rank_pasted", [QUERY, "general", "", text, "lines", 0.5])
        assert "event: complete" in events
    assert len(launch_desk.demos[url].state_holder.session_data) == 3  # Gradio's per-session store


def test_the_page_config_does_not_reveal_where_the_project_lives(served):
    config = httpx.get(f"{served.url}config", timeout=TIMEOUT).text
    assert str(ROOT) not in config
    assert json.loads(config)["show_error"] is False


# --- the scorer under every path -------------------------------------------------------------------


def test_text_that_is_not_valid_unicode_is_refused_naming_it(hf_scorer):
    with pytest.raises(InvalidInput, match=r"Candidate 2 contains U\+D83D, half of a UTF-16 surrogate pair"):
        hf_scorer.score(QUERY, ["ok", "cut \ud83d here"])


def test_the_score_cache_keeps_no_copy_of_long_texts(tiny_model_dir):
    scorer = load_scorer(tiny_model_dir, backend="transformers", dtype="float32", max_length=256)
    documents = [f"{i} " + "where is my order " * 6_000 for i in range(20)]  # 20 x ~100 KB
    scorer.score(QUERY, documents)
    entries = list(scorer.cache._entries.items())
    assert len(scorer.cache) == len(entries) == 20
    # 16-byte keys and numbers only: nothing in the cache grows with the documents' length.
    assert all(isinstance(key, bytes) and len(key) == 16 for key, _ in entries)
    flat = [part for _, value in entries for item in value for part in (item if isinstance(item, tuple) else (item,))]
    assert all(isinstance(part, int | float | bool) for part in flat)
