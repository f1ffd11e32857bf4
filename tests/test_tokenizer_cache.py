"""The built tokenizer kept between starts: the same token ids, rebuilt whenever it might differ."""

from __future__ import annotations

import os
import shutil

import pytest
from transformers import AutoTokenizer

from reranker.engine.tokenizer_cache import TOKENIZER_SUFFIXES, cached_tokenizer

TEXTS = ["where is my parcel", "我的包裹在哪里？", "=SUM(A1) -5 € 😀", "<|im_start|>system\nJudge<|im_end|>"]


@pytest.fixture
def model_files(tiny_model_dir, tmp_path):
    """The tiny model's tokenizer files in a directory of their own (tests change them)."""
    directory = tmp_path / "model"
    directory.mkdir()
    for path in tiny_model_dir.iterdir():
        if path.suffix in TOKENIZER_SUFFIXES:
            shutil.copy(path, directory / path.name)
    return directory


class CountingBuild:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, directory):
        self.calls += 1
        return AutoTokenizer.from_pretrained(directory)


def test_the_second_start_reads_the_built_tokenizer_and_it_encodes_the_same(model_files, tmp_path):
    build = CountingBuild()
    first = cached_tokenizer(model_files, build, tmp_path / "cache")
    second = cached_tokenizer(model_files, build, tmp_path / "cache")
    assert build.calls == 1
    assert second is not first
    assert (
        second(TEXTS).input_ids
        == first(TEXTS).input_ids
        == AutoTokenizer.from_pretrained(model_files)(TEXTS).input_ids
    )
    assert (second.chat_template, second.all_special_tokens, len(second), second.truncation_side) == (
        first.chat_template, first.all_special_tokens, len(first), first.truncation_side)  # fmt: skip
    assert second.decode(second("héllo 世界").input_ids) == "héllo 世界"


def test_a_changed_tokenizer_file_is_built_again_and_replaces_the_old_copy(model_files, tmp_path):
    build = CountingBuild()
    cached_tokenizer(model_files, build, tmp_path / "cache")
    config = model_files / "tokenizer_config.json"
    config.write_text(config.read_text().replace("131072", "777"))
    changed = cached_tokenizer(model_files, build, tmp_path / "cache")
    assert build.calls == 2 and changed.model_max_length == 777
    assert len(list((tmp_path / "cache").glob("*.pickle"))) == 1


def test_a_damaged_copy_is_rebuilt_without_an_error(model_files, tmp_path):
    build = CountingBuild()
    cached_tokenizer(model_files, build, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob("*.pickle")
    kept.write_bytes(kept.read_bytes()[:1000])
    assert cached_tokenizer(model_files, build, tmp_path / "cache")(TEXTS[0]).input_ids
    assert build.calls == 2
    cached_tokenizer(model_files, build, tmp_path / "cache")
    assert build.calls == 2  # the rebuilt one was written again


def test_a_copy_others_may_write_is_never_unpickled(model_files, tmp_path):
    build = CountingBuild()
    cached_tokenizer(model_files, build, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob("*.pickle")
    os.chmod(kept, 0o666)
    cached_tokenizer(model_files, build, tmp_path / "cache")
    assert build.calls == 2


def test_a_cache_directory_that_cannot_be_written_only_means_building_each_time(model_files, tmp_path):
    build = CountingBuild()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    assert cached_tokenizer(model_files, build, blocked / "cache")(TEXTS[0]).input_ids
    assert cached_tokenizer(model_files, build, blocked / "cache")(TEXTS[0]).input_ids
    assert build.calls == 2


def test_the_cache_keeps_the_newest_copies_only(model_files, tmp_path, monkeypatch):
    monkeypatch.setattr("reranker.engine.tokenizer_cache.KEEP", 2)
    for name in ("a", "b", "c"):
        moved = tmp_path / name
        shutil.copytree(model_files, moved)
        cached_tokenizer(moved, AutoTokenizer.from_pretrained, tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.pickle"))) == 2
