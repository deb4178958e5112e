from __future__ import annotations

import pytest

from app.jobs.schemas import JobCreate
from app.validation_errors import line_and_column, valid_names


@pytest.mark.parametrize(
    ("document", "position", "expected"),
    [("", 0, (1, 1)), ("{}", 1, (1, 2)), ('{\n "a": }', 8, (2, 7)), ("a\nb\nc", 4, (3, 1)), ("ab", 99, (1, 3))],
)
def test_line_and_column_are_one_based(document, position, expected):
    assert line_and_column(document, position) == expected


def test_valid_names_follow_lists_and_tagged_unions():
    assert "seed" in valid_names(JobCreate, ["tune"])
    assert "mode" in valid_names(JobCreate, ["passes", 0, "quantize"])
    assert {"model_id", "dataset_id", "passes"} <= set(valid_names(JobCreate, []))
    assert valid_names(JobCreate, ["no_such_field"]) == []
    assert valid_names(None, []) == []
