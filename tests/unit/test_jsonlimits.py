"""The bounded JSON loader shared by the HTTP API and signalling."""

from __future__ import annotations

import time

import pytest

from livelens.jsonlimits import MAX_DEPTH, JsonRejected, loads


@pytest.mark.parametrize(("open_", "close"), [("[", "]"), ('{"a": ', "}"), ('[{"a": ', "}]")])
def test_nesting_up_to_the_limit_parses_and_beyond_it_is_refused(open_: str, close: str) -> None:
    levels = MAX_DEPTH // len(close)
    assert loads(open_ * levels + "1" + close * levels) is not None
    with pytest.raises(JsonRejected, match="nested more than 32 levels"):
        loads(open_ * (levels + 1) + "1" + close * (levels + 1))


@pytest.mark.parametrize(
    "text",
    [
        '["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]',
        '["\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "\\\\"]',
        '{"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{": "}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}"}',
    ],
)
def test_brackets_in_strings_do_not_count(text: str) -> None:
    assert loads(text)


def test_unclosed_brackets_count_as_nesting() -> None:
    with pytest.raises(JsonRejected, match="nested"):
        loads("[" * (MAX_DEPTH + 1))
    with pytest.raises(JsonRejected, match="Unterminated string"):
        loads("[" * MAX_DEPTH + '"' + "[" * 100)  # the parser stops at the string


@pytest.mark.parametrize(
    "text", ["1" + "0" * 308, "-1" + "0" * 308, "1.7e308", "[1e-400]", "123456789012345678901"]
)
def test_numbers_a_double_can_hold_parse(text: str) -> None:
    loads(text)


@pytest.mark.parametrize(
    "text", ["2" + "0" * 308, "-" + "9" * 400, "1e309", "-1e400", "NaN", "Infinity", "[-Infinity]"]
)
def test_numbers_beyond_a_double_are_refused(text: str) -> None:
    with pytest.raises(JsonRejected, match="number"):
        loads(text)


def test_bytes_are_decoded_as_json_loads_would() -> None:
    assert loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    with pytest.raises(JsonRejected, match="UTF-8"):
        loads(b'{"a": "\xff"}')


@pytest.mark.parametrize(
    "text",
    [
        "[" * 40 + '"' + '\\"' * 30_000,  # one unterminated string of escaped quotes
        "[" * 40 + ('"' + '\\"' * 3) * 8_000,  # many of them
        "[" * 40 + '"\\' * 30_000,
    ],
)
def test_the_depth_scan_is_linear_in_the_text(text: str) -> None:
    # A backtracking string pattern took minutes here (quadratic); linear takes ms.
    started = time.perf_counter()
    with pytest.raises(JsonRejected):
        loads(text)
    assert time.perf_counter() - started < 2.0
