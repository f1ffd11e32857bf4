"""Long answers: chunked on sentence boundaries, never cut, scored by their best window."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from fastapi.testclient import TestClient
from transformers import AutoTokenizer

from reranker.desk.results import EVIDENCE, FAQ_ID, build_table, export_csv, render_table_html
from reranker.engine.cache import ScoreCache
from reranker.engine.prompt import MAX_WINDOWS, PromptEncoder, format_pair, sentence_spans
from reranker.engine.scorer import Scorer
from reranker.server.api import create_api
from tests.reference import PREFIX, SUFFIX, model_card_scores

WINDOW = 256
QUERY_EN = "How long do refunds take?"
QUERY_ZH = "退款多久到账？"
FILLER_EN = [
    f"Store note {n}: our shop in district {n} opens at nine and closes at six on weekdays."
    for n in range(40)
]
ANSWER_EN = "Refunds reach the original payment method within 5-7 business days after we receive the item."
LONG_EN = " ".join([*FILLER_EN[:25], ANSWER_EN, *FILLER_EN[25:]])
FILLER_ZH = [f"第{n}号门店：营业时间为每天早上九点到晚上六点，节假日照常营业。" for n in range(40)]
LONG_ZH = "".join([*FILLER_ZH[:30], "退款将在收到退货后5到7个工作日内原路退回。", *FILLER_ZH[30:]])
SHORT = [
    "Refunds take 5-7 business days.",
    "退款将在5到7个工作日内到账。",
    "Reset your password from the sign-in page.",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def encoder(tokenizer):
    return PromptEncoder(tokenizer, max_length=WINDOW)


def windowed(scorer: Scorer, encoder: PromptEncoder) -> Scorer:
    """The same loaded engine, with windows of ``WINDOW`` tokens and no score cache."""
    return dataclasses.replace(scorer, encoder=encoder, cache=ScoreCache(max_entries=0))


def model_card_prompt_length(tokenizer, query: str, passage: str) -> int:
    """Tokens of the model card's prompt for ``passage`` (prefix + pair + suffix, tokenised apart)."""
    return sum(len(tokenizer.encode(part, add_special_tokens=False))
               for part in (PREFIX, format_pair(query, passage), SUFFIX))  # fmt: skip


def test_sentences_split_on_english_and_chinese_punctuation_and_line_breaks():
    text = 'He said "ship it." Then left! 请稍候。马上发货！好吗？\nNew line; same line'
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        'He said "ship it." ', "Then left! ", "请稍候。", "马上发货！", "好吗？\n", "New line; ", "same line",
    ]  # fmt: skip
    assert sentence_spans("3.5 kg, v1.2") == [(0, 12)]  # a full stop without a space ends nothing


def test_an_answer_that_fits_is_one_window_with_the_model_cards_token_ids(encoder):
    encoded = zip(SHORT, encoder.encode_windows(QUERY_EN, SHORT), encoder.encode(QUERY_EN, SHORT))
    for text, doc, pair in encoded:
        assert [w.token_ids for w in doc.windows] == [pair.token_ids]
        assert (doc.windows[0].start, doc.windows[0].end, doc.truncated) == (0, len(text), False)


@pytest.mark.parametrize("query, text", [(QUERY_EN, LONG_EN), (QUERY_ZH, LONG_ZH)])
def test_a_long_answer_is_covered_by_overlapping_sentence_aligned_windows_that_fit(
    encoder, tokenizer, query, text
):
    [doc] = encoder.encode_windows(query, [text])
    windows = doc.windows
    assert len(windows) > 2 and not doc.truncated
    boundaries = {0} | {end for _, end in sentence_spans(text)}
    for window in windows:
        passage = text[window.start : window.end]
        assert passage == passage.strip() and passage
        assert len(window.token_ids) <= WINDOW
        assert model_card_prompt_length(tokenizer, query, passage) == len(window.token_ids)
        # starts on a sentence start, ends on a sentence end (the spaces after it left out)
        assert window.start in boundaries
        assert text[window.end : min(end for end in boundaries if end >= window.end)].strip() == ""
    assert windows[0].start == 0 and windows[-1].end == len(text)
    for before, after in itertools.pairwise(windows):
        assert before.start < after.start < before.end  # consecutive windows share a sentence


def test_an_answer_longer_than_the_whole_document_limit_is_cut_and_flagged(encoder):
    huge = " ".join(FILLER_EN * 12)
    [doc] = encoder.encode_windows(QUERY_EN, [huge])
    assert len(doc.windows) == MAX_WINDOWS and doc.truncated
    assert doc.windows[-1].end < len(huge)


@pytest.mark.parametrize("fixture", ["hf_scorer", "vllm_scorer"])
def test_one_window_answers_score_as_the_model_card(fixture, request, tiny_model_dir, encoder):
    scorer = windowed(request.getfixturevalue(fixture), encoder)
    result = scorer.score_detailed(QUERY_EN, SHORT)
    reference = model_card_scores(tiny_model_dir, [QUERY_EN] * len(SHORT), SHORT, max_length=WINDOW)
    assert max(abs(a - b) for a, b in zip(result.scores, reference)) <= 1e-4
    assert [d.chunks_scored for d in result.documents] == [1, 1, 1]
    assert [d.evidence_text for d in result.documents] == SHORT


