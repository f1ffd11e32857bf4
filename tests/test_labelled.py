"""Labelled query sets: reading them, checking their ids, and the bundled ones."""

from __future__ import annotations

import pytest

from reranker.errors import InvalidInput
from reranker.knowledge.bases import bundled_bases, load_faq
from reranker.knowledge.labelled import LabelledQuery, bundled_query_sets, load_queries


def test_queries_split_relevant_ids_and_empty_means_out_of_scope():
    queries = load_queries("查询,相关编号\n钱什么时候退回来, zh-019 | zh-030 \n明天天气怎么样,\n".encode())

    assert queries == [
        LabelledQuery("钱什么时候退回来", ("zh-019", "zh-030")),
        LabelledQuery("明天天气怎么样", ()),
    ]


def test_queries_with_unknown_ids_list_up_to_five_of_them():
    csv = "query,relevant_ids\nq1,a|x1|x2\nq2,x3|x4|x5|x6|x7\n"

    with pytest.raises(InvalidInput) as error:
        load_queries(csv.encode(), known_ids={"a"})

    assert "7 id(s) that are not in the knowledge base: x1, x2, x3, x4, x5 and 2 more" in str(error.value)


def test_queries_file_without_relevant_ids_column_is_rejected():
    with pytest.raises(InvalidInput, match="no relevant ids column"):
        load_queries(b"query,answer\nwhere is my parcel,tracking\n")


@pytest.mark.parametrize(
    ("base_name", "queries_name"),
    [
        ("中文电商 FAQ (zh_ecommerce_faq.csv)", "中文电商测试问题 (zh_ecommerce_queries.csv)"),
        ("English store FAQ (en_store_faq.csv)", "English store test queries (en_store_queries.csv)"),
    ],
)
def test_bundled_query_sets_only_refer_to_ids_in_their_base(base_name, queries_name):
    known = {entry.id for entry in load_faq(bundled_bases()[base_name]).entries}

    queries = load_queries(bundled_query_sets()[queries_name], known_ids=known)

    assert len(queries) >= 40
    assert any(not query.relevant_ids for query in queries), "some queries are out of scope"
    assert any(len(query.relevant_ids) == 2 for query in queries)
