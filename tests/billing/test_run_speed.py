"""The shortcuts that keep a large billing run fast change nothing it writes: the
content hash of a draft, the explanations it stores, the collector's state."""

import gc
import hashlib
from decimal import Decimal

from billing.services import drafts, runs


def test_lines_canonical_gives_the_text_of_the_plain_encoding():
    # Given a line whose explanation keys are out of order
    rows = [{"amount": Decimal("1.50"), "explanation": {"b": 1, "a": [2]}}]

    # When it is encoded for the content hash
    lines_text, explanations = drafts._lines_canonical(rows)

    # Then keys are sorted at every level, Decimals written as strings
    assert lines_text == '[{"amount": "1.50", "explanation": {"a": [2], "b": 1}}]'
    assert explanations == ['{"a": [2], "b": 1}']


def test_digest_hashes_the_content_with_its_lines_spliced_in():
    # Given a draft's content whose lines are the stand-in
    rows = [{"amount": Decimal("1.50"), "explanation": {"b": 1, "a": [2]}}]
    lines_text, _ = drafts._lines_canonical(rows)
    content = {"tax_id": "", "lines": drafts._LINES}

    # When it is hashed
    digest = drafts._digest(content, lines_text)

    # Then the hash is that of the whole content encoded in one go, written by hand
    text = (
        '{"lines": [{"amount": "1.50", "explanation": {"a": [2], "b": 1}}], '
        '"tax_id": ""}'
    )
    assert digest == hashlib.sha256(text.encode()).hexdigest()


def test_digest_of_a_draft_without_lines_keeps_an_empty_list():
    # Given no lines
    lines_text, explanations = drafts._lines_canonical([])

    # When the content is hashed
    digest = drafts._digest({"lines": drafts._LINES}, lines_text)

    # Then the lines are an empty JSON list
    assert explanations == []
    assert digest == hashlib.sha256(b'{"lines": []}').hexdigest()


def test_collector_paused_resumes_it_afterwards():
    # Given the collector running
    assert gc.isenabled()

    # When a run pauses it
    with runs._collector_paused():
        during = gc.isenabled()

    # Then it was paused during the run and runs again after it
    assert during is False
    assert gc.isenabled()


def test_collector_paused_leaves_a_paused_collector_paused():
    # Given a collector paused by someone else
    gc.disable()
    try:
        # When a run pauses it and finishes
        with runs._collector_paused():
            pass

        # Then it is still paused: only whoever paused it resumes it
        assert not gc.isenabled()
    finally:
        gc.enable()
