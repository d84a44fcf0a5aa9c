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


def test_a_bug_url_matches_the_reference_openqa_stores_for_it() -> None:
    comments = [{"id": 1, "text": "poo#123 known"}, {"id": 2, "text": "https://progress.opensuse.org/issues/123 known"},
                {"id": 3, "text": "poo#1234 known"}, {"id": 4, "text": "gh#os-autoinst/openQA#9 x"}]
    assert matching(comments, "https://progress.opensuse.org/issues/123 known") == [1, 2]
    assert matching(comments, "https://github.com/os-autoinst/openQA/pull/9 x") == [4]
    assert matching(comments, "poo#123 known") == [1, 2]
