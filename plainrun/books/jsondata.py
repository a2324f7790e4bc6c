"""JSON: reading a JSON text into values (its numbers to the last digit) and writing values as JSON
text."""

from __future__ import annotations

import json
from typing import Any

from plainrun.language.books import procedure
from plainrun.language.values import json_fraction, json_text


@procedure("to parse a (text) as json")
def parse_json(text: str) -> Any:
    try:
        return json.loads(text, parse_float=json_fraction)
    except json.JSONDecodeError as err:
        raise ValueError(f"the text is not JSON (line {err.lineno}, column {err.colno})") from None


@procedure("to encode a (value) as json")
def encode_json(value: Any) -> str:
    return json_text(value)
