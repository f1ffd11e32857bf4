"""``python -m reranker score``: JSON shape, document files, exit code 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reranker.cli.main import main
from reranker.cli.rank import read_docs_file
from reranker.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reranker", "score", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_json_output_is_ranked_and_indexed_by_input_position(tiny_model_dir, hf_scorer):
    docs = [
        "您购买的商品正在打包中，通常24小时内发出。",
        "退货流程：进入‘我的订单’→点击‘申请退货’。",
        "发货时间可能延长至48小时。",
    ]
    args = [
        "--query",
        "订单一直显示待发货怎么办？",
        "--model",
        str(tiny_model_dir),
        "--backend",
        "transformers",
    ]
    done = run_cli(*args, "--dtype", "float32", *[a for d in docs for a in ("--doc", d)], "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["backend"] == "transformers" and payload["model"] == str(tiny_model_dir)
    results = payload["results"]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    expected = hf_scorer.score("订单一直显示待发货怎么办？", docs)
    assert all(abs(expected[r["index"]] - r["score"]) <= 1e-5 and r["truncated"] is False for r in results)


def test_readable_table_without_json(tiny_model_dir, capsys):
    code = main(["score", "--query", "Where is my order?", "--doc", "Ships in 24 hours.", "--doc", "Reset password.",
                 "--model", str(tiny_model_dir), "--backend", "transformers"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "rank" in out and "Ships in 24 hours." in out and "Reset password." in out


def test_unloadable_model_exits_2_with_one_line(tmp_path):
    done = run_cli(
        "--query", "q", "--doc", "d", "--model", str(tmp_path / "missing"), "--backend", "transformers"
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error: Model not found")


def test_empty_query_exits_2(tiny_model_dir, capsys):
    code = main(
        ["score", "--query", " ", "--doc", "d", "--model", str(tiny_model_dir), "--backend", "transformers"]
    )
    assert code == 2
    assert "question is empty" in capsys.readouterr().err


def test_docs_file_one_per_line_skips_blank_lines(tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("first answer\n\n第二个答案\n", encoding="utf-8")
    assert read_docs_file(path) == ["first answer", "第二个答案"]


def test_docs_file_jsonl_reads_text_fields(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "a"}\n{"text": "多行\\n答案"}\n', encoding="utf-8")
    assert read_docs_file(path) == ["a", "多行\n答案"]


def test_docs_file_jsonl_with_a_bad_line_names_the_line(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "a"}\n["not", "an", "object"]\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"docs.jsonl:2"):
        read_docs_file(path)


@pytest.mark.slow
def test_json_with_the_vllm_backend_is_the_only_thing_on_stdout(tiny_model_dir):
    done = run_cli("--query", "Where is my order?", "--doc", "Ships in 24 hours.", "--doc", "Reset password.",
                   "--model", str(tiny_model_dir), "--backend", "vllm", "--dtype", "float32", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # the whole of stdout: vLLM's log lines go to stderr
    assert payload["backend"] == "vllm" and len(payload["results"]) == 2
