"""The prompt the model sees: exact token ids, the model card's tokenisation, truncation."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from reranker.engine.prompt import (
    DEFAULT_INSTRUCTION,
    PromptEncoder,
    build_prompt,
    format_pair,
    validate_max_length,
)
from reranker.errors import InvalidInput
from tests.reference import PREFIX, SUFFIX


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_tokenizer_is_the_real_qwen_vocabulary(tokenizer):
    assert tokenizer.encode("Hello world!") == [9707, 1879, 0]
    assert tokenizer.convert_tokens_to_ids(["yes", "no"]) == [9693, 2152]
    assert tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>", "<think>", "</think>"]) == [
        151644, 151645, 151667, 151668,
    ]  # fmt: skip


def test_prompt_text_matches_the_model_card():
    prompt = build_prompt("Where is my order?", "It ships in 24 hours.")
    assert prompt == (
        PREFIX
        + f"<Instruct>: {DEFAULT_INSTRUCTION}\n<Query>: Where is my order?\n<Document>: It ships in 24 hours."
        + SUFFIX
    )


def test_full_prompt_token_ids_end_with_empty_think_block_and_blank_line(tokenizer):
    [pair] = PromptEncoder(tokenizer).encode("Where is my order?", ["It ships in 24 hours."])
    # <|im_end|> \n <|im_start|> assistant \n <think> \n\n </think> \n\n
    assert pair.token_ids[-9:] == [151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271]
    assert pair.token_ids[:3] == [151644, 8948, 198]  # <|im_start|> system \n
    assert not pair.truncated


def test_encoding_equals_model_card_prefix_pair_suffix_tokenisation(tokenizer):
    query, doc, instruction = (
        "订单一直显示待发货怎么办？",
        "您购买的商品正在打包中，通常24小时内发出。",
        "Judge shipping answers",
    )
    [pair] = PromptEncoder(tokenizer).encode(query, [doc], instruction)
    expected = (
        tokenizer.encode(PREFIX, add_special_tokens=False)
        + tokenizer.encode(format_pair(query, doc, instruction), add_special_tokens=False)
        + tokenizer.encode(SUFFIX, add_special_tokens=False)
    )
    assert pair.token_ids == expected
    assert pair.token_ids == tokenizer.encode(build_prompt(query, doc, instruction), add_special_tokens=False)


def test_blank_instruction_falls_back_to_the_default():
    assert format_pair("q", "d", "   ") == format_pair("q", "d", None)
    assert DEFAULT_INSTRUCTION in format_pair("q", "d", None)


def test_long_document_is_cut_at_its_end_and_keeps_the_suffix(tokenizer):
    encoder = PromptEncoder(tokenizer, max_length=256)
    long_doc = "Refunds are issued to the original payment method. " * 200
    short, cut = encoder.encode("How do refunds work?", ["Short answer.", long_doc])
    assert not short.truncated and cut.truncated
    assert len(cut.token_ids) == 256
    assert cut.token_ids[-9:] == short.token_ids[-9:]
    head = tokenizer.encode(
        format_pair("How do refunds work?", "Refunds are issued"), add_special_tokens=False
    )
    assert cut.token_ids[len(encoder.prefix_ids) : len(encoder.prefix_ids) + len(head)] == head


def test_query_too_long_for_max_length_is_refused_with_advice(tokenizer):
    encoder = PromptEncoder(tokenizer, max_length=128)
    with pytest.raises(InvalidInput, match="Shorten the query"):
        encoder.encode("shipping " * 200, ["doc"])


@pytest.mark.parametrize("value", [0, 100, 40000])
def test_max_length_outside_the_allowed_range_is_refused(value):
    with pytest.raises(InvalidInput, match="between 128 and 32768"):
        validate_max_length(value)
