"""Which comments count as the label (plugins/module_utils/_comments.py)."""

from __future__ import annotations

from ansible_collections.openqa.client.plugins.module_utils._comments import matching


def test_same_text_matches_whitespace_aside_and_nothing_else() -> None:
    comments = [{"id": 1, "text": "bsc#1: known"}, {"id": 2, "text": " bsc#1: known \n"},
                {"id": 3, "text": "bsc#1: known, and more"}, {"id": 4, "text": "BSC#1: KNOWN"}, {"id": 5}]
    assert matching(comments, "bsc#1: known") == [1, 2]


def test_a_label_carried_over_by_openqa_is_the_same_label() -> None:
    comments = [{"id": 7, "text": "bsc#1: known\n\n(Automatic takeover from t#42)\n"},
                {"id": 8, "text": "bsc#1: known (Automatic takeover from t#42) and more"}]
    assert matching(comments, "bsc#1: known") == [7]
