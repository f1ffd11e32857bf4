"""The app as a server: its Gradio API endpoints, degraded mode, --share, flags and settings."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pandas as pd
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import app
from reranker.config import AppConfig, parse_args
from reranker.desk.desk import Desk
from reranker.desk.results import ANSWER, FAQ_ID, KEYWORD_SCORE, SCORE
from reranker.knowledge.bases import bundled_bases
from reranker.knowledge.presets import get_preset
from reranker.retrieval.keyword import search_base
from reranker.server import serve as serving
from reranker.ui import export_dir

ZH_QUERY = "订单一直显示待发货怎么办？"
ZH_CANDIDATES = [
    "您购买的商品正在打包中，通常24小时内发出。",
    "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。",
    "促销活动期间订单量激增，发货时间可能延长至48小时。",
]
EN_QUERY = "can u ship to germany and will i pay customs"
ZH_BASE, EN_BASE = list(bundled_bases())
MISSING = "Model not found: /nowhere is not a model directory."


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def keyword_app(launch_desk):
    desk = Desk(None, MISSING, export_dir=export_dir(), bases=bundled_bases(), max_upload_bytes=10_000)
    return launch_desk(desk, max_upload_mb=10_000 / 1024 / 1024)


def read_export(path: str) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str)


def test_rank_pasted_endpoint_returns_the_scorers_order(client, hf_scorer):
    _, best, table_html, status, heading, csv_path = client.predict(
        ZH_QUERY, "orders", "", "\n".join(ZH_CANDIDATES), "lines", 0.5, api_name="/rank_pasted"
    )
    expected = [d.text for d in hf_scorer.rank(ZH_QUERY, ZH_CANDIDATES, get_preset("orders").instruction)]
    assert read_export(csv_path)[ANSWER].tolist() == expected
    assert best["value"] == expected[0] and best["label"].startswith("Best answer")
    assert "3 pairs scored" in status and 'class="rank-table"' in table_html
    assert "3 answers checked in" in status and ZH_QUERY in heading


def test_rank_faq_endpoint_reranks_the_bundled_base_in_the_scorers_order(client, hf_scorer):
    outputs = client.predict(EN_QUERY, "general", "", "bundled", EN_BASE, None, 5, 0.5, api_name="/rank_faq")
    kb = Desk(None, "unused", export_dir=export_dir(), bases=bundled_bases()).select_base(EN_BASE).kb
    recalled = [hit.entry for hit in search_base(kb, EN_QUERY, top_k=5)]
    ranked = hf_scorer.rank(EN_QUERY, [e.text for e in recalled])
    assert read_export(outputs[-1])[FAQ_ID].tolist() == [recalled[d.index].id for d in ranked]


def test_rank_faq_endpoint_searches_an_uploaded_csv(client, tmp_path):
    upload = tmp_path / "desk_faq.csv"
    upload.write_text(
        "id,question,answer\nq1,怎么退货？,在订单页申请退货。\nq2,多久发货？,付款后24小时内发货。\n",
        encoding="utf-8",
    )
    outputs = client.predict(
        "多久发货", "general", "", "upload", ZH_BASE, handle_file(str(upload)), 20, 0.5, api_name="/rank_faq"
    )
    assert set(read_export(outputs[-1])[FAQ_ID]) == {"q1", "q2"}
    assert "desk_faq.csv (uploaded): 2 FAQ rows" in outputs[3]


def test_user_errors_reach_the_client_as_readable_messages(client):
    with pytest.raises(AppError, match="type the customer's question first"):
        client.predict("", "general", "", "a\nb", "lines", 0.5, api_name="/rank_pasted")


def test_degraded_app_answers_faq_questions_with_labelled_keyword_scores(keyword_app):
    banner, best, table_html, _, _, csv_path = Client(keyword_app, verbose=False).predict(
        EN_QUERY, "general", "", "bundled", EN_BASE, None, 5, 0.5, api_name="/rank_faq"
    )
    table = read_export(csv_path)
    assert KEYWORD_SCORE in table.columns and SCORE not in table.columns
    assert "Keyword scores (BM25) only" in banner and "score-pill" not in table_html
    assert best["value"] and best["label"] == "Not confident, check before sending"


def test_degraded_app_refuses_pasted_answers_with_the_reason(keyword_app):
    with pytest.raises(AppError, match=r"Reranking is unavailable.*Model not found"):
        Client(keyword_app, verbose=False).predict(
            ZH_QUERY, "general", "", "a\nb", "lines", 0.5, api_name="/rank_pasted"
        )


def test_degraded_app_says_why_the_model_is_missing_in_health_not_atop_the_page(keyword_app):
    assert MISSING in httpx.get(f"{keyword_app}health").json()["error"]
    assert MISSING not in httpx.get(f"{keyword_app}config").text  # the page's chip has it behind "details"


def test_server_refuses_uploads_over_the_size_limit(keyword_app):
    big = b"question,answer\n" + b"How long is shipping?,3-5 days\n" * 1000
    response = httpx.post(f"{keyword_app}gradio_api/upload", files={"files": ("big.csv", big)})
    assert response.status_code == 413


def test_share_without_internet_warns_and_keeps_serving_locally(caplog, tmp_path, launch_desk):
    desk = Desk(None, MISSING, export_dir=tmp_path, bases=bundled_bases())
    with caplog.at_level(logging.WARNING, logger="reranker.server.serve"):
        url = launch_desk(desk, share=True, auth=("agent", "s3cret"), api_key="k3y")
    assert httpx.get(url).status_code == 200
    assert "Public share link" in caplog.text or "Could not create the public share link" in caplog.text
    assert "anyone who has the public link" not in caplog.text  # the UI is behind --auth
    assert "is open to anyone" not in caplog.text  # the REST API is behind --api-key


def test_share_without_auth_or_api_key_warns_about_the_ui_and_keeps_the_rest_api_off(caplog, tmp_path,
                                                                                      launch_desk):  # fmt: skip
    desk = Desk(None, MISSING, export_dir=tmp_path, bases=bundled_bases())
    with caplog.at_level(logging.WARNING, logger="reranker.server.serve"):
        url = launch_desk(desk, share=True)
    response = httpx.post(f"{url}v1/rerank", json={"query": "q", "documents": ["d"]})
    assert "anyone who has the public link can use this app" in caplog.text
    assert response.status_code == 403 and "--open-api" in response.json()["error"]
    assert "is open to anyone" not in caplog.text


def test_defaults_are_safe_and_documented(monkeypatch):
    for name in ("HOST", "PORT", "SHARE", "AUTH", "MAX_CANDIDATES", "BACKEND"):
        monkeypatch.delenv(f"RERANKER_{name}", raising=False)
    config = AppConfig()
    assert (config.host, config.port, config.share, config.auth) == ("127.0.0.1", 7860, False, None)
    assert (config.max_candidates, config.backend) == (500, "auto")


def test_environment_sets_defaults_and_flags_override_them(monkeypatch):
    monkeypatch.setenv("RERANKER_PORT", "9000")
    monkeypatch.setenv("RERANKER_SHARE", "yes")
    monkeypatch.setenv("RERANKER_AUTH", "agent:pa:ss")
    assert parse_args([]).port == 9000
    assert parse_args(["--port", "9100", "--no-share"]).port == 9100
    assert parse_args(["--no-share"]).share is False
    assert parse_args([]).auth == ("agent", "pa:ss")


def test_every_documented_flag_maps_onto_a_setting(tmp_path):
    flags = (
        "--host 0.0.0.0 --port 8080 --share --auth a:b --model /m --backend remote --remote-url "
        "http://gpu:8000 --dtype float32 --max-length 2048 --max-candidates 50 --max-upload-mb 2"
    )
    config = parse_args([*flags.split(), "--kb", str(tmp_path / "faq.csv")])
    assert config == AppConfig(
        host="0.0.0.0",
        port=8080,
        share=True,
        auth=("a", "b"),
        model="/m",
        backend="remote",
        remote_url="http://gpu:8000",
        dtype="float32",
        max_length=2048,
        kb=tmp_path / "faq.csv",
        max_candidates=50,
        max_upload_mb=2.0,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--auth", "no-colon"], "user:password"),
        (["--port", "70000"], "between 1 and 65535"),
        (["--max-length", "10"], "max_length"),
    ],
)
def test_invalid_settings_exit_with_status_2_and_say_why(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_invalid_environment_value_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("RERANKER_PORT", "eighty")
    with pytest.raises(SystemExit):
        parse_args([])
    assert "RERANKER_PORT" in capsys.readouterr().err


def test_the_desk_serves_at_once_while_the_model_loads_behind_it(tmp_path):
    desk = serving.create_desk(AppConfig(model=str(tmp_path / "no-model")))
    assert desk.scorer is None  # loading, or already known to be missing
    status = desk.engine.wait(30)
    assert status.state == "unavailable"
    kind, text = desk.engine_notice()
    assert kind == "error" and "no-model" in text


def test_kb_flag_offers_that_base_first(tmp_path):
    faq = tmp_path / "team_faq.csv"
    faq.write_text("question,answer\nHow long is shipping?,3-5 days\n", encoding="utf-8")
    desk = serving.create_desk(AppConfig(model=str(tmp_path / "no-model"), kb=faq))
    assert desk.bases.names[0] == "team_faq.csv (--kb)"


def test_unusable_kb_stops_start_up_with_status_2(tmp_path, caplog):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"PK\x03\x04 this is an xlsx")
    assert app.main(["--kb", str(broken), "--model", str(tmp_path / "no-model")]) == 2
    assert "Excel" in caplog.text


def test_the_stylesheet_ships_with_the_app():
    from reranker.ui import CSS_PATHS

    assert all(Path(p).is_file() for p in CSS_PATHS)


def test_rest_api_shares_the_port_and_the_scores_of_the_ui(client, hf_scorer):
    import httpx

    docs = [
        "您购买的商品正在打包中，通常24小时内发出。",
        "Orders ship within 24 hours.",
        "退货流程：进入‘我的订单’。",
    ]
    response = httpx.post(
        f"{client.src}v1/rerank", json={"query": "订单一直显示待发货怎么办？", "documents": docs}, timeout=60
    )
    assert response.status_code == 200
    results = response.json()["results"]
    expected = hf_scorer.score("订单一直显示待发货怎么办？", docs)
    assert [r["index"] for r in results] == sorted(range(3), key=lambda i: -expected[i])
    assert httpx.get(f"{client.src}health", timeout=10).json()["model_loaded"] is True


def test_rest_api_of_a_keyword_only_app_answers_503_with_the_reason(keyword_app):
    import httpx

    response = httpx.post(f"{keyword_app}v1/rerank", json={"query": "q", "documents": ["d"]}, timeout=10)
    assert response.status_code == 503
    assert "Model not found" in response.json()["error"]
