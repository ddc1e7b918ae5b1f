"""The one shell parser: text (command line, panel), mappings and pairs (Python API)."""

from __future__ import annotations

import pytest

from GradientToolsLib.diffusion.shells import format_shells, parse_shell, parse_shells
from GradientToolsLib.errors import GradientToolsError


def test_text_round_trip():
    shells = parse_shells(" 1000:30, 2000 : 60;3000:90 ,")
    assert shells == [(1000.0, 30), (2000.0, 60), (3000.0, 90)]
    assert parse_shells(format_shells(shells)) == shells
    assert format_shells({700: 12}) == "700:12"
    assert parse_shells("") == []


def test_mapping_pairs_and_text_agree():
    assert parse_shells({1000: 30, 2000: 60.0}) == parse_shells([(1000, 30), (2000, 60)]) \
        == parse_shells("1000:30, 2000:60") == [parse_shell("1000:30"), parse_shell("2000:60")]


@pytest.mark.parametrize("bad, message", [
    ("1000", "b-value:directions"), ("x:3", "not a number"), ("1000:x", "not a number"),
    ("-5:3", "positive"), ("0:3", "positive"), ("inf:3", "positive"), ("1000:2.5", "integer"),
    ("1000:0", "at least 1"), ("1000:3, 1000:4", "twice"), ("1:2:3", "b-value:directions"),
])
def test_text_errors_name_the_problem(bad, message):
    with pytest.raises(GradientToolsError, match=message):
        parse_shells(bad)


@pytest.mark.parametrize("bad, message", [
    ({1000: True}, "integer"), ({"b": 3}, "not a number"), ([(1000, 3, 4)], "pairs"), (12, "pairs"),
    ([(1000, 3), (1000.0, 5)], "twice"),
])
def test_mapping_errors_name_the_problem(bad, message):
    with pytest.raises(GradientToolsError, match=message):
        parse_shells(bad)
