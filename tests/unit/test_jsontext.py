"""jsontext: orjson's speed, the standard library's reach."""

from __future__ import annotations

import json

import pytest

from og_preview import jsontext


def test_compact_and_readable() -> None:
    value = {"title": "Café · 東京", "n": [1, 2.5, None, True], "empty": {}}
    text = jsontext.dumps(value)
    assert text == '{"title":"Café · 東京","n":[1,2.5,null,true],"empty":{}}'
    assert json.loads(text) == value


def test_indented_matches_the_standard_library() -> None:
    value: dict[str, object] = {"a": [1, {"b": "é"}], "c": None, "d": [], "e": {}}
    assert jsontext.dumps(value, indent=True) == json.dumps(value, ensure_ascii=False, indent=2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"big": 2**70}, '{"big":1180591620717411303424}'),  # beyond 64 bits
        ({1: "x"}, '{"1":"x"}'),  # a non-string key
        ({"s": "a\ud800b"}, '{"s":"a\ud800b"}'),  # a lone surrogate
    ],
)
def test_what_orjson_refuses_falls_back(value: object, expected: str) -> None:
    assert jsontext.dumps(value) == expected


def test_loads_reads_both() -> None:
    assert jsontext.loads('{"a":[1,"é"]}') == {"a": [1, "é"]}
    assert jsontext.loads(b'{"a":1}') == {"a": 1}
    assert jsontext.loads('{"x": NaN}')["x"] != jsontext.loads('{"x": NaN}')["x"]  # NaN
    with pytest.raises(ValueError):
        jsontext.loads("{not json")