@pytest.mark.parametrize("fixture", ["hf_scorer", "vllm_scorer"])
@pytest.mark.parametrize("query, text", [(QUERY_EN, LONG_EN), (QUERY_ZH, LONG_ZH)])
def test_a_long_answer_scores_the_max_over_its_windows_scored_by_the_model_card(
    fixture, request, tiny_model_dir, encoder, query, text
):
    scorer = windowed(request.getfixturevalue(fixture), encoder)
    [doc] = encoder.encode_windows(query, [text])
    passages = [text[w.start : w.end] for w in doc.windows]
    reference = model_card_scores(tiny_model_dir, [query] * len(passages), passages, max_length=WINDOW)
    [ranked] = scorer.score_detailed(query, [text]).documents
    assert abs(ranked.score - max(reference)) <= 1e-4
    assert ranked.chunks_scored == len(passages) and not ranked.truncated
    assert ranked.evidence_text == passages[reference.index(max(reference))]
    assert max(reference) - min(reference) > 1e-3  # the windows really differ, so the max matters


def test_evidence_offsets_point_into_the_text_as_sent(hf_scorer, encoder):
    scorer = windowed(hf_scorer, encoder)
    sent = "\n  " + LONG_EN + "  "
    [ranked] = scorer.score_detailed(QUERY_EN, [sent]).documents
    start, end = ranked.evidence
    assert sent[start:end] == ranked.evidence_text and ranked.evidence_text.strip() == ranked.evidence_text
    assert ranked.evidence_text in LONG_EN


def test_rest_says_how_many_windows_and_gives_evidence_only_when_asked(hf_scorer, encoder):
    client = TestClient(create_api(lambda: windowed(hf_scorer, encoder)))
    body = {"query": QUERY_EN, "documents": [SHORT[0], LONG_EN]}
    plain = client.post("/v1/rerank", json=body).json()["results"]
    assert sorted(r["chunks_scored"] for r in plain) == [
        1,
        len(encoder.encode_windows(QUERY_EN, [LONG_EN])[0].windows),
    ]
    assert all("evidence" not in r for r in plain)
    results = client.post("/v1/rerank", json={**body, "return_evidence": True}).json()["results"]
    long = next(r for r in results if r["index"] == 1)
    evidence = long["evidence"]
    assert LONG_EN[evidence["start"] : evidence["end"]] == evidence["text"] and len(evidence["text"]) < len(
        LONG_EN
    )
    short = next(r for r in results if r["index"] == 0)
    assert short["evidence"] == {"start": 0, "end": len(SHORT[0]), "text": SHORT[0]}
    v2 = client.post("/v2/rerank", json={**body, "return_evidence": True}).json()["results"]
    assert next(r for r in v2 if r["index"] == 1)["evidence"] == evidence
    assert "evidence" not in client.post("/v2/rerank", json=body).json()["results"][0]


def test_the_table_highlights_the_best_passage_escaped_and_the_csv_carries_it(tmp_path):
    text = "<b>Opening hours</b> are 9-6. Refunds take <5 days>. Call us."
    start = text.index("Refunds")
    table = build_table(
        ["Short answer.", text],
        [0.2, 0.9],
        evidence=[None, (start, start + len("Refunds take <5 days>."), 3)],
    )
    html = render_table_html(table)
    assert '<mark class="evidence">Refunds take &lt;5 days&gt;.</mark>' in html
    assert "&lt;b&gt;Opening hours&lt;/b&gt;" in html and "scored in 3 windows" in html
    assert html.count("<mark") == 1
    csv = export_csv(table, tmp_path).read_text(encoding="utf-8-sig")
    assert (
        "Best passage" in csv
        and "Refunds take <5 days>." in csv
        and EVIDENCE not in csv.splitlines()[0].split(",")
    )


def test_a_table_of_short_answers_has_no_evidence_column():
    assert EVIDENCE not in build_table(["a", "b"], [0.1, 0.2], evidence=[None, None]).columns


def test_an_faq_ranking_in_the_desk_highlights_the_long_answers_best_passage(hf_scorer, encoder, tmp_path):
    from reranker.desk.desk import Desk
    from reranker.knowledge.bases import FaqEntry, KnowledgeBase
    from reranker.knowledge.registry import SelectedBase

    kb = KnowledgeBase([FaqEntry("long", "How long do refunds take?", LONG_EN),
                        FaqEntry("short", "Refund time?", SHORT[0])])  # fmt: skip
    desk = Desk(windowed(hf_scorer, encoder), export_dir=tmp_path)
    result = desk.rerank_faq(QUERY_EN, None, SelectedBase(kb, "refunds"), top_k=2)
    rows = dict(zip(result.table[FAQ_ID], result.table[EVIDENCE]))
    start, end, windows = rows["long"]
    assert windows > 1 and LONG_EN[start:end] in LONG_EN and rows["short"] is None
    assert '<mark class="evidence">' in result.table_html
